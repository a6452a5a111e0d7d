"""JSON import: a file or text holding one document or an array of documents.

Owns `import_json_text` and `import_json_file`. Each document's type comes
from the `doc_type` argument or, when that is None, from its ``schema_version``
(so one array may mix types). Imports are all-or-nothing: every problem in
the file is collected into one `ImportFileError` whose records name the
document (0-based ``document_index``) and the field path inside it, or the
line and column of a JSON syntax error. A file may not hold the same
(type, issuer_economy, reference) twice (rule import.duplicate_reference).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from manifests.document_type import DocumentType
from manifests.errors import FileError, ImportFileError, PayloadError, UnknownDocumentTypeError
from manifests.importers.file_input import (
    DEFAULT_MAX_IMPORT_BYTES,
    file_error_from,
    read_limited,
)
from manifests.parsing import decode_json_payload, field_errors
from manifests.registry import Document, document_type_of, validate_document


def _document_type_for(
    element: dict[str, Any], doc_type: DocumentType | None, source: str, index: int
) -> DocumentType | FileError:
    if doc_type is not None:
        return doc_type
    version = element.get("schema_version")
    if version is None:
        return FileError(
            source,
            "schema_version.missing",
            "the document has no schema_version, so its type is unknown; add schema_version "
            "or import the file with an explicit document type",
            field="schema_version",
            document_index=index,
        )
    try:
        return document_type_of(str(version))
    except UnknownDocumentTypeError as error:
        return FileError(
            source,
            "schema_version.unsupported",
            str(error),
            field="schema_version",
            document_index=index,
        )


def import_json_text(
    raw: bytes | str,
    doc_type: DocumentType | int | str | None = None,
    *,
    source: str = "<input>",
    max_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
) -> list[Document]:
    """Validate every document in JSON text (one object or an array of objects)."""
    expected = DocumentType.parse(doc_type) if doc_type is not None else None
    try:
        decoded = decode_json_payload(raw, max_bytes=max_bytes)
    except PayloadError as error:
        raise ImportFileError(
            source, [file_error_from(source, error.errors[0], row=error.line)]
        ) from None
    elements: list[Any]
    if isinstance(decoded, dict):
        elements = [decoded]
    elif isinstance(decoded, list):
        elements = decoded
    else:
        raise ImportFileError(
            source,
            [
                FileError(
                    source,
                    "json.not_a_document",
                    f"the file holds a JSON {type(decoded).__name__}; it must hold one document "
                    "object or an array of document objects",
                )
            ],
        )
    documents: list[Document] = []
    problems: list[FileError] = []
    seen: dict[tuple[DocumentType, str, str], int] = {}
    for index, element in enumerate(elements):
        if not isinstance(element, dict):
            problems.append(
                FileError(
                    source,
                    "json.not_a_document",
                    f"array element {index} is a JSON {type(element).__name__}, not a document "
                    "object",
                    document_index=index,
                )
            )
            continue
        kind = _document_type_for(element, expected, source, index)
        if isinstance(kind, FileError):
            problems.append(kind)
            continue
        try:
            document = validate_document(kind, element)
        except ValidationError as error:
            problems.extend(
                file_error_from(source, record, document_index=index)
                for record in field_errors(error)
            )
            continue
        key = (kind, document.issuer_economy, document.reference)
        if key in seen:
            problems.append(
                FileError(
                    source,
                    "import.duplicate_reference",
                    f"{kind.name} {document.issuer_economy}/{document.reference} already appears "
                    f"as document {seen[key]}; references are unique per issuer and type",
                    field="reference",
                    document_index=index,
                )
            )
            continue
        seen[key] = index
        documents.append(document)
    if problems:
        raise ImportFileError(source, problems)
    return documents


def import_json_file(
    path: str | Path,
    doc_type: DocumentType | int | str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
) -> list[Document]:
    """Validate every document in a JSON file (see `import_json_text`)."""
    file_path = Path(path)
    return import_json_text(
        read_limited(file_path, max_bytes), doc_type, source=str(file_path), max_bytes=max_bytes
    )
