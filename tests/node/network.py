"""The node tests' network: a consortium with real X25519 keys, one embedded IPFS
node and one document pipeline per member, and a listener factory.

Keys made here are TEST FIXTURES: random per run, funded only on the test chain,
never written outside pytest's temporary directories.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.types import Wei

from devnet.ipfs import EmbeddedIpfsNode, connect_nodes
from devnet.processes import free_port
from ledger_client.chain import TransactionSender
from ledger_client.deployment import Deployment, FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ipfs import IpfsStore
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from node.db import Database
from node.listener import RegistryListener
from node.risk import Assessment, ReferenceRiskEngine, RiskContext, RiskEngine
from node.settings import RiskRules

ECONOMIES = ("KZ", "UZ", "AZ")


@dataclass
class Member:
    economy: str
    key: MemberEncryptionKey
    ledger: Ledger
    ipfs_node: EmbeddedIpfsNode
    ipfs: IpfsStore
    pipeline: DocumentPipeline


@dataclass
class Network:
    w3: Web3
    deployment: Deployment
    members: dict[str, Member]

    def __getitem__(self, economy: str) -> Member:
        return self.members[economy]


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": Wei(10**20)})
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)


def build_network(
    w3: Web3, directory: Path, economies: tuple[str, ...] = ECONOMIES
) -> tuple[Network, list[EmbeddedIpfsNode]]:
    deployer = Account.create()
    _fund(w3, deployer.address)
    accounts = {e: Account.create() for e in economies}
    for account in accounts.values():
        _fund(w3, account.address)
    keys = {e: MemberEncryptionKey.generate() for e in economies}
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [FoundingMember(e, keys[e].public_key_bytes, (accounts[e].address,)) for e in economies],
    )
    nodes: list[EmbeddedIpfsNode] = []
    try:
        for e in economies:
            node = EmbeddedIpfsNode(
                directory / e / "repo",
                api_port=free_port(),
                swarm_port=free_port(),
                log_file=directory / e / "ipfs.log",
            )
            node.start()
            nodes.append(node)
        connect_nodes(*nodes)
    except BaseException:  # a failed set-up must not leave IPFS node processes behind
        for node in nodes:
            node.stop()
        raise
    members = {}
    for e, node in zip(economies, nodes, strict=True):
        ledger = Ledger.open(w3, deployment, TransactionSender(w3, accounts[e]))
        ipfs = IpfsStore(node.api_address, timeout=10.0)
        outbox = Outbox(f"sqlite:///{directory / e / 'outbox.db'}")
        pipeline = DocumentPipeline(ledger, ipfs, keys[e], outbox, fetch_timeout=10.0)
        members[e] = Member(e, keys[e], ledger, node, ipfs, pipeline)
    return Network(w3, deployment, members), nodes


@contextmanager
def running_network(
    w3: Web3, directory: Path, economies: tuple[str, ...] = ECONOMIES
) -> Iterator[Network]:
    """`build_network`, closed on exit: the members' IPFS clients, then the IPFS nodes."""
    net, nodes = build_network(w3, directory, economies)
    try:
        yield net
    finally:
        for member in net.members.values():
            member.ipfs.close()
        for node in nodes:
            node.stop()


def make_listener(
    member: Member, database: Database, *, rules: RiskRules | None = None, **options: Any
) -> RegistryListener:
    rules = rules or RiskRules(base_inspection_rate=0.0)
    options.setdefault("confirmations", 0)
    return RegistryListener(
        economy=member.economy,
        ledger=member.ledger,
        fetcher=member.pipeline,
        db=database,
        engine=RiskEngine([ReferenceRiskEngine(rules)], rules),
        ipfs=member.ipfs,
        **options,
    )


def count_hook_runs(listener: RegistryListener, runs: list[str]) -> None:
    """Record the idempotency key of every risk-engine run of `listener` in `runs`."""
    assess = listener.engine.assess

    def counted(context: RiskContext) -> Assessment:
        runs.append(context.idempotency_key)
        return assess(context)

    listener.engine.assess = counted  # type: ignore[method-assign]
