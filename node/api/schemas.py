"""Pydantic models of the API's requests and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ledger_client.pipeline import SubmissionReceipt
from ledger_client.provenance import Provenance
from node import db as tables
from node.services.api_keys import Role


class ErrorItem(BaseModel):
    field: str
    rule: str
    message: str
    item: int | None = None


class ErrorResponse(BaseModel):
    errors: list[ErrorItem]


class SubmissionOut(BaseModel):
    document_id: str
    reference: str
    doc_type: str
    version: int
    state: str
    tx_hash: str | None
    block_number: int | None
    created: bool

    @classmethod
    def of(cls, r: SubmissionReceipt) -> SubmissionOut:
        return cls(
            document_id=r.document_id,
            reference=r.reference,
            doc_type=r.doc_type.name,
            version=r.version,
            state=str(r.state),
            tx_hash=r.tx_hash,
            block_number=r.block_number,
            created=r.created,
        )


class AcknowledgementOut(BaseModel):
    economy: str
    version: int
    lane: str
    reasons_commitment: str
    reasons_shared: bool


class ProvenanceOut(BaseModel):
    document_id: str
    doc_type: str
    issuer_economy: str
    submitter: str
    version: int
    latest_version: int
    commitment: str
    cid: str
    block_number: int
    timestamp: int
    tx_hash: str
    revoked: bool
    revocation_reason: int | None
    destinations: list[str]
    links: list[str]
    acknowledgements: list[AcknowledgementOut]
    checkpoints: list[dict[str, Any]]

    @classmethod
    def of(cls, p: Provenance) -> ProvenanceOut:
        return cls(
            document_id=p.document_id_hex,
            doc_type=p.doc_type.name,
            issuer_economy=p.issuer_economy,
            submitter=p.submitter,
            version=p.version,
            latest_version=p.latest_version,
            commitment="0x" + p.commitment.hex(),
            cid=p.cid,
            block_number=p.block_number,
            timestamp=p.timestamp,
            tx_hash="0x" + p.tx_hash.hex(),
            revoked=p.revoked,
            revocation_reason=p.revocation_reason,
            destinations=list(p.destinations),
            links=["0x" + link.hex() for link in p.links],
            acknowledgements=[
                AcknowledgementOut(
                    economy=a.economy,
                    version=a.version,
                    lane=a.lane.name,
                    reasons_commitment="0x" + a.reasons_commitment.hex(),
                    reasons_shared=a.reasons_digest != b"\x00" * 32,
                )
                for a in p.acknowledgements
            ],
            checkpoints=[
                {"economy": c.economy, "kind": c.kind.name, "position": c.position}
                for c in p.checkpoints
            ],
        )


class DocumentOut(BaseModel):
    readable: bool
    document: dict[str, Any] | None
    provenance: ProvenanceOut


class InboxItem(BaseModel):
    document_id: str
    version: int
    doc_type: str
    issuer: str
    reference: str | None
    state: str
    lane: str | None
    last_error: str | None
    event_block: int

    @classmethod
    def of(cls, row: tables.Processing) -> InboxItem:
        from ledger_client.records import DocType, Lane

        return cls(
            document_id="0x" + row.document_id,
            version=row.version,
            doc_type=DocType(row.doc_type).name,
            issuer=row.issuer,
            reference=row.reference,
            state=row.state,
            lane=Lane(row.lane).name if row.lane else None,
            last_error=row.last_error,
            event_block=row.event_block,
        )


class InboxPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[InboxItem]


class RevokeIn(BaseModel):
    reason_code: int = Field(ge=1, le=65535)


class CheckpointIn(BaseModel):
    kind: Literal["DEPARTURE", "TRANSIT_PASSED", "ARRIVAL", "INCIDENT"]


UINT32_MAX = 2**32 - 1  # document versions are uint32 on chain
UINT64_MAX = 2**64 - 1  # AEO validity times are uint64 on chain


class ManualAcknowledgementIn(BaseModel):
    version: int = Field(ge=1, le=UINT32_MAX)
    lane: Literal["GREEN", "YELLOW", "RED"]
    reason: str = Field(min_length=1, max_length=2000)


class TxOut(BaseModel):
    tx_hash: str


class AeoIn(BaseModel):
    aeo_id: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{1,33}$")
    tier: int = Field(ge=1, le=255)
    valid_from: int = Field(ge=0, le=UINT64_MAX)
    valid_until: int = Field(gt=0, le=UINT64_MAX)


class AeoOut(BaseModel):
    aeo_id: str
    operator_id: str
    tier: int
    valid_from: int
    valid_until: int
    status: str

    @classmethod
    def of(cls, row: tables.AeoOperator) -> AeoOut:
        return cls(
            aeo_id=row.aeo_id,
            operator_id="0x" + row.operator_id,
            tier=row.tier,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            status=row.status,
        )


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    expires_in_days: float | None = Field(
        default=None,
        ge=1 / 86400,  # one second: a smaller positive number adds nothing to the clock
        le=3650,
        description="validity in days, at least one second (default: until revoked)",
    )


class ApiKeyOut(BaseModel):
    name: str
    role: Role
    key: str
    expires_at: float | None = Field(description="Unix time the key stops working, if any")


class DeadLetterOut(BaseModel):
    id: int
    idempotency_key: str
    target: str
    attempts: int
    last_error: str | None
