"""Alembic migrations of the node database (SQLite here; PostgreSQL in test_postgres.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, func, inspect, select, text
from typer.testing import CliRunner

from ledger_client.outbox import Outbox
from node import db as tables
from node import migrations
from node.__main__ import cli
from node.db import Base, Database
from node.simple.journal import SimpleBase


def _url(tmp_path: Path, name: str = "node") -> str:
    return f"sqlite:///{tmp_path / (name + '.db')}"


def test_upgrade_of_an_empty_database_yields_exactly_the_models(tmp_path: Path) -> None:
    """Fails when a model changes without a migration: add a revision (node/migrations)."""
    db = Database(_url(tmp_path), migrate=False)
    assert inspect(db.engine).get_table_names() == []
    migrations.upgrade(db.engine)
    with db.engine.connect() as connection:
        assert migrations.current(connection) == migrations.head()
    assert migrations.schema_differences(db.engine) == []
    tables_made = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables_made == set(Base.metadata.tables) | set(SimpleBase.metadata.tables)
    db.close()


def test_a_schema_drift_is_reported(tmp_path: Path) -> None:
    db = Database(_url(tmp_path))
    with db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE processing ADD COLUMN unmodelled INTEGER"))
        connection.execute(text("DROP INDEX ix_processing_state"))
    differences = migrations.schema_differences(db.engine)
    assert ("remove_column", None, "processing") in {d[:3] for d in differences if len(d) > 2}
    assert "add_index" in {d[0] for d in differences}
    db.close()


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = _url(tmp_path)
    outbox = Outbox(url)  # shares the database; its tables are not the migrations' business
    db = Database(url)
    with db.transaction() as session:
        session.add(tables.ChainCursor(name="registry", block_number=7, block_hash="0x07"))
    migrations.downgrade(db.engine, "base")
    remaining = set(inspect(db.engine).get_table_names())
    assert not remaining & migrations.owned_tables()
    assert {t for t in remaining if t.startswith("outbox_")}  # untouched
    migrations.upgrade(db.engine)
    assert migrations.schema_differences(db.engine) == []
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(tables.ChainCursor)) == 0
    db.close()
    outbox.close()


def test_a_database_made_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    url = _url(tmp_path)
    engine = create_engine(url)
    # What the node's create_all made before migrations: the initial revision's
    # schema (later revisions add to it) with no alembic_version table.
    migrations.upgrade(engine, migrations.INITIAL_REVISION)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO chain_cursor VALUES ('registry', 42, '0x2a', 0.0)"))
    engine.dispose()
    db = Database(url)
    with db.engine.connect() as connection:
        assert migrations.current(connection) == migrations.head()
    with db.sessions() as session:
        cursor = session.get(tables.ChainCursor, "registry")
        assert cursor is not None and cursor.block_number == 42
    db.close()


def test_nodes_starting_together_migrate_once(tmp_path: Path) -> None:
    url = _url(tmp_path)
    errors: list[BaseException] = []
    opened: list[Database] = []

    def start() -> None:
        try:
            opened.append(Database(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert migrations.schema_differences(opened[0].engine) == []
    for db in opened:
        db.close()


def test_db_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from node.settings import get_settings

    monkeypatch.setenv("CIE_NODE_DATABASE_URL", _url(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["db", "current"]).stdout.startswith("none (head is")
        history = runner.invoke(cli, ["db", "history"])
        assert history.exit_code == 0 and f"-> {migrations.head()}:" in history.stdout
        assert f"base -> {migrations.INITIAL_REVISION}:" in history.stdout
        upgraded = runner.invoke(cli, ["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        assert runner.invoke(cli, ["db", "current"]).stdout.strip().endswith("(head)")
        bad = runner.invoke(cli, ["db", "upgrade", "nonsense"])
        assert bad.exit_code == 2 and "nonsense" in bad.output
        assert runner.invoke(cli, ["db", "downgrade", "base"]).exit_code == 0
        assert runner.invoke(cli, ["db", "current"]).stdout.startswith("none")
    finally:
        get_settings.cache_clear()
        structlog.reset_defaults()  # the CLI sent logs to stderr
