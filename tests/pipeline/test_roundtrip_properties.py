"""Property tests of the pipeline against a real chain and two real IPFS nodes.

Every generated document round-trips (anchored by its issuer on the exporting
node, fetched by a destination on the importing node over bitswap); any flipped
payload byte, any changed document field, any non-recipient is detected; any
redaction of a fetched document verifies, and altering a visible field does not.
Example counts are small on purpose: every example is a transaction and a fetch.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_helpers import (
    TamperingStore,
    anchor_crafted,
    document_of,
    sealed_payload,
    with_unique_reference,
    with_value_changed,
)

from ledger_client.commitment import (
    DisclosedLeaf,
    RedactedDocument,
    commit,
    verify_redacted,
)
from ledger_client.envelope import DecryptionError, open_envelope
from ledger_client.errors import VerificationError
from ledger_client.pipeline import DocumentPipeline, SubmissionReceipt
from ledger_client.provenance import VerifiedDocument
from ledger_client.records import DocType
from manifests import Document, DocumentType
from manifests.strategies import documents

PipelineOf = Callable[..., DocumentPipeline]

FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def pipeline_of(network) -> PipelineOf:  # type: ignore[no-untyped-def]
    """One pipeline per (economy, side), shared by the module's examples."""
    made: dict[tuple[str, str], DocumentPipeline] = {}

    def get(economy: str, side: str = "exporter") -> DocumentPipeline:
        if (economy, side) not in made:
            made[(economy, side)] = network.pipeline(economy, side=side)
        return made[(economy, side)]

    return get


def reader_economy(document: Document) -> str:
    """A destination other than the issuer when there is one (transit lists the issuer)."""
    others = [d for d in document.destinations if d != document.issuer_economy]
    return (others or list(document.destinations))[-1]


def anchor(pipeline_of: PipelineOf, document: Document) -> SubmissionReceipt:
    return pipeline_of(document.issuer_economy).submit(document)


@pytest.mark.parametrize("kind", list(DocumentType), ids=lambda k: k.name.lower())
def test_every_valid_document_round_trips_to_another_node(
    pipeline_of: PipelineOf, kind: DocumentType
) -> None:
    @FEW
    @given(documents(kind))
    def round_trip(generated: Document) -> None:
        document = with_unique_reference(generated)
        receipt = anchor(pipeline_of, document)
        reader = pipeline_of(reader_economy(document), "importer")
        verified = reader.fetch_and_verify(receipt.document_id)
        assert verified.document == document
        assert verified.document_json == document.model_dump(mode="json")
        provenance = verified.provenance
        assert provenance.issuer_economy == document.issuer_economy
        assert provenance.destinations == tuple(document.destinations)
        assert provenance.version == provenance.latest_version == 1
        assert provenance.commitment.hex() == receipt.commitment[2:]
        assert provenance.cid == receipt.cid
        assert provenance.tx_hash.hex() == receipt.tx_hash[2:]  # type: ignore[index]
        assert provenance.submitter == pipeline_of(document.issuer_economy).ledger.sender.address  # type: ignore[union-attr]
        assert provenance.timestamp > 0 and not provenance.revoked

    round_trip()


@pytest.fixture(scope="module")
def anchored_samples(pipeline_of: PipelineOf) -> list[tuple[Document, VerifiedDocument]]:
    """One anchored document per type, fetched back by a destination."""
    samples = []
    for kind, issuer in (
        (DocumentType.PRE_ARRIVAL_MANIFEST, "KZ"),
        (DocumentType.TRANSIT_DECLARATION, "CN"),
        (DocumentType.CERTIFICATE_OF_ORIGIN, "KR"),
    ):
        document = document_of(kind, issuer)
        receipt = anchor(pipeline_of, document)
        reader = pipeline_of(reader_economy(document), "importer")
        samples.append((document, reader.fetch_and_verify(receipt.document_id)))
    return samples


