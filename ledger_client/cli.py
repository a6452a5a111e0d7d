"""The `cie` command line: artifacts, deployment, devnet and demo."""

from __future__ import annotations

import typer
from rich.console import Console

from ledger_client import compiler

app = typer.Typer(
    help="CIE Ledger: customs information exchange on a permissioned chain.", no_args_is_help=True
)
console = Console()


def _register_devnet() -> None:
    # The devnet lives in a source checkout; an installed client works without it.
    try:
        from devnet.cli import app as devnet_app
    except ImportError:
        return
    app.add_typer(devnet_app, name="devnet")


_register_devnet()


@app.command("artifacts")
def artifacts(write: bool = typer.Option(False, help="refresh the committed artifacts")) -> None:
    """Compile the contracts and check (or refresh) the committed ABI/bytecode artifacts."""
    raise typer.Exit(compiler.main(["--write" if write else "--check"]))


@app.command("demo")
def demo() -> None:
    """Run the demo exchange on the embedded devnet (not built yet)."""
    console.print(
        "[yellow]not built yet:[/] the devnet and the demo scenario (issue 6) have not landed. "
        "See README.md, section Status."
    )


if __name__ == "__main__":
    app()
