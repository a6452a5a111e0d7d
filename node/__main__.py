"""`python -m node`: serve the node API (127.0.0.1 only) or manage API keys.

python -m node serve
python -m node create-api-key NAME ROLE
"""

from __future__ import annotations

from typing import Annotated

import typer

from node.db import Database
from node.services.api_keys import Role, create_api_key
from node.settings import get_settings

cli = typer.Typer(add_completion=False, help=__doc__)


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
) -> None:
    """Create an API key in the node database and print it (shown only this once)."""
    db = Database(get_settings().database_url)
    try:
        typer.echo(create_api_key(db, name, role))
    finally:
        db.close()


if __name__ == "__main__":
    cli()
