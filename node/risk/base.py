"""What a risk hook sees and returns.

A hook is any object with a `name` and `assess(context) -> HookResult`. The
context carries the verified document, its provenance and read-only views of
what the node knows (AEO recognition, unit-value history, linked documents,
transit checkpoints); hooks never write. `idempotency_key` ("<doc id>:<version>")
is what a hook with external effects must key them by: the listener may run a
hook again after a crash, but records its outcome exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Protocol, runtime_checkable

from ledger_client.aeo import Recognition
from manifests import Document, PreArrivalManifest


class RiskLane(IntEnum):
    """Same codes as `ledger_client.records.Lane` (1 GREEN, 2 YELLOW, 3 RED)."""

    GREEN = 1
    YELLOW = 2
    RED = 3


@dataclass(frozen=True)
class Finding:
    rule: str
    score: float
    message: str
    field: str = ""


@dataclass(frozen=True)
class Checkpoint:
    economy: str
    kind: int  # ledger_client.records.CheckpointKind
    position: int


@dataclass(frozen=True)
class HookResult:
    findings: tuple[Finding, ...] = ()
    selected_for_inspection: bool = False
    minimum_lane: RiskLane = RiskLane.GREEN


@dataclass(frozen=True)
class RiskContext:
    economy: str
    document_id: bytes
    version: int
    document: Document
    issuer_economy: str
    now: datetime
    recognition: Callable[[str, bytes], Recognition]
    """(operator economy, operator id) -> recognition by this economy."""
    unit_values: Callable[[str, str, str], Sequence[float]]
    """(HS subheading, origin economy, currency) -> unit values seen before: the most
    recent `RiskRules.value_history_window` of them."""
    linked_manifest: Callable[[str, str], PreArrivalManifest | None]
    """(issuer economy, reference) -> a verified manifest this node holds."""
    checkpoints: Sequence[Checkpoint] = field(default_factory=tuple)

    @property
    def idempotency_key(self) -> str:
        return f"0x{self.document_id.hex()}:{self.version}"


@runtime_checkable
class RiskHook(Protocol):
    name: str

    def assess(self, context: RiskContext) -> HookResult: ...
