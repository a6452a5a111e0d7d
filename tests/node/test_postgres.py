"""The node database on PostgreSQL: migrations and a listener round on a real server
(a throw-away cluster on a loopback port, see tests/node/postgres.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, inspect, select

from manifests.generate import generate_manifest
from node import db as tables
from node import migrations
from node.db import Database
from node.listener import State, processing_counts
from tests.node.network import Network, count_hook_runs, make_listener
from tests.node.postgres import postgres_cluster, why_unavailable

pytestmark = pytest.mark.skipif(why_unavailable() is not None, reason=str(why_unavailable()))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def fresh_postgres(postgres_url: str) -> Iterator[str]:
    """The cluster's database with none of the migrations' tables."""
    db = Database(postgres_url, migrate=False)
    migrations.downgrade(db.engine, "base")
    db.close()
    yield postgres_url


def test_migrations_on_postgresql(fresh_postgres: str) -> None:
    opened: list[Database] = []
    errors: list[BaseException] = []

    def start() -> None:  # nodes starting together: the advisory lock serializes them
        try:
            opened.append(Database(fresh_postgres))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = opened[0]
    assert migrations.schema_differences(db.engine) == []
    migrations.downgrade(db.engine, "base")
    assert not set(inspect(db.engine).get_table_names()) & migrations.owned_tables()
    migrations.upgrade(db.engine)
    assert migrations.schema_differences(db.engine) == []
    for each in opened:
        each.close()


def test_listener_round_on_postgresql(network: Network, fresh_postgres: str) -> None:
    kz, uz = network["KZ"], network["UZ"]
    start = network.w3.eth.block_number + 1
    receipts = [
        kz.pipeline.submit(generate_manifest(seed, origin="KZ", destination="UZ"))
        for seed in (501, 502)
    ]
    db = Database(fresh_postgres)
    listener = make_listener(uz, db, start_block=start)
    hook_runs: list[str] = []
    count_hook_runs(listener, hook_runs)
    listener.poll_once()
    listener.poll_once()
    restarted = Database(fresh_postgres)
    make_listener(uz, restarted, start_block=start).poll_once()  # a restart changes nothing
    assert sorted(hook_runs) == sorted(f"{r.document_id}:1" for r in receipts)
    assert processing_counts(db) == {State.ACKNOWLEDGED: 2}
    with db.sessions() as session:
        events = session.scalar(select(func.count()).select_from(tables.ChainEvent))
        cursor = session.get(tables.ChainCursor, "registry")
    assert events == 2
    assert cursor is not None and cursor.block_number >= max(r.block_number or 0 for r in receipts)
    for receipt in receipts:
        lane, _ = uz.ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")
        assert lane is not None
    db.close()
    restarted.close()
