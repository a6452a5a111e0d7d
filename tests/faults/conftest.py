"""Fixtures of the fault tests: a consortium on a chain of the module's own, with
its state persisted, so tests can stop and restart the chain and the IPFS nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import connect
from tests.faults.faultnet import FaultNetwork
from tests.node.network import build_network

ECONOMIES = ("KZ", "UZ", "AZ")


@pytest.fixture(scope="module")
def fnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultNetwork]:
    directory = tmp_path_factory.mktemp("faults")
    chain = AnvilChain(
        port=free_port(),
        log_file=directory / "anvil.log",
        state_file=directory / "anvil-state.json",
    )
    chain.start()
    try:
        net, nodes = build_network(connect(chain.rpc_url), directory, ECONOMIES)
        fault_net = FaultNetwork(chain, net, dict(zip(ECONOMIES, nodes, strict=True)), directory)
        try:
            yield fault_net
        finally:
            fault_net.close()
    finally:
        chain.stop()
