"""The database locked or full, under the issuer's outbox and under a destination's
node database. A lock held for a while is waited out; one held too long fails
the operation with SQLite's "database is locked" and nothing half-written; a
full database ("database or disk is full", simulated with SQLite's
`max_page_count`) fails the same way; after release or once space is freed,
work continues and every document is anchored and processed exactly once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from ledger_client.outbox import Outbox, SubmissionState
from ledger_client.pipeline import DocumentPipeline
from node.listener import processing_counts
from tests.faults.faultnet import (
    FaultNetwork,
    assert_exactly_once,
    manifests,
    poll_until_done,
    submitted_ids,
)


@contextmanager
def exclusive_lock(path: Path, seconds: float) -> Iterator[threading.Thread]:
    """Another process's writer: an EXCLUSIVE transaction on `path` held `seconds`."""
    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            held.set()
            time.sleep(seconds)
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        yield holder
    finally:
        holder.join(seconds + 10)


def limit_pages(engine: Engine, extra_pages: int | None) -> None:
    """Cap the database file at its current size + `extra_pages` (None: no cap) for
    every new connection of `engine`; pooled connections are dropped."""

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        limit = 2**31 - 2 if extra_pages is None else pages + extra_pages
        cursor.execute(f"PRAGMA max_page_count = {limit}")
        cursor.close()

    if event.contains(engine, "connect", getattr(engine, "_fault_cap", cap)):
        event.remove(engine, "connect", engine._fault_cap)  # type: ignore[attr-defined]
    engine._fault_cap = cap  # type: ignore[attr-defined]
    event.listen(engine, "connect", cap)
    engine.dispose()


def _fresh_pipeline(fnet: FaultNetwork, path: Path, **outbox_options: str) -> DocumentPipeline:
    """KZ's node on an outbox of the test's own (serials continue after the chain's;
    this module never uses the member's own outbox, so no two share a serial)."""
    member = fnet["KZ"]
    query = "&".join(f"{k}={v}" for k, v in outbox_options.items())
    outbox = Outbox(f"sqlite:///{path}" + (f"?{query}" if query else ""))
    return DocumentPipeline(member.ledger, member.ipfs, member.key, outbox, fetch_timeout=10.0)


def _anchors(fnet: FaultNetwork, start: int) -> int:
    registry = fnet["KZ"].ledger.registry
    return len(registry.contract.events.DocumentAnchored().get_logs(from_block=start))


def test_outbox_locked_waits_or_fails_cleanly_then_resume_settles(
    fnet: FaultNetwork, tmp_path: Path
) -> None:
    start = fnet.w3.eth.block_number + 1
    path = tmp_path / "outbox-locked.db"
    issuer = _fresh_pipeline(fnet, path, timeout="0.5")
    waited, refused, interrupted = (manifests("KZ", "UZ", 5, seed=700 + i) for i in range(3))

    # Locked for a moment (shorter than the busy timeout): the submission waits.
    with exclusive_lock(path, 0.3):
        receipts = issuer.submit_batch(waited)
    assert {r.state for r in receipts} == {SubmissionState.ANCHORED}

    # Locked longer than the timeout before anything was written: refused whole.
    before = _anchors(fnet, start)
    with exclusive_lock(path, 1.5), pytest.raises(OperationalError, match="database is locked"):
        issuer.submit_batch(refused)
    assert _anchors(fnet, start) == before
    assert all(issuer.outbox.allocation("KZ", 1, d.reference) is None for d in refused)

    # Locked just after the transaction, before the outbox could record it.
    real = issuer.registry.anchor_batch
    lock: list[Any] = []

    def anchor_then_lock(*args: Any, **kwargs: Any) -> Any:
        batch = real(*args, **kwargs)
        lock.append(exclusive_lock(path, 1.5))
        lock[0].__enter__()
        return batch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(issuer.registry, "anchor_batch", anchor_then_lock)
        with pytest.raises(OperationalError, match="database is locked"):
            issuer.submit_batch(interrupted)
    lock[0].__exit__(None, None, None)
    assert [e.state for e in issuer.outbox.pending()] == [SubmissionState.STORED] * 5
    sender = issuer.ledger.sender
    assert sender is not None
    nonce = fnet.w3.eth.get_transaction_count(sender.address)
    report = issuer.resume()  # settled from the chain, no second transaction
    assert len(report.anchored) == 5 and not report.failed
    assert fnet.w3.eth.get_transaction_count(sender.address) == nonce
    issuer.submit_batch(refused)

    db = fnet.database("uz-outbox-locked")
    listener = fnet.listener("UZ", db, start_block=start)
    documents = waited + refused + interrupted
    poll_until_done(listener, len(documents))
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"UZ": db}, start)
    issuer.outbox.close()


def test_outbox_full_refuses_whole_then_continues_once_space_is_freed(
    fnet: FaultNetwork, tmp_path: Path
) -> None:
    start = fnet.w3.eth.block_number + 1
    issuer = _fresh_pipeline(fnet, tmp_path / "outbox-full.db")
    first, too_big, later = (manifests("KZ", "AZ", 10, seed=720 + i) for i in range(3))
    issuer.submit_batch(first)
    limit_pages(issuer.outbox.engine, 1)  # ten sealed envelopes do not fit in one page
    before = _anchors(fnet, start)
    counter = issuer.outbox.next_serial("KZ")
    with pytest.raises(OperationalError, match="database or disk is full"):
        issuer.submit_batch(too_big)
    assert _anchors(fnet, start) == before  # nothing anchored, nothing half-written
    assert issuer.outbox.next_serial("KZ") == counter
    assert all(issuer.outbox.allocation("KZ", 1, d.reference) is None for d in too_big)
    limit_pages(issuer.outbox.engine, None)  # space freed
    issuer.submit_batch(too_big)
    issuer.submit_batch(later)

    db = fnet.database("az-outbox-full")
    listener = fnet.listener("AZ", db, start_block=start)
    documents = first + too_big + later
    poll_until_done(listener, len(documents))
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"AZ": db}, start)
    issuer.outbox.close()


def test_node_database_locked_then_full_while_listening(fnet: FaultNetwork, tmp_path: Path) -> None:
    start = fnet.w3.eth.block_number + 1
    issuer = _fresh_pipeline(fnet, tmp_path / "outbox.db")
    db = fnet.database("uz-node-db")
    listener = fnet.listener("UZ", db, start_block=start)
    path = Path(db.engine.url.database or "")
    first, second = manifests("KZ", "UZ", 6, seed=740), manifests("KZ", "UZ", 6, seed=741)

    issuer.submit_batch(first)
    with exclusive_lock(path, 1.0):  # within the node's busy timeout: the round waits
        listener.poll_once()
    assert processing_counts(db) == {"acknowledged": 6}

    issuer.submit_batch(second)
    cursor = listener.cursor()
    limit_pages(db.engine, 0)  # no page to spare
    with pytest.raises(OperationalError, match="database or disk is full"):
        listener.poll_once()
    # Whatever failed was not written: either the chunk (cursor where it was) or the
    # first assessment (the new versions still pending: no outcome without its state).
    counts = processing_counts(db)
    assert counts in ({"acknowledged": 6}, {"acknowledged": 6, "pending": 6}), counts
    assert (listener.cursor() == cursor) == (counts == {"acknowledged": 6})
    limit_pages(db.engine, None)
    poll_until_done(listener, 12)
    documents = first + second
    assert_exactly_once(fnet, submitted_ids(issuer, documents), {"UZ": db}, start)
    issuer.outbox.close()
