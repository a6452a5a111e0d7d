"""The listener fetches and verifies a chunk's pending versions concurrently, and every
version still ends as when each was fetched at its turn (real anvil, embedded IPFS nodes
and SQLite; the real pipeline is only wrapped to watch its fetches and to bring a real
revocation or IPFS outage at a chosen moment)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from devnet.ipfs import connect_nodes
from ledger_client.aeo import Recognition, operator_id_of
from ledger_client.audit.chain_index import ChainIndex
from ledger_client.commitment import commit
from ledger_client.envelope import EnvelopeContext, RecipientKey, seal
from ledger_client.errors import IpfsUnavailableError
from ledger_client.ipfs import cid_to_digest
from ledger_client.pipeline import DocumentPipeline
from ledger_client.provenance import DocumentHistory, DocumentPayload, VerifiedDocument
from ledger_client.records import DocType, Record, document_id
from manifests.generate import DocumentGenerator, generate_manifest
from node import db as tables
from node.db import Database
from node.listener import RegistryListener, State, processing_counts
from node.risk import Assessment, RiskContext
from node.settings import WebhookTarget
from tests.node.network import Member, Network, make_listener

WAIT = 60.0  # a safety net against a hang only; nothing asserts on time


class WatchedFetcher:
    """The member's real pipeline; records the fetches in flight at once and the threads
    they ran on, and calls `on_fetch(document hex)` as each fetch starts. The first
    `gate` fetches wait until `gate` fetches are in flight together: sequential
    fetching breaks the barrier."""

    def __init__(self, pipeline: DocumentPipeline, gate: int = 0) -> None:
        self.pipeline = pipeline
        self.gate = gate
        self.barrier = threading.Barrier(gate, timeout=WAIT) if gate else None
        self.barrier_broken = False
        self.changed = threading.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started: list[str] = []
        self.returned: set[str] = set()
        self.threads: set[str] = set()
        self.with_history: set[str] = set()  # documents whose history was read beforehand
        self.on_fetch: Callable[[str], None] = lambda doc_hex: None

    def fetch_and_verify(
        self,
        document: bytes | str,
        version: int | None = None,
        *,
        timeout: float | None = None,
        anchored_from: int | None = None,
        history: DocumentHistory | None = None,
    ) -> VerifiedDocument:
        doc_hex = bytes(document).hex() if isinstance(document, bytes) else document
        with self.changed:
            if history is not None:
                self.with_history.add(doc_hex)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.started.append(doc_hex)
            self.threads.add(threading.current_thread().name)
            gated = len(self.started) <= self.gate
        try:
            if gated and self.barrier is not None:
                try:
                    self.barrier.wait()
                except threading.BrokenBarrierError:
                    self.barrier_broken = True
            self.on_fetch(doc_hex)
            return self.pipeline.fetch_and_verify(
                document, version, timeout=timeout, anchored_from=anchored_from, history=history
            )
        finally:
            with self.changed:
                self.in_flight -= 1
                self.returned.add(doc_hex)
                self.changed.notify_all()

    def wait_returned(self, documents: list[str]) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.returned >= set(documents), WAIT)


def _hook_runs(
    listener: RegistryListener, before: Callable[[], None] = lambda: None
) -> list[tuple[str, str]]:
    """(idempotency key, thread name) of every risk-engine run, in order; `before` runs
    ahead of each."""
    runs: list[tuple[str, str]] = []
    assess = listener.engine.assess

    def watched(context: RiskContext) -> Assessment:
        before()
        runs.append((context.idempotency_key, threading.current_thread().name))
        return assess(context)

    listener.engine.assess = watched  # type: ignore[method-assign]
    return runs


def _submit(member: Member, count: int, seed: int) -> list[str]:
    generator = DocumentGenerator(seed)
    documents = [generator.manifest(origin="KZ", destination="UZ") for _ in range(count)]
    return [r.document_id.removeprefix("0x") for r in member.pipeline.submit_batch(documents)]


def _anchor_unverifiable(network: Network) -> str:
    """A manifest KZ anchors for UZ under a commitment its payload does not have."""
    kz = network["KZ"]
    manifest = generate_manifest(404, origin="KZ", destination="UZ")
    doc = manifest.model_dump(mode="json")
    serial = 10**12 + int.from_bytes(os.urandom(4), "big")
    doc_id = document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, serial)
    committed = commit(doc, 1, manifest.schema_version)
    payload = DocumentPayload(1, manifest.schema_version, doc, committed.salts).to_bytes()
    keys = {e: RecipientKey(network[e].key.public_key_bytes, 1) for e in ("KZ", "UZ")}
    digest = cid_to_digest(kz.ipfs.add_bytes(seal(payload, keys, EnvelopeContext(doc_id, 1))))
    kz.ledger.registry.anchor(
        serial, Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), digest, ("UZ",))
    )
    return doc_id.hex()


def _acknowledged_on_chain(network: Network, start: int) -> list[str]:
    logs = (
        network["UZ"]
        .ledger.registry.contract.events.DocumentAcknowledged()
        .get_logs(argument_filters={"acknowledger": b"UZ"}, from_block=start)
    )
    return [bytes(log["args"]["id"]).hex() for log in logs]


def test_a_chunk_is_fetched_concurrently_and_ends_as_fetched_one_by_one(
    network: Network, database: Callable[[str], Database]
) -> None:
    """Eight good manifests, one revoked while the chunk is being processed (after the
    scan, before its fetch), one whose commitment does not verify: the fetches overlap
    (on the fetch threads, with histories read beforehand), the hooks run on the
    listener's thread in key order, and each version ends as it would have
    sequentially, acknowledged exactly once or not at all."""
    start = network.w3.eth.block_number + 1
    ids = _submit(network["KZ"], 9, seed=71)
    unverifiable = _anchor_unverifiable(network)
    # Two fetch workers fetch 8 versions ahead; the chunk's histories are read first,
    # all at once. The 9th version (key order) is revoked after the first hook ran and
    # before its fetch, which finds the registry changed and reads its history anew.
    revoked = sorted(ids)[8]
    db = database("uz-prefetch")
    listener = make_listener(network["UZ"], db, start_block=start, fetch_workers=2)
    fetcher = WatchedFetcher(network["UZ"].pipeline, gate=2)
    listener.fetcher = fetcher
    kz_registry = network["KZ"].ledger.registry

    def revoke_once() -> None:
        if fetcher.with_history and revoked not in fetcher.started and not revocations:
            revocations.append(kz_registry.revoke(bytes.fromhex(revoked), 3))

    revocations: list[object] = []
    runs = _hook_runs(listener, before=revoke_once)
    listener.poll_once()

    assert len(revocations) == 1
    assert not fetcher.barrier_broken and fetcher.most_in_flight == 2  # bounded by the workers
    assert all(name.startswith("cie-fetch") for name in fetcher.threads)
    assert fetcher.with_history == {*ids, unverifiable} - {revoked}
    assessed = [d for d in sorted(ids) if d != revoked]  # one block: key order is id order
    assert runs == [(f"0x{d}:1", threading.current_thread().name) for d in assessed]
    assert processing_counts(db) == {
        State.ACKNOWLEDGED: 8,
        State.REVOKED: 1,
        State.VERIFICATION_FAILED: 1,
    }
    with db.sessions() as session:
        failures = session.scalars(select(tables.VerificationFailure)).all()
        outcomes = session.scalars(select(tables.RiskOutcome.document_id)).all()
        states = {r.document_id: r.state for r in session.scalars(select(tables.Processing))}
    assert [(f.document_id, f.check) for f in failures] == [(unverifiable, "commitment")]
    assert states[revoked] == State.REVOKED and states[unverifiable] == State.VERIFICATION_FAILED
    assert sorted(outcomes) == assessed
    assert sorted(_acknowledged_on_chain(network, start)) == assessed

    listener.poll_once()  # nothing left: no fetch, no hook, no acknowledgement
    assert len(fetcher.started) == 10 and len(runs) == 8
    assert sorted(_acknowledged_on_chain(network, start)) == assessed

    # The batched read gives each document the history it reads alone (acknowledgements
    # and the revocation included), and a history is only taken for its own document.
    uz = network["UZ"].pipeline
    every = [bytes.fromhex(d) for d in (*ids, unverifiable)]
    batched = ChainIndex(uz.registry).histories(every, start)
    assert batched == {doc_id: uz.history(doc_id) for doc_id in every}
    with pytest.raises(ValueError, match="history given"):
        uz.fetch_and_verify(every[0], history=batched[every[1]])


def test_two_versions_of_a_document_changed_meanwhile_in_one_rechecked_group(
    network: Network, database: Callable[[str], Database]
) -> None:
    """Versions 1 and 2 of one document fall in the same group of fetches checked against
    the registry after hooks ran, and the document was revoked meanwhile: its history is
    dropped once for both, both end revoked, the round goes on."""
    start = network.w3.eth.block_number + 1
    kz = network["KZ"]
    first = _submit(kz, 4, seed=141)  # one fetch worker: these are the first group
    generator = DocumentGenerator(142)
    manifest = generator.manifest(origin="KZ", destination="UZ")
    changed = kz.pipeline.submit(manifest).document_id.removeprefix("0x")
    data = manifest.model_dump(mode="json")
    data["goods_items"][0]["description"] = "Amended description"
    kz.pipeline.amend(type(manifest).model_validate(data))
    db = database("uz-two-versions")
    listener = make_listener(network["UZ"], db, start_block=start, fetch_workers=1)
    revocations: list[object] = []

    def revoke_once() -> None:
        if not revocations:
            revocations.append(kz.ledger.registry.revoke(bytes.fromhex(changed), 3))

    runs = _hook_runs(listener, before=revoke_once)
    listener.poll_once()

    assert [key for key, _ in runs] == [f"0x{d}:1" for d in sorted(first)]
    with db.sessions() as session:
        states = {
            (r.document_id, r.version): r.state for r in session.scalars(select(tables.Processing))
        }
    assert states == {
        **{(d, 1): State.ACKNOWLEDGED for d in first},
        (changed, 1): State.REVOKED,
        (changed, 2): State.REVOKED,
    }


def test_a_version_another_worker_finished_while_its_hooks_ran_is_not_recorded_again(
    network: Network, database: Callable[[str], Database]
) -> None:
    """Another worker (a write on the same database) finishes a version while this
    listener's hooks run on it: the assessment is not recorded (no risk outcome, no value
    history, no webhook), the version keeps the other worker's state and is not
    acknowledged again."""
    start = network.w3.eth.block_number + 1
    [doc] = _submit(network["KZ"], 1, seed=131)
    db = database("uz-raced")
    target = WebhookTarget(name="risk", url="http://127.0.0.1:9/hook", secret="s" * 16)
    listener = make_listener(network["UZ"], db, start_block=start, webhooks=[target])
    listener.scan_once()

    def other_worker() -> None:
        with db.transaction() as session:
            row = session.get(tables.Processing, (doc, 1))
            assert row is not None and row.state == State.PENDING
            row.state = State.ACKNOWLEDGED

    runs = _hook_runs(listener, before=other_worker)
    assert listener.process(doc, 1) == State.ACKNOWLEDGED
    assert [key for key, _ in runs] == [f"0x{doc}:1"]
    with db.sessions() as session:
        assert session.scalars(select(tables.RiskOutcome)).all() == []
        assert session.scalars(select(tables.ValueHistory)).all() == []
        assert session.scalars(select(tables.WebhookDelivery)).all() == []
    assert _acknowledged_on_chain(network, start) == []


def test_an_ipfs_outage_among_concurrent_fetches_stops_the_round_at_its_version(
    network: Network, database: Callable[[str], Database]
) -> None:
    """UZ's IPFS node goes down when the fifth version's fetch starts (the four before
    it fetched, later ones possibly too): the round stops at the fifth version as it
    would sequentially (four assessed, the rest pending, no attempt charged, nothing
    acknowledged yet); once the node is back each version is acknowledged exactly once
    and no hook runs twice."""
    start = network.w3.eth.block_number + 1
    ids = sorted(_submit(network["KZ"], 8, seed=72))
    uz = network["UZ"]
    db = database("uz-prefetch-outage")
    listener = make_listener(uz, db, start_block=start, fetch_workers=4)
    fetcher = WatchedFetcher(uz.pipeline)
    listener.fetcher = fetcher
    down = ids[4]

    def outage_at_the_fifth(doc_hex: str) -> None:
        if doc_hex == down:
            fetcher.wait_returned(ids[:4])
            uz.ipfs_node.stop()

    fetcher.on_fetch = outage_at_the_fifth
    runs = _hook_runs(listener)
    try:
        with pytest.raises(IpfsUnavailableError):
            listener.poll_once()
    finally:
        uz.ipfs_node.start()
        connect_nodes(*(m.ipfs_node for m in network.members.values()))
    with db.sessions() as session:
        rows = {r.document_id: r for r in session.scalars(select(tables.Processing))}
    assert [key for key, _ in runs] == [f"0x{d}:1" for d in ids[:4]]
    assert [rows[d].state for d in ids] == [State.ASSESSED] * 4 + [State.PENDING] * 4
    assert {rows[d].attempts for d in ids} == {0}
    assert "IpfsUnavailableError" in (rows[down].last_error or "")
    assert _acknowledged_on_chain(network, start) == []

    fetcher.on_fetch = lambda doc_hex: None
    listener.poll_once()
    assert processing_counts(db) == {State.ACKNOWLEDGED: 8}
    assert sorted(key for key, _ in runs) == [f"0x{d}:1" for d in ids]  # each hook once
    assert sorted(_acknowledged_on_chain(network, start)) == ids


def test_fetch_workers_must_be_positive(
    network: Network, database: Callable[[str], Database]
) -> None:
    with pytest.raises(ValueError, match="fetch_workers"):
        make_listener(network["UZ"], database("uz-no-workers"), fetch_workers=0)


def test_the_traders_aeo_recognition_is_read_ahead_on_the_fetch_threads(
    network: Network, database: Callable[[str], Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recognition of a document's trader AEO, which the reference hooks ask the
    chain for, is read on the fetch threads after the version verified; the hooks get
    that answer (the chain's), and only a lookup of another operator goes to the chain."""
    start = network.w3.eth.block_number + 1
    generator = DocumentGenerator(83)
    documents = [generator.manifest(origin="KZ", destination="UZ") for _ in range(12)]
    traders = {d.trader_aeo_id for d in documents if d.trader_aeo_id}
    assert traders  # the seed gives some documents an AEO trader
    network["KZ"].pipeline.submit_batch(documents)
    listener = make_listener(network["UZ"], database("uz-aeo-ahead"), start_block=start)
    aeo = listener.ledger.aeo
    live = aeo.recognition
    calls: list[tuple[str, str, bytes]] = []

    def watched(economy: str, operator: bytes, importing: str) -> Recognition:
        calls.append((threading.current_thread().name, economy, operator))
        return live(economy, operator, importing)

    monkeypatch.setattr(aeo, "recognition", watched)
    told: dict[str, Recognition] = {}
    other = ("KZ", operator_id_of("KZAEO-NOT-IN-ANY-DOCUMENT"))
    assess = listener.engine.assess

    def hooks(context: RiskContext) -> Assessment:
        trader = context.document.trader_aeo_id
        if trader:
            told[trader] = context.recognition(trader[:2], operator_id_of(trader))
            context.recognition(*other)  # not read ahead: asks the chain
        return assess(context)

    listener.engine.assess = hooks  # type: ignore[method-assign]
    listener.poll_once()

    assert processing_counts(listener.db) == {State.ACKNOWLEDGED: len(documents)}
    read_ahead = [(e, o) for name, e, o in calls if name.startswith("cie-fetch")]
    assert sorted(read_ahead) == sorted((t[:2], operator_id_of(t)) for t in traders)
    on_listener = [(e, o) for name, e, o in calls if not name.startswith("cie-fetch")]
    assert on_listener == [other] * sum(1 for d in documents if d.trader_aeo_id)
    assert told == {t: live(t[:2], operator_id_of(t), "UZ") for t in traders}
