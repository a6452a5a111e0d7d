"""The `cie` command line: artifacts, deployment, devnet and demo."""

from __future__ import annotations

import json
from pathlib import Path

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


from ledger_client.audit.cli import app as audit_app  # noqa: E402

app.add_typer(audit_app, name="audit")


_register_devnet()


@app.command("artifacts")
def artifacts(write: bool = typer.Option(False, help="refresh the committed artifacts")) -> None:
    """Compile the contracts and check (or refresh) the committed ABI/bytecode artifacts."""
    raise typer.Exit(compiler.main(["--write" if write else "--check"]))


@app.command("demo")
def demo(
    once: bool = typer.Option(False, "--once", help="stop the devnet afterwards (CI, tests)"),
    scale: int = typer.Option(
        None, help="new documents to exchange (default 300; 80 with --once)", min=20
    ),
    seed: int = typer.Option(None, help="generator seed (default: random)"),
    json_file: Path = typer.Option(None, "--json", help="write the machine-readable summary"),
    data_dir: Path = typer.Option(Path(".devnet"), "--data-dir", envvar="CIE_DEVNET_DIR"),
    members: str = typer.Option("KZ,UZ,AZ,KR", help="comma-separated economies (3 or more)"),
    simple: str = typer.Option(
        "auto",
        "--simple",
        help="members whose node runs in simple (folder) mode, comma-separated; "
        "'auto': the last member when there are 4 or more (KR by default); 'none': no one",
    ),
    chain_port: int = typer.Option(8545, help="anvil's port"),
    ipfs_api_base_port: int = typer.Option(5101, help="first member's IPFS API port"),
    ipfs_swarm_base_port: int = typer.Option(4101, help="first member's IPFS swarm port"),
    node_base_port: int = typer.Option(8101, help="first member's node service port"),
    timeout: float = typer.Option(600.0, help="seconds to wait for acknowledgements"),
    rate: float = typer.Option(
        0.0,
        help="documents per second over all exporters, one per request "
        "(0: bulk batches, as fast as possible)",
    ),
) -> None:
    """Start the devnet and run the demo exchange through the member nodes; print a summary.

    Exits non-zero if any scenario document is not anchored, delivered, verified and
    acknowledged, or a case the risk engines must flag is not flagged.
    """
    try:
        from devnet.demo import DemoScenario, print_summary
        from devnet.network import Devnet, DevnetConfig, resolve_simple_members
        from devnet.processes import DevnetError
    except ImportError:
        console.print("[red]the demo needs a source checkout (the devnet package)[/]")
        raise typer.Exit(2) from None
    economies = tuple(m.strip().upper() for m in members.split(",") if m.strip())
    simple_members = resolve_simple_members(simple, economies)
    devnet = Devnet(
        DevnetConfig(
            data_dir=data_dir,
            members=economies,
            simple_members=simple_members,
            chain_port=chain_port,
            ipfs_api_base_port=ipfs_api_base_port,
            ipfs_swarm_base_port=ipfs_swarm_base_port,
            node_base_port=node_base_port,
        )
    )
    summary = None
    try:
        with console.status("starting the devnet (chain, IPFS, node services)"):
            info = devnet.up()
        scenario = DemoScenario(
            info,
            scale=scale or (80 if once else 300),
            seed=seed,
            console=console,
            timeout=timeout,
            rate=rate,
        )
        try:
            summary = scenario.run()
        finally:
            scenario.close()
    except DevnetError as exc:
        console.print(f"[red]demo failed:[/] {exc}")
    finally:
        if once:
            with console.status("stopping the devnet"):
                devnet.down()
    if summary is None:
        raise typer.Exit(1)
    detail = summary.pop("documents_detail")
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps({**summary, "documents_detail": detail}, indent=2) + "\n")
    print_summary(console, summary)
    if once:
        console.print("the devnet is stopped (--once)")
    else:
        console.print(
            f"the devnet keeps running: `cie devnet status`, `cie devnet down`; "
            f"dashboard logins: the risk_officer key in {data_dir}/members/<economy>/api-keys.json"
        )
    raise typer.Exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    app()
