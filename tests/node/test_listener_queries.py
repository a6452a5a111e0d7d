"""The listener's lookups by (document, version) read their rows through the primary key.

A 100k-document catch-up slowed from ~106 to ~60 documents/s by 55,000 documents: the
acknowledgement window's lookups (`_rows_by_key`) were written as a row-value IN, which
SQLite answers by scanning the whole `processing` table (87 ms a query at 100,000 rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from node import db as tables
from node.db import Database
from node.listener import _rows_by_key, _states


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    yield db
    db.close()


def _processing(document_id: str, version: int) -> tables.Processing:
    return tables.Processing(
        document_id=document_id,
        version=version,
        doc_type=1,
        issuer="KZ",
        state="acknowledged",
        attempts=0,
        event_block=1,
        event_tx_hash="0x" + "00" * 32,
    )


def _outcome(document_id: str, version: int) -> tables.RiskOutcome:
    return tables.RiskOutcome(
        document_id=document_id,
        version=version,
        lane=0,
        score=0.0,
        reasons="{}",
        hooks="",
        reasons_commitment="00" * 32,
        reasons_salt="{}",
        reasons_digest="",
    )


def _plans(database: Database, run: Any) -> list[str]:
    """The SQLite query plans of the statements `run` executes."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    plans = []
    with database.engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append("\n".join(str(row[-1]) for row in rows))
    return plans


@pytest.mark.parametrize("model", [tables.Processing, tables.RiskOutcome])
def test_rows_by_key_search_the_primary_key_and_answer_only_the_keys_asked(
    database: Database, model: type[Any]
) -> None:
    make = _processing if model is tables.Processing else _outcome
    documents = [f"{i:064x}" for i in range(1, 1201)]
    with database.transaction() as session:
        session.add_all(make(d, v) for d in documents for v in (1, 2))
    # version 2 of every other document and version 1 of a few: other versions of the
    # same documents must not be answered, and more keys than one query's chunk
    keys = [(d, 2) for d in documents[::2]] + [(d, 1) for d in documents[1:40:3]]
    keys.append((documents[0], 7))  # a version that does not exist

    found: dict[tuple[str, int], Any] = {}

    def lookup() -> None:
        with database.sessions() as session:
            found.update(_rows_by_key(session, model, keys))

    plans = _plans(database, lookup)
    assert set(found) == set(keys[:-1])
    assert all((row.document_id, row.version) == key for key, row in found.items())
    assert plans, "no statement recorded"
    for plan in plans:
        assert f"SCAN {model.__tablename__}" not in plan, plan
        assert f"SEARCH {model.__tablename__}" in plan, plan


def test_states_search_the_primary_key_and_answer_only_the_keys_asked(database: Database) -> None:
    documents = [f"{i:064x}" for i in range(1, 1201)]
    with database.transaction() as session:
        session.add_all(_processing(d, v) for d in documents for v in (1, 2))
    with database.transaction() as session:
        row = session.get(tables.Processing, (documents[4], 2))
        assert row is not None
        row.state = "pending"
    # more documents than one IN list, other versions of the same documents not asked
    keys = [(d, 2) for d in documents[::2]] + [(documents[1], 1), (documents[0], 7)]

    found: dict[tuple[str, int], tuple[str, int]] = {}
    plans = _plans(database, lambda: found.update(_states(database, keys)))
    assert set(found) == set(keys[:-1])  # version 7 does not exist
    assert found[(documents[4], 2)] == ("pending", 1)
    others = {row for key, row in found.items() if key != (documents[4], 2)}
    assert others == {("acknowledged", 1)}
    assert len(plans) == 2  # 601 documents: two IN lists of at most 500
    for plan in plans:
        assert "SCAN processing" not in plan, plan
        assert "SEARCH processing" in plan, plan
