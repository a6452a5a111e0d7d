"""Idempotency, conflicts, amendments, revocation, acknowledgements, checkpoints, batches."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import pytest
from pipeline_helpers import (
    CountingStore,
    Network,
    document_of,
    registry_event_count,
    with_unique_reference,
)

from ledger_client.commitment import redact, verify_full, verify_redacted
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import EnvelopeContext, open_envelope, read_header
from ledger_client.errors import ConfigurationError, VerificationError
from ledger_client.ipfs import IpfsStore, cid_to_digest
from ledger_client.outbox import Outbox, SubmissionState
from ledger_client.pipeline import (
    REASONS_SCHEMA_VERSION,
    BatchRejectedError,
    DocumentConflictError,
    DocumentPipeline,
    DocumentRejectedError,
)
from ledger_client.provenance import DocumentPayload, VersionNotFoundError
from ledger_client.records import CheckpointKind, Lane, parse_document_id
from manifests import Document, DocumentType, PreArrivalManifest
from manifests.generate import DocumentGenerator

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST


@pytest.fixture(scope="module")
def kz(network: Network) -> DocumentPipeline:
    return network.pipeline("KZ")


def nonce(network: Network, pipeline: DocumentPipeline) -> int:
    return network.w3.eth.get_transaction_count(pipeline.ledger.sender.address)  # type: ignore[union-attr]


def with_new_description(document: Document, text: str = "Amended description") -> Document:
    data = document.model_dump(mode="json")
    data["goods_items"][0]["description"] = text
    return type(document).model_validate(data)


def test_the_same_document_again_returns_the_existing_receipt_without_a_transaction(
    network: Network, kz: DocumentPipeline
) -> None:
    manifest = document_of(MANIFEST, "KZ")
    first = kz.submit(manifest)
    assert first.created and first.tx_hash is not None
    before = (nonce(network, kz), registry_event_count(network))
    # The same content as a model, as reformatted raw JSON with another key order,
    # and inside a batch: always the first receipt, never a transaction.
    data = manifest.model_dump(mode="json")
    reordered = json.dumps(dict(reversed(list(data.items()))), indent=3).encode()
    again = [kz.submit(manifest), kz.submit(reordered), *kz.submit_batch([data])]
    assert again == [dataclasses.replace(first, created=False)] * 3
    assert (nonce(network, kz), registry_event_count(network)) == before


def test_changed_content_under_an_anchored_reference_is_a_conflict(
    network: Network, kz: DocumentPipeline
) -> None:
    manifest = document_of(MANIFEST, "KZ", seed=10)
    receipt = kz.submit(manifest)
    before = (nonce(network, kz), registry_event_count(network), kz.outbox.summary())
    with pytest.raises(DocumentConflictError) as caught:
        kz.submit(with_new_description(manifest))
    assert caught.value.reference == manifest.reference
    assert "0x" + caught.value.document_id.hex() == receipt.document_id
    assert manifest.reference in str(caught.value)
    with pytest.raises(BatchRejectedError) as in_batch:
        kz.submit_batch([document_of(MANIFEST, "KZ", seed=20), with_new_description(manifest)])
    assert in_batch.value.rules == ["reference.conflict"]
    assert (nonce(network, kz), registry_event_count(network), kz.outbox.summary()) == before


def test_an_amendment_is_version_2_and_version_1_stays_fetchable(
    network: Network, kz: DocumentPipeline
) -> None:
    original = document_of(MANIFEST, "KZ", seed=30)
    amended = with_new_description(original)
    first = kz.submit(original)
    second = kz.submit(amended, amend=True)
    assert (second.document_id, second.version) == (first.document_id, 2)
    assert second.commitment != first.commitment and second.cid != first.cid

    reader = network.pipeline(original.destinations[0], side="importer")
    latest = reader.fetch_and_verify(first.document_id)
    assert latest.document == amended
    assert (latest.provenance.version, latest.provenance.latest_version) == (2, 2)
    assert [v.version for v in latest.provenance.versions] == [1, 2]
    old = reader.fetch_and_verify(first.document_id, version=1)
    assert old.document == original
    assert (old.provenance.version, old.provenance.latest_version) == (1, 2)
    assert not old.provenance.is_latest
    with pytest.raises(VersionNotFoundError) as caught:
        reader.fetch_and_verify(first.document_id, version=3)
    assert caught.value.check == "version"

    # Idempotent on the new version; the old content is now a change again.
    assert kz.submit(amended) == dataclasses.replace(second, created=False)
    with pytest.raises(DocumentConflictError):
        kz.submit(original)
    third = kz.amend(with_new_description(original, "Third version"))
    assert third.version == 3
    assert reader.fetch_and_verify(first.document_id).provenance.latest_version == 3


def test_a_known_anchoring_block_shortens_the_history_query_and_a_wrong_one_falls_back(
    network: Network, kz: DocumentPipeline
) -> None:
    original = document_of(MANIFEST, "KZ", seed=33)
    first = kz.submit(original)
    amended = kz.submit(with_new_description(original), amend=True)
    reader = network.pipeline(original.destinations[0], side="importer")
    whole = reader.history(first.document_id)
    anchored_in = whole.versions[0].block_number
    w3 = reader.ledger.w3
    index = reader._history.index
    queries: list[tuple[str, str]] = []
    real_get_logs = index._get_logs

    def counting(topics: list[object], from_block: str, to_block: str) -> object:
        queries.append((from_block, to_block))
        return real_get_logs(topics, from_block, to_block)

    def history_starts() -> list[int]:  # the history's queries run to the head
        return [int(start, 16) for start, end in queries if end == "latest"]

    index._get_logs = counting  # type: ignore[assignment, method-assign]
    try:
        hinted = reader.fetch_and_verify(first.document_id, version=1, anchored_from=anchored_in)
        assert history_starts() == [anchored_in], queries
        queries.clear()
        # A hint past the anchoring (as after a reorganisation moved it) finds no
        # anchoring: the whole range is read and the answer is the same.
        head = w3.eth.block_number  # past the anchoring
        late = reader.fetch_and_verify(first.document_id, version=1, anchored_from=head)
        assert history_starts() == [head, kz.registry.from_block], queries
    finally:
        del index._get_logs
    plain = reader.fetch_and_verify(first.document_id, version=1)
    for verified in (hinted, late):
        assert verified.document == plain.document == original
        assert verified.provenance == plain.provenance
        assert verified.provenance.latest_version == amended.version == 2


def test_an_amendment_cannot_change_the_anchored_destinations(kz: DocumentPipeline) -> None:
    manifest = document_of(MANIFEST, "KZ", seed=40)
    kz.submit(manifest)
    data = manifest.model_dump(mode="json")
    data["destinations"] = [*data["destinations"], "UZ"]
    with pytest.raises(DocumentRejectedError) as caught:
        kz.submit(data, amend=True)
    assert caught.value.rules == ["amend.record_changed"]


def test_a_revoked_document_reports_it_and_cannot_be_amended(
    network: Network, kz: DocumentPipeline
) -> None:
    manifest = document_of(MANIFEST, "KZ", seed=50)
    receipt = kz.submit(manifest)
    revocation = kz.revoke(receipt.document_id, 7)
    reader = network.pipeline(manifest.destinations[0], side="importer")
    provenance = reader.fetch_and_verify(receipt.document_id).provenance
    assert provenance.revoked and provenance.revocation_reason == 7
    assert provenance.revocation is not None
    assert provenance.revocation.block_number == revocation.block_number
    with pytest.raises(DocumentRejectedError) as caught:
        kz.amend(with_new_description(manifest))
    assert caught.value.rules == ["reference.revoked"]


def test_an_acknowledgement_carries_a_commitment_to_its_reasons(
    network: Network, kz: DocumentPipeline
) -> None:
    manifest = document_of(MANIFEST, "KZ", seed=60)
    receipt = kz.submit(manifest)
    destination = manifest.destinations[0]
    importer = network.pipeline(destination, side="importer")
    reasons = {"score": 42, "rules": ["hs-watch-list", "value-anomaly"], "officer": "A-17"}
    ack = importer.acknowledge(receipt.document_id, 1, Lane.YELLOW, reasons, share_with_issuer=True)
    [recorded] = kz.fetch_and_verify(receipt.document_id).provenance.acknowledgements
    assert (recorded.economy, recorded.version, recorded.lane) == (destination, 1, Lane.YELLOW)
    assert recorded.reasons_commitment == ack.reasons.root
    assert ack.reasons_cid is not None
    assert recorded.reasons_digest == cid_to_digest(ack.reasons_cid)
    # The issuer opens the shared reasons and checks them against the chain...
    envelope = kz.ipfs.cat(ack.reasons_cid)
    context = EnvelopeContext(receipt.document_id_bytes, 1)
    payload = DocumentPayload.from_bytes(
        open_envelope(envelope, "KZ", network["KZ"].key, 1, expected_context=context)
    )
    assert payload.document == reasons
    verify_full(
        payload.document, 0, REASONS_SCHEMA_VERSION, payload.salts, recorded.reasons_commitment
    )
    # ...and the importer can later disclose only part of them to an auditor.
    disclosed = redact(reasons, ack.reasons, ["/officer"])
    verify_redacted(disclosed, recorded.reasons_commitment)
    assert "/officer" not in disclosed.disclosed_fields


def test_transit_checkpoints_follow_the_itinerary(network: Network) -> None:
    declaration = with_unique_reference(DocumentGenerator(0).transit_declaration())
    itinerary = list(declaration.destinations)
    assert len(itinerary) >= 3
    issuer = network.pipeline(declaration.issuer_economy)
    receipt = issuer.submit(declaration)
    issuer.record_checkpoint(receipt.document_id, CheckpointKind.DEPARTURE)
    for economy in itinerary[1:-1]:
        network.pipeline(economy, side="importer").record_checkpoint(
            receipt.document_id, CheckpointKind.TRANSIT_PASSED
        )
    last = network.pipeline(itinerary[-1], side="importer")
    last.record_checkpoint(receipt.document_id, CheckpointKind.ARRIVAL)
    checkpoints = last.fetch_and_verify(receipt.document_id).provenance.checkpoints
    assert [(c.economy, c.kind) for c in checkpoints] == [
        (itinerary[0], CheckpointKind.DEPARTURE),
        *[(e, CheckpointKind.TRANSIT_PASSED) for e in itinerary[1:-1]],
        (itinerary[-1], CheckpointKind.ARRIVAL),
    ]


def test_a_batch_is_one_add_request_and_one_transaction_over_consecutive_serials(
    network: Network,
) -> None:
    store = CountingStore(network.exporter_store.api_address, timeout=10.0)
    try:
        pipeline = network.pipeline("KR", store=store)
        manifest = document_of(MANIFEST, "KR", seed=70)
        assert isinstance(manifest, PreArrivalManifest)
        certificate = with_unique_reference(DocumentGenerator(9).linked_certificate(manifest))
        documents = [manifest, certificate] + [
            document_of(kind, "KR", seed=100 * i)
            for i, kind in enumerate(list(DocumentType) * 6, start=1)
        ]
        receipts = pipeline.submit_batch(documents)
        assert store.add_requests == 1
        assert len({r.tx_hash for r in receipts}) == 1
        serials = [parse_document_id(r.document_id_bytes).serial for r in receipts]
        assert serials == list(range(serials[0], serials[0] + len(documents)))
        assert [r.reference for r in receipts] == [d.reference for d in documents]
        # The certificate's on-chain record links the manifest anchored beside it.
        reader = network.pipeline(certificate.destinations[0], side="importer")
        linked = reader.fetch_and_verify(receipts[1].document_id)
        assert linked.provenance.links == (receipts[0].document_id_bytes,)
        assert linked.provenance.batch_key == receipts[0].document_id_bytes
        for document, receipt in list(zip(documents, receipts, strict=True))[2::5]:
            reader = network.pipeline(document.destinations[-1], side="importer")
            assert reader.fetch_and_verify(receipt.document_id).document == document

        # Resubmitting the batch with one new document anchors only that one.
        extra = document_of(MANIFEST, "KR", seed=9000)
        again = pipeline.submit_batch([*documents[:3], extra])
        assert [r.created for r in again] == [False, False, False, True]
        assert again[:3] == [dataclasses.replace(r, created=False) for r in receipts[:3]]
        assert store.add_requests == 2
    finally:
        store.close()


def test_the_anchoring_gas_is_estimated_while_the_envelopes_are_added(network: Network) -> None:
    """The transaction's estimate (a chain round trip) overlaps the IPFS add; the
    transaction goes out with that gas limit, after the add."""
    estimated = threading.Event()
    order: list[str] = []

    class WaitingStore(IpfsStore):
        def add_many(self, payloads: Any) -> list[str]:
            order.append("add started" if estimated.wait(timeout=10.0) else "add alone")
            cids = super().add_many(payloads)
            order.append("add done")
            return cids

    store = WaitingStore(network.exporter_store.api_address, timeout=10.0)
    try:
        pipeline = network.pipeline("AZ", store=store)
        real = pipeline.registry.anchoring_gas
        limits: list[int] = []

        def anchoring_gas(*args: Any, **kwargs: Any) -> int:
            limits.append(real(*args, **kwargs))
            estimated.set()
            return limits[-1]

        real_anchor, real_batch = pipeline.registry.anchor, pipeline.registry.anchor_batch

        def anchor(*args: Any, **kwargs: Any) -> Any:
            order.append("sent")
            return real_anchor(*args, **kwargs)

        def anchor_batch(*args: Any, **kwargs: Any) -> Any:
            order.append("sent")
            return real_batch(*args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pipeline.registry, "anchoring_gas", anchoring_gas)
            patch.setattr(pipeline.registry, "anchor", anchor)
            patch.setattr(pipeline.registry, "anchor_batch", anchor_batch)
            single = pipeline.submit(document_of(MANIFEST, "AZ", seed=4100))
            estimated.clear()
            batch = pipeline.submit_batch(
                [document_of(kind, "AZ", seed=4200) for kind in DocumentType]
            )
        assert order == ["add started", "add done", "sent"] * 2
        assert [r.state for r in (single, *batch)] == [SubmissionState.ANCHORED] * 4
        sent = [network.w3.eth.get_transaction(r.tx_hash)["gas"] for r in (single, batch[0])]
        assert sent == limits
    finally:
        store.close()


def test_documents_stay_readable_across_a_key_rotation(network: Network) -> None:
    """Envelopes name the key version they were sealed to; the reader keeps old keys."""
    issuer = network.pipeline("KZ", key_refresh_seconds=0.0)
    member = network["SG"]
    old_key = member.key

    def to_sg(seed: int) -> Document:
        data = document_of(MANIFEST, "KZ", seed=seed).model_dump(mode="json")
        if "SG" not in data["destinations"]:
            data["destinations"].append("SG")
        return PreArrivalManifest.model_validate(data)

    before, after = to_sg(80), to_sg(90)
    sealed_before = issuer.submit(before)
    new_key = MemberEncryptionKey.generate()
    member.ledger.consortium.rotate_encryption_key(new_key.public_key_bytes)
    member.key = new_key
    sealed_after = issuer.submit(after)
    assert [
        (e.economy, e.key_version)
        for e in read_header(network.exporter_store.cat(sealed_after.cid)).recipients
        if e.economy == "SG"
    ] == [("SG", 2)]

    with pytest.raises(ConfigurationError):  # the old key alone is no longer the member's key
        network.pipeline("SG", side="importer", encryption_key=old_key)
    both = {1: old_key, 2: new_key}
    reader = DocumentPipeline(
        member.ledger, network.importer_store, both, Outbox.in_memory(), fetch_timeout=10.0
    )
    assert reader.fetch_and_verify(sealed_before.document_id).document == before
    assert reader.fetch_and_verify(sealed_after.document_id).document == after
    current_only = network.pipeline("SG", side="importer")
    assert current_only.fetch_and_verify(sealed_after.document_id).document == after
    with pytest.raises(VerificationError) as caught:
        current_only.fetch_and_verify(sealed_before.document_id)
    assert caught.value.check == "decrypt"


def test_links_to_other_economies_use_the_resolver_and_same_batch_links_use_known_ids(
    network: Network,
) -> None:
    uz_manifest = document_of(MANIFEST, "UZ", seed=110)
    uz_receipt = network.pipeline("UZ").submit(uz_manifest)
    kz_manifest = document_of(MANIFEST, "KZ", seed=120)
    assert isinstance(kz_manifest, PreArrivalManifest)
    certificate = with_unique_reference(DocumentGenerator(3).linked_certificate(kz_manifest))
    data = certificate.model_dump(mode="json")
    foreign = {
        "document_type": MANIFEST.name,
        "issuer_economy": "UZ",
        "reference": uz_manifest.reference,
    }
    data["links"].append(foreign)
    asked: list[str] = []

    def resolver(link: object) -> bytes | None:
        asked.append(link.reference)  # type: ignore[attr-defined]
        if link.reference == uz_manifest.reference:  # type: ignore[attr-defined]
            return uz_receipt.document_id_bytes
        return None

    kz = network.pipeline("KZ", link_resolver=resolver)
    anchored_manifest = kz.submit(kz_manifest)
    # The manifest is already anchored; in the same batch it is "existing" and the
    # certificate links it by its known id.
    _, linked = kz.submit_batch([kz_manifest, data])
    assert asked == [uz_manifest.reference]
    reader = network.pipeline(certificate.destinations[0], side="importer")
    provenance = reader.fetch_and_verify(linked.document_id).provenance
    assert provenance.links == (anchored_manifest.document_id_bytes, uz_receipt.document_id_bytes)

    # Without a resolver the foreign link stays inside the document only.
    data2 = dict(data, reference=with_unique_reference(certificate).reference)
    plain = network.pipeline("KZ", outbox=kz.outbox).submit(data2)
    unresolved = reader.fetch_and_verify(plain.document_id)
    assert unresolved.provenance.links == (anchored_manifest.document_id_bytes,)
    assert unresolved.document.links[-1].reference == uz_manifest.reference
