"""`DocumentPipeline.submit_batches`: one batch in flight (IPFS add + transaction on a
worker thread) while the next is validated, sealed and recorded."""

from __future__ import annotations

import pytest
from pipeline_helpers import CountingStore, Network, document_of, with_unique_reference

from devnet.processes import free_port
from ledger_client.errors import IpfsUnavailableError
from ledger_client.ipfs import IpfsStore
from ledger_client.outbox import Outbox, SubmissionState
from ledger_client.pipeline import BatchRejectedError
from ledger_client.records import parse_document_id
from manifests import Document, DocumentType

KINDS = list(DocumentType)


def documents(issuer: str, count: int, seed: int) -> list[Document]:
    """`count` documents of all three types under fresh references (three generated ones
    reused: generating a document for a given issuer takes many seeds)."""
    generated = [document_of(kind, issuer, seed=seed) for kind in KINDS]
    return [with_unique_reference(generated[i % 3]) for i in range(count)]


def test_pipelined_batches_anchor_in_order_like_single_batches(network: Network) -> None:
    store = CountingStore(network.exporter_store.api_address, timeout=10.0)
    try:
        pipeline = network.pipeline("KZ", store=store)
        batches = [documents("KZ", 4, seed=1000 * b) for b in range(1, 4)]
        repeat = documents("KZ", 1, seed=9000)
        # An identical resubmission of an anchored document goes through submit_batch.
        batches.append([batches[0][1], *repeat])
        results = pipeline.submit_batches(batches)

        assert [len(r) for r in results] == [4, 4, 4, 2]
        assert store.add_requests == 4  # one add request per batch with new documents
        flat = [r for batch in results[:3] for r in batch]
        assert all(r.state is SubmissionState.ANCHORED for batch in results for r in batch)
        assert [r.reference for r in flat] == [d.reference for b in batches[:3] for d in b]
        serials = [parse_document_id(r.document_id_bytes).serial for r in flat]
        assert serials == list(range(serials[0], serials[0] + 12))
        # One transaction per batch, mined in batch order.
        hashes = [{r.tx_hash for r in batch} for batch in results[:3]]
        assert all(len(h) == 1 for h in hashes)
        blocks = [batch[0].block_number or 0 for batch in results[:3]]
        assert blocks == sorted(blocks)
        assert results[3][0].created is False
        assert results[3][0].document_id == results[0][1].document_id
        assert results[3][1].created is True
        for batch, receipts in zip(batches, results, strict=True):
            reader = network.pipeline(batch[-1].destinations[0], side="importer")
            assert reader.fetch_and_verify(receipts[-1].document_id).document == batch[-1]
    finally:
        store.close()


def test_a_refused_batch_stops_the_stream_after_the_batch_in_flight(network: Network) -> None:
    pipeline = network.pipeline("UZ")
    good = documents("UZ", 3, seed=20_000)
    foreign = documents("KZ", 1, seed=21_000)  # UZ's node may not anchor a KZ document
    with pytest.raises(BatchRejectedError) as refused:
        pipeline.submit_batches([good, [*documents("UZ", 1, seed=22_000), *foreign]])
    assert "issuer_economy.not_this_member" in refused.value.rules
    allocated = pipeline.outbox.allocations(
        "UZ", [(int(d.document_type), d.reference) for d in good]
    )
    states = pipeline.outbox.current_entries([a.document_id for a in allocated.values()])
    assert len(states) == 3
    assert {e.state for e in states.values()} == {SubmissionState.ANCHORED}
    assert pipeline.outbox.summary().allocations == 3  # nothing of the refused batch


