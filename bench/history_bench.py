"""Document history reads as the chain grows: whole range vs from the anchoring block.

An importer reads each incoming document's history (`ledger_client.provenance.
read_history`: one `eth_getLogs` over the document id's topic) before it fetches
the payload. From the registry's first block, that query walks the whole chain
on anvil, so its cost grows with the chain; the listener knows the block it
scanned a version 1 in and starts there (`anchored_from`). This section anchors
batches of 500 random records, and at each size reads the histories of the 50
most recent documents both ways, in the same run on the same chain.

    python -m bench.history_bench [--full]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3.types import Wei

from bench import standalone
from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import FoundingMember, deploy_all
from ledger_client.ledger import Ledger
from ledger_client.provenance import read_history
from ledger_client.records import DocType, Record

SIZES = {"quick": (1_000, 10_000, 30_000), "full": (1_000, 10_000, 30_000, 100_000)}
BATCH = 500
SAMPLE = 50


def run(profile: str = "quick") -> dict[str, Any]:
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="cie-bench-history-"))
    chain = AnvilChain(port=free_port(), log_file=scratch / "anvil.log")
    chain.start()
    rows: list[dict[str, Any]] = []
    try:
        w3 = connect(chain.rpc_url)
        deployer, issuer = Account.create(), Account.create()
        for account in (deployer, issuer):
            w3.eth.wait_for_transaction_receipt(
                w3.eth.send_transaction(
                    {"from": w3.eth.accounts[0], "to": account.address, "value": Wei(10**21)}
                )
            )
        deployment = deploy_all(
            TransactionSender(w3, deployer),
            [
                FoundingMember("KZ", os.urandom(32), (issuer.address,)),
                FoundingMember("UZ", os.urandom(32), (Account.create().address,)),
            ],
        )
        registry = Ledger.open(w3, deployment, TransactionSender(w3, issuer)).registry
        ids: list[bytes] = []
        for size in SIZES[profile]:
            while len(ids) < size:
                records = [
                    Record(DocType.PRE_ARRIVAL_MANIFEST, os.urandom(32), os.urandom(32), ("UZ",))
                    for _ in range(BATCH)
                ]
                ids.extend(registry.anchor_batch(len(ids) + 1, records).ids)
            sample = ids[-SAMPLE:]
            anchored = read_history(registry, sample[0]).versions[0].block_number
            timings = {}
            for label, from_block in (("whole", None), ("anchored", anchored)):
                t0 = time.perf_counter()
                for doc_id in sample:
                    read_history(registry, doc_id, from_block=from_block)
                timings[label] = (time.perf_counter() - t0) / SAMPLE * 1000
            rows.append({"documents": size, "blocks": w3.eth.block_number, **timings})
    finally:
        chain.stop()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| documents on chain | blocks | whole range ms/read | from anchoring block ms/read "
        "| ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['documents']:,} | {row['blocks']:,} | {row['whole']:.2f} | "
            f"{row['anchored']:.2f} | {row['anchored'] / row['whole']:.2f} |"
        )
    return "\n".join(lines)


def markdown_section(profile: str = "quick") -> str:
    result = run(profile)
    return (
        "Command: `python -m bench --only history` (module `bench.history_bench`): a fresh "
        "anvil (devnet mixed mining), batches of 500 random records anchored by KZ for UZ; at "
        f"each size the histories of the {SAMPLE} most recent documents are read with "
        "`read_history` from the registry's first block (whole range) and from their "
        "anchoring block (what the listener passes for version 1), same chain, same run. "
        f"Measured in {result['seconds']:.0f} s.\n\n" + markdown(result)
    )


def main() -> None:
    standalone(__doc__, run, markdown, "also 100,000 documents")


if __name__ == "__main__":
    main()
