"""The inbox: document versions addressed to this economy and what became of them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ledger_client.records import Lane
from manifests import DocumentType
from node.api.deps import InboxReaderDep, RuntimeDep
from node.api.schemas import InboxItem, InboxPage
from node.services import documents

router = APIRouter(prefix="/inbox", tags=["inbox"])


@router.get("")
def list_inbox(
    runtime: RuntimeDep,
    _: InboxReaderDep,
    state: Annotated[
        Literal["pending", "assessed", "acknowledged", "verification_failed", "revoked", "failed"]
        | None,
        Query(),
    ] = None,
    doc_type: Annotated[
        Literal["PRE_ARRIVAL_MANIFEST", "TRANSIT_DECLARATION", "CERTIFICATE_OF_ORIGIN"] | None,
        Query(),
    ] = None,
    issuer: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    lane: Annotated[Literal["GREEN", "YELLOW", "RED"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # SQL OFFSET is signed 64-bit
) -> InboxPage:
    filters = documents.InboxFilter(
        state=state,
        doc_type=int(DocumentType[doc_type]) if doc_type else None,
        issuer=issuer,
        lane=int(Lane[lane]) if lane else None,
    )
    total, rows = documents.inbox(runtime, filters, limit, offset)
    return InboxPage(total=total, limit=limit, offset=offset, items=[InboxItem.of(r) for r in rows])
