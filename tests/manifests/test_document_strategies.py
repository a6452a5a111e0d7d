"""Property tests: documents drawn by manifests.strategies are valid, stable and schema-conform."""

from __future__ import annotations

import json

import jsonschema
from hypothesis import given

from manifests import Document, DocumentType, check_linked_consistency, parse_document
from manifests.importers import export_csv, import_csv_text, import_json_text
from manifests.origin import CertificateOfOrigin
from manifests.pre_arrival import PreArrivalManifest
from manifests.schemas import json_schema
from manifests.strategies import (
    certificates_of_origin,
    documents,
    linked_pairs,
    manifests_,
    transit_declarations,
)

VALIDATORS = {kind: jsonschema.Draft202012Validator(json_schema(kind)) for kind in DocumentType}


def _check(document: Document) -> None:
    dumped = document.model_dump(mode="json")
    text = json.dumps(dumped, ensure_ascii=False)
    again = parse_document(document.document_type, text.encode("utf-8"))
    assert again == document
    assert again.model_dump(mode="json") == dumped
    assert not list(VALIDATORS[document.document_type].iter_errors(dumped))


@given(manifests_())
def test_manifests_validate(document: PreArrivalManifest) -> None:
    _check(document)


@given(transit_declarations())
def test_transit_declarations_validate(document: Document) -> None:
    _check(document)


@given(certificates_of_origin())
def test_certificates_validate(document: Document) -> None:
    _check(document)


@given(certificates_of_origin(form="FORM_D", economies=("VN", "TH", "SG", "KR")))
def test_form_d_validates(document: CertificateOfOrigin) -> None:
    assert document.form == "FORM_D"
    _check(document)


@given(documents())
def test_any_document_survives_json_and_csv_import(document: Document) -> None:
    kind = document.document_type
    assert import_json_text(json.dumps(document.model_dump(mode="json"))) == [document]
    assert import_csv_text(export_csv([document]), kind) == [document]


@given(linked_pairs())
def test_linked_pairs_are_consistent(pair: tuple[PreArrivalManifest, CertificateOfOrigin]) -> None:
    manifest, certificate = pair
    assert check_linked_consistency(certificate, manifest) == []
