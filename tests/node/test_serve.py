"""`python -m node` as an operator runs it: settings from the environment, keystore,
encrypted key file, deployment file; uvicorn on 127.0.0.1; the worker acknowledges."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.keystore import create_account_keystore
from manifests.generate import generate_manifest
from tests.node.network import Network

PASSWORD = "test-fixture-password"


@pytest.fixture
def node_env(network: Network, anvil: AnvilChain, tmp_path: Path) -> dict[str, str]:
    az = network["AZ"]
    assert az.ledger.sender is not None
    deployment = tmp_path / "deployment.json"
    network.deployment.save(deployment)
    keystore = tmp_path / "az-account.json"
    create_account_keystore(
        keystore,
        PASSWORD,
        private_key=bytes(az.ledger.sender.account.key),
        kdf="pbkdf2",
        iterations=1000,
    )
    key_file = tmp_path / "az-encryption.pem"
    az.key.save(key_file, PASSWORD)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)
    env = {
        **os.environ,
        "CIE_NODE_ECONOMY": "AZ",
        "CIE_NODE_RPC_URL": anvil.rpc_url,
        "CIE_NODE_DEPLOYMENT_FILE": str(deployment),
        "CIE_NODE_KEYSTORE_FILE": str(keystore),
        "CIE_NODE_KEYSTORE_PASSWORD_FILE": str(password_file),
        "CIE_NODE_ENCRYPTION_KEY_FILE": str(key_file),
        "CIE_NODE_ENCRYPTION_KEY_PASSWORD_FILE": str(password_file),
        "CIE_NODE_IPFS_API": az.ipfs_node.api_address,
        "CIE_NODE_DATABASE_URL": f"sqlite:///{tmp_path / 'az-node.db'}",
        "CIE_NODE_CONFIRMATIONS": "1",
        "CIE_NODE_POLL_INTERVAL": "0.2",
        "CIE_NODE_START_BLOCK": str(network.w3.eth.block_number + 1),
        "CIE_NODE_PORT": str(free_port()),
        "CIE_NODE_RISK_RULES__BASE_INSPECTION_RATE": "0",
    }
    return env


@pytest.fixture
def served(node_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    key = subprocess.run(
        [sys.executable, "-m", "node", "create-api-key", "ops", "risk_officer"],
        env=node_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log = (tmp_path / "node.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "node", "serve"], env=node_env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{node_env['CIE_NODE_PORT']}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "node.log").read_text())
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def test_served_node_acknowledges_documents_addressed_to_it(
    network: Network, served: tuple[str, str]
) -> None:
    base, key = served
    assert httpx.get(base + "/ready").json()["ready"] is True
    receipt = network["KZ"].pipeline.submit(generate_manifest(555, origin="KZ", destination="AZ"))
    deadline = time.time() + 30
    items: list[dict[str, object]] = []
    while time.time() < deadline:
        page = httpx.get(
            base + "/inbox", params={"state": "acknowledged"}, headers={"X-API-Key": key}
        ).json()
        items = page["items"]
        if any(i["document_id"] == receipt.document_id for i in items):
            break
        time.sleep(0.2)
    assert [i["document_id"] for i in items] == [receipt.document_id]
    lane, _ = network["AZ"].ledger.registry.acknowledgement(receipt.document_id_bytes, 1, "AZ")
    assert lane is not None
    assert httpx.get(base + "/inbox").status_code == 401
