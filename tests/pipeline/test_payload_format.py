"""The payload inside an envelope and the digest a fetched payload is checked against."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from pipeline_helpers import Network

from ledger_client.commitment import canonical_json, commit
from ledger_client.errors import VerificationError
from ledger_client.ipfs import cid_to_digest
from ledger_client.provenance import PAYLOAD_FORMAT, DocumentPayload, unixfs_digest
from manifests import DocumentType
from manifests.strategies import documents

CHUNK = 256 * 1024


@pytest.mark.parametrize(
    "size",
    [0, 1, 4096, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17],
    ids=lambda n: f"{n}B",
)
def test_the_local_digest_is_the_one_a_real_node_gives(network: Network, size: int) -> None:
    content = os.urandom(size)
    cid = network.exporter_store.add_bytes(content)
    try:
        assert unixfs_digest(content) == cid_to_digest(cid)
    finally:
        network.exporter_store.unpin(cid)


def test_the_digest_depends_on_every_byte() -> None:
    content = os.urandom(CHUNK + 100)
    reference = unixfs_digest(content)
    for position in (0, CHUNK - 1, CHUNK, len(content) - 1):
        flipped = bytearray(content)
        flipped[position] ^= 0x80
        assert unixfs_digest(bytes(flipped)) != reference
    assert unixfs_digest(content[:-1]) != reference


@settings(max_examples=25, deadline=None)
@given(documents())
def test_the_payload_is_canonical_json_and_round_trips(document: object) -> None:
    data = document.model_dump(mode="json")  # type: ignore[attr-defined]
    doc_type = int(document.document_type)  # type: ignore[attr-defined]
    commitment = commit(data, doc_type, document.schema_version)  # type: ignore[attr-defined]
    payload = DocumentPayload(doc_type, document.schema_version, data, commitment.salts)  # type: ignore[attr-defined]
    raw = payload.to_bytes()
    assert raw == payload.to_bytes(canonical_json(data))
    assert raw == canonical_json(
        {
            "docType": doc_type,
            "document": data,
            "format": PAYLOAD_FORMAT,
            "salts": {p: s.hex() for p, s in commitment.salts.items()},
            "schemaVersion": document.schema_version,  # type: ignore[attr-defined]
        }
    )
    parsed = DocumentPayload.from_bytes(raw)
    assert (parsed.doc_type, parsed.schema_version, parsed.document) == (
        doc_type,
        document.schema_version,  # type: ignore[attr-defined]
        data,
    )
    assert dict(parsed.salts) == dict(commitment.salts)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"docType": 1}',
        b'{"docType":1,"document":{},"format":"other/v9","salts":{},"schemaVersion":"x"}',
        b'{"docType":true,"document":{},"format":"cie-ledger/payload/v1","salts":{},'
        b'"schemaVersion":"x"}',
        b'{"docType":1,"document":[],"format":"cie-ledger/payload/v1","salts":{},'
        b'"schemaVersion":"x"}',
        b'{"docType":1,"docType":1,"document":{},"format":"cie-ledger/payload/v1","salts":{},'
        b'"schemaVersion":"x"}',
        b"\xff\xfe",
    ],
    ids=[
        "not-json",
        "array",
        "missing-keys",
        "other-format",
        "boolean-type",
        "document-not-object",
        "duplicate-key",
        "not-utf8",
    ],
)
def test_a_malformed_payload_fails_the_payload_format_check(raw: bytes) -> None:
    with pytest.raises(VerificationError) as caught:
        DocumentPayload.from_bytes(raw)
    assert caught.value.check == "payload_format"


def test_bad_salts_fail_the_commitment_check() -> None:
    raw = (
        b'{"docType":1,"document":{},"format":"cie-ledger/payload/v1",'
        b'"salts":{"/a":"zz"},"schemaVersion":"x"}'
    )
    with pytest.raises(VerificationError) as caught:
        DocumentPayload.from_bytes(raw)
    assert caught.value.check == "commitment"


def test_doc_type_codes_agree_with_the_chain() -> None:
    from ledger_client.records import DocType

    assert {t.name: int(t) for t in DocumentType} == {t.name: int(t) for t in DocType}
