"""The listener end to end: real anvil, real embedded IPFS nodes, real SQLite."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger_client.errors import VerificationError
from ledger_client.raw_logs import RawLog
from ledger_client.records import document_id
from manifests import PreArrivalManifest
from manifests.generate import generate_linked_co, generate_manifest
from node import db as tables
from node import listener as listener_module
from node.db import Database
from node.listener import State, next_scan_span, processing_counts
from node.reasons import open_shared_reasons
from node.settings import WebhookTarget
from tests.node.network import Network, count_hook_runs, make_listener


def _manifest(seed: int, origin: str = "KZ", destination: str = "UZ") -> PreArrivalManifest:
    return generate_manifest(seed, origin=origin, destination=destination)


def _wait_blocks(w3, n: int) -> None:  # type: ignore[no-untyped-def]
    target = w3.eth.block_number + n
    while w3.eth.block_number < target:
        time.sleep(0.05)


def test_manifest_and_linked_co_are_assessed_once_and_acknowledged(
    network: Network, database: Callable[[str], Database]
) -> None:
    kz, uz, az = network["KZ"], network["UZ"], network["AZ"]
    start = network.w3.eth.block_number + 1
    manifest = _manifest(101)
    co = generate_linked_co(manifest)
    m = kz.pipeline.submit(manifest)
    c = kz.pipeline.submit(co)
    uz_db, kz_db, az_db = database("uz"), database("kz"), database("az")
    hook_target = WebhookTarget(name="risk-sys", url="http://127.0.0.1:9/", secret="s" * 20)
    uz_listener = make_listener(
        uz, uz_db, start_block=start, share_reasons_with=lambda _: True, webhooks=[hook_target]
    )
    az_listener = make_listener(az, az_db, start_block=start)
    hook_runs: list[str] = []
    count_hook_runs(uz_listener, hook_runs)
    uz_listener.poll_once()
    uz_listener.poll_once()  # a second round changes nothing
    make_listener(uz, uz_db, start_block=start).poll_once()  # nor does a restart
    az_listener.poll_once()
    assert sorted(hook_runs) == sorted(f"{r.document_id}:1" for r in (m, c))
    with uz_db.sessions() as s:
        outcomes = {(o.document_id, o.version): o for o in s.scalars(select(tables.RiskOutcome))}
    assert set(outcomes) == {
        (m.document_id.removeprefix("0x"), 1),
        (c.document_id.removeprefix("0x"), 1),
    }
    assert processing_counts(uz_db) == {State.ACKNOWLEDGED: 2}
    assert processing_counts(az_db) == {}  # nothing addressed to AZ
    for receipt in (m, c):
        lane, _ = uz.ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")
        assert lane is not None
        assert int(lane) == outcomes[(receipt.document_id.removeprefix("0x"), 1)].lane
    # the batched read agrees: acknowledged by UZ, not by AZ, no version 2
    asked = [(m.document_id_bytes, 1), (c.document_id_bytes, 2), (c.document_id_bytes, 1)]
    assert uz.ledger.registry.acknowledged("UZ", asked) == [True, False, True]
    assert uz.ledger.registry.acknowledged("AZ", asked) == [False, False, False]
    co_reasons = json.loads(outcomes[(c.document_id.removeprefix("0x"), 1)].reasons)
    assert not [f for f in co_reasons["findings"] if f["rule"].startswith("linked.")]
    _wait_blocks(network.w3, 1)
    kz_listener = make_listener(kz, kz_db, start_block=start)
    kz_listener.poll_once()
    with kz_db.sessions() as s:
        acks = list(s.scalars(select(tables.Acknowledgement)))
    assert {(a.document_id, a.acknowledger) for a in acks} == {
        (m.document_id.removeprefix("0x"), "UZ"),
        (c.document_id.removeprefix("0x"), "UZ"),
    }
    assert all(a.reasons_digest != "00" * 32 for a in acks)
    with uz_db.sessions() as s:
        deliveries = {d.idempotency_key for d in s.scalars(select(tables.WebhookDelivery))}
    assert deliveries == {f"{r.document_id}:1:risk-sys" for r in (m, c)}
    for ack in acks:  # the issuer opens the shared reasons and checks them against the chain
        reasons = open_shared_reasons(
            kz.ipfs,
            "KZ",
            kz.key,
            bytes.fromhex(ack.document_id),
            ack.version,
            bytes.fromhex(ack.reasons_commitment),
            bytes.fromhex(ack.reasons_digest),
        )
        assert reasons == json.loads(outcomes[(ack.document_id, 1)].reasons)
    with pytest.raises(VerificationError):
        open_shared_reasons(
            kz.ipfs,
            "KZ",
            kz.key,
            bytes.fromhex(acks[0].document_id),
            1,
            b"\x01" * 32,  # not the committed reasons
            bytes.fromhex(acks[0].reasons_digest),
        )


def test_revoked_before_processing_is_not_assessed(
    network: Network, database: Callable[[str], Database]
) -> None:
    kz, uz = network["KZ"], network["UZ"]
    start = network.w3.eth.block_number + 1
    receipt = kz.pipeline.submit(_manifest(303))
    kz.pipeline.revoke(receipt.document_id_bytes, 2)
    db = database("uz-revoked")
    make_listener(uz, db, start_block=start).poll_once()
    with db.sessions() as s:
        row = s.get(tables.Processing, (receipt.document_id.removeprefix("0x"), 1))
        outcomes = s.scalar(select(func.count()).select_from(tables.RiskOutcome))
    assert row is not None and row.state == State.REVOKED
    assert outcomes == 0
    assert uz.ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")[0] is None


def test_unverifiable_document_is_recorded_and_alerted_and_no_hook_runs(
    network: Network, database: Callable[[str], Database]
) -> None:
    import os

    from ledger_client.commitment import commit
    from ledger_client.envelope import EnvelopeContext, RecipientKey, seal
    from ledger_client.ipfs import cid_to_digest
    from ledger_client.provenance import DocumentPayload
    from ledger_client.records import DocType, Record, document_id
    from node.metrics import VERIFICATION_FAILURES

    kz, uz = network["KZ"], network["UZ"]
    manifest = _manifest(202)
    doc = manifest.model_dump(mode="json")
    serial = 10**12 + int.from_bytes(os.urandom(4), "big")
    doc_id = document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, serial)
    committed = commit(doc, 1, manifest.schema_version)
    payload = DocumentPayload(1, manifest.schema_version, doc, committed.salts).to_bytes()
    keys = {e: RecipientKey(network[e].key.public_key_bytes, 1) for e in ("KZ", "UZ")}
    digest = cid_to_digest(kz.ipfs.add_bytes(seal(payload, keys, EnvelopeContext(doc_id, 1))))
    wrong_commitment = os.urandom(32)  # the chain names a commitment the payload does not have
    kz.ledger.registry.anchor(
        serial, Record(DocType.PRE_ARRIVAL_MANIFEST, wrong_commitment, digest, ("UZ",))
    )
    before = VERIFICATION_FAILURES.labels("commitment")._value.get()
    uz_db = database("uz-verify")
    calls: list[str] = []
    listener = make_listener(uz, uz_db)
    count_hook_runs(listener, calls)
    listener.poll_once()
    with uz_db.sessions() as s:
        failures = list(s.scalars(select(tables.VerificationFailure)))
        row = s.get(tables.Processing, (doc_id.hex(), 1))
        outcome = s.get(tables.RiskOutcome, (doc_id.hex(), 1))
    assert [f.check for f in failures if f.document_id == doc_id.hex()] == ["commitment"]
    assert row is not None and row.state == State.VERIFICATION_FAILED
    assert outcome is None
    assert f"0x{doc_id.hex()}:1" not in calls
    assert VERIFICATION_FAILURES.labels("commitment")._value.get() == before + 1
    assert uz.ledger.registry.acknowledgement(doc_id, 1, "UZ")[0] is None


def test_the_hooks_see_the_newest_unit_values_of_a_subheading_up_to_the_window(
    network: Network, database: Callable[[str], Database]
) -> None:
    """The value-history lookup returns the most recent `value_history_window` values
    (newest first), so it costs the same however long the history grows."""
    kz, uz = network["KZ"], network["UZ"]
    receipt = kz.pipeline.submit(generate_manifest(7070, origin="KZ", destination="UZ"))
    doc_id = bytes.fromhex(receipt.document_id.removeprefix("0x"))
    verified = uz.pipeline.fetch_and_verify(doc_id, 1)
    db = database("uz-value-window")
    listener = make_listener(uz, db)
    listener.engine.rules.value_history_window = 4
    with db.transaction() as session:
        for n in range(10):  # ids ascend with n: 0.0 is the oldest, 9.0 the newest
            session.add(
                tables.ValueHistory(
                    hs_subheading="090111", origin="KZ", currency="USD", unit_value=float(n),
                    document_id=f"{n:064x}", version=1, item=0,
                )
            )  # fmt: skip
        session.add(
            tables.ValueHistory(
                hs_subheading="090111",
                origin="KZ",
                currency="USD",
                unit_value=99.0,
                document_id=doc_id.hex(),
                version=1,
                item=0,
            )
        )  # fmt: skip: the document's own value is never compared with itself
    context = listener._context(doc_id, 1, verified)
    assert list(context.unit_values("090111", "KZ", "USD")) == [9.0, 8.0, 7.0, 6.0]
    assert list(context.unit_values("090111", "KZ", "EUR")) == []


@pytest.mark.parametrize(
    ("span", "scanned", "logs", "expected"),
    [
        (16, 16, 8000, 4),  # four times the target: a quarter of the blocks
        (16, 16, 2000, 16),  # on target: kept
        (16, 16, 999, 32),  # under half: doubled
        (1500, 1500, 0, 2000),  # doubled up to the limit
        (16, 3, 0, 16),  # fewer blocks than the span (the head): kept
        (4, 1, 50_000, 1),  # one block over the target: never below one block
    ],
)
def test_the_scan_span_follows_the_logs_per_chunk(
    span: int, scanned: int, logs: int, expected: int
) -> None:
    assert next_scan_span(span, scanned, logs, limit=2000, target=2000) == expected


def test_a_backlog_is_scanned_in_pieces_of_about_the_log_target_and_recorded_once(
    network: Network, database: Callable[[str], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    kz, uz = network["KZ"], network["UZ"]
    start = network.w3.eth.block_number + 1
    receipts = []
    for batch in range(4):
        receipts += kz.pipeline.submit_batch([_manifest(900 + 10 * batch + i) for i in range(3)])
    _wait_blocks(network.w3, 1)
    safe = network.w3.eth.block_number
    monkeypatch.setattr(listener_module, "SCAN_FIRST_SPAN", 1)
    db = database("uz-span")
    listener = make_listener(uz, db, start_block=start, scan_logs_target=2)
    chunks: list[tuple[int, int]] = []
    filters = listener._log_filters

    def recorded(first: int, last: int) -> list[Any]:
        chunks.append((first, last))
        return filters(first, last)

    listener._log_filters = recorded  # type: ignore[method-assign]
    listener.scan_once()
    with db.sessions() as s:
        logs = list(
            s.scalars(
                select(tables.ChainEvent.block_number).where(tables.ChainEvent.block_number <= safe)
            )
        )
        versions = set(s.execute(select(tables.Processing.document_id, tables.Processing.version)))
    assert versions == {(r.document_id.removeprefix("0x"), 1) for r in receipts}
    assert len(logs) == len(receipts)  # each event once
    # Contiguous chunks from the start; one block at a time wherever a block held
    # more than the target (3 anchors a block here), wider over empty stretches.
    assert chunks[0][0] == start and chunks[-1][1] >= safe
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(chunks))
    per_block = Counter(logs)
    for (first, last), (next_first, next_last) in itertools.pairwise(chunks):
        held = sum(n for block, n in per_block.items() if first <= block <= last)
        if held > 2:  # the last chunk may end early, at the head
            shrunk = max(1, (last - first + 1) * 2 // held)
            assert next_last - next_first + 1 == shrunk or next_last == chunks[-1][1]
    assert any(sum(n for b, n in per_block.items() if a <= b <= z) > 2 for a, z in chunks)
    assert max(last - first + 1 for first, last in chunks) <= listener.chunk_size


def _log(
    event: str,
    doc: bytes,
    topics: tuple[bytes, ...],
    words: tuple[int | bytes, ...],
    tx: int,
    index: int,
) -> RawLog:
    data = b"".join(w if isinstance(w, bytes) else w.to_bytes(32, "big") for w in words)
    return RawLog(
        event, (b"\0" * 32, doc, *topics), data, 100 + tx, index, bytes([tx]) * 32, bytes([tx]) * 32
    )


def test_a_span_is_recorded_with_the_per_log_rules(
    network: Network, database: Callable[[str], Database]
) -> None:
    """Spans are recorded set-based (`_record_span`): each log once, a revocation ends
    the pending versions recorded before it (in earlier spans or earlier in its own),
    never an acknowledged one, and an acknowledgement seen again (re-mined) wins."""
    db = database("uz-spans")
    listener = make_listener(network["UZ"], db, start_block=0)
    a, b, c = (document_id("KZ", 1, serial) for serial in (7001, 7002, 7003))
    uz, kz = b"UZ" + b"\0" * 30, b"KZ" + b"\0" * 30
    manifest = (1).to_bytes(32, "big")
    first = [
        _log("DocumentAnchored", a, (manifest, uz), (b"\1" * 32, b"\2" * 32), 1, 0),
        _log("DocumentAnchored", b, (manifest, uz), (b"\1" * 32, b"\2" * 32), 1, 1),
    ]
    ack = (b, (kz, uz), (1, 2, b"\3" * 32, b"\4" * 32))
    second = [
        _log("DocumentAmended", a, (manifest, uz), (2, b"\5" * 32, b"\6" * 32), 2, 0),
        _log("DocumentAnchored", c, (manifest, uz), (b"\1" * 32, b"\2" * 32), 2, 1),
        _log("DocumentAcknowledged", *ack, 3, 0),
        _log("DocumentRevoked", a, (manifest, uz), (4,), 4, 0),
        _log("DocumentRevoked", b, (manifest, uz), (4,), 4, 1),
    ]
    with db.transaction() as s:
        assert listener._record_span(s, first) == 2
    with db.transaction() as s:  # B is acknowledged before its revocation is seen
        row = s.get(tables.Processing, (b.hex(), 1))
        assert row is not None
        row.state = State.ACKNOWLEDGED
    with db.transaction() as s:
        assert listener._record_span(s, second) == 5
    with db.transaction() as s:  # the same span again: nothing new
        assert listener._record_span(s, [*first, *second]) == 0
    with db.transaction() as s:  # the acknowledgement re-mined in another transaction
        assert (
            listener._record_span(
                s, [_log("DocumentAcknowledged", *ack[:2], (1, 3, b"\3" * 32, b"\4" * 32), 5, 0)]
            )
            == 1
        )
    with db.sessions() as s:
        states = {(p.document_id, p.version): p.state for p in s.scalars(select(tables.Processing))}
        events = s.scalar(select(func.count()).select_from(tables.ChainEvent))
        acks = [
            (x.document_id, x.acknowledger, x.issuer, x.lane, x.tx_hash)
            for x in s.scalars(select(tables.Acknowledgement))
        ]
        revocation = s.scalar(
            select(tables.ChainEvent.data).where(tables.ChainEvent.event == "DocumentRevoked")
        )
    assert states == {
        (a.hex(), 1): State.REVOKED,  # recorded in an earlier span
        (a.hex(), 2): State.REVOKED,  # recorded earlier in the same span
        (b.hex(), 1): State.ACKNOWLEDGED,
        (c.hex(), 1): State.PENDING,
    }
    assert events == 8
    assert acks == [(b.hex(), "UZ", "KZ", 3, "05" * 32)]
    assert json.loads(revocation or "") == {"reason": 4}
