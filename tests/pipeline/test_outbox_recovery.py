"""Crashes and outages: the outbox plus `resume` anchor every document exactly once.

A crash is simulated by raising `SimulatedCrash` (a BaseException the pipeline
does not catch) from the external effect or outbox write where the process
would die; a new pipeline on the same outbox database then stands for the
restarted node. Each test uses its own economy, so outboxes never share serials.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from pipeline_helpers import (
    Network,
    SimulatedCrash,
    document_of,
    registry_event_count,
    with_unique_reference,
)

from devnet.processes import free_port
from ledger_client.contract_errors import RegistryDuplicateDocument
from ledger_client.errors import ChainUnavailableError, IpfsUnavailableError
from ledger_client.ipfs import IpfsStore
from ledger_client.outbox import Outbox, SubmissionState
from ledger_client.pipeline import DocumentPipeline, SubmissionPendingError
from ledger_client.records import DocType, Record, parse_document_id
from manifests import Document, DocumentType

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST


def crash(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise SimulatedCrash


def reopen(network: Network, economy: str, url: str, **options: Any) -> DocumentPipeline:
    """The node after a restart: a new pipeline on the same outbox database."""
    return network.pipeline(economy, outbox=Outbox(url), **options)


def anchorings(pipeline: DocumentPipeline, doc_id: bytes) -> set[bytes]:
    """Transactions that anchored `doc_id` (exactly one if anchored once)."""
    logs = pipeline.registry.contract.events.DocumentAnchored().get_logs(
        argument_filters={"id": doc_id}, from_block=pipeline.registry.from_block
    )
    return {bytes(log["transactionHash"]) for log in logs}


def nonce(network: Network, pipeline: DocumentPipeline) -> int:
    return network.w3.eth.get_transaction_count(pipeline.ledger.sender.address)  # type: ignore[union-attr]


def assert_fetchable(network: Network, document: Document, document_id: str) -> None:
    reader = network.pipeline(document.destinations[-1], side="importer")
    assert reader.fetch_and_verify(document_id).document == document


def manifests_of(economy: str, count: int, seed: int = 0) -> list[Document]:
    return [document_of(MANIFEST, economy, seed=seed + 1000 * i) for i in range(count)]


@pytest.mark.parametrize("batch", [1, 5], ids=["single", "batch"])
def test_crash_after_the_ipfs_add_before_the_transaction(network: Network, batch: int) -> None:
    economy = {1: "UZ", 5: "AZ"}[batch]
    url = network.outbox_url(f"crash-before-tx-{batch}")
    pipeline = network.pipeline(economy, outbox=Outbox(url))
    documents = manifests_of(economy, batch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.registry, "anchor", crash)
        patch.setattr(pipeline.registry, "anchor_batch", crash)
        with pytest.raises(SimulatedCrash):
            pipeline.submit_batch(documents)
    pending = Outbox(url).pending()
    assert [e.state for e in pending] == [SubmissionState.STORED] * batch
    assert {e.cid for e in pending} <= network.exporter_store.pins()
    assert all(not pipeline.registry.is_anchored(e.document_id) for e in pending)

    restarted = reopen(network, economy, url)
    report = restarted.resume()
    assert not report.failed and not report.pending
    assert [r.cid for r in report.anchored] == [e.cid for e in pending]
    assert len({r.tx_hash for r in report.anchored}) == 1  # a batch stays one transaction
    for document, entry in zip(documents, pending, strict=True):
        assert len(anchorings(restarted, entry.document_id)) == 1
        assert_fetchable(network, document, "0x" + entry.document_id.hex())
    assert restarted.resume().anchored == []  # nothing left to do
    resubmitted = restarted.submit_batch(documents)
    assert [r.created for r in resubmitted] == [False] * batch


@pytest.mark.parametrize("batch", [1, 5], ids=["single", "batch"])
def test_crash_after_the_transaction_before_the_outbox_update(network: Network, batch: int) -> None:
    economy = {1: "TR", 5: "GE"}[batch]
    url = network.outbox_url(f"crash-after-tx-{batch}")
    outbox = Outbox(url)
    pipeline = network.pipeline(economy, outbox=outbox)
    documents = manifests_of(economy, batch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "mark_anchored", crash)
        with pytest.raises(SimulatedCrash):
            pipeline.submit_batch(documents)
    pending = Outbox(url).pending()
    assert [e.state for e in pending] == [SubmissionState.STORED] * batch
    assert all(pipeline.registry.is_anchored(e.document_id) for e in pending)

    restarted = reopen(network, economy, url)
    sent_before = nonce(network, restarted)
    report = restarted.resume()
    assert nonce(network, restarted) == sent_before  # settled from the chain: no transaction
    assert len(report.anchored) == batch and not report.failed and not report.pending
    for document, entry in zip(documents, pending, strict=True):
        assert len(anchorings(restarted, entry.document_id)) == 1
        assert_fetchable(network, document, "0x" + entry.document_id.hex())


def test_crash_before_the_ipfs_add_re_adds_the_identical_envelope(network: Network) -> None:
    url = network.outbox_url("crash-before-add")
    store = IpfsStore(network.exporter_store.api_address, timeout=10.0)
    try:
        pipeline = network.pipeline("DE", outbox=Outbox(url), store=store)
        [document] = manifests_of("DE", 1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(store, "add_many", crash)
            with pytest.raises(SimulatedCrash):
                pipeline.submit(document)
    finally:
        store.close()
    [entry] = Outbox(url).pending()
    assert entry.state is SubmissionState.VALIDATED and entry.envelope is not None
    assert entry.cid not in network.exporter_store.pins()
    report = reopen(network, "DE", url).resume()
    assert [r.cid for r in report.anchored] == [entry.cid]  # the same bytes, the same CID
    assert entry.cid in network.exporter_store.pins()
    assert_fetchable(network, document, "0x" + entry.document_id.hex())


def test_an_interrupted_amendment_is_resumed_as_its_version(network: Network) -> None:
    url = network.outbox_url("crash-amend")
    pipeline = network.pipeline("NL", outbox=Outbox(url))
    [original] = manifests_of("NL", 1)
    data = original.model_dump(mode="json")
    data["goods_items"][0]["description"] = "Second version"
    amended = type(original).model_validate(data)
    first = pipeline.submit(original)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.registry, "amend", crash)
        with pytest.raises(SimulatedCrash):
            pipeline.submit(amended, amend=True)
    report = reopen(network, "NL", url).resume()
    assert [(r.document_id, r.version) for r in report.anchored] == [(first.document_id, 2)]
    reader = network.pipeline(original.destinations[-1], side="importer")
    assert reader.fetch_and_verify(first.document_id).document == amended
    assert reader.fetch_and_verify(first.document_id, version=1).document == original


def test_ipfs_down_raises_and_leaves_nothing_on_chain(network: Network) -> None:
    url = network.outbox_url("ipfs-down")
    dead = IpfsStore(f"/ip4/127.0.0.1/tcp/{free_port()}/http", retries=0, connect_timeout=0.5)
    pipeline = network.pipeline("VN", outbox=Outbox(url), store=dead)
    [document] = manifests_of("VN", 1)
    events = registry_event_count(network)
    with pytest.raises(IpfsUnavailableError):
        pipeline.submit(document)
    assert registry_event_count(network) == events
    summary = pipeline.outbox.summary()
    assert (summary.by_state[SubmissionState.FAILED], summary.pending, summary.allocations) == (
        1,
        0,
        0,
    )
    # Once IPFS is back the same document goes through (under a fresh serial).
    [failed] = pipeline.outbox.entries_in([SubmissionState.FAILED])
    receipt = reopen(network, "VN", url).submit(document)
    assert receipt.state is SubmissionState.ANCHORED
    assert parse_document_id(receipt.document_id_bytes).serial > failed.serial


def test_ipfs_down_with_queueing_keeps_the_submission_for_resume(network: Network) -> None:
    url = network.outbox_url("ipfs-queue")
    dead = IpfsStore(f"/ip4/127.0.0.1/tcp/{free_port()}/http", retries=0, connect_timeout=0.5)
    pipeline = network.pipeline("TH", outbox=Outbox(url), store=dead)
    documents = manifests_of("TH", 3)
    events = registry_event_count(network)
    queued = pipeline.submit_batch(documents, queue=True)
    assert [r.state for r in queued] == [SubmissionState.VALIDATED] * 3
    assert all(r.tx_hash is None for r in queued)
    assert registry_event_count(network) == events
    assert len(pipeline.pending()) == 3

    report = reopen(network, "TH", url).resume()
    assert [r.cid for r in report.anchored] == [r.cid for r in queued]
    assert len({r.tx_hash for r in report.anchored}) == 1
    for document, receipt in zip(documents, queued, strict=True):
        assert_fetchable(network, document, receipt.document_id)


def test_a_chain_outage_keeps_the_submission_pending_until_resume(network: Network) -> None:
    pipeline = network.pipeline("MY", outbox=Outbox(network.outbox_url("chain-down")))
    first, second = manifests_of("MY", 2)

    def chain_down(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise ChainUnavailableError("chain endpoint not reachable (simulated)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.registry, "anchor", chain_down)
        with pytest.raises(ChainUnavailableError):
            pipeline.submit(first)
        queued = pipeline.submit(second, queue=True)
    assert queued.state is SubmissionState.STORED
    pending = pipeline.outbox.pending()
    assert [e.state for e in pending] == [SubmissionState.STORED] * 2
    assert all("simulated" in (e.error or "") for e in pending)
    # A changed document under a pending reference is refused until it is settled...
    changed = first.model_dump(mode="json")
    changed["goods_items"][0]["description"] = "Changed while pending"
    with pytest.raises(SubmissionPendingError) as caught:
        pipeline.submit(changed)
    assert caught.value.reference == first.reference
    # ...the same document again finishes the pending submission (no new serial)...
    finished = pipeline.submit(first)
    assert finished.state is SubmissionState.ANCHORED and not finished.created
    assert finished.document_id_bytes == pending[0].document_id
    # ...and resume() finishes the rest.
    report = pipeline.resume()
    assert len(report.anchored) == 1 and not report.failed
    assert_fetchable(network, second, queued.document_id)
    assert_fetchable(network, first, finished.document_id)


def test_abandoning_a_pending_submission_unpins_its_payload(network: Network) -> None:
    pipeline = network.pipeline("SG", outbox=Outbox(network.outbox_url("abandon")))
    [document] = manifests_of("SG", 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.registry, "anchor", crash)
        with pytest.raises(SimulatedCrash):
            pipeline.submit(document)
    [entry] = pipeline.outbox.pending()
    assert entry.cid in network.exporter_store.pins()
    [abandoned] = pipeline.abandon(entry.document_id)
    assert abandoned.state is SubmissionState.FAILED
    assert entry.cid not in network.exporter_store.pins()
    assert pipeline.outbox.allocation("SG", int(MANIFEST), document.reference) is None
    assert not pipeline.registry.is_anchored(entry.document_id)
    again = pipeline.submit(document)
    assert again.state is SubmissionState.ANCHORED and again.document_id_bytes != entry.document_id


def test_a_serial_taken_by_another_writer_fails_the_submission_and_unpins_it(
    network: Network,
) -> None:
    """Two outboxes for one economy (a misconfiguration): the chain refuses the duplicate."""
    pipeline = network.pipeline("ID")
    other = network.pipeline("ID")  # same floor: both will hand out the same first serial
    [mine] = manifests_of("ID", 1)
    [theirs] = manifests_of("ID", 1, seed=77)
    other.submit(theirs)
    with pytest.raises(RegistryDuplicateDocument):
        pipeline.submit(mine)
    [failed] = pipeline.outbox.entries_in([SubmissionState.FAILED])
    assert "chain holds another commitment" in (failed.error or "")
    assert failed.cid not in network.exporter_store.pins()
    # The counter moved past the taken serial, so a retry succeeds.
    retry = pipeline.submit(mine)
    assert retry.state is SubmissionState.ANCHORED


def test_resume_refuses_a_chain_record_that_is_not_its_own(network: Network) -> None:
    url = network.outbox_url("mismatch")
    pipeline = network.pipeline("CN", outbox=Outbox(url))
    document = with_unique_reference(document_of(MANIFEST, "CN"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.registry, "anchor", crash)
        with pytest.raises(SimulatedCrash):
            pipeline.submit(document)
    [entry] = pipeline.outbox.pending()
    # Meanwhile another writer anchors something else under that very id.
    pipeline.registry.anchor(
        entry.serial, Record(DocType.PRE_ARRIVAL_MANIFEST, b"\x01" * 32, b"\x02" * 32, ("KZ",))
    )
    report = reopen(network, "CN", url).resume()
    [(failed, reason)] = report.failed
    assert failed.document_id == "0x" + entry.document_id.hex()
    assert "AnchorMismatchError" in reason
    assert entry.cid not in network.exporter_store.pins()
