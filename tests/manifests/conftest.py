"""Fixtures for the document-model tests: fresh, valid document data of every kind.

Each fixture returns a new JSON-shaped dict (``model_dump(mode="json")`` of a
generated document with a fixed seed), so a test may mutate it freely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from manifests import DocumentInvalidError, DocumentType, parse_document
from manifests.generate import DocumentGenerator

Data = dict[str, Any]
RulesOf = Callable[[DocumentType, Data], list[tuple[str, str]]]


@pytest.fixture
def sea_manifest() -> Data:
    manifest = DocumentGenerator(11, economies=("KR", "VN", "CN")).manifest(mode="SEA")
    data = manifest.model_dump(mode="json")
    assert data["containers"], "fixture relies on a manifest with containers"
    return data


@pytest.fixture
def air_manifest() -> Data:
    return DocumentGenerator(12).manifest(mode="AIR").model_dump(mode="json")


@pytest.fixture
def transit() -> Data:
    declaration = DocumentGenerator(13).transit_declaration(itinerary=["CN", "KZ", "AZ", "GE"])
    return declaration.model_dump(mode="json")


@pytest.fixture
def form_d() -> Data:
    return DocumentGenerator(14).certificate_of_origin(form="FORM_D").model_dump(mode="json")


@pytest.fixture
def form_ak() -> Data:
    return DocumentGenerator(15).certificate_of_origin(form="FORM_AK").model_dump(mode="json")


@pytest.fixture
def generic_co() -> Data:
    return DocumentGenerator(16).certificate_of_origin(form="GENERIC").model_dump(mode="json")


@pytest.fixture
def rules_of() -> RulesOf:
    """Parse `data` and return its (field, rule) errors; [] if it is valid."""

    def run(doc_type: DocumentType, data: Data) -> list[tuple[str, str]]:
        try:
            parse_document(doc_type, data)
        except DocumentInvalidError as error:
            return [(record.field, record.rule) for record in error.errors]
        return []

    return run
