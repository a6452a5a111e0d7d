"""The outbox records a batch's allocations and submissions in one statement each and
returns the entries it wrote: they must be what a later read finds, in the batch's
order, on SQLite and on PostgreSQL (a throw-away cluster, see tests/node/postgres.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from ledger_client.outbox import Allocation, NewSubmission, Outbox
from tests.node.postgres import postgres_cluster, why_unavailable


@pytest.fixture(params=["sqlite", "postgresql"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "sqlite":
        opened = Outbox(f"sqlite:///{tmp_path / 'outbox.db'}")
        yield opened
        opened.close()
        return
    if why_unavailable() is not None:
        pytest.skip(str(why_unavailable()))
    with postgres_cluster() as url:
        opened = Outbox(url)
        yield opened
        opened.close()


def _submission(serial: int, version: int = 1) -> NewSubmission:
    return NewSubmission(
        document_id=serial.to_bytes(32, "big"),
        economy="KZ",
        doc_type=serial % 3,
        reference=f"REF-{serial}",
        version=version,
        content_digest=os.urandom(32),
        commitment=os.urandom(32),
        cid=f"Qm{serial:044d}",
        envelope=os.urandom(100),
        destinations=("UZ", "KR")[: 1 + serial % 2],
        links=tuple(os.urandom(32) for _ in range(serial % 3)),
        group_first_serial=1000 if version == 1 else None,
    )


def test_a_batchs_entries_are_what_the_outbox_reads_back_in_order(outbox: Outbox) -> None:
    # Serials out of order: the returned ids must follow the batch, not the sort.
    batch = [_submission(serial) for serial in (1005, 1001, 1003, 1002, 1004)]
    with outbox.transaction() as work:
        work.allocate(
            [
                Allocation(s.economy, s.doc_type, s.reference, n, s.document_id)
                for n, s in enumerate(batch)
            ]
        )
        written = work.add_submissions(batch)
    assert [entry.document_id for entry in written] == [s.document_id for s in batch]
    assert len({entry.id for entry in written}) == len(batch)
    read = outbox.current_entries([s.document_id for s in batch])
    assert [astuple(read[s.document_id]) for s in batch] == [astuple(e) for e in written]
    last = batch[-1]
    assert outbox.allocation("KZ", last.doc_type, last.reference) == Allocation(
        "KZ", last.doc_type, last.reference, len(batch) - 1, last.document_id
    )


def test_a_refused_row_leaves_none_of_its_batch(outbox: Outbox) -> None:
    first = _submission(2001)
    with outbox.transaction() as work:
        work.add_submissions([first])
    # A second live row for the same (document, version) breaks a unique index.
    with pytest.raises(IntegrityError), outbox.transaction() as work:
        work.add_submissions([_submission(2002), first, _submission(2003)])
    read = outbox.current_entries([(2000 + n).to_bytes(32, "big") for n in (1, 2, 3)])
    assert list(read) == [first.document_id]
