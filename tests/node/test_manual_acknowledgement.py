"""A risk officer's manual acknowledgement (API) of a version a simple-mode node
parked in ``awaiting_decision`` (real anvil, IPFS, SQLite)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from web3 import Web3

from manifests.generate import generate_manifest
from node import db as tables
from node.listener import State
from node.main import create_app
from node.runtime import NodeRuntime
from node.services.api_keys import Role, create_api_key
from node.settings import NodeSettings
from node.simple import AWAITING_DECISION
from tests.node.network import Network


def test_officer_acknowledges_a_version_awaiting_decision(
    network: Network, w3: Web3, tmp_path: Path
) -> None:
    member = network["UZ"]
    settings = NodeSettings(
        economy="UZ",
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        confirmations=0,
        run_listener=False,
        start_block=w3.eth.block_number + 1,
        simple_mode=True,
        simple_root=tmp_path / "exchange",
    )
    runtime = NodeRuntime.build(
        settings,
        ledger=member.ledger,
        ipfs=member.ipfs,
        encryption_key=member.key,
        pipeline=member.pipeline,
    )
    try:
        receipt = network["KZ"].pipeline.submit(
            generate_manifest("manual-awaiting", origin="KZ", destination="UZ")
        )
        doc_hex = receipt.document_id.removeprefix("0x")
        runtime.listener.poll_once()
        with runtime.db.sessions() as session:
            row = session.get(tables.Processing, (doc_hex, 1))
            assert row is not None and row.state == AWAITING_DECISION
        client = TestClient(create_app(runtime=runtime))
        key = create_api_key(runtime.db, "officer", Role.RISK_OFFICER)
        response = client.post(
            f"/documents/{receipt.document_id}/acknowledge",
            headers={"X-API-Key": key},
            json={"version": 1, "lane": "YELLOW", "reason": "documentary check"},
        )
        assert response.status_code == 200, response.text
        lane, _ = member.ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")
        assert lane is not None and lane.name == "YELLOW"
        with runtime.db.sessions() as session:
            row = session.get(tables.Processing, (doc_hex, 1))
            outcome = session.get(tables.RiskOutcome, (doc_hex, 1))
        assert row is not None and row.state == State.ACKNOWLEDGED
        assert outcome is not None and outcome.manual
        again = client.post(
            f"/documents/{receipt.document_id}/acknowledge",
            headers={"X-API-Key": key},
            json={"version": 1, "lane": "GREEN", "reason": "second thoughts"},
        )
        assert again.status_code == 409
    finally:
        runtime.dispatcher.close()
        runtime.db.close()
