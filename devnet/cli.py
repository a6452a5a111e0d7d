"""`cie devnet up | down | status | logs`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from devnet.network import (
    DEFAULT_MEMBERS,
    Devnet,
    DevnetConfig,
    NetworkInfo,
    resolve_simple_members,
)
from devnet.processes import DevnetError

app = typer.Typer(
    help="The embedded single-machine network (anvil + IPFS + member node services).",
    no_args_is_help=True,
)
console = Console()

DataDir = typer.Option(
    Path(".devnet"),
    "--data-dir",
    envvar="CIE_DEVNET_DIR",
    help="where keys, chain state, IPFS repos and logs live",
)


def _economies(text: str) -> tuple[str, ...]:
    return tuple(m.strip().upper() for m in text.split(",") if m.strip())


def _devnet(data_dir: Path, members: str = ",".join(DEFAULT_MEMBERS), simple: str = "") -> Devnet:
    economies = _economies(members)
    return Devnet(
        DevnetConfig(
            data_dir=data_dir,
            members=economies,
            simple_members=resolve_simple_members(simple, economies),
        )
    )


@app.command()
def up(
    data_dir: Path = DataDir,
    members: str = typer.Option(",".join(DEFAULT_MEMBERS), help="comma-separated economies"),
    simple: str = typer.Option(
        "auto",
        "--simple",
        help="members whose node runs in simple (folder) mode, comma-separated, e.g. KR; "
        "'auto': the last member when there are 4 or more (KR by default); 'none': no one",
    ),
) -> None:
    """Start (or resume) the network: chain, IPFS and one node service per member; idempotent.

    A member's mode is read when its node service starts: `down` first to change it.
    """
    try:
        with console.status("starting the devnet"):
            info = _devnet(data_dir, members, simple).up()
    except DevnetError as exc:
        console.print(f"[red]devnet up failed:[/] {exc}")
        console.print(f"logs: {data_dir / 'logs'}; stop what did start with `cie devnet down`")
        raise typer.Exit(1) from None
    table = Table(
        "member",
        "account",
        "IPFS API",
        "node API",
        "dashboard",
        "API keys",
        "mode",
        title=f"devnet up: chain {info.rpc_url}",
    )
    for m in info.members.values():
        table.add_row(
            m.economy,
            m.account,
            m.ipfs_api,
            m.node_url,
            m.dashboard_url,
            m.api_keys_file,
            f"simple: {m.simple_root}" if m.mode == "simple" else m.mode,
        )
    console.print(table)
    console.print(f"network file: {data_dir / 'network.json'}; logs: {data_dir / 'logs'}")


@app.command()
def down(data_dir: Path = DataDir) -> None:
    """Stop every part; the chain state and IPFS repos are kept for the next `up`."""
    stopped = _devnet(data_dir).down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@app.command()
def status(data_dir: Path = DataDir) -> None:
    """Show each part: process alive, port answering."""
    rows = _devnet(data_dir).status()
    if not rows:
        console.print("devnet is down (no recorded processes)")
        raise typer.Exit(1)
    table = Table("part", "pid", "port", "process", "port")
    healthy = True
    for name, pid, port, alive, answering in rows:
        healthy &= alive and answering
        table.add_row(
            name,
            str(pid),
            str(port),
            "up" if alive else "[red]down",
            "answers" if answering else "[red]closed",
        )
    console.print(table)
    _print_member_modes(data_dir)
    raise typer.Exit(0 if healthy else 1)


def _print_member_modes(data_dir: Path) -> None:
    """Each member's mode (full or simple) and, for simple members, its exchange folder."""
    try:
        info = NetworkInfo.load(data_dir / "network.json")
    except DevnetError:
        return
    table = Table("member", "mode", "exchange folder")
    for m in info.members.values():
        table.add_row(m.economy, m.mode, m.simple_root or "-")
    console.print(table)


@app.command()
def logs(
    part: str = typer.Argument(None, help="e.g. anvil, ipfs-KZ, node-KZ"),
    lines: int = 40,
    data_dir: Path = DataDir,
) -> None:
    """Print the last lines of one part's log (or list the logs)."""
    files = _devnet(data_dir).log_files()
    if part is None:
        for name, path in files.items():
            console.print(f"{name}: {path}")
        return
    if part not in files:
        console.print(f"[red]no part named {part!r}[/]; parts: {', '.join(files)}")
        raise typer.Exit(1)
    text = files[part].read_text(errors="replace").splitlines()[-lines:]
    console.print("\n".join(text), markup=False, highlight=False)
