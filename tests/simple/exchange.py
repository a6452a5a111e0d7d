"""Helpers of the simple-mode tests: building a simple-mode member, dropping files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.db import Database
from node.risk import ReferenceRiskEngine, RiskEngine
from node.settings import RiskRules
from node.simple import ExchangeFolders, ManualReviewListener, SimpleMode
from node.simple.inbound import FaultPoint, no_faults
from tests.node.network import Member

SIMPLE = "UZ"
FULL = "KZ"


@dataclass
class SimpleNode:
    """One simple-mode member: its folders, database, listener and folder workers."""

    member: Member
    folders: ExchangeFolders
    db: Database
    listener: ManualReviewListener
    simple: SimpleMode

    def round(self) -> None:
        """What the node's worker threads do in one round."""
        self.listener.poll_once()
        self.simple.run_once()


def make_simple_node(
    member: Member,
    root: Path,
    db: Database,
    *,
    start_block: int,
    max_file_bytes: int = 256 * 1024,
    fault: FaultPoint = no_faults,
    pipeline: Any = None,
    listener_fault: FaultPoint = no_faults,
) -> SimpleNode:
    folders = ExchangeFolders(root).create()
    rules = RiskRules(base_inspection_rate=0.0)
    listener = ManualReviewListener(
        folders=folders,
        economy=member.economy,
        ledger=member.ledger,
        fetcher=pipeline or member.pipeline,
        db=db,
        engine=RiskEngine([ReferenceRiskEngine(rules)], rules),
        ipfs=member.ipfs,
        confirmations=0,
        start_block=start_block,
        fault=listener_fault,
    )
    simple = SimpleMode.build(
        folders,
        pipeline=pipeline or member.pipeline,
        listener=listener,
        db=db,
        max_file_bytes=max_file_bytes,
        fault=fault,
    )
    return SimpleNode(member, folders, db, listener, simple)


def drop(folder: Path, name: str, data: bytes | str) -> Path:
    """Write-then-rename, as producers are told to."""
    raw = data.encode() if isinstance(data, str) else data
    temporary = folder / ".tmp" / name
    temporary.parent.mkdir(exist_ok=True)
    temporary.write_bytes(raw)
    target = folder / name
    temporary.rename(target)
    return target
