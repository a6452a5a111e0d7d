"""A chain reorganisation (anvil's `anvil_reorg`, IN TESTS ONLY) that drops blocks
holding anchors and acknowledgements: the issuer's `resume` anchors the dropped
documents again (same ids, same payloads), the destination's listener notices
the reorganisation, acknowledges them again and runs no hook twice.

The module runs on a chain of its own with interval mining off, so every block
is made on purpose and the depth of the reorganisation is exact.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import connect
from tests.faults.faultnet import (
    FaultNetwork,
    assert_exactly_once,
    manifests,
    poll_until_done,
    submitted_ids,
)
from tests.node.network import build_network, count_hook_runs


@pytest.fixture(scope="module")
def rnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultNetwork]:
    directory = tmp_path_factory.mktemp("reorg-faults")
    # anvil_reorg replays from the state below the blocks it drops
    chain = AnvilChain(port=free_port(), log_file=directory / "anvil.log", past_states=16)
    chain.start()
    try:
        w3 = connect(chain.rpc_url)
        net, nodes = build_network(w3, directory, ("KZ", "UZ"))
        w3.provider.make_request("evm_setIntervalMining", [0])  # type: ignore[arg-type]
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        fault_net = FaultNetwork(chain, net, dict(zip(("KZ", "UZ"), nodes, strict=True)), directory)
        try:
            yield fault_net
        finally:
            fault_net.close()
    finally:
        chain.stop()


def _reorg(rnet: FaultNetwork, depth: int) -> None:
    response = rnet.w3.provider.make_request("anvil_reorg", [depth, []])
    assert "error" not in response, response
    for member in rnet.net.members.values():  # their transactions in those blocks are gone
        assert member.ledger.sender is not None
        member.ledger.sender.resync_nonce()


def test_reorg_drops_anchors_and_acks_then_both_are_redone_once(rnet: FaultNetwork) -> None:
    start = rnet.w3.eth.block_number + 1
    issuer = rnet["KZ"].pipeline
    first, second = manifests("KZ", "UZ", 5, seed=500), manifests("KZ", "UZ", 5, seed=501)
    db = rnet.database("uz-reorg")
    listener = rnet.listener("UZ", db, start_block=start, confirmations=0)
    hook_runs: list[str] = []
    count_hook_runs(listener, hook_runs)

    kept = issuer.submit_batch(first)
    poll_until_done(listener, 5)
    fork = rnet.w3.eth.block_number  # everything after this block is dropped
    dropped = issuer.submit_batch(second)
    poll_until_done(listener, 10)
    assert len(hook_runs) == 10
    head = rnet.w3.eth.block_number
    _reorg(rnet, head - fork)
    assert rnet.w3.eth.block_number == head  # same height, other blocks
    assert all(issuer.registry.is_anchored(r.document_id_bytes) for r in kept)
    assert not any(issuer.registry.is_anchored(r.document_id_bytes) for r in dropped)

    report = issuer.resume()  # the issuer notices its anchors left the chain
    assert sorted(r.document_id for r in report.anchored) == sorted(r.document_id for r in dropped)
    assert not report.failed and not report.pending
    assert [r.cid for r in report.anchored] == [r.cid for r in dropped]  # same payloads
    poll_until_done(listener, 10)  # acknowledged again after the reorg rewind
    assert len(hook_runs) == 10  # no hook ran twice
    assert_exactly_once(rnet, submitted_ids(issuer, first + second), {"UZ": db}, start)
    assert issuer.resume().anchored == []  # nothing left to redo


def test_reorg_ahead_of_the_cursor_drops_acks_which_are_sent_again(rnet: FaultNetwork) -> None:
    """Blocks after the listener's cursor held only its acknowledgements: the cursor
    does not notice; the acknowledgement recheck does (here with no settle time)."""
    start = rnet.w3.eth.block_number + 1
    issuer = rnet["KZ"].pipeline
    documents = manifests("KZ", "UZ", 4, seed=510)
    db = rnet.database("uz-reorg-ahead")
    listener = rnet.listener("UZ", db, start_block=start, ack_settle_seconds=0.0)
    hook_runs: list[str] = []
    count_hook_runs(listener, hook_runs)
    issuer.submit_batch(documents)
    poll_until_done(listener, 4)
    cursor = listener.cursor()
    assert cursor is not None
    head = rnet.w3.eth.block_number
    assert head > cursor[0]  # the acknowledgements were mined after the scanned range
    _reorg(rnet, head - cursor[0])
    assert listener.cursor() == cursor and not listener.scan_once().reorg  # unnoticed
    assert listener.recheck_acknowledgements() == 4
    poll_until_done(listener, 4)
    assert len(hook_runs) == 4  # sent again, assessed once
    assert_exactly_once(rnet, submitted_ids(issuer, documents), {"UZ": db}, start)
