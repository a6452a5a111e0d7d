"""Outbound side of simple mode: verified documents -> ``received/`` -> officer's decision.

Owns `ManualReviewListener`, the listener of a simple-mode node, and the
``received/`` files. It is the node's `RegistryListener` (same scanning,
cursor, reorg handling and acknowledgement path) except for one step: where
the full node runs the risk engine, it writes the fetched, decrypted and
verified document to ``received/`` (JSON with provenance, plus an HTML
rendering) and parks the version in the state ``awaiting_decision``. Nothing
is acknowledged until an officer's decision file moves the version on to
``assessed`` (`node.simple.decisions`); from there the listener's own
acknowledgement path sends it (chain checked first, reasons salts stored
before the transaction).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import select

from ledger_client.provenance import Provenance, VerifiedDocument
from node import db as tables
from node.listener import RegistryListener, ScanReport, State
from node.metrics import DOCUMENTS_PROCESSED
from node.simple.folders import ExchangeFolders, write_atomically, write_json

log = structlog.get_logger(__name__)

AWAITING_DECISION: Final = "awaiting_decision"
RECEIVED_SCHEMA: Final = "cie.simple.received/1"


def base_name(doc_hex: str, version: int) -> str:
    """``0x<64 hex>-v<version>``: the stem of every file about one received version."""
    return f"0x{doc_hex}-v{version}"


def decision_file_name(doc_hex: str, version: int) -> str:
    return base_name(doc_hex, version) + ".decision.json"


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def provenance_record(p: Provenance) -> dict[str, Any]:
    return {
        "document_id": p.document_id_hex,
        "doc_type": p.doc_type.name,
        "issuer_economy": p.issuer_economy,
        "submitter": p.submitter,
        "authority_id": "0x" + p.authority_id.hex(),
        "version": p.version,
        "latest_version": p.latest_version,
        "commitment": "0x" + p.commitment.hex(),
        "cid": p.cid,
        "transaction": "0x" + p.tx_hash.hex(),
        "block_number": p.block_number,
        "anchored_at": _iso(p.timestamp),
        "first_anchored_at": _iso(p.anchored_at),
        "destinations": list(p.destinations),
        "linked_document_ids": ["0x" + link.hex() for link in p.links],
        "revoked": p.revoked,
        "acknowledgements": [
            {"economy": a.economy, "version": a.version, "lane": a.lane.name}
            for a in p.acknowledgements
        ],
        "verified": [
            "payload digest matches the chain",
            "envelope opened with this member's key",
            "salted commitment matches the chain",
            "document validates against its schema",
            "issuer and destinations match the chain",
        ],
    }


def received_record(doc_hex: str, version: int, verified: VerifiedDocument) -> dict[str, Any]:
    return {
        "schema": RECEIVED_SCHEMA,
        "document_id": "0x" + doc_hex,
        "version": version,
        "doc_type": verified.provenance.doc_type.name,
        "reference": verified.document.reference,
        "issuer_economy": verified.provenance.issuer_economy,
        "decision_file": decision_file_name(doc_hex, version),
        "provenance": provenance_record(verified.provenance),
        "document": verified.document_json,
    }


def _render_value(value: Any) -> str:
    if isinstance(value, dict):
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_render_value(v)}</td></tr>"
            for k, v in value.items()
        )
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if not value:
            return "<em>none</em>"
        items = "".join(f"<li>{_render_value(v)}</li>" for v in value)
        return f"<ol>{items}</ol>"
    if value is None:
        return "<em>-</em>"
    return html.escape(str(value))


def render_html(record: dict[str, Any]) -> str:
    """A self-contained, human-readable page of one received document (no scripts)."""
    title = f"{record['doc_type']} {record['reference']} (version {record['version']})"
    example = json.dumps({"lane": "GREEN", "reason": "documents consistent", "officer": "..."})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin: 0.2em 0; }}
th, td {{ border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Issued by <strong>{html.escape(record["issuer_economy"])}</strong>; document id
<code>{html.escape(record["document_id"])}</code>. Fetched, decrypted and verified against the
ledger by this node.</p>
<h2>Decision</h2>
<p>To acknowledge, drop <code>decisions/{html.escape(record["decision_file"])}</code> containing
<code>{html.escape(example)}</code> (lane GREEN, YELLOW or RED).</p>
<h2>Provenance</h2>
{_render_value(record["provenance"])}
<h2>Document</h2>
{_render_value(record["document"])}
</body></html>
"""


def write_received(folders: ExchangeFolders, record: dict[str, Any]) -> Path:
    stem = base_name(record["document_id"][2:], record["version"])
    path = folders.received / f"{stem}.json"
    write_atomically(folders.received / f"{stem}.html", render_html(record).encode())
    write_json(path, record)  # the JSON last: its presence means both are complete
    return path


class ManualReviewListener(RegistryListener):
    """The registry listener of a simple-mode node: officers decide, not the risk engine."""

    def __init__(self, *, folders: ExchangeFolders, **options: Any) -> None:
        super().__init__(**options)
        self.folders = folders

    def scan_once(self) -> ScanReport:
        report = super().scan_once()
        self._close_revoked()
        return report

    def _close_revoked(self) -> None:
        """Versions awaiting a decision whose document was revoked: no decision any more."""
        with self.db.transaction() as session:
            revoked = select(tables.ChainEvent.document_id).where(
                tables.ChainEvent.event == "DocumentRevoked"
            )
            rows = session.scalars(
                select(tables.Processing).where(
                    tables.Processing.state == AWAITING_DECISION,
                    tables.Processing.document_id.in_(revoked),
                )
            ).all()
            for row in rows:
                write_json(
                    self.folders.received
                    / f"{base_name(row.document_id, row.version)}.revoked.json",
                    {
                        "document_id": "0x" + row.document_id,
                        "version": row.version,
                        "reference": row.reference,
                        "outcome": "revoked",
                        "message": "the issuer revoked this document; no decision is needed",
                    },
                )
                row.state = State.REVOKED
                DOCUMENTS_PROCESSED.labels(State.REVOKED).inc()

    def _assess(self, doc_hex: str, version: int) -> str:
        fetched = self._fetch_for_assessment(doc_hex, version)
        if isinstance(fetched, str):
            return fetched
        verified = fetched
        # Written before the state changes: after a crash the same files are written again.
        write_received(self.folders, received_record(doc_hex, version, verified))
        self.fault("process.after_received")
        with self.db.transaction() as session:
            row = session.get(tables.Processing, (doc_hex, version))
            if row is None or row.state != State.PENDING:
                return row.state if row else ""
            row.state = AWAITING_DECISION
            row.reference = verified.document.reference
            row.document_json = json.dumps(verified.document_json, sort_keys=True)
        log.info("simple.received", document=doc_hex, version=version)
        return AWAITING_DECISION
