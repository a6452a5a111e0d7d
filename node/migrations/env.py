"""Alembic environment of the node database (see node/migrations/__init__.py).

Runs on the connection handed over by `node.migrations` (which holds the
migration lock), or on `sqlalchemy.url` / $CIE_NODE_DATABASE_URL when alembic's
own command line is used (`-x url=...` first, then `sqlalchemy.url`, then
$CIE_NODE_DATABASE_URL).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from node.migrations import include_object, target_metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        from node.settings import get_settings

        url = get_settings().database_url
    return url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        include_object=include_object,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=_url(),
        target_metadata=target_metadata(),
        include_object=include_object,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    given = context.config.attributes.get("connection")
    if given is not None:
        _configure(given)
    else:
        with create_engine(_url()).begin() as connection:
            _configure(connection)
