"""Starting and stopping the devnet's child processes on loopback.

Every process is bound to 127.0.0.1; ports are checked before start so a taken
port gives a clear error instead of a confusing failure later.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class DevnetError(RuntimeError):
    """A devnet part could not be started or stopped."""


PICK_LOW, PICK_HIGH = 20000, 32000
"""Where `free_port` and `free_port_range` pick: below Linux's ephemeral range (32768-60999
by default), from which the OS gives outgoing connections their local ports."""
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (for tests and ad-hoc networks), below the
    ephemeral range and never the same twice in one process. A port the OS picks for a
    bind to port 0 is an ephemeral one, which it may give an outgoing connection before
    the caller binds it (CI met it: an IPFS node's API port taken by the time the node
    bound it)."""
    return free_port_range(1)


def ensure_port_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DevnetError(
                f"port {port} on 127.0.0.1 is already in use, so {what} cannot start; "
                "stop whatever holds it or choose another port"
            ) from None


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise DevnetError(
                f"{what} exited with code {process.returncode} during start-up\n{tail}"
            )
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise DevnetError(f"{what} did not become ready within {timeout:.0f}s (see {log})")


def start_process(
    argv: Sequence[str], log_file: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handle = log_file.open("ab")
    try:
        return subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    finally:
        handle.close()


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def free_port_range(count: int, *, low: int = PICK_LOW, high: int = PICK_HIGH) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1, below the ephemeral range,
    none of them handed out before in this process (see `free_port`).

    For tests and ad-hoc networks: the base ports of the IPFS nodes and node services
    need `count` free ports in a row, which one free ephemeral port does not promise.
    """
    with _handed_out_lock:
        for _ in range(200):
            base = random.randrange(low, high - count)
            ports = range(base, base + count)
            if _handed_out.isdisjoint(ports) and all(_port_bindable(p) for p in ports):
                _handed_out.update(ports)
                return base
    raise DevnetError(f"no {count} consecutive free ports found in [{low}, {high})")


def _port_bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
