"""A member node (the submitting process) killed with SIGKILL at random instants
while it submits batches; each restart resumes from its durable outbox. At the
end every document is anchored exactly once (no reference under two ids, no
id twice) and processed exactly once by its destination.

This is the real-process counterpart of tests/pipeline/test_outbox_recovery.py,
whose crashes are raised at chosen points inside one process.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger_client.keystore import create_account_keystore
from tests.faults.faultnet import (
    FaultNetwork,
    assert_exactly_once,
    poll_until_done,
    submitted_ids,
    tagged_manifests,
)

SUBMITTER = Path(__file__).with_name("submitter.py")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _write_config(fnet: FaultNetwork, directory: Path, **documents: object) -> Path:
    """The child's configuration (TEST FIXTURE keys of a throw-away account)."""
    member = fnet["AZ"]
    assert member.ledger.sender is not None
    password = "test-fixture-" + secrets.token_hex(8)
    keystore = directory / "az-account.json"
    create_account_keystore(
        keystore,
        password,
        private_key=bytes(member.ledger.sender.account.key),
        kdf="pbkdf2",
        iterations=1000,
    )
    member.key.save(directory / "az-encryption.pem", password)
    fnet.net.deployment.save(directory / "deployment.json")
    config = {
        "rpc_url": fnet.anvil.rpc_url,
        "deployment": str(directory / "deployment.json"),
        "keystore": str(keystore),
        "encryption_key": str(directory / "az-encryption.pem"),
        "password": password,
        "ipfs_api": member.ipfs_node.api_address,
        "outbox_url": member.pipeline.outbox.url,
        **documents,
    }
    path = directory / "submitter.json"
    path.write_text(json.dumps(config))
    return path


def _run(config: Path, log: Path, kill_after_batches: int | None, delay: float) -> bool:
    """One run of the child; killed (SIGKILL) `delay` s after its n-th batch line if
    `kill_after_batches` is set. Returns True if it was killed while still working."""
    with log.open("ab") as errors:
        child = subprocess.Popen(
            [sys.executable, str(SUBMITTER), str(config)],
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    assert child.stdout is not None
    try:
        batches = 0
        if kill_after_batches is not None:
            for line in child.stdout:
                batches += line.startswith(b"batch")
                if line.startswith(b"done") or batches >= kill_after_batches:
                    break
            time.sleep(delay)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                child.wait(30)
                return True
        child.stdout.read()
        assert child.wait(120) == 0, f"the submitter failed; see {log}"
        return False
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
        child.stdout.close()


def test_submitting_node_killed_mid_batch_then_resumed(fnet: FaultNetwork, tmp_path: Path) -> None:
    start = fnet.w3.eth.block_number + 1
    documents = {
        "origin": "AZ",
        "destination": "UZ",
        "count": 80,
        "batch": 10,
        "seed": 600,
        "tag": f"K{start}",
    }
    config = _write_config(fnet, tmp_path, **documents)
    rng = random.Random(start)
    killed = sum(
        _run(config, tmp_path / "submitter.log", rng.randint(1, 3), rng.uniform(0.0, 0.5))
        for _ in range(3)
    )
    assert killed >= 2  # the kills really interrupted work
    _run(config, tmp_path / "submitter.log", None, 0.0)  # the last run finishes

    db = fnet.database("uz-submitter-killed")
    listener = fnet.listener("UZ", db, start_block=start)
    sent = tagged_manifests("AZ", "UZ", 80, 600, f"K{start}")
    poll_until_done(listener, len(sent))
    assert_exactly_once(fnet, submitted_ids(fnet["AZ"].pipeline, sent), {"UZ": db}, start)
