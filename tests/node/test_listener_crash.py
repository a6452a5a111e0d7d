"""Crash safety: B's listener is killed at random fault points during a stream of
documents, restarted each time, and still processes every document exactly once."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from manifests.generate import DocumentGenerator
from node import db as tables
from node.db import Database
from node.errors import InjectedFault
from node.listener import State, processing_counts
from tests.node.network import Network, count_hook_runs, make_listener

FAULT_POINTS = (
    "scan.before_commit",
    "process.before_fetch",
    "process.after_hooks",
    "process.after_assess",
    "process.before_ack",
    "process.ack_sent",
    "process.after_ack",
)


def _stream(network: Network, count: int, seed: int) -> list[str]:
    generator = DocumentGenerator(seed)
    docs = [generator.manifest(origin="KZ", destination="UZ") for _ in range(count)]
    ids: list[str] = []
    for start in range(0, len(docs), 50):
        receipts = network["KZ"].pipeline.submit_batch(docs[start : start + 50])
        ids.extend(r.document_id.removeprefix("0x") for r in receipts)
    return ids


def _run_with_crashes(
    network: Network, db: Database, start: int, expected: int, seed: int, rate: float
) -> tuple[int, int]:
    rng = random.Random(seed)
    crashes = 0
    runs: list[str] = []

    def fault(point: str) -> None:
        if rng.random() < rate:
            raise InjectedFault(point)

    for _round in range(2000):
        listener = make_listener(
            network["UZ"], db, start_block=start, chunk_size=3, fault=fault
        )  # a fresh process after each crash: nothing survives but the database
        count_hook_runs(listener, runs)
        try:
            listener.poll_once()
        except InjectedFault:
            crashes += 1
            continue
        if processing_counts(db).get(State.ACKNOWLEDGED, 0) >= expected:
            return crashes, len(runs)
    raise AssertionError(f"not done after 2000 rounds: {processing_counts(db)}")


def _check_exactly_once(network: Network, db: Database, ids: list[str], start: int) -> None:
    with db.sessions() as s:
        outcomes = s.scalars(select(tables.RiskOutcome.document_id)).all()
        events = s.scalar(select(func.count()).select_from(tables.ChainEvent))
        values = s.scalar(select(func.count(func.distinct(tables.ValueHistory.document_id))))
    assert sorted(outcomes) == sorted(ids)  # one hook effect per document, none missing
    assert values == len(ids)
    assert processing_counts(db) == {State.ACKNOWLEDGED: len(ids)}
    # exactly one acknowledgement event per document on chain
    registry = network["UZ"].ledger.registry
    logs = registry.contract.events.DocumentAcknowledged().get_logs(
        argument_filters={"acknowledger": b"UZ"}, from_block=start
    )
    acked = [bytes(log["args"]["id"]).hex() for log in logs]
    assert sorted(acked) == sorted(ids)
    assert events == len(ids)  # anchored events only (no acks of KZ's docs are addressed to UZ)


def test_random_crashes_during_a_stream_process_each_document_once(
    network: Network, database: Callable[[str], Database]
) -> None:
    start = network.w3.eth.block_number + 1
    ids = _stream(network, 150, seed=7)
    db = database("uz-crash")
    crashes, hook_runs = _run_with_crashes(network, db, start, len(ids), seed=11, rate=0.08)
    assert crashes >= 10  # the faults really fired
    assert hook_runs >= len(ids)
    _check_exactly_once(network, db, ids, start)


@pytest.mark.slow
def test_random_crashes_during_500_documents(
    network: Network, database: Callable[[str], Database]
) -> None:
    start = network.w3.eth.block_number + 1
    ids = _stream(network, 500, seed=8)
    db = database("uz-crash-500")
    crashes, _ = _run_with_crashes(network, db, start, len(ids), seed=12, rate=0.03)
    assert crashes >= 10
    _check_exactly_once(network, db, ids, start)
