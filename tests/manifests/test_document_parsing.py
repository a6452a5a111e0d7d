"""parse_document: raw payload handling, error records, canonical serialisation."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from manifests import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    DocumentInvalidError,
    DocumentType,
    FieldError,
    ManifestError,
    PayloadError,
    PreArrivalManifest,
    UnknownDocumentTypeError,
    parse_document,
)
from manifests.parsing import field_path

Data = dict[str, Any]
MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST


def _payload_error(raw: bytes | str, **options: Any) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        parse_document(MANIFEST, raw, **options)
    return caught.value


def test_json_text_bytes_and_mapping_give_equal_documents(sea_manifest: Data) -> None:
    text = json.dumps(sea_manifest)
    from_text = parse_document(MANIFEST, text)
    assert parse_document(MANIFEST, text.encode("utf-8")) == from_text
    assert parse_document(MANIFEST, sea_manifest) == from_text
    assert isinstance(from_text, PreArrivalManifest)


def test_payload_too_large() -> None:
    error = _payload_error(b" " * 101, max_bytes=100)
    assert [(e.field, e.rule) for e in error.errors] == [("", "payload.too_large")]
    assert "101 bytes" in error.errors[0].message


def test_default_limit_is_one_mebibyte(sea_manifest: Data) -> None:
    assert DEFAULT_MAX_PAYLOAD_BYTES == 1024 * 1024
    padded = json.dumps(sea_manifest) + " " * DEFAULT_MAX_PAYLOAD_BYTES
    assert _payload_error(padded).errors[0].rule == "payload.too_large"


def test_limit_counts_utf8_bytes_not_characters() -> None:
    # 60 three-byte characters: 60 characters but 180 bytes (+2 quotes).
    assert _payload_error('"' + "€" * 60 + '"', max_bytes=100).errors[0].rule == "payload.too_large"


def test_payload_not_utf8() -> None:
    error = _payload_error(b'{"reference": "\xff"}')
    assert error.errors[0].rule == "payload.encoding"


def test_lone_surrogate_in_text_is_an_encoding_error() -> None:
    assert _payload_error('{"reference": "\ud800"}').errors[0].rule == "payload.encoding"


def test_malformed_json_names_position() -> None:
    error = _payload_error('{\n  "reference": "A",\n  "mode": }')
    assert [(e.field, e.rule) for e in error.errors] == [("", "json.malformed")]
    assert (error.line, error.column) == (3, 11)
    assert "line 3 column 11" in error.errors[0].message


@pytest.mark.parametrize("raw", ['{"amount": NaN}', '{"amount": Infinity}', "[" * 100_000])
def test_non_json_numbers_and_deep_nesting_are_malformed(raw: str) -> None:
    assert _payload_error(raw).errors[0].rule == "json.malformed"


def test_duplicate_keys_are_refused(sea_manifest: Data) -> None:
    text = json.dumps(sea_manifest)
    duplicated = text[:-1] + ', "reference": "OTHER-1"}'
    error = _payload_error(duplicated)
    assert error.errors[0].rule == "json.duplicate_key"
    assert "'reference'" in error.errors[0].message


def test_byte_order_mark_is_ignored(sea_manifest: Data) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(sea_manifest).encode("utf-8")
    assert parse_document(MANIFEST, raw).reference == sea_manifest["reference"]


def test_top_level_array_is_not_a_document() -> None:
    with pytest.raises(DocumentInvalidError) as caught:
        parse_document(MANIFEST, "[]")
    assert [(e.field, e.rule) for e in caught.value.errors] == [("", "type.object")]


def test_errors_are_value_errors_and_manifest_errors(sea_manifest: Data) -> None:
    sea_manifest["goods_items"][0]["hs_code"] = "12"
    with pytest.raises(ValueError) as caught:
        parse_document(MANIFEST, sea_manifest)
    error = caught.value
    assert isinstance(error, DocumentInvalidError)
    assert isinstance(error, ManifestError)
    assert error.document_type == "PRE_ARRIVAL_MANIFEST"
    assert error.rules == ["hs_code.format"]
    assert error.errors == [
        FieldError(
            "goods_items[0].hs_code",
            "hs_code.format",
            "'12' is not an HS code; give 6, 8 or 10 digits without dots or spaces, "
            "e.g. '520100' or '8703231990'",
        )
    ]
    assert "goods_items[0].hs_code" in str(error) and "[hs_code.format]" in str(error)


def test_exception_message_summarises_many_errors(sea_manifest: Data) -> None:
    for index in range(8):
        sea_manifest[f"extra_{index}"] = index
    with pytest.raises(DocumentInvalidError) as caught:
        parse_document(MANIFEST, sea_manifest)
    assert len(caught.value.errors) == 8
    assert "... and 3 more" in str(caught.value)


@pytest.mark.parametrize(
    "doc_type", [MANIFEST, 1, "1", "PRE_ARRIVAL_MANIFEST", "pre_arrival_manifest"]
)
def test_document_type_spellings(doc_type: Any, sea_manifest: Data) -> None:
    assert isinstance(parse_document(doc_type, sea_manifest), PreArrivalManifest)


@pytest.mark.parametrize("doc_type", [0, 4, "INVOICE", True, ""])
def test_unknown_document_type(doc_type: Any, sea_manifest: Data) -> None:
    with pytest.raises(UnknownDocumentTypeError, match="PRE_ARRIVAL_MANIFEST \\(1\\)"):
        parse_document(doc_type, sea_manifest)


def test_wrong_type_for_data(sea_manifest: Data) -> None:
    with pytest.raises(DocumentInvalidError) as caught:
        parse_document(DocumentType.TRANSIT_DECLARATION, sea_manifest)
    assert ("schema_version", "schema_version.unsupported") in [
        (e.field, e.rule) for e in caught.value.errors
    ]


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("goods_items", 2, "hs_code"), "goods_items[2].hs_code"),
        (("destinations", 0), "destinations[0]"),
        ((), ""),
        (("consignee", "bad key"), 'consignee["bad key"]'),
    ],
)
def test_field_path_rendering(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


# --- canonical forms ------------------------------------------------------------------------


def test_identifiers_are_stored_canonically(sea_manifest: Data, air_manifest: Data) -> None:
    number = sea_manifest["containers"][0]["number"]
    sea_manifest["containers"][0]["number"] = f"{number[:4]} {number[4:10]} {number[10]}"
    imo = sea_manifest["transport_means"]["imo_number"]
    sea_manifest["transport_means"]["imo_number"] = f"IMO {imo}"
    sea = parse_document(MANIFEST, sea_manifest)
    assert isinstance(sea, PreArrivalManifest)
    assert sea.containers[0].number == number
    assert sea.transport_means.imo_number == imo

    master = air_manifest["transport_documents"]["master"]
    air_manifest["transport_documents"]["master"] = f"{master[:3]}-{master[3:]}"
    air = parse_document(MANIFEST, air_manifest)
    assert isinstance(air, PreArrivalManifest)
    assert air.transport_documents.master == master


def test_times_are_stored_in_utc(sea_manifest: Data) -> None:
    sea_manifest["departure"] = "2025-03-01T10:00:00+05:00"
    sea_manifest["expected_arrival"] = "2025-03-20T10:00:00+05:00"
    dumped = parse_document(MANIFEST, sea_manifest).model_dump(mode="json")
    assert dumped["departure"] == "2025-03-01T05:00:00Z"
    assert dumped["expected_arrival"] == "2025-03-20T05:00:00Z"


def test_decimals_serialise_without_trailing_zeros_or_exponent(sea_manifest: Data) -> None:
    sea_manifest["goods_items"][0]["gross_mass_kg"] = "1200.500"
    sea_manifest["goods_items"][0]["value"]["amount"] = Decimal("1E+3")
    dumped = parse_document(MANIFEST, sea_manifest).model_dump(mode="json")
    assert dumped["goods_items"][0]["gross_mass_kg"] == "1200.5"
    assert dumped["goods_items"][0]["value"]["amount"] == "1000"


def test_json_numbers_are_read_exactly(sea_manifest: Data) -> None:
    text = json.dumps(sea_manifest).replace(
        json.dumps(sea_manifest["goods_items"][0]["gross_mass_kg"]), "0.1", 1
    )
    document = parse_document(MANIFEST, text)
    assert isinstance(document, PreArrivalManifest)
    assert document.goods_items[0].gross_mass_kg == Decimal("0.1")


def test_text_is_nfc_normalised(sea_manifest: Data) -> None:
    sea_manifest["consignor"]["name"] = "Ege Tic\u0327aret"  # c + combining cedilla
    document = parse_document(MANIFEST, sea_manifest)
    assert isinstance(document, PreArrivalManifest)
    assert document.consignor.name == "Ege Ti\u00e7aret"


def test_dump_then_parse_is_a_fixed_point(sea_manifest: Data) -> None:
    first = parse_document(MANIFEST, sea_manifest)
    dumped = first.model_dump(mode="json")
    second = parse_document(MANIFEST, json.dumps(dumped))
    assert second == first
    assert json.dumps(second.model_dump(mode="json")) == json.dumps(dumped)


def test_documents_are_immutable(sea_manifest: Data) -> None:
    document = parse_document(MANIFEST, sea_manifest)
    with pytest.raises(ValueError, match="frozen"):
        document.reference = "OTHER"
