"""Runs the configured risk hooks over a document and combines their results.

Hooks are discovered through the entry-point group ``cie_ledger.risk_hooks``:
each entry point names a class (or factory) called with the node's `RiskRules`
and returning a `RiskHook`. The combined score is the sum of the findings'
scores; the lane comes from the score thresholds, at least YELLOW when any hook
selected the document for inspection, and at least any hook's `minimum_lane`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from node.errors import NodeConfigurationError
from node.risk.base import Finding, RiskContext, RiskHook, RiskLane
from node.risk.reference import lane_for
from node.settings import RiskRules

ENTRY_POINT_GROUP = "cie_ledger.risk_hooks"


@dataclass(frozen=True)
class Assessment:
    lane: RiskLane
    score: float
    findings: tuple[Finding, ...]
    hooks: tuple[str, ...]
    selected_for_inspection: bool

    def reasons(self) -> dict[str, object]:
        """The reasons document committed to on chain (and shared when policy allows)."""
        return {
            "lane": self.lane.name,
            "score": round(self.score, 3),
            "hooks": list(self.hooks),
            "findings": [
                {"rule": f.rule, "score": f.score, "message": f.message, "field": f.field}
                for f in self.findings
            ],
        }


def discover_hooks(rules: RiskRules, names: Sequence[str] | None = None) -> list[RiskHook]:
    """Instantiate the hooks registered under `ENTRY_POINT_GROUP` (only `names` if given)."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    wanted = list(names) if names is not None else sorted(found)
    missing = [n for n in wanted if n not in found]
    if missing:
        raise NodeConfigurationError(
            f"risk hooks {missing} are not registered in entry-point group {ENTRY_POINT_GROUP} "
            f"(registered: {sorted(found)}); install the plugin package or fix risk_hooks"
        )
    hooks = []
    for name in wanted:
        hook = found[name].load()(rules)
        if not isinstance(hook, RiskHook):
            raise NodeConfigurationError(f"entry point {name} did not give a risk hook")
        hooks.append(hook)
    return hooks


class RiskEngine:
    def __init__(self, hooks: Sequence[RiskHook], rules: RiskRules | None = None) -> None:
        if not hooks:
            raise NodeConfigurationError("the risk engine needs at least one hook")
        self.hooks = list(hooks)
        self.rules = rules or RiskRules()

    def assess(self, context: RiskContext) -> Assessment:
        findings: list[Finding] = []
        selected = False
        minimum = RiskLane.GREEN
        for hook in self.hooks:
            result = hook.assess(context)
            findings.extend(result.findings)
            selected = selected or result.selected_for_inspection
            minimum = max(minimum, result.minimum_lane)
        score = sum(f.score for f in findings)
        return Assessment(
            lane=lane_for(score, selected, self.rules, minimum),
            score=score,
            findings=tuple(findings),
            hooks=tuple(h.name for h in self.hooks),
            selected_for_inspection=selected,
        )
