"""OpenAttestation v2: our wrapping/verification against the reference implementation
(@govtechsg/open-attestation, run with node) in both directions, plus tampering."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import Scenario
from typer.testing import CliRunner

from bench.gas import openattestation_artifact
from ledger_client.audit.cli import app
from ledger_client.audit.openattestation import (
    OaDocumentError,
    cie_oa_data,
    document_store_status,
    obfuscate,
    unsalt,
    verify_wrapped,
    wrap_documents,
    wrap_verified_documents,
)
from ledger_client.chain import TransactionSender

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).with_name("oa_reference.js")
STORE = "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d"


def reference(request: dict[str, Any]) -> Any:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules/@govtechsg/open-attestation").is_dir():
        pytest.skip("node or @govtechsg/open-attestation (npm) not installed")
    done = subprocess.run(
        [node, str(REFERENCE)],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def eco_data(scenario: Scenario, name: str = "certificate") -> dict[str, Any]:
    file = json.loads(scenario.files[name])
    return cie_oa_data(
        file["document"],
        document_id=file["documentId"],
        version=file["version"],
        commitment="0x" + "00" * 32,
        chain_id=file["chainId"],
        issuer_name="KZ customs",
        document_store=STORE,
        identity_location="customs.example.kz",
    )


def test_our_wrapped_batch_verifies_with_the_reference(scenario: Scenario) -> None:
    documents = [eco_data(scenario, n) for n in ("certificate", "valid", "transit")]
    documents[1]["extras"] = {"n": 1.5, "big": 1e21, "z": None, "e": [], "o": {}, "t": True}
    wrapped = wrap_documents(documents)
    assert len({w["signature"]["merkleRoot"] for w in wrapped}) == 1
    for document, original in zip(wrapped, documents, strict=True):
        assert verify_wrapped(document).valid
        assert reference({"op": "verify", "document": document}) == {"valid": True, "schema": True}
        assert unsalt(document["data"]) == original
    hidden = obfuscate(wrapped[0], ["certificate.exporter", "cieLedger.commitment"])
    assert verify_wrapped(hidden).valid and verify_wrapped(hidden).obfuscated_fields > 1
    assert reference({"op": "verify", "document": hidden})["valid"] is True


def test_reference_wrapped_and_obfuscated_documents_verify_here(scenario: Scenario) -> None:
    odd = eco_data(scenario, "valid")
    odd["extras"] = {"n": 1.5, "big": 1e21, "z": None, "e": [], "o": {}, "b": False, "u": "é\n"}
    documents = [eco_data(scenario), odd]
    wrapped = reference({"op": "wrap", "documents": documents})
    for document in wrapped:
        assert verify_wrapped(document).valid
    hidden = reference(
        {"op": "obfuscate", "document": wrapped[0], "fields": ["certificate.exporter.name"]}
    )
    assert verify_wrapped(hidden).valid
    ours = obfuscate(wrapped[0], ["certificate.exporter.name"])
    assert sorted(ours["privacy"]["obfuscatedData"]) == sorted(hidden["privacy"]["obfuscatedData"])


def test_tampering_breaks_the_target_hash_or_the_proof(scenario: Scenario) -> None:
    wrapped = wrap_documents([eco_data(scenario), eco_data(scenario, "valid")])
    changed = json.loads(json.dumps(wrapped[0]))
    salt, kind, value = changed["data"]["cieLedger"]["version"].split(":", 2)
    changed["data"]["cieLedger"]["version"] = f"{salt}:{kind}:{int(value) + 1}"
    result = verify_wrapped(changed)
    assert not result.valid and "target hash" in (result.reason or "")
    assert reference({"op": "verify", "document": changed})["valid"] is False
    wrong_proof = json.loads(json.dumps(wrapped[0]))
    wrong_proof["signature"]["proof"] = []
    assert not verify_wrapped(wrong_proof).valid
    with pytest.raises(OaDocumentError):
        verify_wrapped({"data": {}})


def test_the_merkle_root_issued_on_a_document_store_is_checked(
    scenario: Scenario, new_account: Any, tmp_path: Path
) -> None:
    """Our status check and `cie audit oa-verify` against OA's own DocumentStore (npm
    @govtechsg/document-store, deployed on the same chain); the registry's per-economy
    facade is covered in test_oa_registry.py."""
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    w3 = scenario.network.w3
    sender = TransactionSender(w3, new_account)
    artifact = openattestation_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = sender.transact(factory.constructor("CIE audit store", sender.address))  # type: ignore[arg-type]
    store = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    wrapped = wrap_documents([eco_data(scenario), eco_data(scenario, "transit")])
    assert document_store_status(store, wrapped[0]) == (False, False)
    sender.transact(store.functions.issue(bytes.fromhex(wrapped[0]["signature"]["merkleRoot"])))
    assert document_store_status(store, wrapped[0]) == (True, False)
    assert document_store_status(store, wrapped[1]) == (True, False)
    sender.transact(store.functions.revoke(bytes.fromhex(wrapped[1]["signature"]["targetHash"])))
    assert document_store_status(store, wrapped[0]) == (True, False)
    assert document_store_status(store, wrapped[1]) == (True, True)

    # The same through `cie audit oa-verify`.
    unissued = wrap_documents([eco_data(scenario)])[0]
    tampered = json.loads(json.dumps(wrapped[0]))
    tampered["data"]["cieLedger"]["documentId"] += "0"
    expected = {"issued": (wrapped[0], 0), "revoked": (wrapped[1], 2),
                "unissued": (unissued, 1), "tampered": (tampered, 1)}  # fmt: skip
    for name, (document, code) in expected.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        result = CliRunner().invoke(
            app,
            ["oa-verify", str(path), "--document-store", store.address, "--rpc-url",
             scenario.rpc_url],
        )  # fmt: skip
        assert result.exit_code == code, (name, result.output)


def test_verified_ledger_documents_wrap_with_their_ledger_reference(scenario: Scenario) -> None:
    kz = scenario.network.pipeline("KZ")
    verified = [kz.fetch_and_verify(scenario.ids[n]) for n in ("certificate", "manifest")]
    assert [v.provenance.document_id_hex for v in verified] == [
        scenario.ids["certificate"],
        scenario.ids["manifest"],
    ]
    wrapped = wrap_verified_documents(
        verified,
        scenario.network.deployment,
        issuer_name="KZ customs",
        document_store=STORE,
        identity_location="customs.example.kz",
    )
    for document, source in zip(wrapped, verified, strict=True):
        assert verify_wrapped(document).valid
        data = unsalt(document["data"])
        assert data["certificate"] == source.document_json
        assert data["cieLedger"]["documentId"] == source.provenance.document_id_hex
        assert data["cieLedger"]["commitment"] == "0x" + source.commitment.root.hex()
