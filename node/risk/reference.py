"""The reference risk engine: configurable rules over one verified document.

Rules (each a `Finding` with a stable rule name; scores add up):

* ``aeo.recognized``: the trader the document names (consignor, holder or
  exporter; `Document.trader_aeo_id`) is an AEO recognized by THIS economy
  (own programme, MRA or multilateral programme, per `AeoRegistry.recognition`).
  The operator id on chain is ``keccak256(utf8(aeo_id))``
  (`ledger_client.aeo.operator_id_of`) and the operator's economy is the one
  that granted the status: the AEO id's first two letters (its format is ISO
  3166-1 alpha-2 + up to 33 characters). Recognition multiplies the random
  inspection probability by `aeo_inspection_factor` (0.5: half the rate).
* ``linked.*``: a certificate of origin is compared with the manifest it links
  (`manifests.check_linked_consistency`), when this node holds that manifest.
* ``hs.watch_list``: an HS code starts with a watch-listed prefix.
* ``value.anomaly``: an item's value per kg (manifests) or per unit of quantity
  (certificates) is more than `value_deviation_factor` away from the median
  seen before for the same HS subheading, origin and currency.
* ``transit.overdue`` / ``transit.off_itinerary`` / ``transit.incident``: a
  transit declaration whose arrival time limit passed without ARRIVAL, whose
  offices lie outside its itinerary, or with an INCIDENT recorded.
* ``random.inspection``: a deterministic draw seeded by keccak(doc id ‖ version)
  selects the document for inspection with probability `base_inspection_rate`
  (times the AEO factor), so tests can assert rates.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from decimal import Decimal

from eth_utils.crypto import keccak

from ledger_client.aeo import operator_id_of
from ledger_client.records import CheckpointKind
from manifests import (
    CertificateOfOrigin,
    PreArrivalManifest,
    TransitDeclaration,
    check_linked_consistency,
)
from node.risk.base import Finding, HookResult, RiskContext, RiskLane
from node.settings import RiskRules

AEO_SCORE = -10.0
LINKED_SCORE = 25.0
WATCH_LIST_SCORE = 40.0
VALUE_SCORE = 30.0
OVERDUE_SCORE = 60.0
OFF_ITINERARY_SCORE = 60.0
INCIDENT_SCORE = 30.0


def inspection_draw(document_id: bytes, version: int) -> float:
    """A number in [0, 1) fixed by the document version (the random-inspection draw)."""
    seed = int.from_bytes(keccak(document_id + version.to_bytes(4, "big")), "big")
    return random.Random(seed).random()


def unit_values(document: object) -> Iterator[tuple[int, str, str, float]]:
    """(item index, HS subheading, currency, unit value) of each valued item."""
    if isinstance(document, PreArrivalManifest):
        for i, item in enumerate(document.goods_items):
            yield (
                i,
                item.hs_code[:6],
                item.value.currency,
                float(Decimal(item.value.amount) / Decimal(item.gross_mass_kg)),
            )
    elif isinstance(document, CertificateOfOrigin):
        for i, co_item in enumerate(document.items):
            if co_item.fob_value is not None and co_item.quantity is not None:
                yield (
                    i,
                    co_item.hs_code[:6],
                    co_item.fob_value.currency,
                    float(Decimal(co_item.fob_value.amount) / Decimal(co_item.quantity.value)),
                )


class ReferenceRiskEngine:
    """Registered under the entry point ``reference`` of group ``cie_ledger.risk_hooks``."""

    name = "reference"

    def __init__(self, rules: RiskRules | None = None) -> None:
        self.rules = rules or RiskRules()

    def assess(self, context: RiskContext) -> HookResult:
        findings: list[Finding] = []
        rate = self.rules.base_inspection_rate
        aeo = self._aeo(context)
        if aeo is not None:
            findings.append(aeo)
            rate *= self.rules.aeo_inspection_factor
        findings.extend(self._linked(context))
        findings.extend(self._watch_list(context))
        findings.extend(self._values(context))
        findings.extend(self._transit(context))
        selected = inspection_draw(context.document_id, context.version) < rate
        if selected:
            findings.append(
                Finding("random.inspection", 0.0, f"selected at random (rate {rate:.3f})")
            )
        return HookResult(tuple(findings), selected_for_inspection=selected)

    # -- rules ------------------------------------------------------------------

    def _aeo(self, context: RiskContext) -> Finding | None:
        aeo_id = context.document.trader_aeo_id
        if not aeo_id:
            return None
        recognition = context.recognition(aeo_id[:2], operator_id_of(aeo_id))
        if not recognition.recognized:
            return None
        return Finding(
            "aeo.recognized",
            AEO_SCORE,
            f"trader AEO {aeo_id} of {aeo_id[:2]} is recognized by "
            f"{context.economy} ({recognition.basis.name})",
            "aeo_id",
        )

    def _linked(self, context: RiskContext) -> list[Finding]:
        document = context.document
        if not isinstance(document, CertificateOfOrigin):
            return []
        manifest_links = [
            link for link in document.links if link.document_type == "PRE_ARRIVAL_MANIFEST"
        ]
        findings = []
        for link in manifest_links:
            manifest = context.linked_manifest(link.issuer_economy, link.reference)
            if manifest is None:
                findings.append(
                    Finding(
                        "linked.manifest_unavailable",
                        0.0,
                        f"linked manifest {link.issuer_economy}/{link.reference} is not held here",
                        "links",
                    )
                )
                continue
            findings.extend(
                Finding(issue.rule, LINKED_SCORE, issue.message, issue.field)
                for issue in check_linked_consistency(document, manifest)
            )
        return findings

    def _hs_codes(self, context: RiskContext) -> list[tuple[str, str]]:
        document = context.document
        if isinstance(document, PreArrivalManifest):
            return [
                (f"goods_items[{i}].hs_code", g.hs_code) for i, g in enumerate(document.goods_items)
            ]
        if isinstance(document, TransitDeclaration):
            return [
                (f"goods_items[{i}].hs_code", g.hs_code) for i, g in enumerate(document.goods_items)
            ]
        if isinstance(document, CertificateOfOrigin):
            return [(f"items[{i}].hs_code", g.hs_code) for i, g in enumerate(document.items)]
        return []

    def _watch_list(self, context: RiskContext) -> list[Finding]:
        findings = []
        for path, code in self._hs_codes(context):
            prefix = next((p for p in self.rules.hs_watch_list if code.startswith(p)), None)
            if prefix is not None:
                findings.append(
                    Finding(
                        "hs.watch_list",
                        WATCH_LIST_SCORE,
                        f"HS {code} is watch-listed ({prefix})",
                        path,
                    )
                )
        return findings

    def _values(self, context: RiskContext) -> list[Finding]:
        findings = []
        factor = self.rules.value_deviation_factor
        for index, subheading, currency, value in unit_values(context.document):
            seen = context.unit_values(subheading, context.issuer_economy, currency)
            if len(seen) < self.rules.value_history_minimum:
                continue
            median = statistics.median(seen)
            if median <= 0:
                continue
            if value > median * factor or value < median / factor:
                findings.append(
                    Finding(
                        "value.anomaly",
                        VALUE_SCORE,
                        f"unit value {value:.4g} {currency} for HS {subheading} from "
                        f"{context.issuer_economy} is far from the median {median:.4g} "
                        f"of {len(seen)} earlier items",
                        f"item[{index}]",
                    )
                )
        return findings

    def _transit(self, context: RiskContext) -> list[Finding]:
        document = context.document
        if not isinstance(document, TransitDeclaration):
            return []
        findings = []
        kinds = {c.kind for c in context.checkpoints}
        if document.arrival_time_limit < context.now and CheckpointKind.ARRIVAL not in kinds:
            findings.append(
                Finding(
                    "transit.overdue",
                    OVERDUE_SCORE,
                    f"arrival time limit {document.arrival_time_limit.isoformat()} passed "
                    "without an ARRIVAL checkpoint",
                    "arrival_time_limit",
                )
            )
        offices = [
            ("office_of_departure", document.office_of_departure),
            *((f"offices_of_transit[{i}]", o) for i, o in enumerate(document.offices_of_transit)),
            ("office_of_destination", document.office_of_destination),
        ]
        for path, office in offices:
            if office[:2] not in document.itinerary:
                findings.append(
                    Finding(
                        "transit.off_itinerary",
                        OFF_ITINERARY_SCORE,
                        f"office {office} is outside the itinerary {document.itinerary}",
                        path,
                    )
                )
        off_route = [c for c in context.checkpoints if c.economy not in document.itinerary]
        for checkpoint in off_route:
            findings.append(
                Finding(
                    "transit.off_itinerary",
                    OFF_ITINERARY_SCORE,
                    f"checkpoint recorded by {checkpoint.economy}, not on {document.itinerary}",
                    "itinerary",
                )
            )
        if CheckpointKind.INCIDENT in kinds:
            findings.append(Finding("transit.incident", INCIDENT_SCORE, "an INCIDENT was recorded"))
        return findings


def lane_for(score: float, selected: bool, rules: RiskRules, minimum: RiskLane) -> RiskLane:
    lane = RiskLane.GREEN
    if score >= rules.red_score:
        lane = RiskLane.RED
    elif score >= rules.yellow_score:
        lane = RiskLane.YELLOW
    if selected:
        lane = max(lane, RiskLane.YELLOW)
    return max(lane, minimum)
