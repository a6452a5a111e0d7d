"""Shared fixtures: a real anvil chain on loopback, funded throw-away accounts.

Keys made here are TEST FIXTURES: random, generated per run, funded only on the
test chain, and never written outside pytest's temporary directories.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, settings
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import Deployment, FoundingMember, deploy_all
from ledger_client.ledger import Ledger

settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilChain]:
    chain = AnvilChain(port=free_port(), log_file=tmp_path_factory.mktemp("anvil") / "anvil.log")
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture(scope="session")
def w3(anvil: AnvilChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def fund(w3: Web3):  # type: ignore[no-untyped-def]
    """Fund an address from anvil's unlocked dev account (standard eth_sendTransaction)."""
    faucet = w3.eth.accounts[0]

    def _fund(address: str, wei: int = 10**19) -> None:
        tx = w3.eth.send_transaction({"from": faucet, "to": address, "value": wei})
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)

    return _fund


@pytest.fixture
def new_account(fund) -> LocalAccount:  # type: ignore[no-untyped-def]
    """A fresh funded account (test fixture key)."""
    account: LocalAccount = Account.create()
    fund(account.address)
    return account


@pytest.fixture
def sender(w3: Web3, new_account: LocalAccount) -> TransactionSender:
    return TransactionSender(w3, new_account)


@dataclass
class MemberFixture:
    economy: str
    account: LocalAccount
    encryption_key: bytes
    ledger: Ledger


@dataclass
class ConsortiumFixture:
    deployment: Deployment
    members: dict[str, MemberFixture]
    outsider: Ledger

    def __getitem__(self, economy: str) -> MemberFixture:
        return self.members[economy]


FOUNDERS = ("KZ", "UZ", "AZ", "KR")


def deploy_consortium(w3: Web3, fund, economies=FOUNDERS) -> ConsortiumFixture:  # type: ignore[no-untyped-def]
    """Deploy everything from scratch with fresh (test fixture) member accounts."""
    deployer: LocalAccount = Account.create()
    fund(deployer.address)
    accounts = {e: Account.create() for e in economies}
    for account in accounts.values():
        fund(account.address)
    keys = {e: os.urandom(32) for e in economies}
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [FoundingMember(e, keys[e], (accounts[e].address,)) for e in economies],
    )
    members = {
        e: MemberFixture(
            e, accounts[e], keys[e], Ledger.open(w3, deployment, TransactionSender(w3, accounts[e]))
        )
        for e in economies
    }
    outsider: LocalAccount = Account.create()
    fund(outsider.address)
    return ConsortiumFixture(
        deployment, members, Ledger.open(w3, deployment, TransactionSender(w3, outsider))
    )


@pytest.fixture(scope="module")
def consortium(w3: Web3, anvil: AnvilChain) -> ConsortiumFixture:
    faucet = w3.eth.accounts[0]

    def fund(address: str, wei: int = 10**19) -> None:
        tx = w3.eth.send_transaction({"from": faucet, "to": address, "value": wei})
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)

    return deploy_consortium(w3, fund)
