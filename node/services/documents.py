"""Documents through the node: submission, amendment, revocation, checkpoints, reading,
the inbox, and the risk officer's manual acknowledgement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select

from ledger_client.commitment import commit
from ledger_client.errors import VerificationError
from ledger_client.pipeline import SubmissionReceipt
from ledger_client.provenance import Provenance
from ledger_client.records import CheckpointKind, Lane
from manifests import DocumentType
from node import db as tables
from node.listener import REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION, State
from node.runtime import NodeRuntime
from node.simple import AWAITING_DECISION

#: States a risk officer's manual acknowledgement may decide (simple mode parks
#: verified versions in awaiting_decision until someone decides them).
OPEN_STATES = (State.PENDING, State.ASSESSED, AWAITING_DECISION)


class ManualAcknowledgementError(ValueError):
    """The version cannot be acknowledged by hand (unknown here, or already acknowledged)."""


@dataclass(frozen=True)
class DocumentView:
    provenance: Provenance
    document: dict[str, Any] | None
    readable: bool


def _record(runtime: NodeRuntime, receipts: list[SubmissionReceipt]) -> None:
    with runtime.db.transaction() as session:
        for r in receipts:
            key = (r.document_id.removeprefix("0x"), r.version)
            if session.get(tables.SubmittedDocument, key) is None:
                session.add(
                    tables.SubmittedDocument(
                        document_id=key[0],
                        version=r.version,
                        doc_type=int(r.doc_type),
                        reference=r.reference,
                        destinations="",
                        tx_hash=r.tx_hash,
                    )
                )


def submit(runtime: NodeRuntime, doc_type: DocumentType, document: Any) -> SubmissionReceipt:
    receipt = runtime.pipeline.submit(document, doc_type=doc_type)
    _record(runtime, [receipt])
    return receipt


def submit_bulk(
    runtime: NodeRuntime, doc_type: DocumentType, raw: bytes, file_format: Literal["json", "csv"]
) -> list[SubmissionReceipt]:
    receipts = runtime.pipeline.submit_import(raw, file_format=file_format, doc_type=doc_type)
    _record(runtime, receipts)
    return receipts


class UnknownReferenceError(LookupError):
    """An amendment names a reference this node never submitted."""


def amend(runtime: NodeRuntime, doc_type: DocumentType, document: bytes) -> SubmissionReceipt:
    """The next version of a document this node submitted (same reference)."""
    try:
        reference = json.loads(document).get("reference")
    except (ValueError, AttributeError):
        reference = None  # not a JSON object: the pipeline reports the field errors
    if isinstance(reference, str) and (
        runtime.pipeline.outbox.allocation(runtime.economy, int(doc_type), reference) is None
    ):
        raise UnknownReferenceError(
            f"this node never submitted a {doc_type.name} with reference {reference!r}; "
            "submit it with POST first"
        )
    receipt = runtime.pipeline.amend(document, doc_type=doc_type)
    _record(runtime, [receipt])
    return receipt


def revoke(runtime: NodeRuntime, doc_id: bytes, reason_code: int) -> str:
    return runtime.pipeline.revoke(doc_id, reason_code).tx_hash


def record_checkpoint(runtime: NodeRuntime, doc_id: bytes, kind: CheckpointKind) -> str:
    return runtime.pipeline.record_checkpoint(doc_id, kind).tx_hash


def read(runtime: NodeRuntime, doc_id: bytes, version: int | None) -> DocumentView:
    """The verified document (when this economy is issuer or recipient) and its provenance."""
    try:
        verified = runtime.pipeline.fetch_and_verify(doc_id, version)
    except VerificationError as exc:
        if getattr(exc, "check", "") != "not_recipient" and not str(exc).startswith(
            "not_recipient"
        ):
            raise
        history = runtime.pipeline.history(doc_id)
        return DocumentView(history.provenance(version), None, False)
    return DocumentView(verified.provenance, dict(verified.document_json), True)


@dataclass(frozen=True)
class InboxFilter:
    state: str | None = None
    doc_type: int | None = None
    issuer: str | None = None
    lane: int | None = None


def inbox(
    runtime: NodeRuntime, filters: InboxFilter, limit: int, offset: int
) -> tuple[int, list[tables.Processing]]:
    query = select(tables.Processing)
    if filters.state:
        query = query.where(tables.Processing.state == filters.state)
    if filters.doc_type:
        query = query.where(tables.Processing.doc_type == filters.doc_type)
    if filters.issuer:
        query = query.where(tables.Processing.issuer == filters.issuer)
    if filters.lane:
        query = query.where(tables.Processing.lane == filters.lane)
    with runtime.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(
            session.scalars(
                query.order_by(tables.Processing.event_block.desc(), tables.Processing.document_id)
                .limit(limit)
                .offset(offset)
            )
        )
    return int(total), rows


def acknowledgements_of(runtime: NodeRuntime, doc_id: bytes) -> list[tables.Acknowledgement]:
    with runtime.db.sessions() as session:
        return list(
            session.scalars(
                select(tables.Acknowledgement).where(
                    tables.Acknowledgement.document_id == doc_id.hex()
                )
            )
        )


def acknowledge_manually(
    runtime: NodeRuntime, doc_id: bytes, version: int, lane: Lane, reason: str, officer: str
) -> str:
    """A risk officer's override: acknowledge with `lane` before the hooks' outcome is sent."""
    with runtime.listener.lock:  # not while the worker processes this version
        return _acknowledge_manually(runtime, doc_id, version, lane, reason, officer)


def _acknowledge_manually(
    runtime: NodeRuntime, doc_id: bytes, version: int, lane: Lane, reason: str, officer: str
) -> str:
    doc_hex = doc_id.hex()
    with runtime.db.sessions() as session:
        row = session.get(tables.Processing, (doc_hex, version))
    if row is None:
        raise ManualAcknowledgementError(
            f"0x{doc_hex} version {version} is not in this node's inbox (yet)"
        )
    if row.state not in OPEN_STATES:
        raise ManualAcknowledgementError(
            f"0x{doc_hex} version {version} is {row.state}; only pending, assessed or "
            "awaiting_decision (simple mode) versions can be acknowledged by hand"
        )
    if runtime.ledger.registry.acknowledgement(doc_id, version, runtime.economy)[0] is not None:
        raise ManualAcknowledgementError(f"0x{doc_hex} version {version} is already acknowledged")
    reasons = {
        "lane": lane.name,
        "manual": True,
        "officer": officer,
        "reason": reason,
    }
    committed = commit(reasons, REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION)
    with runtime.db.transaction() as session:
        outcome = session.get(tables.RiskOutcome, (doc_hex, version))
        if outcome is None:
            outcome = tables.RiskOutcome(document_id=doc_hex, version=version, hooks="")
            session.add(outcome)
        outcome.lane = int(lane)
        outcome.score = 0.0
        outcome.reasons = json.dumps(reasons, sort_keys=True)
        outcome.reasons_commitment = committed.root.hex()
        outcome.reasons_salt = json.dumps({k: v.hex() for k, v in committed.salts.items()})
        outcome.reasons_digest = ""
        outcome.manual = True
        processing = session.get(tables.Processing, (doc_hex, version))
        assert processing is not None
        processing.state = State.ASSESSED
        processing.lane = int(lane)
    state = runtime.listener.process(doc_hex, version)
    with runtime.db.sessions() as session:
        processing = session.get(tables.Processing, (doc_hex, version))
    assert processing is not None
    if state != State.ACKNOWLEDGED:
        raise ManualAcknowledgementError(
            f"acknowledgement not sent ({state}): {processing.last_error}"
        )
    return processing.ack_tx_hash or ""
