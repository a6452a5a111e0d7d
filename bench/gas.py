"""Gas of every write operation, measured on a fresh anvil chain.

Compares the registry's batched, events-first design with a naive baseline
(one transaction per document, full record in storage) and with the middle
way (same events, plus one storage write per document for an on-chain
duplicate check), all compiled by the same pinned compiler and run on the same
chain in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import Wei

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.compiler import compile_contracts
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.ledger import Ledger
from ledger_client.records import CheckpointKind, DocType, Lane, Record, document_id
from ledger_client.registry import AcknowledgementItem, RegistryClient

BATCH_SIZES = (1, 10, 100, 1000)
ACK_BATCH = 64  # acknowledgements in one acknowledgeBatch (gas a document hardly moves with it)
BENCH_CONTRACTS = Path(__file__).resolve().parent / "contracts"
ROOT = BENCH_CONTRACTS.parent.parent


@dataclass
class GasRow:
    operation: str
    documents: int
    gas: int
    parts: dict[str, int] = field(default_factory=dict)  # named components, where computed

    @property
    def per_document(self) -> float:
        return self.gas / self.documents


def _record(doc_type: DocType = DocType.PRE_ARRIVAL_MANIFEST, *dests: str) -> Record:
    return Record(doc_type, os.urandom(32), os.urandom(32), dests or ("UZ",))


def _single_anchor_floor(w3: Web3, kz: RegistryClient, tx_hash: bytes) -> GasRow:
    """What any single anchor with the same calldata and per-document event must pay.

    From a real `anchor` transaction: the 21,000 base, its calldata (16 gas per
    non-zero byte, 4 per zero byte), one new storage slot (22,100: a cold
    zero-to-non-zero SSTORE) and its DocumentAnchored log (375 + 375 per topic +
    8 per data byte). No membership check, duplicate check, batch event or
    execution: the floor under the design's guarantees, not a design.
    """
    data = bytes(w3.eth.get_transaction(HexBytes(tx_hash))["input"])
    calldata = sum(16 if byte else 4 for byte in data)
    topic = HexBytes(kz.contract.events.DocumentAnchored().topic)
    receipt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    log = next(log for log in receipt["logs"] if log["topics"] and log["topics"][0] == topic)
    event = 375 + 375 * len(log["topics"]) + 8 * len(log["data"])
    return GasRow(
        f"floor: base + calldata ({calldata:,}) + one new slot + the per-document event "
        f"({event:,}); nothing else",
        1,
        21_000 + calldata + 22_100 + event,
        # Packed, without ABI padding: selector, 8-byte serial and the record, all non-zero.
        {"calldata": calldata, "packed_calldata": 16 * (4 + 8 + len(_record().pack()))},
    )


def _fund(w3: Web3, address: str) -> None:
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "value": Wei(10**20)})
    w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)


def measure(w3: Web3) -> list[GasRow]:
    accounts = {e: Account.create() for e in ("KZ", "UZ", "AZ")}
    for a in accounts.values():
        _fund(w3, a.address)
    deployer = Account.create()
    _fund(w3, deployer.address)
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [FoundingMember(e, os.urandom(32), (a.address,)) for e, a in accounts.items()],
    )
    ledgers = {
        e: Ledger.open(w3, deployment, TransactionSender(w3, a)) for e, a in accounts.items()
    }
    kz = ledgers["KZ"].registry
    rows: list[GasRow] = []
    serial = 1
    # Single anchors: the first serial of a bitmap word pays for a new slot; report steady state.
    kz.anchor(serial, _record())
    serial += 1
    singles = []
    for _ in range(5):
        last = kz.anchor(serial, _record())
        singles.append(last.gas_used)
        serial += 1
    rows.append(GasRow("anchor (single document)", 1, sorted(singles)[len(singles) // 2]))
    rows.append(_single_anchor_floor(w3, kz, last.tx_hash))
    for size in BATCH_SIZES:
        receipt = kz.anchor_batch(serial, [_record() for _ in range(size)])
        serial += size
        rows.append(GasRow(f"anchorBatch of {size}", size, receipt.gas_used))
    receipt = kz.anchor_batch(
        serial, [_record(DocType.PRE_ARRIVAL_MANIFEST, "UZ", "AZ") for _ in range(100)]
    )
    serial += 100
    rows.append(GasRow("anchorBatch of 100, two destinations each", 100, receipt.gas_used))
    doc = kz.anchor(serial, _record()).ids[0]
    serial += 1
    rows.append(
        GasRow(
            "amend (first operation, materializes state)",
            1,
            int(kz.amend(doc, os.urandom(32), os.urandom(32))["gasUsed"]),
        )
    )
    rows.append(
        GasRow("amend (again)", 1, int(kz.amend(doc, os.urandom(32), os.urandom(32))["gasUsed"]))
    )
    acknowledged = ledgers["UZ"].registry.acknowledge(
        doc, 3, Lane.GREEN, os.urandom(32), os.urandom(32)
    )
    rows.append(GasRow("acknowledge", 1, acknowledged.gas_used))
    rows.append(GasRow("revoke", 1, int(kz.revoke(doc, 1)["gasUsed"])))
    rows += _acknowledgements(kz, ledgers["UZ"].registry, serial)
    serial += 2 * ACK_BATCH
    transit = kz.anchor(serial, _record(DocType.TRANSIT_DECLARATION, "KZ", "UZ", "AZ")).ids[0]
    serial += 1
    for economy, kind in (
        ("KZ", CheckpointKind.DEPARTURE),
        ("UZ", CheckpointKind.TRANSIT_PASSED),
        ("AZ", CheckpointKind.ARRIVAL),
    ):
        gas = int(ledgers[economy].registry.record_checkpoint(transit, kind)["gasUsed"])
        rows.append(GasRow(f"recordCheckpoint {kind.name}", 1, gas))
    rows += _baselines(w3, ledgers["KZ"].sender)  # type: ignore[arg-type]
    rows += _openattestation(w3, ledgers["KZ"].sender)  # type: ignore[arg-type]
    return rows


def _acknowledgements(kz: RegistryClient, uz: RegistryClient, serial: int) -> list[GasRow]:
    """UZ acknowledges documents of two anchored batches of ACK_BATCH: one at a time (the
    median of five) and all of the second batch in one `acknowledgeBatch`. Proofs are as
    long in both cases (log2 of the batch), so the difference is what batching saves."""
    ones = kz.anchor_batch(serial, [_record() for _ in range(ACK_BATCH)]).ids
    batched = kz.anchor_batch(serial + ACK_BATCH, [_record() for _ in range(ACK_BATCH)]).ids

    def item(doc: bytes) -> AcknowledgementItem:
        return AcknowledgementItem(doc, 1, Lane.GREEN, os.urandom(32), os.urandom(32))

    singles = [uz.acknowledge_batch([item(doc)]).gas_used for doc in ones[:5]]
    alone = [
        uz.acknowledge(doc, 1, Lane.GREEN, os.urandom(32), os.urandom(32)).gas_used
        for doc in ones[5:10]
    ]
    receipt = uz.acknowledge_batch([item(doc) for doc in batched])
    return [
        GasRow(
            f"acknowledge (a document of a batch of {ACK_BATCH})", 1, sorted(alone)[len(alone) // 2]
        ),
        GasRow("acknowledgeBatch of 1", 1, sorted(singles)[len(singles) // 2]),
        GasRow(f"acknowledgeBatch of {ACK_BATCH}", ACK_BATCH, receipt.gas_used),
    ]


def openattestation_artifact() -> dict[str, Any]:
    """ABI and bytecode of DocumentStore as shipped in npm @govtechsg/document-store."""
    script = BENCH_CONTRACTS / "openattestation_artifact.js"
    out = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    artifact: dict[str, Any] = json.loads(out.stdout)
    return artifact


def deploy_openattestation_store(sender: TransactionSender, owner: str) -> Contract:
    """OpenAttestation's DocumentStore (`openattestation_artifact`) owned by `owner`,
    deployed by `sender`."""
    artifact = openattestation_artifact()
    return _deploy(sender, artifact["abi"], artifact["bytecode"], "CIE benchmark store", owner)


def deploy_naive_registry(sender: TransactionSender) -> Contract:
    """The naive baseline (`bench/contracts/NaiveRegistry.sol`), deployed by `sender`."""
    artifact = compile_contracts(BENCH_CONTRACTS, ("NaiveRegistry",))["NaiveRegistry"]
    return _deploy(sender, artifact.abi, artifact.bytecode)


def _deploy(sender: TransactionSender, abi: Any, bytecode: str, *args: Any) -> Contract:
    factory = sender.w3.eth.contract(abi=abi, bytecode=bytecode)
    address = sender.transact(factory.constructor(*args))["contractAddress"]
    if address is None:
        raise RuntimeError("the deployment's receipt names no contract address")
    return sender.w3.eth.contract(address=address, abi=abi)


def _openattestation(w3: Web3, sender: TransactionSender) -> list[GasRow]:
    """TradeTrust's way: the issuer records one Merkle root per batch of wrapped documents
    (`issue`), or per-document target hashes (`bulkIssue`); no routing, no per-document event
    with type/destination, no encryption metadata."""
    store = deploy_openattestation_store(sender, sender.address)
    issues = [
        int(sender.transact(store.functions.issue(os.urandom(32)))["gasUsed"]) for _ in range(5)
    ]
    rows = [
        GasRow(
            "OpenAttestation DocumentStore issue (one Merkle root, any batch size)",
            1,
            sorted(issues)[len(issues) // 2],
        )
    ]
    for size in (100, 1000):
        r = sender.transact(store.functions.bulkIssue([os.urandom(32) for _ in range(size)]))
        rows.append(
            GasRow(
                f"OpenAttestation DocumentStore bulkIssue of {size} target hashes",
                size,
                int(r["gasUsed"]),
            )
        )
    return rows


def _baselines(w3: Web3, sender: TransactionSender) -> list[GasRow]:
    naive = deploy_naive_registry(sender)
    rows = []
    gas = []
    for serial in range(1, 7):
        doc = document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, serial)
        gas.append(
            int(
                sender.transact(
                    naive.functions.anchorFull(doc, 1, os.urandom(32), os.urandom(32), [b"UZ"], [])
                )["gasUsed"]
            )
        )
    rows.append(
        GasRow(
            "baseline: one tx per document, full record in storage", 1, sorted(gas)[len(gas) // 2]
        )
    )
    for size in (100, 1000):
        ids = [
            document_id("KZ", DocType.PRE_ARRIVAL_MANIFEST, 10_000 * size + i) for i in range(size)
        ]
        r = sender.transact(
            naive.functions.anchorBatchStorageDedup(
                ids, [os.urandom(32) for _ in ids], [os.urandom(32) for _ in ids], [b"UZ"] * size
            )
        )
        rows.append(
            GasRow(
                f"alternative: batch of {size}, same events + storage duplicate check",
                size,
                int(r["gasUsed"]),
            )
        )
    return rows


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        chain = AnvilChain(port=free_port(), log_file=Path(tmp) / "anvil.log")
        chain.start()
        try:
            w3 = connect(chain.rpc_url)
            fork = (
                "anvil's default (latest) hardfork, where the EIP-7623 calldata floor "
                "applies but does not bind at these sizes"
            )
            rows = measure(w3)
        finally:
            chain.stop()
    return {"rows": rows, "fork": fork}


def markdown(result: dict[str, Any]) -> str:
    rows: list[GasRow] = result["rows"]
    baseline = next(r for r in rows if r.operation.startswith("baseline")).per_document
    lines = [
        "| operation | documents | gas (tx total) | gas per document | vs baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.operation} | {r.documents} | {r.gas:,} | {r.per_document:,.0f} | "
            f"{r.per_document / baseline:.3f} |"
        )
    by_name = {r.operation: r for r in rows}
    batch = by_name["anchorBatch of 1000"].per_document
    single = by_name["anchor (single document)"].gas
    storage = by_name["alternative: batch of 1000, same events + storage duplicate check"]
    ack_batch = by_name[f"acknowledgeBatch of {ACK_BATCH}"]
    ack_single = by_name[f"acknowledge (a document of a batch of {ACK_BATCH})"]
    oa_issue = next(
        r for r in rows if r.operation.startswith("OpenAttestation DocumentStore issue")
    )
    floor = next(r for r in rows if r.operation.startswith("floor:"))
    lines += [
        "",
        "**Where the duplicate check lives (measured above, same run).** Three options:",
        f"(1) contract storage, one slot per document: {storage.per_document:,.0f} gas/doc in a "
        f"batch of 1000, {storage.per_document / batch:.1f}x our design; "
        "(2) the chosen *packed per-issuer structure*: each economy's document serials are a "
        "bitmap (256 serials per slot, plus a summary bit per fully used word), so a batch of "
        "contiguous serials touches a handful of slots and a reused serial reverts "
        "`RegistryDuplicateDocument` on-chain; the document record itself lives in events "
        "(commitment, payload digest, destinations, links) and one Merkle root per batch "
        "(one storage slot per batch) lets later operations prove the record; "
        "(3) the issuing node only. The chain guarantees one record per id; that one reference "
        "number maps to one id is the issuing node's duty (unique index in its outbox), with the "
        "chain as audit trail (every anchoring is an event with the id).",
        "",
        f"**Targets.** Batch of 1000 including a per-document event with id, type and destination "
        f"indexed: {batch:,.0f} gas/doc (target <= 4,000: "
        f"{'met' if batch <= 4000 else 'NOT met'}; only for the common shape of one destination "
        "and no links: every extra destination or link adds its own event). Single anchor: "
        f"{single:,} gas vs OpenAttestation `issue` {oa_issue.gas:,} in the same run "
        f"({single / oa_issue.gas:.2f}x, target <= 1.0: "
        f"{'met' if single <= oa_issue.gas else 'NOT met'}). What stands in the way: 21,000 "
        "base + 22,100 for the batch-root slot + ~5,000 for the serial bitmap + ~4,900 for the "
        "membership check (a call into Consortium) + two events (~5,200); OpenAttestation's "
        "`issue` writes one slot and one single-topic event, with no routing, no issuer binding "
        f"and no duplicate check. The floor row puts a bound on any redesign: the same calldata "
        f"(the 69-byte record), one new slot and the per-document event alone cost "
        f"{floor.gas:,} gas ({floor.gas / oa_issue.gas:.2f}x OpenAttestation's `issue`), "
        f"leaving {oa_issue.gas - floor.gas:,} gas (at most "
        f"{floor.parts['calldata'] - floor.parts['packed_calldata']:,} more with calldata packed "
        "without ABI padding) for the membership check (a cold account "
        "access alone is 2,600), the duplicate check (a cold slot read alone is 2,100), the "
        "batch event and execution: under this design's guarantees the target cannot be met. "
        "Single documents are rare in practice: nodes batch.",
        "",
        f"**Acknowledgements.** In a batch of {ACK_BATCH} (the listener's window): "
        f"{ack_batch.per_document:,.0f} gas per acknowledgement vs {ack_single.gas:,} for "
        f"`acknowledge` of a document of the same batch size "
        f"({ack_batch.per_document / ack_single.gas:.2f}x). The batch pays the 21,000 base and "
        "the membership check once; per item remain the new acknowledgement slot (22,100), the "
        "batch-root and document-state reads, the Merkle proof, the event and the item's "
        "calldata.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