def test_an_ipfs_outage_in_flight_raises_and_recorded_batches_resume(network: Network) -> None:
    outbox = Outbox.in_memory()
    dead = IpfsStore(f"/ip4/127.0.0.1/tcp/{free_port()}/http", retries=0, connect_timeout=0.5)
    try:
        down = network.pipeline("AZ", store=dead, outbox=outbox)
        batches = [documents("AZ", 2, seed=30_000), documents("AZ", 2, seed=31_000)]
        with pytest.raises(IpfsUnavailableError):
            down.submit_batches(batches)
        # The first batch failed for good (IPFS refused, nothing on chain); the
        # second was recorded before the failure surfaced and is still pending.
        pending = outbox.pending("AZ")
        assert [e.reference for e in pending] == [d.reference for d in batches[1]]
        report = network.pipeline("AZ", outbox=outbox).resume()
        assert [r.reference for r in report.anchored] == [d.reference for d in batches[1]]
    finally:
        dead.close()


def test_worker_processes_prepare_large_batches_with_the_same_rules(network: Network) -> None:
    pipeline = network.pipeline("CN", workers=2)
    try:
        batch = documents("CN", 120, seed=40_000)  # >= 100: validated and sealed in the workers
        foreign = documents("KZ", 1, seed=41_000)[0]
        with pytest.raises(BatchRejectedError) as refused:
            pipeline.submit_batch([*batch[:60], foreign, *batch[60:]])
        assert {e["item"] for e in refused.value.errors} == {"60"}
        assert pipeline.outbox.summary().allocations == 0

        (receipts,) = pipeline.submit_batches([batch])
        assert [r.reference for r in receipts] == [d.reference for d in batch]
        assert len({r.tx_hash for r in receipts}) == 1
        reader = network.pipeline(batch[7].destinations[0], side="importer")
        assert reader.fetch_and_verify(receipts[7].document_id).document == batch[7]
    finally:
        pipeline.close()


def test_worker_processes_run_batch_after_batch_and_a_refused_batch_stops_the_run(
    network: Network,
) -> None:
    pipeline = network.pipeline("CN", workers=2)
    try:
        first, second, third = (documents("CN", 100, seed=43_000 + k * 1000) for k in range(3))
        done = pipeline.submit_batches([first, second, third])
        assert [[r.reference for r in receipts] for receipts in done] == [
            [d.reference for d in batch] for batch in (first, second, third)
        ]
        assert all(r.state is SubmissionState.ANCHORED for receipts in done for r in receipts)

        ok, refused, never = (documents("CN", 100, seed=46_000 + k * 1000) for k in range(3))
        refused[40] = documents("KZ", 1, seed=49_000)[0]  # not CN's to submit
        allocated = pipeline.outbox.summary().allocations
        with pytest.raises(BatchRejectedError) as caught:
            pipeline.submit_batches([ok, refused, never])
        assert {e["item"] for e in caught.value.errors} == {"40"}
        # the batch before it was anchored; neither the refused one nor the one after it
        # left anything behind
        assert pipeline.outbox.summary().allocations == allocated + len(ok)
        assert [e.reference for e in pipeline.outbox.pending("CN")] == []
    finally:
        pipeline.close()


def test_serials_taken_while_sealing_are_skipped_and_the_batch_resealed(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = network.pipeline("GE")
    batch = documents("GE", 3, seed=50_000)
    seal = pipeline._seal
    taken: list[int] = []

    def seal_while_another_pipeline_reserves(*args: object, **kwargs: object) -> bytes:
        if not taken:  # another pipeline on this outbox takes serials during sealing
            with pipeline.outbox.transaction() as work:
                taken.append(work.reserve_serials("GE", 5, pipeline.serial_floor))
        return seal(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_seal", seal_while_another_pipeline_reserves)
    receipts = pipeline.submit_batch(batch)
    serials = [parse_document_id(r.document_id_bytes).serial for r in receipts]
    assert serials == list(range(taken[0] + 5, taken[0] + 8))
    assert all(r.state is SubmissionState.ANCHORED for r in receipts)
    reader = network.pipeline(batch[0].destinations[0], side="importer")
    assert reader.fetch_and_verify(receipts[0].document_id).document == batch[0]
