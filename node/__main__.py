"""`python -m node`: serve the node API (127.0.0.1 only) or manage API keys.

python -m node serve
python -m node create-api-key NAME ROLE [--expires-in-days DAYS]
python -m node db upgrade [REVISION] | downgrade REVISION | current | history
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Annotated

import structlog
import typer
from alembic.util import CommandError

from node import migrations
from node.db import Database
from node.services.api_keys import Role, create_api_key
from node.settings import get_settings

cli = typer.Typer(add_completion=False, help=__doc__)
db_cli = typer.Typer(
    add_completion=False,
    help="Schema migrations of the node database ($CIE_NODE_DATABASE_URL). "
    "The node also upgrades to head on start.",
)
cli.add_typer(db_cli, name="db")


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@cli.callback()
def _logs_to_stderr() -> None:
    """Logs go to stderr: stdout carries only a command's result (e.g. a new API key)."""
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()))  # type: ignore[arg-type]


@cli.command()
def serve() -> None:
    """Run the API and the listener (uvicorn on the loopback address from settings)."""
    import uvicorn

    from node.main import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


@cli.command("create-api-key")
def create_key(
    name: Annotated[str, typer.Argument(help="who the key is for")],
    role: Annotated[Role, typer.Argument(help="submitter, risk_officer, auditor or node_admin")],
    expires_in_days: Annotated[
        float | None, typer.Option(min=0.001, help="validity in days (default: until revoked)")
    ] = None,
) -> None:
    """Create an API key in the node database and print it (shown only this once)."""
    expires_at = None if expires_in_days is None else time.time() + expires_in_days * 86400
    db = Database(get_settings().database_url)
    try:
        typer.echo(create_api_key(db, name, role, expires_at=expires_at))
    finally:
        db.close()


def _run_or_exit(step: Callable[[], None]) -> None:
    try:
        step()
    except CommandError as exc:  # unknown revision and the like
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _unmigrated() -> Database:
    return Database(get_settings().database_url, migrate=False)


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Upgrade the schema (default: to the newest revision)."""
    db = _unmigrated()
    try:
        _run_or_exit(lambda: migrations.upgrade(db.engine, revision))
        with db.engine.connect() as connection:
            typer.echo(f"at revision {migrations.current(connection)}")
    finally:
        db.close()


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")],
) -> None:
    """Downgrade the schema (`base` drops every table the migrations made)."""
    db = _unmigrated()
    try:
        _run_or_exit(lambda: migrations.downgrade(db.engine, revision))
        with db.engine.connect() as connection:
            typer.echo(f"at revision {migrations.current(connection) or 'base'}")
    finally:
        db.close()


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision ("none" when never migrated) and whether it is head."""
    db = _unmigrated()
    try:
        with db.engine.connect() as connection:
            revision = migrations.current(connection)
        state = "head" if revision == migrations.head() else f"head is {migrations.head()}"
        typer.echo(f"{revision or 'none'} ({state})")
    finally:
        db.close()


@db_cli.command("history")
def db_history() -> None:
    """List the revisions, newest first."""
    for r in migrations.history():
        typer.echo(f"{r.down_revision or 'base'} -> {r.revision}: {r.message}")


if __name__ == "__main__":
    cli()
