"""Scaling: N documents from one member to another, and the importer catching up.

For each N (quick: 1,000 and 10,000; full: also 100,000), on a fresh devnet-like
setup (anvil in the devnet's mixed mining mode, two embedded IPFS nodes on
loopback, connected):

1. KZ's `DocumentPipeline` (in this process, durable SQLite outbox) submits N
   documents destined to UZ with `submit_batches` (batches of 500) while UZ's
   node is OFFLINE: submission throughput, outbox size, chain growth (blocks,
   anvil RSS).
2. UZ's node starts afterwards as its own process (`python -m node serve`:
   API + listener + reference risk engine, SQLite node database, encrypted
   keystores), having missed the whole run. The bench samples the node's
   database and its RSS (psutil) until every document is recorded (scan) and
   every document is processed (fetched, decrypted, verified, risk hooks run,
   acknowledged on-chain), or until a time cap passes (then it says how far it
   got). Times run from the process start, so they include interpreter start
   and schema migration (reported as the time to the first recorded event).

    python -m bench.scaling_bench [--full] [--sizes 1000,10000] [--cap SECONDS]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from eth_account import Account
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ipfs import IpfsStore
from ledger_client.keystore import create_account_keystore
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from manifests import Document, DocumentType
from manifests.generate import DocumentGenerator
from manifests.sample_catalog import DEFAULT_ECONOMIES
from node.listener import ACK_BATCH

ROOT = Path(__file__).resolve().parent.parent
EXPORTER, IMPORTER = "KZ", "UZ"
BATCH = 500
SIZES = {"quick": (1_000, 10_000), "full": (1_000, 10_000, 100_000)}
CAP_SECONDS = {"quick": 240.0, "full": 2400.0}
"""Longest wait for the importer to process everything (per N); beyond it, partial figures."""
PASSWORD = "scaling-bench-fixture"  # TEST FIXTURE: throw-away keys in a temporary directory
FINAL_STATES = ("acknowledged", "verification_failed", "revoked", "failed")


@dataclass
class Sample:
    seconds: float
    rss: int
    recorded: int
    processed: int


@dataclass
class Result:
    documents: int
    submit_seconds: float
    outbox_bytes: int
    blocks: int
    anvil_rss_before: int
    anvil_rss_after: int
    anvil_rss_end: int
    first_event_seconds: float | None
    scan_seconds: float | None
    process_seconds: float | None
    recorded: int
    processed: int
    acknowledged: int
    assessed: int
    rss_peak: int
    rss_end: int
    rss_at_scan: int
    node_db_bytes: int
    cap: float

    @property
    def submit_rate(self) -> float:
        return self.documents / self.submit_seconds

    @property
    def process_rate(self) -> float | None:
        """Documents processed per second once the node was up (first event recorded)."""
        if self.first_event_seconds is None:
            return None
        end = self.process_seconds if self.process_seconds is not None else self.cap
        if end <= self.first_event_seconds:
            return None
        return self.processed / (end - self.first_event_seconds)


def _file_bytes(path: Path) -> int:
    """A SQLite database's size on disk, WAL included."""
    return sum(
        candidate.stat().st_size
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


def _document_pool(size: int = 120) -> list[Document]:
    """Generated documents issued by EXPORTER with IMPORTER among the destinations."""
    pool: list[Document] = []
    generator = DocumentGenerator(7)
    kinds = list(DocumentType)
    while len(pool) < size:
        document = generator.document(kinds[len(pool) % len(kinds)])
        if (
            document.issuer_economy == EXPORTER
            and IMPORTER in document.destinations
            and not document.links
        ):
            pool.append(document)
    return pool


def _documents(pool: list[Document], count: int) -> list[Document]:
    """`count` documents: the pool's contents under unique references."""
    return [
        pool[i % len(pool)].model_copy(update={"reference": f"SCALE-{i:07d}"}) for i in range(count)
    ]


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": Web3.to_wei(10**5, "ether")}
    )
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.02)


def _count(db_file: Path, sql: str) -> int:
    if not db_file.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1.0)
        try:
            return int(connection.execute(sql).fetchone()[0])
        finally:
            connection.close()
    except sqlite3.Error:  # tables not created yet
        return 0


