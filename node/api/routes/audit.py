"""Auditors: verify document files against this node's ledger, aggregate statistics.

Role ``auditor`` only (other roles 403, no or unknown key 401). Request bodies:

* ``POST /audit/verify``: one document file (``cie-ledger/document-file/v1``,
  the bytes ``cie audit verify`` reads) as the body, ``Content-Type:
  application/json``. Answers the ``cie audit verify --json`` report (schema
  ``cie-ledger/audit-report/v1``), or its printable HTML with ``Accept:
  text/html`` or ``?format=html``. Any verdict is HTTP 200 (the verdict is in
  the body); a body that is not a document file is 422 ``audit.document_file``,
  one over the file size limit 413 ``audit.too_large``.
* ``POST /audit/verify/batch``: a JSON array of document files
  (``application/json``) or a zip archive of ``*.json`` document files
  (``application/zip``), as ``cie audit verify-batch`` reads. Answers every
  file's report, the count of each verdict and the batch status (schema
  ``cie-ledger/audit-batch/v1``); a member that is not a document file is an
  UNREADABLE result, a body that is no array or zip 422 ``audit.batch``.
* ``GET /audit/report``: the aggregate statistics of ``cie audit report``
  (schema ``cie-ledger/audit-analytics/v1``), or CSV with ``?format=csv``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from ledger_client.audit.analytics import AnalyticsReport, to_csv
from ledger_client.audit.document_file import MAX_DOCUMENT_FILE_BYTES, DocumentFileError
from ledger_client.audit.html import render_html
from ledger_client.audit.report import AuditBatchReport, AuditReport
from ledger_client.audit.verifier import AuditVerifier
from node.api.deps import RuntimeDep, require
from node.services import audit
from node.services.api_keys import Principal, Role

router = APIRouter(prefix="/audit", tags=["audit"])

AuditorDep = Annotated[Principal, Depends(require(Role.AUDITOR))]

MAX_BATCH_BYTES: Final = 64 * 1024 * 1024
_ZIP_MEDIA: Final = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/octet-stream"}
)


def _error(status_code: int, rule: str, message: str) -> HTTPException:
    return HTTPException(status_code, detail={"field": "", "rule": rule, "message": message})


async def _read_body(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused with 413 as soon as it (or its declared length) passes `limit`."""
    declared = request.headers.get("content-length")
    too_large = _error(
        413,
        "audit.too_large",
        f"{what} is at most {limit} bytes",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise _error(422, "body.empty", f"send {what} in the request body")
    return body


async def document_file_body(request: Request) -> bytes:
    return await _read_body(request, MAX_DOCUMENT_FILE_BYTES, "a document file")


async def batch_body(request: Request) -> bytes:
    return await _read_body(request, MAX_BATCH_BYTES, "a batch")


def audit_verifier(request: Request, runtime: RuntimeDep) -> AuditVerifier:
    """The app's verifier, built on first use from the node's ledger and kept."""
    verifier: AuditVerifier | None = getattr(request.app.state, "audit_verifier", None)
    if verifier is None or verifier.ledger is not runtime.ledger:
        verifier = request.app.state.audit_verifier = audit.build_verifier(runtime)
    return verifier


VerifierDep = Annotated[AuditVerifier, Depends(audit_verifier)]

_DOCUMENT_FILE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "one document file (cie-ledger/document-file/v1), as `cie audit verify` "
        "reads it",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_BATCH_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "a JSON array of document files, or a zip archive of *.json document "
        "files (as `cie audit verify-batch` reads)",
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "no API key, or an unknown or revoked one"},
    403: {"description": "the key's role is not auditor"},
    413: {"description": "the body is over the size limit (rule audit.too_large)"},
    422: {"description": "the body is not a document file / batch (rule audit.*)"},
}


def _wants_html(format_: str | None, accept: str | None) -> bool:
    if format_ is not None:
        return format_ == "html"
    media = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    return "text/html" in media and "application/json" not in media


@router.post(
    "/verify",
    openapi_extra=_DOCUMENT_FILE_BODY,
    response_model=AuditReport,
    responses={
        200: {
            "description": "the report (any verdict): JSON, or HTML when asked for",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **_ERRORS,
    },
)
def verify_document_file(
    _: AuditorDep,
    verifier: VerifierDep,
    body: Annotated[bytes, Depends(document_file_body)],
    format_: Annotated[Literal["json", "html"] | None, Query(alias="format")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Recompute one document file's commitment and report what the chain says about it."""
    try:
        report = audit.verify_file(verifier, body)
    except DocumentFileError as exc:
        raise _error(422, "audit.document_file", f"not a document file: {exc}") from None
    if _wants_html(format_, accept):
        return HTMLResponse(render_html(report))
    return Response(report.to_json(indent=None), media_type="application/json")


@router.post(
    "/verify/batch",
    openapi_extra=_BATCH_BODY,
    response_model=AuditBatchReport,
    responses={415: {"description": "neither application/json nor a zip archive"}, **_ERRORS},
)
async def verify_document_files(
    _: AuditorDep,
    verifier: VerifierDep,
    body: Annotated[bytes, Depends(batch_body)],
    content_type: Annotated[str, Header()] = "application/json",
) -> Response:
    """Verify many document files with batched chain reads; per-file reports + verdict counts."""
    media = content_type.split(";")[0].strip().lower()
    file_format: audit.BatchFormat
    if media == "application/json":
        file_format = "json"
    elif media in _ZIP_MEDIA:
        file_format = "zip"
    else:
        raise _error(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "audit.media_type",
            "send application/json (an array of document files) or application/zip",
        )
    try:
        # CPU-bound hashing: off the event loop, like a sync route.
        result = await run_in_threadpool(audit.verify_batch, verifier, body, file_format)
    except DocumentFileError as exc:
        raise _error(422, "audit.batch", str(exc)) from None
    return Response(result.to_json(), media_type="application/json")


@router.get(
    "/report",
    response_model=AnalyticsReport,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        401: _ERRORS[401],
        403: _ERRORS[403],
    },
)
def aggregate_report(
    runtime: RuntimeDep,
    _: AuditorDep,
    from_block: Annotated[int | None, Query(ge=0, description="default: deployment")] = None,
    to_block: Annotated[int | None, Query(ge=0, description="default: latest")] = None,
    overdue_hours: Annotated[
        float, Query(gt=0, le=876_000, description="transit overdue after (at most 100 years)")
    ] = 72.0,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Aggregate statistics of the registry's events (as `cie audit report`)."""
    if from_block is not None and to_block is not None and from_block > to_block:
        raise HTTPException(
            422,
            detail={
                "field": "from_block",
                "rule": "audit.block_range",
                "message": f"from_block {from_block} is after to_block {to_block}",
            },
        )
    head = runtime.ledger.w3.eth.block_number
    for name, block in (("from_block", from_block), ("to_block", to_block)):
        if block is not None and block > head:  # eth_getLogs refuses it (was a 503)
            raise HTTPException(
                422,
                detail={
                    "field": name,
                    "rule": "audit.block_range",
                    "message": f"{name} {block} is beyond the chain head (block {head})",
                },
            )
    result = audit.aggregate(runtime, from_block, to_block, int(overdue_hours * 3600))
    if format_ == "csv":
        return Response(to_csv(result), media_type="text/csv")
    return Response(result.to_json(indent=None), media_type="application/json")