def test_any_byte_flipped_in_transit_is_caught_by_the_payload_digest(
    network, pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:  # type: ignore[no-untyped-def]
    stores: dict[str, TamperingStore] = {}

    @FEW
    @given(st.sampled_from(anchored_samples), st.integers(0, 2**20), st.integers(1, 255))
    def flipped(sample: tuple[Document, VerifiedDocument], position: int, mask: int) -> None:
        document, verified = sample
        economy = reader_economy(document)
        if economy not in stores:
            stores[economy] = TamperingStore(network.importer_store.api_address, timeout=10.0)
        store = stores[economy]
        store.flip_at, store.mask = position, mask
        reader = DocumentPipeline(
            network[economy].ledger, store, network[economy].key, pipeline_of(economy).outbox
        )
        with pytest.raises(VerificationError) as caught:
            reader.fetch_and_verify(verified.provenance.document_id)
        assert caught.value.check == "payload_digest"

    try:
        flipped()
    finally:
        for store in stores.values():
            store.close()


def test_any_byte_flipped_in_a_stored_payload_is_detected(
    pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:
    """A record that points at a tampered envelope (sealed for that very record) fails."""

    @FEW
    @given(st.sampled_from(anchored_samples), st.data())
    def stored_tampered(sample: tuple[Document, VerifiedDocument], data: st.DataObject) -> None:
        document, verified = sample
        issuer = pipeline_of(document.issuer_economy)
        reader_side = reader_economy(document)

        def tampered_envelope(doc_id: bytes) -> bytes:
            envelope = bytearray(
                sealed_payload(
                    issuer,
                    int(document.document_type),
                    document.schema_version,
                    dict(verified.document_json),
                    verified.commitment,
                    {*document.destinations, document.issuer_economy},
                    doc_id,
                )
            )
            position = data.draw(st.integers(0, len(envelope) - 1), label="position")
            envelope[position] ^= data.draw(st.integers(1, 255), label="mask")
            return bytes(envelope)

        doc_id = anchor_crafted(
            issuer,
            DocType(int(document.document_type)),
            tuple(document.destinations),
            verified.commitment.root,
            tampered_envelope,
        )
        with pytest.raises(VerificationError) as caught:
            pipeline_of(reader_side, "importer").fetch_and_verify(doc_id)
        # Header bytes are authenticated data: any change fails decryption, or no
        # longer names the reader (its economy code changed).
        assert caught.value.check in {"decrypt", "not_recipient"}

    stored_tampered()


def test_any_changed_field_of_the_document_fails_the_commitment(
    pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:
    """The payload decrypts fine but one field differs from what was committed to."""

    @FEW
    @given(st.sampled_from(anchored_samples), st.data())
    def changed_field(sample: tuple[Document, VerifiedDocument], data: st.DataObject) -> None:
        document, verified = sample
        pointer = data.draw(st.sampled_from(sorted(verified.commitment.salts)), label="field")
        altered = with_value_changed(dict(verified.document_json), pointer)
        issuer = pipeline_of(document.issuer_economy)
        doc_id = anchor_crafted(
            issuer,
            DocType(int(document.document_type)),
            tuple(document.destinations),
            verified.commitment.root,
            lambda new_id: sealed_payload(
                issuer,
                int(document.document_type),
                document.schema_version,
                altered,
                verified.commitment,
                {*document.destinations, document.issuer_economy},
                new_id,
            ),
        )
        with pytest.raises(VerificationError) as caught:
            pipeline_of(reader_economy(document), "importer").fetch_and_verify(doc_id)
        assert caught.value.check == "commitment"

    changed_field()


def test_any_redaction_of_a_fetched_document_verifies_and_tampering_does_not(
    anchored_samples: list[tuple[Document, VerifiedDocument]],
) -> None:
    @settings(max_examples=40, deadline=None)
    @given(st.sampled_from(anchored_samples), st.data())
    def redaction(sample: tuple[Document, VerifiedDocument], data: st.DataObject) -> None:
        _, verified = sample
        pointers = sorted(verified.commitment.salts)
        hidden = data.draw(st.sets(st.sampled_from(pointers)), label="hidden")
        redacted = verified.redact(hidden)
        verify_redacted(redacted, verified.provenance.commitment)
        assert set(redacted.disclosed_fields) == set(pointers) - hidden
        if not redacted.disclosed:
            return
        index = data.draw(st.integers(0, len(redacted.disclosed) - 1), label="altered")
        leaf = redacted.disclosed[index]
        new_value = with_value_changed({"v": leaf.value}, "/v")["v"]
        altered = RedactedDocument(
            redacted.doc_type,
            redacted.schema_version,
            tuple(
                DisclosedLeaf(d.path, d.salt, new_value) if i == index else d
                for i, d in enumerate(redacted.disclosed)
            ),
            redacted.hidden_leaf_hashes,
        )
        with pytest.raises(VerificationError) as caught:
            verify_redacted(altered, verified.provenance.commitment)
        assert caught.value.check == "commitment"

    redaction()


def test_a_non_recipient_member_can_neither_fetch_nor_decrypt(
    network, pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:  # type: ignore[no-untyped-def]
    @settings(max_examples=10, deadline=None)
    @given(st.sampled_from(anchored_samples), st.data())
    def outsider(sample: tuple[Document, VerifiedDocument], data: st.DataObject) -> None:
        document, verified = sample
        involved = {*document.destinations, document.issuer_economy}
        economy = data.draw(st.sampled_from(sorted(set(network.members) - involved)))
        pipeline = pipeline_of(economy, "importer")
        with pytest.raises(VerificationError) as caught:
            pipeline.fetch_and_verify(verified.provenance.document_id)
        assert caught.value.check == "not_recipient"
        # Even given the bytes, its private key opens nothing: not listed, and
        # pretending to be a listed recipient fails the HPKE unwrap.
        envelope = network.importer_store.cat(verified.provenance.cid)
        with pytest.raises(DecryptionError):
            open_envelope(envelope, economy, network[economy].key, 1)
        with pytest.raises(DecryptionError):
            open_envelope(envelope, reader_economy(document), network[economy].key, 1)

    outsider()


def test_a_document_that_commits_but_breaks_its_schema_fails_the_schema_check(
    pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:
    document, verified = anchored_samples[0]
    broken = dict(verified.document_json)
    broken["goods_items"] = [dict(broken["goods_items"][0], hs_code="ABCDEF")]
    commitment = commit(broken, int(document.document_type), document.schema_version)
    issuer = pipeline_of(document.issuer_economy)
    doc_id = anchor_crafted(
        issuer,
        DocType(int(document.document_type)),
        tuple(document.destinations),
        commitment.root,
        lambda new_id: sealed_payload(
            issuer,
            int(document.document_type),
            document.schema_version,
            broken,
            commitment,
            {*document.destinations, document.issuer_economy},
            new_id,
        ),
    )
    with pytest.raises(VerificationError) as caught:
        pipeline_of(reader_economy(document), "importer").fetch_and_verify(doc_id)
    assert caught.value.check == "schema"


def test_a_payload_sealed_for_another_document_fails_decryption(
    pipeline_of: PipelineOf, anchored_samples: list[tuple[Document, VerifiedDocument]]
) -> None:
    """Replaying a genuine envelope under a new record: the envelope names its own id."""
    document, verified = anchored_samples[1]
    issuer = pipeline_of(document.issuer_economy)
    genuine = issuer.ipfs.cat(verified.provenance.cid)
    doc_id = anchor_crafted(
        issuer,
        DocType(int(document.document_type)),
        tuple(document.destinations),
        verified.commitment.root,
        lambda _new_id: genuine,
    )
    with pytest.raises(VerificationError) as caught:
        pipeline_of(reader_economy(document), "importer").fetch_and_verify(doc_id)
    assert caught.value.check == "decrypt"


@pytest.mark.parametrize("mismatch", ["issuer", "destinations"])
def test_a_record_that_disagrees_with_its_document_fails(
    network, pipeline_of: PipelineOf, mismatch: str
) -> None:  # type: ignore[no-untyped-def]
    """The commitment holds, but the chain's issuer or destinations are not the document's."""
    document = document_of(DocumentType.PRE_ARRIVAL_MANIFEST, "KZ", seed=31)
    data = document.model_dump(mode="json")
    destinations = tuple(document.destinations)
    if mismatch == "issuer":
        issuer = pipeline_of("UZ")  # anchors a document that names KZ as its issuer
    else:
        issuer = pipeline_of("KZ")
        destinations = (*destinations, "AZ")
    commitment = commit(data, int(document.document_type), document.schema_version)
    doc_id = anchor_crafted(
        issuer,
        DocType.PRE_ARRIVAL_MANIFEST,
        destinations,
        commitment.root,
        lambda new_id: sealed_payload(
            issuer,
            int(document.document_type),
            document.schema_version,
            data,
            commitment,
            {*destinations, issuer.economy},
            new_id,
        ),
    )
    with pytest.raises(VerificationError) as caught:
        pipeline_of(document.destinations[0], "importer").fetch_and_verify(doc_id)
    assert caught.value.check == mismatch
