"""Document-file verification throughput: per-document loop vs batched chain reads.

A fresh anvil chain with a consortium of every economy the sample generator
uses. KZ anchors N documents (pre-generated manifests, transit declarations
and certificates of origin, each committed with fresh salts) with
`anchor_batch`, 500 per transaction; every tenth document is acknowledged by
its first destination. Payloads are not stored: verification never fetches
them (a document file carries what recomputes the commitment), so the chain
and the hashing are what is measured. Then:

* ``single``: `verify_document_file` per file (one history read per document:
  ``eth_getLogs`` by id, its batch event, block timestamps), on a sample;
* ``batched``: `verify_document_files` over all N files (one ``eth_getLogs`` per
  1,000 ids, one for batch events, block times as JSON-RPC batches).

    python -m bench.audit_bench [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.audit import export_document_file
from ledger_client.audit.verifier import AuditVerifier
from ledger_client.chain import TransactionSender, connect
from ledger_client.commitment import commit
from ledger_client.deployment import Deployment, FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ledger import Ledger
from ledger_client.provenance import Provenance, VerifiedDocument
from ledger_client.records import DocType, Lane, Record, document_id
from manifests import Document, DocumentType
from manifests.generate import DocumentGenerator
from manifests.sample_catalog import DEFAULT_ECONOMIES

ISSUER = "KZ"
BATCH = 500
PROFILES = {
    "quick": {"documents": 5000, "single": 300},
    "full": {"documents": 20000, "single": 1000},
}


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": address, "value": Web3.to_wei(100, "ether")}
    )
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.02)


def _templates(count: int = 150) -> list[Document]:
    generator = DocumentGenerator(7)
    kinds = list(DocumentType)
    out: list[Document] = []
    while len(out) < count:
        document = generator.document(kinds[len(out) % len(kinds)])
        if document.issuer_economy == ISSUER:
            out.append(document)
    return out


def _anchor(w3: Web3, count: int) -> tuple[Deployment, list[bytes]]:
    """Deploy, anchor `count` documents as KZ, acknowledge every third; return the files."""
    keys = {e: MemberEncryptionKey.generate() for e in DEFAULT_ECONOMIES}
    accounts = {e: Account.create() for e in DEFAULT_ECONOMIES}
    deployer = Account.create()
    for account in [deployer, *accounts.values()]:
        _fund(w3, account.address)
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [FoundingMember(e, keys[e].public_key_bytes, (accounts[e].address,))
         for e in DEFAULT_ECONOMIES],
    )  # fmt: skip
    ledgers = {
        e: Ledger.open(w3, deployment, TransactionSender(w3, accounts[e]))
        for e in DEFAULT_ECONOMIES
    }
    templates = _templates()
    files: list[bytes] = []
    serial = 1
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        records, verified = [], []
        for i in range(size):
            template = templates[(start + i) % len(templates)]
            data = template.model_dump(mode="json")
            data["reference"] = f"{ISSUER}-AUD-{start + i:08d}"
            doc_type = int(template.document_type)
            commitment = commit(data, doc_type, template.schema_version)
            doc_id = document_id(ISSUER, doc_type, serial + i)
            records.append(
                Record(DocType(doc_type), commitment.root, os.urandom(32),
                       tuple(template.destinations))
            )  # fmt: skip
            verified.append((doc_id, template, data, commitment))
        ledgers[ISSUER].registry.anchor_batch(serial, records)
        for index, (doc_id, template, data, commitment) in enumerate(verified):
            provenance = Provenance(
                doc_id, DocType(commitment.doc_type), ISSUER, "", b"", b"", 1, 1,
                commitment.root, b"", 0, 0, b"", 0, 0, False, None, (), (), (), (), (),
            )  # fmt: skip
            files.append(
                export_document_file(VerifiedDocument(template, data, commitment, provenance),
                                     deployment)
            )  # fmt: skip
            if index % 10 == 0 and template.document_type is not DocumentType.TRANSIT_DECLARATION:
                ledgers[template.destinations[0]].registry.acknowledge(
                    doc_id, 1, Lane.GREEN, os.urandom(32)
                )
        serial += size
    return deployment, files


def measure(w3: Web3, profile: str) -> dict[str, Any]:
    settings = PROFILES[profile]
    deployment, files = _anchor(w3, settings["documents"])
    ledger = Ledger.open(w3, deployment)
    named = [(f"{i}.json", raw) for i, raw in enumerate(files)]

    verifier = AuditVerifier(ledger)
    sample = named[: settings["single"]]
    started = time.perf_counter()
    singles = [verifier.verify(raw, source=name) for name, raw in sample]
    single_wall = time.perf_counter() - started
    assert all(r.verdict.value == "VALID" for r in singles)

    rows = [
        {
            "workload": "single (per-document loop)",
            "documents": len(sample),
            "seconds": single_wall,
            "documents_per_second": len(sample) / single_wall,
            "rpc_requests": None,
        }
    ]
    for workers in sorted({1, os.cpu_count() or 1}):
        batched_verifier = AuditVerifier(ledger)
        started = time.perf_counter()
        results = batched_verifier.verify_many(named, workers=workers)
        batch_wall = time.perf_counter() - started
        assert all(item.report and item.report.verdict.value == "VALID" for item in results)
        rows.append(
            {
                "workload": f"batched (verify_document_files, {workers} hashing process(es))",
                "documents": len(named),
                "seconds": batch_wall,
                "documents_per_second": len(named) / batch_wall,
                "rpc_requests": batched_verifier.index.requests,
            }
        )
    started = time.perf_counter()
    index = AuditVerifier(ledger).index
    index.histories([document_id_of(raw) for _, raw in named])
    chain_wall = time.perf_counter() - started
    rows.append(
        {
            "workload": "chain reads alone (ChainIndex.histories)",
            "documents": len(named),
            "seconds": chain_wall,
            "documents_per_second": len(named) / chain_wall,
            "rpc_requests": index.requests,
        }
    )
    return {"profile": profile, "rows": rows, "leaves": _mean_leaves(files)}


def document_id_of(raw: bytes) -> bytes:
    return bytes.fromhex(json.loads(raw)["documentId"][2:])


def _mean_leaves(files: list[bytes]) -> float:
    sample = files[:100]
    return sum(len(json.loads(raw)["salts"]) for raw in sample) / len(sample)


def run(profile: str = "quick") -> dict[str, Any]:
    """Start anvil in a temporary directory, measure, stop it."""
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        chain = AnvilChain(port=free_port(), log_file=Path(scratch) / "anvil.log")
        try:
            chain.start()
            started = time.perf_counter()
            result = measure(connect(chain.rpc_url), profile)
            result["seconds"] = time.perf_counter() - started
        finally:
            chain.stop()
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| workload | documents | seconds | docs/s | JSON-RPC round trips |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        requests = "" if row["rpc_requests"] is None else str(row["rpc_requests"])
        lines.append(
            f"| {row['workload']} | {row['documents']} | {row['seconds']:.2f} | "
            f"{row['documents_per_second']:,.0f} | {requests} |"
        )
    single, batched = (
        result["rows"][0],
        max(result["rows"][1:-1], key=lambda row: row["documents_per_second"]),
    )
    speedup = batched["documents_per_second"] / single["documents_per_second"]
    lines.append("")
    lines.append(
        f"Best batched / single: {speedup:.0f}x. Documents have {result['leaves']:.0f} "
        "committed fields on average; recomputing their salted commitment "
        "(`ledger_client.commitment.commit`) is most of the batched time."
    )
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        "Command: `python -m bench.audit_bench` (section `Audit verification`): full document "
        "files of all three types issued by KZ, anchored 500 per `anchorBatch` on a fresh "
        "anvil chain (every tenth acknowledged), verified with "
        "`ledger_client.audit.verify_document_file` one by one (sample) and with "
        "`verify_document_files` (batched chain reads). Includes parsing the file and "
        f"recomputing the salted commitment. Measured in {result['seconds']:.0f} s "
        "(including anchoring).\n\n" + markdown(result)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="more documents")
    args = parser.parse_args()
    result = run("full" if args.full else "quick")
    print(markdown(result))
    print(f"\nmeasured in {result['seconds']:.1f} s")


if __name__ == "__main__":
    main()
