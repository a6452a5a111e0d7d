"""Aggregate statistics from the registry's events, for audits and AEP reviews.

`aggregate_report(ledger, ...)` reads every registry event in a block range with
one ``eth_getLogs`` per block chunk (`ChainIndex`) and computes:

* documents by type, by route (issuer -> destination, per type) and by month of
  anchoring (UTC);
* acknowledgement latency: block time of the acknowledged version's anchoring
  (or amendment) -> block time of the acknowledgement;
* lane distribution, overall and per importing economy;
* inspection rates (share of YELLOW + RED) of documents whose exporter is a
  recognised AEO in the importing economy vs the others, per importing economy,
  and their ratio. A document counts once per importing economy, with the lane
  of its highest acknowledged version. The exporter's AEO id is inside the
  encrypted payload, so it comes from ``exporter_aeo``: a mapping document id ->
  AEO id (None: known to have none) supplied by whoever can decrypt (a member's
  node; `exporter_aeo_ids_via_pipeline` computes it for the member running it).
  Documents missing from the mapping are counted as ``unmapped`` and left out
  of both rates. Recognition is the AeoRegistry's ``recognition`` view at the
  time of the report (JSON-RPC batch), with operator id
  `ledger_client.aeo.operator_id_of`;
* transit movements: departure -> arrival durations, and movements departed but
  not arrived after ``overdue_after`` seconds (measured to the latest block's time).

Documents anchored before ``from_block`` are not counted (their anchoring is
outside the range). Exported as JSON (`AnalyticsReport`, schema
``cie-ledger/audit-analytics/v1``) or CSV (`to_csv`, long format).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ledger_client.aeo import operator_id_of
from ledger_client.audit.chain_index import ChainIndex
from ledger_client.audit.report import iso_time
from ledger_client.errors import LedgerClientError
from ledger_client.ledger import Ledger
from ledger_client.provenance import DocumentHistory
from ledger_client.records import CheckpointKind, DocType, Lane, economy_bytes

__all__ = [
    "ANALYTICS_SCHEMA",
    "AnalyticsReport",
    "aggregate_report",
    "exporter_aeo_ids_via_pipeline",
    "operator_id_of",
    "to_csv",
]

ANALYTICS_SCHEMA: Final = "cie-ledger/audit-analytics/v1"
DEFAULT_OVERDUE_SECONDS: Final = 72 * 3600
_INSPECTED: Final = frozenset({Lane.YELLOW, Lane.RED})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RouteCount(_Model):
    issuer: str
    destination: str
    doc_type: str
    documents: int


class PeriodCount(_Model):
    period: str = Field(description="YYYY-MM (UTC) of the anchoring block")
    doc_type: str
    documents: int


class LatencyStats(_Model):
    acknowledgements: int
    mean_seconds: float | None
    median_seconds: float | None
    p95_seconds: float | None
    max_seconds: int | None


class InspectionRate(_Model):
    importing_economy: str
    aeo_documents: int
    aeo_inspected: int
    aeo_rate: float | None
    other_documents: int
    other_inspected: int
    other_rate: float | None
    ratio: float | None = Field(description="aeo_rate / other_rate (None if undefined)")
    unmapped_documents: int = Field(description="acknowledged but no AEO information given")


class TransitMovement(_Model):
    document_id: str
    itinerary: list[str]
    departed_at: str | None
    arrived_at: str | None
    duration_seconds: int | None
    incidents: int
    overdue: bool


class TransitSummary(_Model):
    movements: int
    departed: int
    arrived: int
    overdue: int
    mean_duration_seconds: float | None
    overdue_after_seconds: int


class AnalyticsReport(_Model):
    schema_: str = Field(
        default=ANALYTICS_SCHEMA,
        serialization_alias="schema",
        validation_alias=AliasChoices("schema", "schema_"),
    )
    generated_at: str
    chain_id: int
    registry: str
    from_block: int
    to_block: int
    as_of: str = Field(description="time of the last block read (overdue is measured to it)")
    documents: int
    amendments: int
    revoked: int
    acknowledgements: int
    by_type: dict[str, int]
    by_route: list[RouteCount]
    by_period: list[PeriodCount]
    ack_latency: LatencyStats
    ack_latency_by_importer: dict[str, LatencyStats]
    lanes: dict[str, int]
    lanes_by_importer: dict[str, dict[str, int]]
    inspection: list[InspectionRate]
    transit: TransitSummary
    transit_movements: list[TransitMovement]

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)


def _latency(values: list[int]) -> LatencyStats:
    if not values:
        return LatencyStats(
            acknowledgements=0,
            mean_seconds=None,
            median_seconds=None,
            p95_seconds=None,
            max_seconds=None,
        )
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return LatencyStats(
        acknowledgements=len(values),
        mean_seconds=statistics.fmean(values),
        median_seconds=float(statistics.median(values)),
        p95_seconds=float(p95),
        max_seconds=ordered[-1],
    )


def _as_id(key: bytes | str) -> bytes:
    if isinstance(key, bytes):
        return key
    return bytes.fromhex(key.removeprefix("0x"))


def _recognitions(ledger: Ledger, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    """(AEO id, importing economy) -> recognised now, via one JSON-RPC batch per 500."""
    wanted = sorted(set(pairs))
    out: dict[tuple[str, str], bool] = {}
    contract = ledger.aeo.contract
    w3 = ledger.w3
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        with w3.batch_requests() as batch:
            for aeo_id, importer in chunk:
                batch.add(
                    contract.functions.recognition(
                        economy_bytes(aeo_id[:2]), operator_id_of(aeo_id), economy_bytes(importer)
                    )
                )
            results = batch.execute()
        for key, result in zip(chunk, results, strict=True):
            out[key] = bool(result[0])  # type: ignore[literal-required]
    return out


def aggregate_report(
    ledger: Ledger,
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    exporter_aeo: Mapping[bytes | str, str | None] | None = None,
    overdue_after: int = DEFAULT_OVERDUE_SECONDS,
    block_chunk: int | None = None,
) -> AnalyticsReport:
    """Aggregate statistics of the registry's events in [from_block, to_block] (read-only).

    `block_chunk` splits log queries into block ranges (Besu's max logs range).
    """
    index = ChainIndex(ledger.registry, block_chunk=block_chunk)
    start = ledger.registry.from_block if from_block is None else from_block
    end = ledger.w3.eth.block_number if to_block is None else to_block
    histories = index.histories_from_logs(index.all_document_logs(start, end))
    as_of = index.block_times([end])[end]
    aeo = {_as_id(k): v for k, v in (exporter_aeo or {}).items()}
    return _aggregate(ledger, histories, aeo, start, end, as_of, overdue_after)


def _aggregate(
    ledger: Ledger,
    histories: Mapping[bytes, DocumentHistory],
    aeo: Mapping[bytes, str | None],
    start: int,
    end: int,
    as_of: int,
    overdue_after: int,
) -> AnalyticsReport:
    by_type: Counter[str] = Counter()
    routes: Counter[tuple[str, str, str]] = Counter()
    periods: Counter[tuple[str, str]] = Counter()
    latencies: list[int] = []
    latencies_by: dict[str, list[int]] = defaultdict(list)
    lanes: Counter[str] = Counter()
    lanes_by: dict[str, Counter[str]] = defaultdict(Counter)
    outcomes: dict[tuple[bytes, str], tuple[int, Lane]] = {}
    movements: list[TransitMovement] = []
    amendments = revoked = acks = 0
    for doc_id, h in histories.items():
        kind = h.doc_type.name
        by_type[kind] += 1
        for destination in h.destinations:
            routes[(h.issuer_economy, destination, kind)] += 1
        anchored_at = h.versions[0].timestamp
        period = dt.datetime.fromtimestamp(anchored_at, dt.UTC).strftime("%Y-%m")
        periods[(period, kind)] += 1
        amendments += len(h.versions) - 1
        revoked += h.revocation is not None
        for ack in h.acknowledgements:
            acks += 1
            if 1 <= ack.version <= len(h.versions):
                latency = ack.timestamp - h.versions[ack.version - 1].timestamp
                latencies.append(latency)
                latencies_by[ack.economy].append(latency)
            lanes[ack.lane.name] += 1
            lanes_by[ack.economy][ack.lane.name] += 1
            key = (doc_id, ack.economy)
            if key not in outcomes or outcomes[key][0] < ack.version:
                outcomes[key] = (ack.version, ack.lane)
        if h.doc_type is DocType.TRANSIT_DECLARATION:
            movements.append(_movement(h, as_of, overdue_after))

    recognised = _recognitions(
        ledger,
        (
            (aeo_id, importer)
            for (doc_id, importer) in outcomes
            if (aeo_id := aeo.get(doc_id)) is not None
        ),
    )
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (doc_id, importer), (_, lane) in outcomes.items():
        t = tallies[importer]
        if doc_id not in aeo:
            t[4] += 1
            continue
        aeo_id = aeo[doc_id]
        inspected = lane in _INSPECTED
        if aeo_id is not None and recognised.get((aeo_id, importer), False):
            t[0] += 1
            t[1] += inspected
        else:
            t[2] += 1
            t[3] += inspected
    inspection = []
    for importer in sorted(tallies):
        a, ai, o, oi, unmapped = tallies[importer]
        aeo_rate = ai / a if a else None
        other_rate = oi / o if o else None
        inspection.append(
            InspectionRate(
                importing_economy=importer,
                aeo_documents=a,
                aeo_inspected=ai,
                aeo_rate=aeo_rate,
                other_documents=o,
                other_inspected=oi,
                other_rate=other_rate,
                ratio=(aeo_rate / other_rate) if aeo_rate is not None and other_rate else None,
                unmapped_documents=unmapped,
            )
        )
    durations = [m.duration_seconds for m in movements if m.duration_seconds is not None]
    return AnalyticsReport(
        generated_at=dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        chain_id=int(ledger.deployment.chain_id),
        registry=ledger.deployment.contracts["DocumentRegistry"].address,
        from_block=start,
        to_block=end,
        as_of=iso_time(as_of),
        documents=len(histories),
        amendments=amendments,
        revoked=revoked,
        acknowledgements=acks,
        by_type=dict(sorted(by_type.items())),
        by_route=[
            RouteCount(issuer=i, destination=d, doc_type=k, documents=n)
            for (i, d, k), n in sorted(routes.items())
        ],
        by_period=[
            PeriodCount(period=p, doc_type=k, documents=n) for (p, k), n in sorted(periods.items())
        ],
        ack_latency=_latency(latencies),
        ack_latency_by_importer={e: _latency(v) for e, v in sorted(latencies_by.items())},
        lanes={lane.name: lanes.get(lane.name, 0) for lane in Lane},
        lanes_by_importer={
            e: {lane.name: c.get(lane.name, 0) for lane in Lane}
            for e, c in sorted(lanes_by.items())
        },
        inspection=inspection,
        transit=TransitSummary(
            movements=len(movements),
            departed=sum(m.departed_at is not None for m in movements),
            arrived=sum(m.arrived_at is not None for m in movements),
            overdue=sum(m.overdue for m in movements),
            mean_duration_seconds=statistics.fmean(durations) if durations else None,
            overdue_after_seconds=overdue_after,
        ),
        transit_movements=movements,
    )


def _movement(h: DocumentHistory, as_of: int, overdue_after: int) -> TransitMovement:
    departure = next((c for c in h.checkpoints if c.kind is CheckpointKind.DEPARTURE), None)
    arrival = next((c for c in h.checkpoints if c.kind is CheckpointKind.ARRIVAL), None)
    return TransitMovement(
        document_id="0x" + h.document_id.hex(),
        itinerary=list(h.destinations),
        departed_at=iso_time(departure.timestamp) if departure else None,
        arrived_at=iso_time(arrival.timestamp) if arrival else None,
        duration_seconds=(arrival.timestamp - departure.timestamp)
        if arrival and departure
        else None,
        incidents=sum(c.kind is CheckpointKind.INCIDENT for c in h.checkpoints),
        overdue=(
            departure is not None
            and arrival is None
            and h.revocation is None
            and as_of - departure.timestamp > overdue_after
        ),
    )


def exporter_aeo_ids_via_pipeline(
    pipeline: object, document_ids: Iterable[bytes | str]
) -> dict[bytes, str | None]:
    """Document id -> the trader's AEO id, decrypting through a member's `DocumentPipeline`.

    Only documents the member can open (it is the issuer or a destination) are
    mapped; the others are left out (they count as unmapped).
    """
    out: dict[bytes, str | None] = {}
    for key in document_ids:
        doc_id = _as_id(key)
        try:
            verified = pipeline.fetch_and_verify(doc_id)  # type: ignore[attr-defined]
        except LedgerClientError:
            continue
        out[doc_id] = verified.document.trader_aeo_id
    return out


_CSV_COLUMNS: Final = ("section", "economy", "counterpart", "doc_type", "period", "metric", "value")


def to_csv(report: AnalyticsReport) -> str:
    """The report as one long-format CSV table (columns `_CSV_COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)

    def row(
        section: str,
        metric: str,
        value: object,
        economy: str = "",
        counterpart: str = "",
        doc_type: str = "",
        period: str = "",
    ) -> None:
        writer.writerow(
            [
                section,
                economy,
                counterpart,
                doc_type,
                period,
                metric,
                "" if value is None else value,
            ]
        )

    for metric in ("documents", "amendments", "revoked", "acknowledgements"):
        row("totals", metric, getattr(report, metric))
    for kind, n in report.by_type.items():
        row("by_type", "documents", n, doc_type=kind)
    for r in report.by_route:
        row("by_route", "documents", r.documents, r.issuer, r.destination, r.doc_type)
    for p in report.by_period:
        row("by_period", "documents", p.documents, doc_type=p.doc_type, period=p.period)
    for name, stats in [("", report.ack_latency), *report.ack_latency_by_importer.items()]:
        for metric, value in stats.model_dump().items():
            row("ack_latency", metric, value, economy=name)
    for lane, n in report.lanes.items():
        row("lanes", lane, n)
    for economy, counts in report.lanes_by_importer.items():
        for lane, n in counts.items():
            row("lanes", lane, n, economy=economy)
    for rate in report.inspection:
        for metric, value in rate.model_dump().items():
            if metric != "importing_economy":
                row("inspection", metric, value, economy=rate.importing_economy)
    for metric, value in report.transit.model_dump().items():
        row("transit", metric, value)
    for m in report.transit_movements:
        row("transit_movement", "duration_seconds", m.duration_seconds, counterpart=m.document_id)
        row("transit_movement", "overdue", m.overdue, counterpart=m.document_id)
    return buffer.getvalue()
