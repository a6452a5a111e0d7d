"""Fixtures of the node tests (the network itself is built by `tests.node.network`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from node.db import Database
from tests.node.network import Network, running_network


@pytest.fixture(scope="module")
def network(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(w3, tmp_path_factory.mktemp("node-net")) as net:
        yield net


@pytest.fixture(scope="module")
def own_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilChain]:
    """A chain of the module's own (reorg tests rewind it)."""
    chain = AnvilChain(port=free_port(), log_file=tmp_path_factory.mktemp("anvil") / "anvil.log")
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    opened: list[Database] = []

    def open_db(name: str) -> Database:
        opened.append(Database(f"sqlite:///{tmp_path / (name + '.db')}"))
        return opened[-1]

    yield open_db
    for db in opened:
        db.close()
