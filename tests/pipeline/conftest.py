"""Fixtures for the document pipeline: a consortium with real encryption keys, two real
embedded IPFS nodes (an exporting and an importing side, connected over loopback
bitswap), and pipelines bound to them.

Keys and accounts made here are TEST FIXTURES: random, generated per run, funded
only on the test chain, never written outside pytest's temporary directories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import Network, deploy_network
from web3 import Web3

from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port


def start_ipfs_node(directory: Path, name: str) -> EmbeddedIpfsNode:
    node = EmbeddedIpfsNode(
        directory / name / "repo",
        api_port=free_port(),
        swarm_port=free_port(),
        log_file=directory / name / "node.log",
    )
    node.start()
    return node


@pytest.fixture(scope="session")
def ipfs_nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedIpfsNode, EmbeddedIpfsNode]]:
    """(exporting side, importing side): two members' nodes, connected to each other."""
    directory = tmp_path_factory.mktemp("pipeline-ipfs")
    nodes = (start_ipfs_node(directory, "exporter"), start_ipfs_node(directory, "importer"))
    try:
        nodes[1].connect(nodes[0])
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def network(
    w3: Web3,
    ipfs_nodes: tuple[EmbeddedIpfsNode, EmbeddedIpfsNode],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Network]:
    """A fresh deployment per test module (its own id namespaces and serials)."""
    net = deploy_network(w3, ipfs_nodes, tmp_path_factory.mktemp("outboxes"))
    yield net
    for pipeline in net.pipelines:
        pipeline.outbox.close()
    net.exporter_store.close()
    net.importer_store.close()
