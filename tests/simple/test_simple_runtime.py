"""Simple mode switched on by settings: the node's runtime and worker threads do the rest."""

from __future__ import annotations

import json
import time
from pathlib import Path

from web3 import Web3

from manifests.generate import generate_manifest
from node.runtime import NodeRuntime, NodeWorker
from node.settings import NodeSettings
from node.simple import ManualReviewListener
from tests.node.network import Network
from tests.simple.exchange import FULL, SIMPLE, drop


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def test_settings_turn_on_simple_mode(network: Network, w3: Web3, tmp_path: Path) -> None:
    member = network[SIMPLE]
    settings = NodeSettings(
        economy=SIMPLE,
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        confirmations=0,
        poll_interval=0.2,
        start_block=w3.eth.block_number + 1,
        simple_mode=True,
        simple_root=tmp_path / "exchange",
        simple_poll_interval=0.2,
    )
    runtime = NodeRuntime.build(
        settings,
        ledger=member.ledger,
        ipfs=member.ipfs,
        encryption_key=member.key,
        pipeline=member.pipeline,
    )
    assert isinstance(runtime.listener, ManualReviewListener)
    assert runtime.simple is not None
    root = settings.simple_root
    assert all((root / d).is_dir() for d in ("inbox", "done", "rejected", "received", "decisions"))
    worker = NodeWorker(runtime)
    worker.start()
    try:
        outgoing = generate_manifest("runtime-out", origin=SIMPLE, destination=FULL)
        drop(root / "inbox", "outgoing.json", outgoing.model_dump_json())
        incoming = network[FULL].pipeline.submit(
            generate_manifest("runtime-in", origin=FULL, destination=SIMPLE)
        )
        _wait_for(root / "done" / "outgoing.json.receipt.json")
        stem = f"{incoming.document_id}-v1"
        _wait_for(root / "received" / f"{stem}.json")
        drop(
            root / "decisions", f"{stem}.decision.json", json.dumps({"lane": "RED", "reason": "x"})
        )
        _wait_for(root / "decisions" / "done" / f"{stem}.decision.json")
        lane, _ = member.ledger.registry.acknowledgement(incoming.document_id_bytes, 1, SIMPLE)
        assert lane is not None and lane.name == "RED"
    finally:
        worker.stop()
        runtime.dispatcher.close()
        runtime.db.close()
