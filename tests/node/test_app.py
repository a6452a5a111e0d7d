"""The application as deployed: settings, the background worker started by the lifespan."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from manifests.generate import generate_manifest
from node.listener import State
from node.main import create_app
from node.risk import ReferenceRiskEngine, RiskEngine
from node.runtime import NodeRuntime
from node.settings import NodeSettings, RiskRules
from tests.node.network import Network


def test_api_listens_on_loopback_only() -> None:
    with pytest.raises(ValidationError, match="loopback"):
        NodeSettings(host="0.0.0.0")
    assert NodeSettings().host == "127.0.0.1"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIE_NODE_ECONOMY", "UZ")
    monkeypatch.setenv("CIE_NODE_CONFIRMATIONS", "5")
    monkeypatch.setenv("CIE_NODE_RISK_RULES__HS_WATCH_LIST", '["9301"]')
    settings = NodeSettings()
    assert (settings.economy, settings.confirmations) == ("UZ", 5)
    assert settings.risk_rules.hs_watch_list == ["9301"]


def test_lifespan_worker_acknowledges_without_being_asked(network: Network, tmp_path: Path) -> None:
    uz = network["UZ"]
    rules = RiskRules(base_inspection_rate=0.0)
    settings = NodeSettings(
        economy="UZ",
        database_url=f"sqlite:///{tmp_path / 'uz.db'}",
        confirmations=1,
        poll_interval=0.1,
        start_block=network.w3.eth.block_number + 1,
        run_listener=True,
    )
    runtime = NodeRuntime.build(
        settings,
        ledger=uz.ledger,
        ipfs=uz.ipfs,
        encryption_key=uz.key,
        pipeline=uz.pipeline,
        engine=RiskEngine([ReferenceRiskEngine(rules)], rules),
    )
    with TestClient(create_app(runtime=runtime)) as client:
        receipt = network["KZ"].pipeline.submit(
            generate_manifest(909, origin="KZ", destination="UZ")
        )
        deadline = time.time() + 20
        state = None
        while time.time() < deadline:
            state = runtime.listener.process(receipt.document_id.removeprefix("0x"), 1)
            if state == State.ACKNOWLEDGED:
                break
            time.sleep(0.1)
        assert state == State.ACKNOWLEDGED
        assert client.get("/ready").json()["cursor_block"] >= receipt.block_number
    lane, _ = uz.ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "UZ")
    assert lane is not None
    runtime.db.close()
