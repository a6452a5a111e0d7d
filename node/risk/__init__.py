"""Risk hooks of the node: the hook interface, the engine that runs them, the reference rules."""

from ledger_client.aeo import operator_id_of
from node.risk.base import Checkpoint, Finding, HookResult, RiskContext, RiskHook, RiskLane
from node.risk.engine import ENTRY_POINT_GROUP, Assessment, RiskEngine, discover_hooks
from node.risk.reference import ReferenceRiskEngine

__all__ = [
    "ENTRY_POINT_GROUP",
    "Assessment",
    "Checkpoint",
    "Finding",
    "HookResult",
    "ReferenceRiskEngine",
    "RiskContext",
    "RiskEngine",
    "RiskHook",
    "RiskLane",
    "discover_hooks",
    "operator_id_of",
]
