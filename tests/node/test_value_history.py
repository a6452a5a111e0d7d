"""The unit values the hooks compare with are the table's newest, whoever wrote them.

On SQLite `ValueHistory` answers from windows kept in memory; every answer must be the
table's own (the newest `window` values of the key other than the document's), while
the listener writes, another process writes, a write is rolled back and documents
with values of their own are looked up. On PostgreSQL it reads the table (a
throw-away cluster, see tests/node/postgres.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import db as tables
from node.db import Database
from node.value_history import _OTHERS_NEWEST, ValueHistory
from tests.node.postgres import postgres_cluster, why_unavailable

KEYS = [("090111", "KZ", "USD"), ("090111", "KZ", "EUR"), ("610910", "UZ", "USD")]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'node.db'}")
        tables.Base.metadata.create_all(db.engine)
        yield db
        db.close()
        return
    if why_unavailable() is not None:
        pytest.skip(str(why_unavailable()))
    with postgres_cluster() as url:
        db = Database(url)
        tables.Base.metadata.create_all(db.engine)
        yield db
        db.close()


def _table_answer(
    db: Database, key: tuple[str, str, str], doc_hex: str, window: int
) -> list[float]:
    subheading, origin, currency = key
    params = {"subheading": subheading, "origin": origin, "currency": currency}
    with db.engine.connect() as conn:
        return list(conn.scalars(_OTHERS_NEWEST, {**params, "doc": doc_hex, "window": window}))


def _items(rng: random.Random) -> list[tuple[int, str, str, float]]:
    items = []
    for index in range(rng.randint(1, 4)):
        subheading, _, currency = rng.choice(KEYS)
        items.append((index, subheading, currency, round(rng.uniform(1, 100), 3)))
    return items


def test_answers_are_the_tables_while_others_write_and_writes_roll_back(
    database: Database,
) -> None:
    # A small window, slack and key budget, so truncated windows, documents whose own
    # values outnumber the slack and dropped keys all happen.
    values = ValueHistory(database, keys=2, slack=3)
    rng = random.Random(20261124)
    documents = [f"{n:064x}" for n in range(1, 25)]
    versions = dict.fromkeys(documents, 0)
    asked = 0
    for step in range(600):
        action = rng.random()
        doc_hex = rng.choice(documents)
        origin = rng.choice(("KZ", "UZ"))
        if action < 0.35:  # the listener assesses a version: its rows, then the callback
            versions[doc_hex] += 1
            with database.transaction() as session:
                committed = values.record(session, doc_hex, versions[doc_hex], origin, _items(rng))
            committed()
        elif action < 0.45:  # another process writes (no callback)
            versions[doc_hex] += 1
            with database.transaction() as session:
                session.add_all(
                    tables.ValueHistory(
                        hs_subheading=subheading,
                        origin=origin,
                        currency=currency,
                        unit_value=value,
                        document_id=doc_hex,
                        version=versions[doc_hex],
                        item=index,
                    )
                    for index, subheading, currency, value in _items(rng)
                )
        elif action < 0.5:  # the listener's transaction fails after writing: no callback
            with pytest.raises(RuntimeError), database.transaction() as session:
                values.record(session, doc_hex, versions[doc_hex] + 1, origin, _items(rng))
                raise RuntimeError("rolled back")
        else:
            key = rng.choice(KEYS)
            window = 5 if step < 400 else 7  # a changed window is answered as well
            assert values.values(*key, doc_hex, window) == _table_answer(
                database, key, doc_hex, window
            ), f"step {step}"
            asked += 1
    assert asked > 250
    with database.engine.connect() as conn:  # the history really grew past the windows
        rows = conn.execute(tables.ValueHistory.__table__.select()).all()
    assert len(rows) > 400
