"""What the dashboard pages show, read from the node database and the chain.

Nothing here writes: the pages are views over the listener's tables
(`processing`, `risk_outcomes`, `acknowledgements`, `chain_events`, ...) and the
registry's events (`DocumentPipeline.history`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ledger_client.provenance import Provenance
from ledger_client.records import CheckpointKind, DocType, Lane
from node import db as tables
from node.runtime import NodeRuntime
from node.services.transit import overdue_transits

DOC_TYPE_LABELS = {
    DocType.PRE_ARRIVAL_MANIFEST: "Manifest",
    DocType.TRANSIT_DECLARATION: "Transit",
    DocType.CERTIFICATE_OF_ORIGIN: "e-CO",
}


def doc_type_label(value: int) -> str:
    try:
        return DOC_TYPE_LABELS.get(DocType(value), DocType(value).name)
    except ValueError:
        return str(value)


def lane_name(value: int | None) -> str | None:
    return Lane(value).name if value else None


def when(timestamp: float | int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(float(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class InboxRow:
    document_id: str
    version: int
    doc_type: str
    issuer: str
    reference: str
    state: str
    lane: str | None
    score: float | None
    reasons: list[dict[str, Any]]
    received: str
    error: str | None


def _findings(reasons: str | None) -> list[dict[str, Any]]:
    if not reasons:
        return []
    data = json.loads(reasons)
    if "findings" in data:
        return list(data["findings"])
    if data.get("manual"):
        return [{"rule": "manual", "message": f"{data.get('officer')}: {data.get('reason')}"}]
    return []


def inbox(
    runtime: NodeRuntime,
    *,
    state: str | None = None,
    lane: str | None = None,
    doc_type: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[InboxRow]]:
    query = select(tables.Processing, tables.RiskOutcome).outerjoin(
        tables.RiskOutcome,
        (tables.RiskOutcome.document_id == tables.Processing.document_id)
        & (tables.RiskOutcome.version == tables.Processing.version),
    )
    if state:
        query = query.where(tables.Processing.state == state)
    if lane:
        query = query.where(tables.Processing.lane == int(Lane[lane]))
    if doc_type:
        query = query.where(tables.Processing.doc_type == doc_type)
    with runtime.db.sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(tables.Processing.event_block.desc(), tables.Processing.document_id)
            .limit(limit)
            .offset(offset)
        ).all()
    items = [
        InboxRow(
            document_id="0x" + p.document_id,
            version=p.version,
            doc_type=doc_type_label(p.doc_type),
            issuer=p.issuer,
            reference=p.reference or "",
            state=p.state,
            lane=lane_name(p.lane),
            score=o.score if o is not None else None,
            reasons=_findings(o.reasons if o is not None else None),
            received=when(p.created_at),
            error=p.last_error,
        )
        for p, o in rows
    ]
    return int(total), items


@dataclass
class DocumentDetail:
    document_id: str
    provenance: Provenance
    versions: list[dict[str, Any]]
    acknowledgements: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    outcome: dict[str, Any] | None
    document: dict[str, Any] | None
    readable: bool
    local_state: str | None


def document_detail(runtime: NodeRuntime, doc_id: bytes, version: int | None) -> DocumentDetail:
    """Provenance from the chain; the document itself only if this node may decrypt it."""
    from node.services import documents

    view = documents.read(runtime, doc_id, version)
    p = view.provenance
    history = runtime.pipeline.history(doc_id)
    doc_hex = doc_id.hex()
    with runtime.db.sessions() as session:
        outcome = session.get(tables.RiskOutcome, (doc_hex, p.version))
        processing = session.get(tables.Processing, (doc_hex, p.version))
    return DocumentDetail(
        document_id="0x" + doc_hex,
        provenance=p,
        versions=[
            {
                "version": v.version,
                "commitment": "0x" + v.commitment.hex(),
                "cid": v.cid,
                "block": v.block_number,
                "time": when(v.timestamp),
                "tx": "0x" + v.tx_hash.hex(),
            }
            for v in history.versions
        ],
        acknowledgements=[
            {
                "economy": a.economy,
                "version": a.version,
                "lane": a.lane.name,
                "block": a.block_number,
                "time": when(a.timestamp),
                "reasons_commitment": "0x" + a.reasons_commitment.hex(),
                "tx": "0x" + a.tx_hash.hex(),
            }
            for a in p.acknowledgements
        ],
        checkpoints=[
            {
                "economy": c.economy,
                "kind": c.kind.name,
                "position": c.position,
                "block": c.block_number,
                "time": when(c.timestamp),
            }
            for c in p.checkpoints
        ],
        outcome=(
            {
                "lane": lane_name(outcome.lane),
                "score": outcome.score,
                "manual": outcome.manual,
                "findings": _findings(outcome.reasons),
                "assessed": when(outcome.created_at),
            }
            if outcome is not None
            else None
        ),
        document=view.document,
        readable=view.readable,
        local_state=processing.state if processing is not None else None,
    )


@dataclass
class Movement:
    document_id: str
    reference: str
    issuer: str
    itinerary: list[str]
    passed: dict[str, list[str]] = field(default_factory=dict)
    arrival_time_limit: str = ""
    overdue: bool = False
    lane: str | None = None
    direction: str = "inbound"


def transit_movements(runtime: NodeRuntime, limit: int = 200) -> list[Movement]:
    """Transit declarations addressed here (or issued here), with the checkpoints seen on chain."""
    overdue = {o.document_id for o in overdue_transits(runtime, datetime.now(UTC))}
    with runtime.db.sessions() as session:
        rows = list(
            session.scalars(
                select(tables.Processing)
                .where(tables.Processing.doc_type == int(DocType.TRANSIT_DECLARATION))
                .order_by(tables.Processing.event_block.desc())
                .limit(limit)
            )
        )
        ids = [r.document_id for r in rows]
        events = list(
            session.scalars(
                select(tables.ChainEvent)
                .where(
                    tables.ChainEvent.event == "TransitCheckpointRecorded",
                    tables.ChainEvent.document_id.in_(ids),
                )
                .order_by(tables.ChainEvent.block_number, tables.ChainEvent.log_index)
            )
        )
    seen: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        kind = CheckpointKind(json.loads(event.data)["kind"]).name
        seen[event.document_id][event.economy or "?"].append(kind)
    movements: dict[str, Movement] = {}
    for row in rows:
        if row.document_id in movements:
            continue
        document = json.loads(row.document_json) if row.document_json else {}
        movements[row.document_id] = Movement(
            document_id="0x" + row.document_id,
            reference=row.reference or "",
            issuer=row.issuer,
            itinerary=list(document.get("itinerary", [])),
            passed={k: list(v) for k, v in seen[row.document_id].items()},
            arrival_time_limit=str(document.get("arrival_time_limit", "")),
            overdue="0x" + row.document_id in overdue,
            lane=lane_name(row.lane),
            direction="own" if row.issuer == runtime.economy else "inbound",
        )
    return list(movements.values())


def aeo_and_mras(runtime: NodeRuntime) -> tuple[list[tables.AeoOperator], list[dict[str, Any]]]:
    from node.services import aeo

    operators = aeo.list_operators(runtime)
    mras = []
    try:
        members = runtime.ledger.consortium.members()
    except Exception:
        members = []
    for other in members:
        if other == runtime.economy:
            continue
        try:
            effective = runtime.ledger.aeo.is_mra_effective(runtime.economy, other)
        except Exception:
            effective = False
        mras.append({"partner": other, "effective": effective})
    return operators, mras


def chart_data(runtime: NodeRuntime) -> dict[str, Any]:
    """Numbers behind the overview charts (all from this node's database)."""
    with runtime.db.sessions() as session:
        processing = list(session.scalars(select(tables.Processing)))
        outcomes = {
            (o.document_id, o.version): o for o in session.scalars(select(tables.RiskOutcome))
        }
        submitted = session.execute(
            select(tables.SubmittedDocument.doc_type, func.count()).group_by(
                tables.SubmittedDocument.doc_type
            )
        ).all()
        own_acks = session.execute(
            select(tables.Acknowledgement.lane, func.count())
            .where(tables.Acknowledgement.issuer == runtime.economy)
            .group_by(tables.Acknowledgement.lane)
        ).all()
    volumes: dict[str, Counter[str]] = defaultdict(Counter)
    lanes: dict[str, Counter[str]] = defaultdict(Counter)
    states: Counter[str] = Counter()
    latency: list[float] = []
    inspection = {"AEO": Counter[str](), "non-AEO": Counter[str]()}
    for row in processing:
        label = doc_type_label(row.doc_type)
        volumes[row.issuer][label] += 1
        states[row.state] += 1
        if row.lane:
            lanes[label][Lane(row.lane).name] += 1
        if row.state == "acknowledged" and row.updated_at and row.created_at:
            latency.append(max(0.0, row.updated_at - row.created_at))
        outcome = outcomes.get((row.document_id, row.version))
        if outcome is not None:
            rules = {f.get("rule") for f in _findings(outcome.reasons)}
            group = "AEO" if "aeo.recognized" in rules else "non-AEO"
            inspection[group]["assessed"] += 1
            if outcome.lane >= int(Lane.YELLOW):
                inspection[group]["inspected"] += 1
    buckets = [0.5, 1, 2, 3, 5, 10, 30]
    histogram = Counter[str]()
    for value in latency:
        label = next((f"≤{b}s" for b in buckets if value <= b), f">{buckets[-1]}s")
        histogram[label] += 1
    ordered = sorted(latency)

    def pct(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "economy": runtime.economy,
        "volumes": {
            "labels": sorted(volumes),
            "series": {
                t: [volumes[i][t] for i in sorted(volumes)] for t in DOC_TYPE_LABELS.values()
            },
        },
        "lanes": {t: dict(c) for t, c in sorted(lanes.items())},
        "latency": {
            "labels": [f"≤{b}s" for b in buckets] + [f">{buckets[-1]}s"],
            "values": [histogram[f"≤{b}s"] for b in buckets] + [histogram[f">{buckets[-1]}s"]],
            "p50": pct(0.5),
            "p95": pct(0.95),
            "p99": pct(0.99),
        },
        "inspection": {
            g: {
                "assessed": c["assessed"],
                "inspected": c["inspected"],
                "rate": round(c["inspected"] / c["assessed"], 3) if c["assessed"] else 0.0,
            }
            for g, c in inspection.items()
        },
        "states": dict(states),
        "submitted": {doc_type_label(t): n for t, n in submitted},
        "own_acknowledgements": {lane_name(lane) or "?": n for lane, n in own_acks},
    }
