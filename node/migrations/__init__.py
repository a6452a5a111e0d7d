"""Alembic migrations of the node database: the `node.db` tables and the simple-mode
journal (`node.simple.journal`). The outbox's tables (`ledger_client.outbox`) share
the database but belong to the outbox, which creates them itself; migrations never
touch tables they do not know.

The node upgrades to ``head`` when it opens its database (`node.db.Database`);
`python -m node db upgrade|downgrade|current|history` does it by hand. Upgrades
are serialized between processes: a PostgreSQL advisory lock held for the
migration transaction, an exclusive file lock next to a SQLite file. A
database made by the node before migrations existed (tables, no
``alembic_version``) is stamped at the initial revision, then upgraded.

The scripts are found next to this file, so an installed wheel migrates as a
checkout does. Add a revision with::

    alembic -c node/migrations/alembic.ini -x url=sqlite:////tmp/at-head.db upgrade head
    alembic -c node/migrations/alembic.ini -x url=sqlite:////tmp/at-head.db \
        revision --autogenerate --rev-id 0002 -m "what changed"

and check the generated file by hand (renames come out as drop + add).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.engine import Engine

log = structlog.get_logger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent
INITIAL_REVISION = "0001"
#: pg_advisory_xact_lock key of node migrations ("CIE-NODE" in ASCII).
POSTGRES_LOCK_KEY = int.from_bytes(b"CIENODE", "big")


def target_metadata() -> list[MetaData]:
    """Every schema the migrations own."""
    from node.db import Base
    from node.simple.journal import SimpleBase

    return [Base.metadata, SimpleBase.metadata]


def owned_tables() -> set[str]:
    return {name for metadata in target_metadata() for name in metadata.tables}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate looks only at tables the migrations own (not the outbox's)."""
    if type_ == "table":
        return name in owned_tables()
    table = getattr(obj, "table", None)
    return table is None or table.name in owned_tables()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, holding the cross-process migration lock."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        lock_path = Path(f"{url.database}.migrate.lock")
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with engine.begin() as connection:
                    yield connection
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    with engine.begin() as connection:
        if url.get_backend_name() == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
            )
        yield connection


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest), safely from many processes."""
    with _migration_lock(engine) as connection:
        if current(connection) is None and owned_tables() & set(
            inspect(connection).get_table_names()
        ):
            # made by create_all before migrations existed: that schema is the initial revision
            command.stamp(alembic_config(connection), INITIAL_REVISION)
            log.warning("db.adopted_unversioned_schema", stamped=INITIAL_REVISION)
        before = current(connection)
        if before == head() and revision == "head":
            return
        command.upgrade(alembic_config(connection), revision)
        log.info("db.upgraded", source=before, target=current(connection))


def downgrade(engine: Engine, revision: str) -> None:
    with _migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    message: str


def history() -> list[Revision]:
    """Every revision, newest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [
        Revision(s.revision, s.down_revision if isinstance(s.down_revision, str) else None, s.doc)
        for s in scripts.walk_revisions()
    ]


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models (empty: none)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": include_object, "compare_type": True},
        )
        return list(compare_metadata(context, target_metadata()))  # type: ignore[arg-type]
