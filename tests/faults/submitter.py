"""A member node's submitting process, run as a child by the fault tests so that it
can be killed with SIGKILL at any instant (`python tests/faults/submitter.py CONFIG`).

It opens the member's pipeline on its durable outbox, finishes what a previous
run left (`resume`), then submits its whole document list in batches; documents
already anchored come back as they are (idempotency by reference), so every run
does only what is left. Each finished batch prints one line. CONFIG is a JSON
file written by the test (TEST FIXTURE: the keystore password in it is for a
throw-away account funded only on the test chain).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import Deployment
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ipfs import IpfsStore
from ledger_client.keystore import load_account
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from tests.faults.faultnet import tagged_manifests


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    w3 = connect(config["rpc_url"])
    account = load_account(Path(config["keystore"]), config["password"])
    ledger = Ledger.open(
        w3, Deployment.load(Path(config["deployment"])), TransactionSender(w3, account)
    )
    key = MemberEncryptionKey.load(Path(config["encryption_key"]), config["password"])
    store = IpfsStore(config["ipfs_api"], timeout=10.0)
    pipeline = DocumentPipeline(ledger, store, key, Outbox(config["outbox_url"]))
    report = pipeline.resume()
    print(f"resumed {len(report.anchored)} failed {len(report.failed)}", flush=True)
    documents = tagged_manifests(
        config["origin"], config["destination"], config["count"], config["seed"], config["tag"]
    )
    batch = int(config["batch"])
    for start in range(0, len(documents), batch):
        receipts = pipeline.submit_batch(documents[start : start + batch])
        created = sum(r.created for r in receipts)
        print(f"batch {start // batch} created {created}", flush=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
