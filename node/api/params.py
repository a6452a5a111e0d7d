"""Path and query parameters shared by routes, validated with machine-readable errors."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from ledger_client.records import parse_document_id
from manifests import DocumentType, UnknownDocumentTypeError

_ID = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def _bad(field: str, rule: str, message: str) -> HTTPException:
    return HTTPException(422, detail={"field": field, "rule": rule, "message": message})


def document_id(document_id: Annotated[str, Path()]) -> bytes:
    if not _ID.match(document_id):
        raise _bad(
            "document_id",
            "document_id.format",
            "a document id is 32 bytes as 64 hex digits (0x...)",
        )
    raw = bytes.fromhex(document_id.removeprefix("0x"))
    try:
        parse_document_id(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad(
            "document_id",
            "document_id.structure",
            "not a registry id: economy (2 bytes) | document type 1-3 (1 byte) | ... | serial",
        ) from None
    return raw


def doc_type(doc_type: Annotated[str, Path()]) -> DocumentType:
    try:
        return DocumentType.parse(doc_type)
    except UnknownDocumentTypeError as exc:
        raise _bad("doc_type", "doc_type.unknown", str(exc)) from None


async def raw_body(request: Request) -> bytes:
    body = await request.body()
    if not body.strip():
        raise _bad("", "body.empty", "send the document(s) in the request body")
    return body


DocumentIdParam = Annotated[bytes, Depends(document_id)]
DocTypeParam = Annotated[DocumentType, Depends(doc_type)]
RawBody = Annotated[bytes, Depends(raw_body)]
