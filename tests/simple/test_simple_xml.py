"""The XML form of the documents and its published XSDs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from manifests import DocumentType, ImportFileError
from manifests.generate import generate_documents
from manifests.strategies import documents
from manifests.xml import document_to_xml, parse_xml_document, xml_schema_text
from manifests.xml.schemas import PUBLISHED_DIRECTORY, schema_path, xsd_file_name


def published_schema(kind: DocumentType) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path(kind))))


def rules(exc: pytest.ExceptionInfo[ImportFileError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


def test_published_xsds_are_current() -> None:
    for kind in DocumentType:
        assert (PUBLISHED_DIRECTORY / xsd_file_name(kind)).read_text() == xml_schema_text(kind)


def test_xsds_validate_the_files_the_project_writes() -> None:
    schemas = {kind: published_schema(kind) for kind in DocumentType}
    samples = generate_documents("xml-samples", 30)
    assert {d.document_type for d in samples} == set(DocumentType)
    for document in samples:
        tree = etree.fromstring(document_to_xml(document))
        schema = schemas[document.document_type]
        assert schema.validate(tree), schema.error_log


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_xml_round_trip_is_lossless(document: object) -> None:
    from manifests import DocumentBase

    assert isinstance(document, DocumentBase)
    written = document_to_xml(document)  # type: ignore[arg-type]
    assert published_schema(document.document_type).validate(etree.fromstring(written))
    back = parse_xml_document(written)
    assert back == document
    assert back.model_dump(mode="json") == document.model_dump(mode="json")
    assert document_to_xml(back) == written


@pytest.fixture
def manifest_xml() -> bytes:
    (document,) = generate_documents("xml-bad", 1, doc_types=[DocumentType.PRE_ARRIVAL_MANIFEST])
    return document_to_xml(document)


def test_malformed_xml(manifest_xml: bytes) -> None:
    with pytest.raises(ImportFileError) as exc:
        parse_xml_document(manifest_xml[:-40], source="cut.xml")
    assert rules(exc) == {("", "xml.malformed")}
    assert exc.value.errors[0].row is not None


def test_entities_and_doctypes_are_refused(manifest_xml: bytes) -> None:
    hostile = manifest_xml.replace(
        b"<PreArrivalManifest>",
        b'<!DOCTYPE PreArrivalManifest [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b"<PreArrivalManifest>",
        1,
    ).replace(b"<reference>", b"<reference>&x;", 1)
    with pytest.raises(ImportFileError) as exc:
        parse_xml_document(hostile)
    assert {rule for _, rule in rules(exc)} <= {"xml.doctype_forbidden", "xml.malformed"}


def test_unknown_root(manifest_xml: bytes) -> None:
    with pytest.raises(ImportFileError) as exc:
        parse_xml_document(b"<Invoice><reference>1</reference></Invoice>")
    assert rules(exc) == {("", "xml.unknown_root")}


def test_xsd_failures_name_the_element(manifest_xml: bytes) -> None:
    tree = etree.fromstring(manifest_xml)
    item = tree.find("goods_items/item")
    assert item is not None
    item.find("sequence_number").text = "one"  # type: ignore[union-attr]
    item.remove(item.find("hs_code"))  # type: ignore[arg-type]
    etree.SubElement(tree, "surprise").text = "x"
    with pytest.raises(ImportFileError) as exc:
        parse_xml_document(etree.tostring(tree))
    found = rules(exc)
    assert ("goods_items[0].sequence_number", "xml.schema") in found
    assert all(rule == "xml.schema" for _, rule in found)
    assert len(found) >= 2


def test_document_rules_apply_after_the_xsd(manifest_xml: bytes) -> None:
    tree = etree.fromstring(manifest_xml)
    tree.find("goods_items/item/hs_code").text = "12AB"  # type: ignore[union-attr]
    tree.find("destinations/item").text = "XX"  # type: ignore[union-attr]
    with pytest.raises(ImportFileError) as exc:
        parse_xml_document(etree.tostring(tree))
    fields = {field for field, _ in rules(exc)}
    assert "goods_items[0].hs_code" in fields
    assert "destinations[0]" in fields


def test_schema_files_are_shipped() -> None:
    assert sorted(p.name for p in Path(PUBLISHED_DIRECTORY).glob("*.xsd")) == sorted(
        xsd_file_name(kind) for kind in DocumentType
    )
