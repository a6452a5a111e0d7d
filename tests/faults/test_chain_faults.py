"""The chain endpoint down and restarted (anvil with its state persisted) while a
member submits and another's listener runs: pending submissions settle with
`resume`, the listener continues from its cursor, nothing is lost or doubled.

The outage is real (the anvil process is stopped and started again on the same
port with the same state file); only its moment is chosen, by wrapping the
sender's `sign_and_send`: just before a batch's transaction goes out, and once
it is mined but before the submitter saw the receipt (outcome unknown to it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger_client.errors import ChainUnavailableError
from ledger_client.outbox import SubmissionState
from tests.faults.faultnet import (
    FaultNetwork,
    assert_exactly_once,
    manifests,
    poll_until_done,
    submitted_ids,
)


def _outage_around_send(
    fnet: FaultNetwork, patch: pytest.MonkeyPatch, *, after: bool
) -> Callable[[], int]:
    """Stop the chain before the next transaction is sent (or once it is mined, before
    the submitter sees its receipt); returns a counter of the transactions sent."""
    sender = fnet["KZ"].ledger.sender
    assert sender is not None
    real = sender.sign_and_send
    sent = [0]

    def send(tx: Any) -> Any:
        if not after:
            fnet.stop_chain()
        tx_hash = real(tx)
        sent[0] += 1
        if after:
            # Mined, but the submitter never sees the receipt. (Stopping anvil before
            # the block is sealed can persist a used serial without its event: an
            # artifact of anvil's state dump that a real chain does not have.)
            fnet.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.05)
            fnet.stop_chain()
        return tx_hash

    patch.setattr(sender, "sign_and_send", send)
    return lambda: sent[0]


def test_chain_down_and_restarted_mid_stream(fnet: FaultNetwork) -> None:
    start = fnet.w3.eth.block_number + 1
    issuer = fnet["KZ"].pipeline
    batches = [manifests("KZ", "UZ", 8, seed=300 + i) for i in range(5)]
    db = fnet.database("uz-chain-restart")
    listener = fnet.listener("UZ", db, start_block=start)

    issuer.submit_batch(batches[0])
    listener.poll_once()
    cursor = listener.cursor()
    assert cursor is not None

    # 1. The endpoint goes down just before the batch's transaction.
    with pytest.MonkeyPatch.context() as patch:
        sent = _outage_around_send(fnet, patch, after=False)
        queued = issuer.submit_batch(batches[1], queue=True)
    try:
        assert sent() == 0
        assert [r.state for r in queued] == [SubmissionState.STORED] * 8  # pinned, kept
        assert all("ChainUnavailableError" in (e.error or "") for e in issuer.outbox.pending())
        with pytest.raises(OSError):  # the listener's round stops at the outage...
            listener.poll_once()
        assert listener.cursor() == cursor  # ...and its cursor stays where it was
        with pytest.raises(ChainUnavailableError, match=r"not reachable|could not send"):
            issuer.submit_batch(batches[2])  # raises, and stays pending for resume
        assert len(issuer.outbox.pending("KZ")) == 16
    finally:
        fnet.start_chain()
    report = issuer.resume()
    assert len(report.anchored) == 16 and not report.failed and not report.pending
    assert listener.poll_once().from_block == cursor[0] + 1  # continues from its cursor

    # 2. The endpoint goes down right after the transaction went out.
    with pytest.MonkeyPatch.context() as patch:
        sent = _outage_around_send(fnet, patch, after=True)
        try:
            queued = issuer.submit_batch(batches[3], queue=True)
        finally:
            fnet.start_chain()
    assert sent() == 1
    assert [r.state for r in queued] == [SubmissionState.STORED] * 8  # outcome unknown
    nonce = fnet.w3.eth.get_transaction_count(fnet["KZ"].ledger.sender.address)  # type: ignore[union-attr]
    report = issuer.resume()  # settled from the chain: no second transaction
    assert fnet.w3.eth.get_transaction_count(fnet["KZ"].ledger.sender.address) == nonce  # type: ignore[union-attr]
    assert len(report.anchored) == 8 and not report.failed and not report.pending

    assert not any(r.created for r in issuer.submit_batch(batches[2]))  # already anchored
    issuer.submit_batch(batches[4])
    assert not issuer.outbox.pending("KZ")
    documents = [d for batch in batches for d in batch]
    poll_until_done(listener, len(documents))
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"UZ": db}, start)
