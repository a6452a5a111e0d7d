"""Reading and writing the XML form of documents (layout: see `manifests.xml`).

Owns `document_to_xml` (model -> UTF-8 XML bytes, deterministic) and
`parse_xml_document` (XML bytes -> validated model, or `ImportFileError`).
Reading is safe against hostile files: no DTDs, no entities, no network, no
huge trees. A file is checked in three steps, and every problem of the first
failing step is reported: well-formedness (``xml.malformed``,
``xml.doctype_forbidden``, ``xml.unknown_root``), the published XSD
(``xml.schema``, with the element's line and JSON path), then
`manifests.parse_document` (every document rule, e.g. ``hs_code.format``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Final

from lxml import etree

from manifests.document_type import DocumentType
from manifests.errors import DocumentInvalidError, FileError, ImportFileError
from manifests.importers.file_input import DEFAULT_MAX_IMPORT_BYTES
from manifests.parsing import parse_document
from manifests.registry import Document
from manifests.xml.shapes import (
    ITEM_ELEMENT,
    ListShape,
    ObjectShape,
    Shape,
    root_of,
    root_shapes,
)

ROOT_ELEMENTS: Final[dict[str, DocumentType]] = {
    root: kind for root, (kind, _) in root_shapes().items()
}


# ------------------------------------------------------------------- writing


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def _write(parent: etree._Element, name: str, shape: Shape, value: Any) -> None:
    if value is None:
        return
    element = etree.SubElement(parent, name)
    if isinstance(shape, ObjectShape):
        _write_fields(element, shape, value)
    elif isinstance(shape, ListShape):
        for item in value:
            _write(element, ITEM_ELEMENT, shape.item, item)
    else:
        element.text = _scalar_text(value)


def _write_fields(element: etree._Element, shape: ObjectShape, value: dict[str, Any]) -> None:
    for field in shape.fields:
        _write(element, field.name, field.shape, value.get(field.name))


def document_to_xml(document: Document) -> bytes:
    """The XML form of a document (UTF-8, indented, with declaration)."""
    data = document.model_dump(mode="json")
    root = root_of(document.document_type, data)
    element = etree.Element(root)
    _write_fields(element, root_shapes()[root][1], data)
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# ------------------------------------------------------------------- reading


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


@cache
def _xsd(kind: DocumentType) -> etree.XMLSchema:
    from manifests.xml.schemas import xml_schema_text

    return etree.XMLSchema(etree.fromstring(xml_schema_text(kind).encode(), _parser()))


_STEP = re.compile(r"^([^\[]+)(?:\[(\d+)\])?$")


def json_path(xpath: str | None) -> str:
    """``/R/goods_items/item[2]/hs_code`` -> ``goods_items[1].hs_code``."""
    if not xpath:
        return ""
    out = ""
    for step in xpath.strip("/").split("/")[1:]:
        match = _STEP.match(step)
        if match is None:
            continue
        name, index = match.group(1), match.group(2)
        if name == ITEM_ELEMENT:
            out += f"[{int(index) - 1 if index else 0}]"
        else:
            out += ("." if out else "") + name
    return out


def _number(text: str) -> int | float:
    text = text.strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)


def _read(element: etree._Element, shape: Shape) -> Any:
    if isinstance(shape, ObjectShape):
        return _read_fields(element, shape)
    if isinstance(shape, ListShape):
        return [_read(child, shape.item) for child in element if isinstance(child.tag, str)]
    text = element.text or ""
    if shape.kind == "integer":
        return int(text.strip())
    if shape.kind == "number":
        return _number(text)
    if shape.kind == "decimal":
        return text.strip()
    if shape.kind == "boolean":
        return text.strip() in ("true", "1")
    return text


def _read_fields(element: etree._Element, shape: ObjectShape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        field = shape.field(child.tag)
        if field is not None:
            out[field.name] = _read(child, field.shape)
    return out


def _fail(source: str, rule: str, message: str, **where: Any) -> ImportFileError:
    return ImportFileError(source, [FileError(source, rule, message, **where)])


def parse_xml_document(
    raw: bytes, *, source: str = "<input>", max_bytes: int = DEFAULT_MAX_IMPORT_BYTES
) -> Document:
    """Validate one XML document file (well-formed, XSD, document rules) into its model."""
    if len(raw) > max_bytes:
        raise _fail(
            source,
            "payload.too_large",
            f"the file is {len(raw)} bytes, more than the limit of {max_bytes}; split it",
        )
    try:
        tree = etree.fromstring(raw, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise _fail(source, "xml.malformed", f"not well-formed XML: {exc.msg}", row=line) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _fail(
            source,
            "xml.doctype_forbidden",
            "the file declares a DOCTYPE; document files must not use DTDs or entities",
        )
    root = tree.getroot()
    kind = ROOT_ELEMENTS.get(str(root.tag))
    if kind is None:
        raise _fail(
            source,
            "xml.unknown_root",
            f"root element <{root.tag}> is not a document type; use one of "
            f"{', '.join(ROOT_ELEMENTS)}",
            row=root.sourceline,
        )
    schema = _xsd(kind)
    if not schema.validate(tree):
        errors = [
            FileError(
                source,
                "xml.schema",
                f"{entry.message} (see {xsd_name(kind)})",
                field=json_path(entry.path),
                row=entry.line or None,
            )
            for entry in schema.error_log
        ]
        raise ImportFileError(source, errors)
    data = _read_fields(root, root_shapes()[str(root.tag)][1])
    try:
        return parse_document(kind, data, max_bytes=max_bytes)
    except DocumentInvalidError as exc:
        raise ImportFileError(
            source,
            [FileError(source, e.rule, e.message, field=e.field) for e in exc.errors],
        ) from None


def xsd_name(kind: DocumentType) -> str:
    from manifests.xml.schemas import xsd_file_name

    return xsd_file_name(kind)


def read_xml_documents(
    raw: bytes, *, source: str = "<input>", max_bytes: int = DEFAULT_MAX_IMPORT_BYTES
) -> list[Document]:
    """The documents of one XML file (one document per file), as the other importers."""
    return [parse_xml_document(raw, source=source, max_bytes=max_bytes)]
