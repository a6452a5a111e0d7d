"""JSON Schema export of the document types.

Owns `json_schema` (the schema of one document type, in code), `all_schemas`
and `export_all` (one file per type, written deterministically). The schemas
are JSON Schema 2020-12 generated from the pydantic models, in validation
mode (what a producer may send). They carry the shapes (patterns, lengths,
enumerations, required fields) but not the rules a schema cannot express:
check digits, code-list membership, cross-field rules. `parse_document` is
the authority; the schemas are for other producers and tools.

``python -m manifests.schemas DIRECTORY`` writes the files from the command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter

from manifests.document_type import SCHEMA_VERSIONS, DocumentType
from manifests.origin import FormAK, FormD, GenericCertificate
from manifests.pre_arrival import PreArrivalManifest
from manifests.transit import TransitDeclaration

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

# The certificate forms as one discriminated union, so the schema says which form is which.
_ORIGIN_FORMS: Any = Annotated[FormD | FormAK | GenericCertificate, Field(discriminator="form")]

_ADAPTERS: Final[dict[DocumentType, TypeAdapter[Any]]] = {
    DocumentType.PRE_ARRIVAL_MANIFEST: TypeAdapter(PreArrivalManifest),
    DocumentType.TRANSIT_DECLARATION: TypeAdapter(TransitDeclaration),
    DocumentType.CERTIFICATE_OF_ORIGIN: TypeAdapter(_ORIGIN_FORMS),
}

_TITLES: Final[dict[DocumentType, str]] = {
    DocumentType.PRE_ARRIVAL_MANIFEST: "CIE Ledger pre-arrival manifest",
    DocumentType.TRANSIT_DECLARATION: "CIE Ledger transit declaration",
    DocumentType.CERTIFICATE_OF_ORIGIN: (
        "CIE Ledger certificate of origin (Form D, Form AK, generic)"
    ),
}


def schema_id(doc_type: DocumentType | int | str) -> str:
    """The ``$id`` of a type's schema: a URN naming its schema version."""
    return f"urn:cie-ledger:schema:{SCHEMA_VERSIONS[DocumentType.parse(doc_type)]}"


def schema_file_name(doc_type: DocumentType | int | str) -> str:
    """File name `export_all` uses, e.g. ``pre_arrival_manifest.v1.schema.json``."""
    kind = DocumentType.parse(doc_type)
    version = SCHEMA_VERSIONS[kind].rsplit("/", 1)[1]
    return f"{kind.name.lower()}.v{version}.schema.json"


def json_schema(doc_type: DocumentType | int | str) -> dict[str, Any]:
    """The JSON Schema (2020-12, validation mode) of one document type."""
    kind = DocumentType.parse(doc_type)
    generated = _ADAPTERS[kind].json_schema(mode="validation")
    header = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(kind),
        "title": _TITLES[kind],
        "description": (
            f"Document type {kind.name} (code {kind.value}), schema_version "
            f"{SCHEMA_VERSIONS[kind]}. Check digits, code lists and cross-field rules are "
            "enforced by manifests.parse_document, not by this schema."
        ),
    }
    generated.pop("title", None)
    generated.pop("description", None)
    return {**header, **generated}


def all_schemas() -> dict[DocumentType, dict[str, Any]]:
    """The schema of every document type."""
    return {kind: json_schema(kind) for kind in DocumentType}


def export_all(directory: str | Path) -> list[Path]:
    """Write one schema file per document type into `directory` (created if needed);
    returns the paths written. Output is byte-for-byte stable for a given package version."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kind, schema in all_schemas().items():
        path = target / schema_file_name(kind)
        path.write_text(
            json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m manifests.schemas DIRECTORY``: write the schema files, print their paths."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if len(arguments) != 1:
        print("usage: python -m manifests.schemas DIRECTORY", file=sys.stderr)
        return 2
    for path in export_all(arguments[0]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
