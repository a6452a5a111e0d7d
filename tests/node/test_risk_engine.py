"""Unit tests of the reference risk engine, one rule at a time (no chain needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from eth_utils.crypto import keccak

from ledger_client.aeo import Recognition, RecognitionBasis
from ledger_client.records import CheckpointKind
from manifests import Document, PreArrivalManifest
from manifests.generate import (
    Inconsistency,
    generate_linked_co,
    generate_manifest,
    generate_transit_declaration,
)
from node.risk import (
    ENTRY_POINT_GROUP,
    Checkpoint,
    ReferenceRiskEngine,
    RiskContext,
    RiskEngine,
    RiskLane,
    discover_hooks,
    operator_id_of,
)
from node.risk.reference import inspection_draw, unit_values
from node.settings import RiskRules

NOW = datetime(2025, 6, 1, tzinfo=UTC)
NOT_RECOGNIZED = Recognition(False, RecognitionBasis.NONE)


def context(
    document: Document,
    *,
    doc_id: bytes = b"\x01" * 32,
    recognized: set[bytes] = frozenset(),  # type: ignore[assignment]
    history: Sequence[float] = (),
    manifest: PreArrivalManifest | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    now: datetime = NOW,
) -> RiskContext:
    return RiskContext(
        economy="UZ",
        document_id=doc_id,
        version=1,
        document=document,
        issuer_economy=document.issuer_economy,
        now=now,
        recognition=lambda economy, op: (
            Recognition(True, RecognitionBasis.MRA) if op in recognized else NOT_RECOGNIZED
        ),
        unit_values=lambda hs, origin, currency: list(history),
        linked_manifest=lambda issuer, reference: (
            manifest
            if manifest is not None
            and (manifest.issuer_economy, manifest.reference) == (issuer, reference)
            else None
        ),
        checkpoints=checkpoints,
    )


def rules_of(hook: ReferenceRiskEngine, ctx: RiskContext) -> list[str]:
    return [f.rule for f in hook.assess(ctx).findings]


def with_aeo(manifest: PreArrivalManifest, aeo_id: str) -> PreArrivalManifest:
    return manifest.model_copy(
        update={"consignor": manifest.consignor.model_copy(update={"aeo_id": aeo_id})}
    )


def test_operator_id_is_keccak_of_the_utf8_aeo_id() -> None:
    assert operator_id_of("KZAEO000123") == keccak(b"KZAEO000123")


def test_recognized_aeo_halves_the_inspection_rate() -> None:
    rules = RiskRules(base_inspection_rate=0.3, aeo_inspection_factor=0.5)
    hook = ReferenceRiskEngine(rules)
    manifest = generate_manifest(1, origin="KZ", destination="UZ")
    aeo = with_aeo(manifest, "KZAEO000123")
    recognized = {operator_id_of("KZAEO000123")}
    n = 4000
    plain = sum(
        hook.assess(context(manifest, doc_id=i.to_bytes(32, "big"))).selected_for_inspection
        for i in range(n)
    )
    certified = sum(
        hook.assess(
            context(aeo, doc_id=i.to_bytes(32, "big"), recognized=recognized)
        ).selected_for_inspection
        for i in range(n)
    )
    assert plain / n == pytest.approx(0.3, abs=0.03)
    assert certified / n == pytest.approx(0.15, abs=0.03)
    assert "aeo.recognized" in rules_of(hook, context(aeo, recognized=recognized))
    # an AEO id the importing economy does not recognize changes nothing
    assert "aeo.recognized" not in rules_of(hook, context(aeo))


def test_inspection_draw_is_deterministic_per_document_version() -> None:
    assert inspection_draw(b"\x02" * 32, 1) == inspection_draw(b"\x02" * 32, 1)
    assert inspection_draw(b"\x02" * 32, 1) != inspection_draw(b"\x02" * 32, 2)


def test_linked_certificate_inconsistencies_are_findings() -> None:
    hook = ReferenceRiskEngine(RiskRules(base_inspection_rate=0))
    manifest = generate_manifest(5, origin="KZ", destination="UZ")
    consistent = generate_linked_co(manifest)
    assert not [
        r for r in rules_of(hook, context(consistent, manifest=manifest)) if r.startswith("linked.")
    ]
    broken = generate_linked_co(manifest, inconsistencies=[Inconsistency.PORT_OF_DISCHARGE])
    assert "linked.port_of_discharge_mismatch" in rules_of(hook, context(broken, manifest=manifest))
    assert "linked.manifest_unavailable" in rules_of(hook, context(consistent))


def test_watch_listed_hs_code_raises_the_lane() -> None:
    manifest = generate_manifest(7, origin="KZ", destination="UZ")
    prefix = manifest.goods_items[0].hs_code[:4]
    rules = RiskRules(base_inspection_rate=0, hs_watch_list=[prefix], yellow_score=30)
    engine = RiskEngine([ReferenceRiskEngine(rules)], rules)
    result = engine.assess(context(manifest))
    assert "hs.watch_list" in [f.rule for f in result.findings]
    assert result.lane >= RiskLane.YELLOW
    clean = RiskRules(base_inspection_rate=0, hs_watch_list=["9999"])
    assert (
        RiskEngine([ReferenceRiskEngine(clean)], clean).assess(context(manifest)).lane
        == RiskLane.GREEN
    )


def test_unit_value_far_from_history_is_an_anomaly() -> None:
    hook = ReferenceRiskEngine(RiskRules(base_inspection_rate=0, value_history_minimum=5))
    full = generate_manifest(9, origin="KZ", destination="UZ")
    manifest = full.model_copy(update={"goods_items": full.goods_items[:1]})
    values = list(unit_values(manifest))
    assert values
    typical = values[0][3]
    near = [typical * f for f in (0.9, 1.0, 1.1, 0.95, 1.05)]
    assert "value.anomaly" not in rules_of(hook, context(manifest, history=near))
    far = [typical * 10 for _ in range(5)]
    assert "value.anomaly" in rules_of(hook, context(manifest, history=far))
    assert "value.anomaly" not in rules_of(hook, context(manifest, history=far[:4]))  # too little


def test_transit_overdue_without_arrival() -> None:
    hook = ReferenceRiskEngine(RiskRules(base_inspection_rate=0))
    transit = generate_transit_declaration(1)
    late = transit.arrival_time_limit + timedelta(hours=1)
    early = transit.arrival_time_limit - timedelta(hours=1)
    assert "transit.overdue" in rules_of(hook, context(transit, now=late))
    assert "transit.overdue" not in rules_of(hook, context(transit, now=early))
    arrived = [Checkpoint(transit.itinerary[-1], CheckpointKind.ARRIVAL, len(transit.itinerary))]
    assert "transit.overdue" not in rules_of(hook, context(transit, now=late, checkpoints=arrived))


def test_transit_off_itinerary_and_incident() -> None:
    hook = ReferenceRiskEngine(RiskRules(base_inspection_rate=0))
    transit = generate_transit_declaration(1)
    early = transit.arrival_time_limit - timedelta(hours=1)
    assert not [r for r in rules_of(hook, context(transit, now=early)) if r.startswith("transit.")]
    elsewhere = "KR" if "KR" not in transit.itinerary else "CN"
    off = transit.model_copy(update={"office_of_destination": elsewhere + "000001"})
    assert "transit.off_itinerary" in rules_of(hook, context(off, now=early))
    stray = [Checkpoint(elsewhere, CheckpointKind.TRANSIT_PASSED, 1)]
    assert "transit.off_itinerary" in rules_of(hook, context(transit, now=early, checkpoints=stray))
    incident = [Checkpoint(transit.itinerary[0], CheckpointKind.INCIDENT, 0)]
    assert "transit.incident" in rules_of(hook, context(transit, now=early, checkpoints=incident))


def test_lane_thresholds_and_selection() -> None:
    rules = RiskRules(base_inspection_rate=1.0, yellow_score=30, red_score=60)
    engine = RiskEngine([ReferenceRiskEngine(rules)], rules)
    manifest = generate_manifest(11, origin="KZ", destination="UZ")
    result = engine.assess(context(manifest))
    assert result.selected_for_inspection and result.lane == RiskLane.YELLOW
    red_rules = RiskRules(
        base_inspection_rate=0,
        hs_watch_list=[g.hs_code[:2] for g in manifest.goods_items],
        yellow_score=20,
        red_score=40,
    )
    red = RiskEngine([ReferenceRiskEngine(red_rules)], red_rules).assess(context(manifest))
    assert red.score >= 40 and red.lane == RiskLane.RED
    assert red.reasons()["lane"] == "RED"


def test_reference_engine_is_discovered_through_entry_points() -> None:
    hooks = discover_hooks(RiskRules(), ["reference"])
    assert [h.name for h in hooks] == ["reference"]
    assert isinstance(hooks[0], ReferenceRiskEngine)
    with pytest.raises(ValueError, match=ENTRY_POINT_GROUP):
        discover_hooks(RiskRules(), ["no-such-hook"])
