"""Transit monitoring: declarations addressed here whose arrival time limit passed without an
ARRIVAL checkpoint on chain (the reference engine flags the same at assessment time; this
watches them afterwards, as checkpoints arrive or fail to)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ledger_client.records import CheckpointKind, DocType
from manifests import TransitDeclaration, parse_document
from node import db as tables
from node.runtime import NodeRuntime


@dataclass(frozen=True)
class OverdueTransit:
    document_id: str
    version: int
    reference: str
    itinerary: list[str]
    arrival_time_limit: datetime
    checkpoints: list[str]


def overdue_transits(runtime: NodeRuntime, now: datetime) -> list[OverdueTransit]:
    with runtime.db.sessions() as session:
        rows = list(
            session.scalars(
                select(tables.Processing).where(
                    tables.Processing.doc_type == int(DocType.TRANSIT_DECLARATION),
                    tables.Processing.document_json.is_not(None),
                )
            )
        )
        latest: dict[str, tables.Processing] = {}
        for row in rows:
            if row.document_id not in latest or row.version > latest[row.document_id].version:
                latest[row.document_id] = row
        events = list(
            session.scalars(
                select(tables.ChainEvent).where(
                    tables.ChainEvent.event == "TransitCheckpointRecorded",
                    tables.ChainEvent.document_id.in_(list(latest)),
                )
            )
        )
    kinds: dict[str, list[str]] = {}
    for event in events:
        kind = CheckpointKind(json.loads(event.data)["kind"]).name
        kinds.setdefault(event.document_id, []).append(f"{kind}@{event.economy}")
    overdue = []
    for doc_hex, row in sorted(latest.items()):
        if row.state == "revoked" or row.document_json is None:
            continue
        model = parse_document(int(DocType.TRANSIT_DECLARATION), json.loads(row.document_json))
        assert isinstance(model, TransitDeclaration)
        seen = kinds.get(doc_hex, [])
        arrived = any(k.startswith(CheckpointKind.ARRIVAL.name) for k in seen)
        if model.arrival_time_limit < now and not arrived:
            overdue.append(
                OverdueTransit(
                    "0x" + doc_hex,
                    row.version,
                    model.reference,
                    list(model.itinerary),
                    model.arrival_time_limit,
                    seen,
                )
            )
    return overdue
