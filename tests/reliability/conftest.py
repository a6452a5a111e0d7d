"""Fixtures of the reliability and security catalogue: one consortium (KZ, UZ, AZ)
with real X25519 keys, embedded IPFS nodes and pipelines (`tests.node.network`),
shared by every module of this package, and in-process node APIs over it.

Keys made here are TEST FIXTURES: random per run, funded only on the test chain,
never written outside pytest's temporary directories.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from web3 import Web3
from web3.types import LogReceipt

from ledger_client.outbox import OutboxSummary
from node.db import Base
from tests.node.network import Network, running_network
from tests.node.test_api import NodeClient, _runtime


@pytest.fixture(scope="package")
def network(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(w3, tmp_path_factory.mktemp("reliability-net")) as net:
        yield net


@pytest.fixture(scope="package")
def nodes(
    network: Network, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, NodeClient]]:
    """KZ's and UZ's node APIs (TestClient, listener off) with one key per role each."""
    directory = tmp_path_factory.mktemp("reliability-api")
    clients = {e: NodeClient(_runtime(network[e], directory)) for e in ("KZ", "UZ")}
    yield clients
    for c in clients.values():
        c.runtime.db.close()
        c.runtime.dispatcher.close()


@dataclass(frozen=True)
class Trace:
    """What a refused request must leave unchanged, on every side."""

    pins: frozenset[str]
    registry_logs: int
    nonce: int
    outbox: OutboxSummary
    node_rows: dict[str, int]


def registry_logs(network: Network) -> list[LogReceipt]:
    registry = network.deployment.contracts["DocumentRegistry"]
    return list(
        network.w3.eth.get_logs(
            {"address": registry.address, "fromBlock": registry.block, "toBlock": "latest"}
        )
    )


def trace(network: Network, node: NodeClient) -> Trace:
    """Chain (registry logs, member nonce), IPFS pins, outbox and node database rows."""
    member = network[node.runtime.economy]
    with node.runtime.db.sessions() as session:
        rows = {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
            if table.name != "api_keys"
        }
    return Trace(
        frozenset(member.ipfs.pins()),
        len(registry_logs(network)),
        network.w3.eth.get_transaction_count(member.ledger.sender.address),  # type: ignore[union-attr]
        member.pipeline.outbox.summary(),
        rows,
    )
