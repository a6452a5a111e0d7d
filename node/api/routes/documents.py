"""Documents: submit (one or bulk), amend, read with provenance, revoke, transit checkpoints,
manual acknowledgement (risk officer override)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, status

from ledger_client.records import CheckpointKind, Lane
from node.api.deps import ReaderDep, RiskOfficerDep, RuntimeDep, SubmitterDep
from node.api.params import DocTypeParam, DocumentIdParam, RawBody
from node.api.schemas import (
    UINT32_MAX,
    CheckpointIn,
    DocumentOut,
    ManualAcknowledgementIn,
    ProvenanceOut,
    RevokeIn,
    SubmissionOut,
    TxOut,
)
from node.services import documents

router = APIRouter(prefix="/documents", tags=["documents"])


@router.post("/{doc_type}", status_code=status.HTTP_201_CREATED)
def submit_document(
    runtime: RuntimeDep, _: SubmitterDep, doc_type: DocTypeParam, body: RawBody
) -> SubmissionOut:
    """Validate, seal, store and anchor one document of `doc_type` (JSON body)."""
    return SubmissionOut.of(documents.submit(runtime, doc_type, body))


@router.post("/{doc_type}/bulk", status_code=status.HTTP_201_CREATED)
def submit_documents(
    runtime: RuntimeDep,
    _: SubmitterDep,
    doc_type: DocTypeParam,
    body: RawBody,
    content_type: Annotated[str, Header()] = "application/json",
) -> list[SubmissionOut]:
    """A JSON array or a CSV file (Content-Type text/csv) anchored as one batch, all or nothing."""
    media = content_type.split(";")[0].strip().lower()
    if media not in ("application/json", "text/csv"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail={
                "field": "Content-Type",
                "rule": "bulk.media_type",
                "message": "send application/json (an array) or text/csv",
            },
        )
    file_format: Literal["json", "csv"] = "csv" if media == "text/csv" else "json"
    return [
        SubmissionOut.of(r) for r in documents.submit_bulk(runtime, doc_type, body, file_format)
    ]


@router.put("/{doc_type}", status_code=status.HTTP_200_OK)
def amend_document(
    runtime: RuntimeDep, _: SubmitterDep, doc_type: DocTypeParam, body: RawBody
) -> SubmissionOut:
    """Anchor a changed document under its existing reference as the next version."""
    return SubmissionOut.of(documents.amend(runtime, doc_type, body))


@router.get("/{document_id}")
def get_document(
    runtime: RuntimeDep,
    _: ReaderDep,
    document_id: DocumentIdParam,
    version: Annotated[int | None, Query(ge=1, le=UINT32_MAX)] = None,
) -> DocumentOut:
    """The verified document (decrypted when this economy is issuer or recipient) + provenance."""
    view = documents.read(runtime, document_id, version)
    return DocumentOut(
        readable=view.readable, document=view.document, provenance=ProvenanceOut.of(view.provenance)
    )


@router.post("/{document_id}/revoke")
def revoke_document(
    runtime: RuntimeDep, _: SubmitterDep, document_id: DocumentIdParam, body: RevokeIn
) -> TxOut:
    return TxOut(tx_hash=documents.revoke(runtime, document_id, body.reason_code))


@router.post("/{document_id}/checkpoints")
def record_checkpoint(
    runtime: RuntimeDep, _: SubmitterDep, document_id: DocumentIdParam, body: CheckpointIn
) -> TxOut:
    """Record that a transit movement passed this economy's border (or an incident)."""
    return TxOut(
        tx_hash=documents.record_checkpoint(runtime, document_id, CheckpointKind[body.kind])
    )


@router.post("/{document_id}/acknowledge")
def acknowledge_document(
    runtime: RuntimeDep,
    officer: RiskOfficerDep,
    document_id: DocumentIdParam,
    body: ManualAcknowledgementIn,
) -> TxOut:
    """Risk officer override: acknowledge with the given lane instead of the hooks' outcome."""
    return TxOut(
        tx_hash=documents.acknowledge_manually(
            runtime, document_id, body.version, Lane[body.lane], body.reason, officer.name
        )
    )
