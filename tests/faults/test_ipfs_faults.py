"""IPFS node down: the issuer's node during submission, a destination's node while
its listener runs. After the node is back every document is anchored exactly
once and processed exactly once by its destination."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger_client.errors import IpfsUnavailableError
from ledger_client.outbox import SubmissionState
from node import db as tables
from node.listener import State
from tests.faults.faultnet import (
    FaultNetwork,
    assert_exactly_once,
    manifests,
    poll_until_done,
    submitted_ids,
)


def _anchor_events(fnet: FaultNetwork, start: int) -> int:
    registry = fnet["KZ"].ledger.registry
    return len(registry.contract.events.DocumentAnchored().get_logs(from_block=start))


def test_issuer_ipfs_node_down_mid_stream(fnet: FaultNetwork) -> None:
    start = fnet.w3.eth.block_number + 1
    issuer = fnet["KZ"].pipeline
    batches = [manifests("KZ", "UZ", 8, seed=100 + i) for i in range(4)]
    db = fnet.database("uz-issuer-ipfs-down")
    listener = fnet.listener("UZ", db, start_block=start)

    issuer.submit_batch(batches[0])
    poll_until_done(listener, 8)
    fnet.stop_ipfs("KZ")
    try:
        before = _anchor_events(fnet, start)
        with pytest.raises(IpfsUnavailableError) as refused:
            issuer.submit_batch(batches[1])
        assert issuer.ipfs.api_address in str(refused.value)  # names the node it could not reach
        queued = issuer.submit_batch(batches[2], queue=True)
        assert [r.state for r in queued] == [SubmissionState.VALIDATED] * 8
        assert _anchor_events(fnet, start) == before  # nothing reached the chain
        for document in batches[1]:  # refused whole: no reference kept an id
            assert issuer.outbox.allocation("KZ", 1, document.reference) is None
    finally:
        fnet.start_ipfs("KZ")
    again = issuer.submit_batch(batches[1])
    assert {r.state for r in again} == {SubmissionState.ANCHORED}
    report = issuer.resume()
    assert len(report.anchored) == 8 and not report.failed and not report.pending
    issuer.submit_batch(batches[3])

    documents = [d for batch in batches for d in batch]
    poll_until_done(listener, len(documents))
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"UZ": db}, start)


def test_destination_ipfs_node_down_while_its_listener_runs(fnet: FaultNetwork) -> None:
    start = fnet.w3.eth.block_number + 1
    issuer = fnet["KZ"].pipeline
    documents = manifests("KZ", "AZ", 3, seed=200)
    db = fnet.database("az-ipfs-down")
    listener = fnet.listener("AZ", db, start_block=start, max_attempts=5)
    issuer.submit_batch(documents)
    fnet.stop_ipfs("AZ")
    try:
        for _ in range(listener.max_attempts + 2):  # longer than its retry budget
            with pytest.raises(IpfsUnavailableError):  # the round stops at the outage
                listener.poll_once()
    finally:
        fnet.start_ipfs("AZ")
    with db.sessions() as session:  # an outage costs no attempt: nothing was given up
        rows = session.scalars(select(tables.Processing)).all()
    assert {(r.state, r.attempts) for r in rows} == {(State.PENDING, 0)}
    assert any("IpfsUnavailableError" in (r.last_error or "") for r in rows)
    poll_until_done(listener, len(documents), rounds=20)
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"AZ": db}, start)