def _progress(db_file: Path) -> tuple[int, int, int, int]:
    """(recorded, processed, acknowledged, assessed): assessed counts every version whose
    verification and risk hooks are done (acknowledged or not yet)."""
    recorded = _count(db_file, "SELECT COUNT(*) FROM chain_events WHERE event = 'DocumentAnchored'")
    states = ", ".join(f"'{s}'" for s in FINAL_STATES)
    processed = _count(db_file, f"SELECT COUNT(*) FROM processing WHERE state IN ({states})")
    acknowledged = _count(db_file, "SELECT COUNT(*) FROM processing WHERE state = 'acknowledged'")
    assessed = _count(
        db_file, "SELECT COUNT(*) FROM processing WHERE state IN ('assessed', 'acknowledged')"
    )
    return recorded, processed, acknowledged, assessed


def measure(count: int, scratch: Path, cap: float) -> Result:
    chain = AnvilChain(port=free_port(), log_file=scratch / "anvil.log")
    nodes = {
        economy: EmbeddedIpfsNode(
            scratch / economy / "ipfs",
            api_port=free_port(),
            swarm_port=free_port(),
            log_file=scratch / economy / "ipfs.log",
        )
        for economy in (EXPORTER, IMPORTER)
    }
    importer: subprocess.Popen[bytes] | None = None
    store: IpfsStore | None = None
    try:
        chain.start()
        for node in nodes.values():
            node.start()
        nodes[IMPORTER].connect(nodes[EXPORTER])
        w3 = connect(chain.rpc_url)
        keys = {economy: MemberEncryptionKey.generate() for economy in DEFAULT_ECONOMIES}
        accounts = {economy: Account.create() for economy in DEFAULT_ECONOMIES}
        deployer = Account.create()
        for account in (deployer, accounts[EXPORTER], accounts[IMPORTER]):
            _fund(w3, account.address)
        deployment = deploy_all(
            TransactionSender(w3, deployer),
            [
                FoundingMember(e, keys[e].public_key_bytes, (accounts[e].address,))
                for e in DEFAULT_ECONOMIES
            ],
        )
        # The importer's node reads everything from files, as a deployed node does.
        node_dir = scratch / IMPORTER / "node"
        node_dir.mkdir(parents=True)
        deployment.save(node_dir / "deployment.json")
        (node_dir / "password").write_text(PASSWORD)
        create_account_keystore(
            node_dir / "account.json",
            PASSWORD,
            private_key=bytes(accounts[IMPORTER].key),
            kdf="pbkdf2",
            iterations=1000,
        )
        keys[IMPORTER].save(node_dir / "encryption-key.pem", PASSWORD)

        ledger = Ledger.open(w3, deployment, TransactionSender(w3, accounts[EXPORTER]))
        store = IpfsStore(nodes[EXPORTER].api_address, timeout=60)
        outbox_file = scratch / EXPORTER / "outbox.db"
        pipeline = DocumentPipeline(
            ledger, store, keys[EXPORTER], Outbox(f"sqlite:///{outbox_file}")
        )
        documents = _documents(_document_pool(), count)
        anvil = psutil.Process(chain.process.pid if chain.process else 0)
        rss_before = anvil.memory_info().rss
        first_block = w3.eth.block_number
        started = time.perf_counter()
        results = pipeline.submit_batches(
            [documents[i : i + BATCH] for i in range(0, count, BATCH)]
        )
        submit_seconds = time.perf_counter() - started
        anchored = sum(1 for batch in results for r in batch if r.state.value == "anchored")
        if anchored != count:
            raise RuntimeError(f"only {anchored} of {count} documents were anchored")
        blocks = w3.eth.block_number - first_block
        rss_after = anvil.memory_info().rss
        pipeline.outbox.close()

        db_file = node_dir / "node.db"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CIE_NODE_ECONOMY": IMPORTER,
            "CIE_NODE_RPC_URL": chain.rpc_url,
            "CIE_NODE_DEPLOYMENT_FILE": str(node_dir / "deployment.json"),
            "CIE_NODE_KEYSTORE_FILE": str(node_dir / "account.json"),
            "CIE_NODE_KEYSTORE_PASSWORD_FILE": str(node_dir / "password"),
            "CIE_NODE_ENCRYPTION_KEY_FILE": str(node_dir / "encryption-key.pem"),
            "CIE_NODE_ENCRYPTION_KEY_PASSWORD_FILE": str(node_dir / "password"),
            "CIE_NODE_IPFS_API": nodes[IMPORTER].api_address,
            "CIE_NODE_DATABASE_URL": f"sqlite:///{db_file}",
            "CIE_NODE_CONFIRMATIONS": "0",
            "CIE_NODE_POLL_INTERVAL": "0.5",
            "CIE_NODE_PORT": str(free_port()),
        }
        log = (node_dir / "node.log").open("wb")
        began = time.perf_counter()
        importer = subprocess.Popen(
            [sys.executable, "-m", "node", "serve"],
            cwd=node_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process = psutil.Process(importer.pid)
        samples: list[Sample] = []
        first_event = scan_done = process_done = None
        rss_at_scan = 0
        while True:
            now = time.perf_counter() - began
            if importer.poll() is not None:
                raise RuntimeError(
                    f"the importer's node exited with {importer.returncode}; see "
                    f"{node_dir / 'node.log'}"
                )
            recorded, processed, _, _ = _progress(db_file)
            samples.append(Sample(now, process.memory_info().rss, recorded, processed))
            if first_event is None and recorded:
                first_event = now
            if scan_done is None and recorded >= count:
                scan_done, rss_at_scan = now, samples[-1].rss
            if processed >= count:
                process_done = now
                break
            if now > cap:
                break
            time.sleep(0.25)
        recorded, processed, acknowledged, assessed = _progress(db_file)
        anvil_rss_end = anvil.memory_info().rss
        return Result(
            documents=count,
            submit_seconds=submit_seconds,
            outbox_bytes=_file_bytes(outbox_file),
            blocks=blocks,
            anvil_rss_before=rss_before,
            anvil_rss_after=rss_after,
            anvil_rss_end=anvil_rss_end,
            first_event_seconds=first_event,
            scan_seconds=scan_done,
            process_seconds=process_done,
            recorded=recorded,
            processed=processed,
            acknowledged=acknowledged,
            assessed=assessed,
            rss_peak=max(s.rss for s in samples),
            rss_end=samples[-1].rss,
            rss_at_scan=rss_at_scan,
            node_db_bytes=_file_bytes(db_file),
            cap=cap,
        )
    finally:
        if importer is not None and importer.poll() is None:
            importer.terminate()
            try:
                importer.wait(10)
            except subprocess.TimeoutExpired:
                importer.kill()
                importer.wait()
        if store is not None:
            store.close()
        for node in nodes.values():
            node.stop()
        chain.stop()


def run(profile: str = "quick", sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    results = []
    for count in sizes or SIZES[profile]:
        with tempfile.TemporaryDirectory(prefix="scaling-bench-") as scratch:
            results.append(measure(count, Path(scratch), CAP_SECONDS[profile]))
    return {"results": results, "profile": profile, "seconds": time.perf_counter() - started}


def _mib(value: int) -> str:
    return f"{value / 2**20:,.1f}"


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _growth(finished: list[Result]) -> list[str]:
    """How each cost per document moved from the smallest to the largest finished run."""
    if len(finished) < 2:
        return []
    small, large = finished[0], finished[-1]

    def per_doc(name: str, a: float, b: float) -> str:
        return f"{name} {a:,.0f} -> {b:,.0f} ({b / a:.2f}x)"

    costs = [
        per_doc(
            "node DB bytes/doc",
            small.node_db_bytes / small.documents,
            large.node_db_bytes / large.documents,
        ),
        per_doc(
            "outbox bytes/doc",
            small.outbox_bytes / small.documents,
            large.outbox_bytes / large.documents,
        ),
    ]
    if small.process_rate and large.process_rate:
        costs.append(
            f"processing time per document {1000 / small.process_rate:.1f} -> "
            f"{1000 / large.process_rate:.1f} ms ({small.process_rate / large.process_rate:.2f}x)"
        )
    costs.append(
        f"submission time per document {1000 / small.submit_rate:.2f} -> "
        f"{1000 / large.submit_rate:.2f} ms ({small.submit_rate / large.submit_rate:.2f}x)"
    )
    return [
        "",
        f"Growth from {small.documents:,} to {large.documents:,} documents "
        f"({large.documents / small.documents:,.0f}x the documents): " + "; ".join(costs) + ".",
    ]


def markdown(result: dict[str, Any]) -> str:
    results: list[Result] = result["results"]
    lines = [
        "| documents | submit docs/s | blocks | anvil RSS MiB (before -> after submission -> "
        "after processing) | outbox MiB | outbox bytes/doc |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.documents:,} | {r.submit_rate:,.0f} | {r.blocks:,} | "
            f"{_mib(r.anvil_rss_before)} -> {_mib(r.anvil_rss_after)} -> {_mib(r.anvil_rss_end)} | "
            f"{_mib(r.outbox_bytes)} | "
            f"{r.outbox_bytes / r.documents:,.0f} |"
        )
    lines += [
        "",
        "| documents | node start -> first event s | scan catch-up s | full processing s | "
        "processed docs/s (after first event) | importer RSS MiB (at scan / end / peak) | "
        "node DB MiB | node DB bytes/doc |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = "" if r.process_rate is None else f"{r.process_rate:,.1f}"
        if r.process_seconds is None:
            processing = (
                f"not finished after {r.cap:,.0f} s: {r.assessed:,} of {r.documents:,} "
                f"assessed (verified, hooks run), {r.processed:,} acknowledged or settled"
            )
        else:
            processing = _s(r.process_seconds)
        scan = (
            _s(r.scan_seconds)
            if r.scan_seconds is not None
            else (f"not finished: {r.recorded:,} recorded")
        )
        lines.append(
            f"| {r.documents:,} | {_s(r.first_event_seconds)} | {scan} | {processing} | {rate} | "
            f"{_mib(r.rss_at_scan)} / {_mib(r.rss_end)} / {_mib(r.rss_peak)} | "
            f"{_mib(r.node_db_bytes)} | {r.node_db_bytes / r.documents:,.0f} |"
        )
    by_size = {r.documents: r for r in results if r.process_seconds is not None}
    lines += _growth(sorted(by_size.values(), key=lambda r: r.documents))
    if 10_000 in by_size and 100_000 in by_size:
        small, large = by_size[10_000], by_size[100_000]
        lines += [
            "",
            "Importer RSS, 100,000 vs 10,000 documents: peak "
            f"{large.rss_peak / small.rss_peak:.2f}x, at the end "
            f"{large.rss_end / small.rss_end:.2f}x (aim: within 10%, 1.10x). Catch-up of "
            f"100,000 documents: {large.process_seconds:,.0f} s (aim: under 60 s).",
        ]
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        f"Command: `python -m bench{' --full' if profile == 'full' else ''} --only scaling` "
        "(module `bench.scaling_bench`): per N, a "
        "fresh anvil (devnet mixed mining), two embedded IPFS nodes and a consortium of every "
        "sample economy; KZ submits N documents destined to UZ with "
        f"`DocumentPipeline.submit_batches` (batches of {BATCH}) while UZ's node is offline; "
        "then UZ's node (`python -m node serve`: API, listener with 0 confirmations polling "
        "every 0.5 s, reference risk engine, SQLite) starts in its own process and catches up. "
        "The listener reads the backlog 256 versions at a time: it fetches and verifies them "
        "8 at a time on threads, runs the hooks in order, then acknowledges them in "
        f"`acknowledgeBatch` transactions of up to {ACK_BATCH} versions. Catch-up times run "
        "from that process's start. RSS is sampled "
        "with psutil every 0.25 s. Acknowledgements are on-chain transactions of the importer. "
        f"Measured in {result['seconds']:.0f} s.\n\n" + markdown(result)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="also 100,000 documents")
    parser.add_argument("--sizes", help="comma-separated document counts (overrides the profile)")
    parser.add_argument("--cap", type=float, help="seconds to wait for processing, per N")
    args = parser.parse_args()
    profile = "full" if args.full else "quick"
    if args.cap:
        CAP_SECONDS[profile] = args.cap
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    result = run(profile, sizes)
    print(markdown(result))
    print(f"\nmeasured in {result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
