"""Fixtures of the simple-mode tests: a KZ (full mode) + UZ (simple mode) network on
the session's anvil chain with real embedded IPFS nodes and real keys (test fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from node.db import Database
from tests.node.network import Network, running_network
from tests.simple.exchange import FULL, SIMPLE, SimpleNode, make_simple_node

ECONOMIES = (FULL, SIMPLE)


@pytest.fixture(scope="module")
def network(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(w3, tmp_path_factory.mktemp("simple-net"), ECONOMIES) as net:
        yield net


@pytest.fixture
def simple_node(network: Network, w3: Web3, tmp_path: Path) -> Iterator[Callable[..., SimpleNode]]:
    opened: list[Database] = []

    def build(**options: Any) -> SimpleNode:
        db = Database(f"sqlite:///{tmp_path / f'simple-{len(opened)}.db'}")
        opened.append(db)
        options.setdefault("start_block", w3.eth.block_number + 1)
        return make_simple_node(network[SIMPLE], tmp_path / "exchange", db, **options)

    yield build
    for db in opened:
        db.close()
