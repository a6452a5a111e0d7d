"""The element tree of each XML root, derived from the JSON Schemas of `manifests.schemas`.

Owns `Shape` (`ObjectShape`, `ListShape`, `ScalarShape`) and `ROOT_SHAPES`:
one `ObjectShape` per XML root element. Both the codec and the XSD generator
walk these shapes, so the XML files, the reader and the published XSDs cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Literal

from manifests.document_type import DocumentType
from manifests.errors import ExportError
from manifests.schemas import json_schema

ScalarKind = Literal["string", "integer", "number", "decimal", "boolean"]


@dataclass(frozen=True)
class ScalarShape:
    kind: ScalarKind
    enum: tuple[str, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None


@dataclass(frozen=True)
class ListShape:
    item: Shape
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True)
class FieldShape:
    name: str
    shape: Shape
    required: bool


@dataclass(frozen=True)
class ObjectShape:
    name: str
    fields: tuple[FieldShape, ...]

    def field(self, name: str) -> FieldShape | None:
        return next((f for f in self.fields if f.name == name), None)


Shape = ScalarShape | ListShape | ObjectShape

ITEM_ELEMENT: Final = "item"

# Root element -> (document type, JSON Schema definition name; None = the schema itself).
_ROOTS: Final[dict[str, tuple[DocumentType, str | None]]] = {
    "PreArrivalManifest": (DocumentType.PRE_ARRIVAL_MANIFEST, None),
    "TransitDeclaration": (DocumentType.TRANSIT_DECLARATION, None),
    "FormD": (DocumentType.CERTIFICATE_OF_ORIGIN, "FormD"),
    "FormAK": (DocumentType.CERTIFICATE_OF_ORIGIN, "FormAK"),
    "GenericCertificate": (DocumentType.CERTIFICATE_OF_ORIGIN, "GenericCertificate"),
}


class _Builder:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.objects: dict[str, ObjectShape] = {}

    def resolve(self, node: dict[str, Any], name: str) -> tuple[Shape, bool]:
        """(shape, nullable) of one JSON Schema node."""
        if "$ref" in node:
            ref = node["$ref"].rsplit("/", 1)[1]
            return self.object(ref, self.defs[ref]), False
        if "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            nullable = len(options) < len(node["anyOf"])
            if sorted(o.get("type", "") for o in options) == ["number", "string"]:
                # A Decimal: JSON form is a canonical decimal string ("1200.5").
                number = next(o for o in options if o.get("type") == "number")
                decimal = ScalarShape(
                    "decimal",
                    minimum=number.get("minimum"),
                    exclusive_minimum=number.get("exclusiveMinimum"),
                )
                return decimal, nullable
            if len(options) != 1:
                raise ExportError(
                    f"{name}: a union of {len(options)} shapes has no XML mapping; "
                    "extend manifests/xml/shapes.py before using it in a model"
                )
            shape, _ = self.resolve(options[0], name)
            return shape, nullable
        kind = node.get("type")
        if kind == "object":
            return self.object(name, node), False
        if kind == "array":
            item, _ = self.resolve(node["items"], name)
            return ListShape(item, node.get("minItems", 0), node.get("maxItems")), False
        if kind in ("string", "integer", "number", "boolean"):
            enum = node.get("enum")
            if "const" in node:
                enum = [node["const"]]
            return (
                ScalarShape(
                    kind,
                    tuple(str(v) for v in enum) if enum is not None else None,
                    node.get("minLength"),
                    node.get("maxLength"),
                    node.get("minimum"),
                    node.get("maximum"),
                    node.get("exclusiveMinimum"),
                ),
                False,
            )
        raise ExportError(
            f"{name}: JSON Schema node {sorted(node)} has no XML mapping; "
            "extend manifests/xml/shapes.py before using it in a model"
        )

    def object(self, name: str, node: dict[str, Any]) -> ObjectShape:
        if name in self.objects:
            return self.objects[name]
        required = set(node.get("required", ()))
        fields = []
        for field_name, field_node in node.get("properties", {}).items():
            shape, _ = self.resolve(field_node, field_name[:1].upper() + field_name[1:])
            fields.append(FieldShape(field_name, shape, field_name in required))
        shape = ObjectShape(name, tuple(fields))
        self.objects[name] = shape
        return shape


@cache
def root_shapes() -> dict[str, tuple[DocumentType, ObjectShape]]:
    """Every XML root element: its document type and element tree."""
    roots: dict[str, tuple[DocumentType, ObjectShape]] = {}
    builders: dict[DocumentType, _Builder] = {}
    for root, (kind, definition) in _ROOTS.items():
        schema = json_schema(kind)
        builder = builders.setdefault(kind, _Builder(schema))
        node = schema if definition is None else builder.defs[definition]
        roots[root] = (kind, builder.object(root, node))
    return roots


def roots_of(kind: DocumentType) -> list[str]:
    return [root for root, (k, _) in _ROOTS.items() if k is kind]


def root_of(document_type: DocumentType, document: dict[str, Any]) -> str:
    """The root element of a document (a certificate's form picks one of three)."""
    if document_type is DocumentType.CERTIFICATE_OF_ORIGIN:
        return {"FORM_D": "FormD", "FORM_AK": "FormAK", "GENERIC": "GenericCertificate"}[
            str(document["form"])
        ]
    return roots_of(document_type)[0]
