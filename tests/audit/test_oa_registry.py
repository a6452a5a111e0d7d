"""OpenAttestation issuance on the CIE registry: e-COs anchored on a fresh deployment are
exported as OA v2 documents, their root issued per economy, and checked both with our
client and with the independent verifier @govtechsg/oa-verify (node, tests/audit/oa_verify.js)
through the economy's OaDocumentStore facade. Everything runs on the test's anvil
(127.0.0.1); the DNS identity check of OA is left out (it needs DNS)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import Network, document_of
from typer.testing import CliRunner
from web3.logs import DISCARD

from devnet.anvil import AnvilChain
from ledger_client.audit import export_document_file
from ledger_client.audit.cli import app
from ledger_client.audit.openattestation import (
    OaDocumentError,
    OaIssuedBatch,
    OaLedgerDocument,
    document_store_of,
    document_store_status,
    issue_oa_batch,
    oa_revocation_path,
    obfuscate,
    revoke_oa_document,
    verify_wrapped,
    wrap_ledger_documents,
)
from ledger_client.contract_errors import (
    RegistryOaAlreadyRevoked,
    RegistryOaRootAlreadyIssued,
    RegistryOaRootNotIssued,
)
from ledger_client.deployment import (
    Deployment,
    deploy_oa_document_store,
)
from ledger_client.errors import ConfigurationError
from ledger_client.keystore import create_account_keystore
from ledger_client.ledger import Ledger
from ledger_client.provenance import VerifiedDocument
from manifests import DocumentType

ROOT = Path(__file__).resolve().parents[2]
OA_VERIFY = Path(__file__).with_name("oa_verify.js")
ECO = DocumentType.CERTIFICATE_OF_ORIGIN
HASH, STATUS = "OpenAttestationHash", "OpenAttestationEthereumDocumentStoreStatus"


def oa_verify(rpc_url: str, chain_id: int, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run @govtechsg/oa-verify; per document: fragment name -> {status, reason}.

    A fragment with status ERROR is no verdict: the verifier could not complete a check
    (its reasons: a JSON-RPC failure, an error ethers did not handle). Once in a full CI
    run (905 tests passing around it) the DocumentStore check of one document came back
    ERROR and did not again in isolation or under CPU load; such documents are verified
    again, twice at most, so a deterministic ERROR still fails the test with its reason.
    """
    results = _oa_verify_once(rpc_url, chain_id, documents)
    for _ in range(2):
        again = [
            i for i, r in enumerate(results) if any(f["status"] == "ERROR" for f in r.values())
        ]
        if not again:
            break
        retried = _oa_verify_once(rpc_url, chain_id, [documents[i] for i in again])
        for index, result in zip(again, retried, strict=True):
            results[index] = result
    return results


def _oa_verify_once(
    rpc_url: str, chain_id: int, documents: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules/@govtechsg/oa-verify").is_dir():
        pytest.skip("node or @govtechsg/oa-verify (npm) not installed")
    request = {"rpcUrl": rpc_url, "chainId": chain_id, "documents": documents}
    done = subprocess.run(
        [node, str(OA_VERIFY)],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    return [{f["name"]: f for f in fragments} for fragments in json.loads(done.stdout)]


def store(network: Network, economy: str) -> Any:
    return network.deployment.oa_document_store(network.w3, economy)


@pytest.fixture(scope="module")
def ecos(network: Network) -> list[VerifiedDocument]:
    """Three certificates of origin anchored by KZ in one batch, fetched and verified."""
    kz = network.pipeline("KZ")
    receipts = kz.submit_batch([document_of(ECO, "KZ", seed=s) for s in (1, 2, 3)])
    return [kz.fetch_and_verify(r.document_id) for r in receipts]


@pytest.fixture(scope="module")
def issued(network: Network, ecos: list[VerifiedDocument]) -> OaIssuedBatch:
    return issue_oa_batch(network["KZ"].ledger, ecos, identity_location="customs.example.kz")


def test_export_issues_the_root_under_the_exporting_economy(
    network: Network, ecos: list[VerifiedDocument], issued: OaIssuedBatch
) -> None:
    registry = network["KZ"].ledger.registry
    root = bytes.fromhex(issued.merkle_root)
    assert issued.economy == "KZ"
    assert issued.document_store == network.deployment.oa_document_stores["KZ"].address
    assert registry.oa_issued_at("KZ", root) > 0
    assert registry.oa_issued_at("UZ", root) == 0
    assert len(issued.documents) == len(ecos)
    for document, source in zip(issued.documents, ecos, strict=True):
        assert verify_wrapped(document).valid
        assert document_store_of(document) == issued.document_store
        assert document["signature"]["merkleRoot"] == issued.merkle_root
        data_id = document["data"]["cieLedger"]["documentId"].split(":", 2)[2]
        assert data_id == source.provenance.document_id_hex
        # The economy's facade reports it; another economy's facade does not.
        assert document_store_status(store(network, "KZ"), document) == (True, False)
        assert document_store_status(store(network, "UZ"), document) == (False, False)
    facade = store(network, "KZ")
    assert facade.functions.name().call() == "CIE Ledger KZ"
    assert facade.functions.economy().call() == b"KZ"
    # Issuing the same root again is refused with the registry's typed error.
    with pytest.raises(RegistryOaRootAlreadyIssued):
        registry.issue_oa_root(root)


def test_another_economy_can_neither_export_nor_revoke_kz_documents(
    network: Network, ecos: list[VerifiedDocument], issued: OaIssuedBatch
) -> None:
    uz = network["UZ"].ledger
    before = uz.w3.eth.block_number
    with pytest.raises(OaDocumentError, match="UZ can only issue its own documents"):
        issue_oa_batch(uz, ecos, identity_location="customs.example.uz")
    assert uz.w3.eth.block_number == before  # refused before any transaction
    with pytest.raises(RegistryOaRootNotIssued):
        revoke_oa_document(uz, issued.documents[0])
    with pytest.raises(RegistryOaRootNotIssued):
        revoke_oa_document(uz, issued.documents[0], whole_batch=True)
    assert document_store_status(store(network, "KZ"), issued.documents[0]) == (True, False)
    # A revocation path that does not reach the root is refused before any transaction.
    broken = copy.deepcopy(issued.documents[0])
    broken["signature"]["proof"] = []
    with pytest.raises(OaDocumentError, match="does not lead"):
        oa_revocation_path(broken)
    read_only = Ledger.open(network.w3, network.deployment)
    with pytest.raises(ConfigurationError, match="signing account"):
        issue_oa_batch(read_only, ecos, identity_location="customs.example.kz")


def test_oa_verify_checks_integrity_issuance_and_revocation_on_the_facade(
    network: Network, anvil: AnvilChain, ecos: list[VerifiedDocument], issued: OaIssuedBatch
) -> None:
    """The independent verifier, before and after revoking one document through our client."""
    kz = network["KZ"].ledger
    documents = issued.documents
    tampered = copy.deepcopy(documents[0])
    salt, kind, _ = tampered["data"]["cieLedger"]["version"].split(":", 2)
    tampered["data"]["cieLedger"]["version"] = f"{salt}:{kind}:2"
    redacted = obfuscate(documents[1], ["certificate.exporter", "cieLedger.commitment"])
    # Root issued by KZ, but the documents name UZ's facade as their documentStore.
    wrong_store = wrap_ledger_documents(
        [OaLedgerDocument.from_verified(v) for v in ecos[:2]],
        chain_id=network.deployment.chain_id,
        issuer_name="KZ customs",
        document_store=network.deployment.oa_document_stores["UZ"].address,
        identity_location="customs.example.kz",
    )
    kz.registry.issue_oa_root(bytes.fromhex(wrong_store[0]["signature"]["merkleRoot"]))

    chain_id = network.deployment.chain_id
    results = oa_verify(anvil.rpc_url, chain_id, [*documents, tampered, redacted, wrong_store[0]])
    for result in results[:3]:
        assert result[HASH]["status"] == "VALID"
        assert result[STATUS]["status"] == "VALID", result[STATUS]
    assert results[3][HASH]["status"] == "INVALID"  # tampered
    assert results[4][HASH]["status"] == "VALID"  # obfuscated fields
    assert results[4][STATUS]["status"] == "VALID"
    assert results[5][HASH]["status"] == "VALID"  # intact, but not issued by UZ
    assert results[5][STATUS]["status"] == "INVALID"
    assert results[5][STATUS]["reason"]["codeString"] == "DOCUMENT_NOT_ISSUED"

    receipt = revoke_oa_document(kz, documents[1])
    events = kz.registry.contract.events.OaHashRevoked().process_receipt(receipt, errors=DISCARD)
    assert events[0]["args"]["economy"] == b"KZ"
    assert events[0]["args"]["hash"].hex() == documents[1]["signature"]["targetHash"]
    with pytest.raises(RegistryOaAlreadyRevoked):
        revoke_oa_document(kz, documents[1])
    after = oa_verify(anvil.rpc_url, chain_id, [*documents, redacted])
    assert [r[STATUS]["status"] for r in after] == ["VALID", "INVALID", "VALID", "INVALID"], [
        r[STATUS] for r in after
    ]
    for revoked in (after[1], after[3]):  # the document and its obfuscated copy
        assert revoked[STATUS]["reason"]["codeString"] == "DOCUMENT_REVOKED"
        assert revoked[HASH]["status"] == "VALID"
    assert document_store_status(store(network, "KZ"), documents[1]) == (True, True)
    assert document_store_status(store(network, "KZ"), documents[0]) == (True, False)


def test_cli_exports_verifies_and_revokes(
    network: Network, anvil: AnvilChain, ecos: list[VerifiedDocument], tmp_path: Path
) -> None:
    deployment_file = tmp_path / "deployment.json"
    network.deployment.save(deployment_file)
    kz_key = network["KZ"].account.key  # test fixture key, kept in an encrypted keystore
    keystore, password = tmp_path / "kz.keystore", tmp_path / "password"
    password.write_text("test fixture password\n")
    create_account_keystore(
        keystore, "test fixture password", private_key=bytes(kz_key), kdf="pbkdf2", iterations=2
    )
    files = []
    for n, verified in enumerate(ecos[:2]):
        files.append(tmp_path / f"eco{n}.json")
        files[-1].write_bytes(export_document_file(verified, network.deployment))
    redacted = tmp_path / "redacted.json"
    redacted.write_bytes(export_document_file(ecos[2], network.deployment, hide=["/exporter"]))
    chain = ["--rpc-url", anvil.rpc_url, "--deployment", str(deployment_file)]
    signing = ["--keystore", str(keystore), "--password-file", str(password)]
    out = tmp_path / "oa"
    common = ["--out", str(out), "--identity-location", "customs.example.kz", *signing, *chain]
    runner = CliRunner()

    refused = runner.invoke(app, ["oa-export", str(files[0]), str(redacted), *common])
    assert refused.exit_code == 1, refused.output
    assert not out.exists()  # nothing issued, nothing written

    done = runner.invoke(
        app, ["oa-export", *map(str, files), "--hide", "certificate.consignee", *common]
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["economy"] == "KZ" and len(summary["files"]) == 2
    root = bytes.fromhex(summary["merkleRoot"])
    assert network["KZ"].ledger.registry.oa_issued_at("KZ", root) > 0
    exported = [Path(f) for f in summary["files"]]
    assert "consignee" not in json.loads(exported[0].read_text())["data"]["certificate"]

    verify = ["oa-verify", "--rpc-url", anvil.rpc_url]
    assert runner.invoke(app, [*verify, str(exported[0])]).exit_code == 0
    revoke = runner.invoke(app, ["oa-revoke", str(exported[0]), *signing, *chain])
    assert revoke.exit_code == 0, revoke.output
    assert runner.invoke(app, [*verify, str(exported[0])]).exit_code == 2
    assert runner.invoke(app, [*verify, str(exported[1])]).exit_code == 0
    assert runner.invoke(app, [*verify, "--offline", str(exported[0])]).exit_code == 0
    uz_store = network.deployment.oa_document_stores["UZ"].address
    wrong = runner.invoke(app, [*verify, "--document-store", uz_store, str(exported[1])])
    assert wrong.exit_code == 1
    nowhere = runner.invoke(app, [*verify, "--document-store", "0x" + "12" * 20, str(exported[1])])
    assert nowhere.exit_code == 4 and "is it a contract on this chain" in nowhere.output


def test_deployment_records_one_facade_per_member_and_checks_them(
    network: Network, tmp_path: Path
) -> None:
    deployment = network.deployment
    assert set(deployment.oa_document_stores) == set(network.members)
    path = tmp_path / "deployment.json"
    deployment.save(path)
    assert Deployment.load(path) == deployment
    # A member admitted later deploys its own facade and records it.
    sender = network["KZ"].ledger.sender
    assert sender is not None
    later = deploy_oa_document_store(sender, deployment, "TJ")
    extended = deployment.with_oa_document_store("TJ", later)
    extended.save(path)
    assert Deployment.load(path).oa_document_stores["TJ"] == later
    assert extended.oa_document_store(network.w3, "TJ").functions.economy().call() == b"TJ"
    with pytest.raises(ConfigurationError, match="no OpenAttestation DocumentStore for MN"):
        deployment.oa_document_store(network.w3, "MN")
    with pytest.raises(ConfigurationError, match="economy"):
        deployment.with_oa_document_store("kz", later)
    data = json.loads(path.read_text())
    data["oaDocumentStores"]["TJ"]["abiSha256"] = "00" * 32
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError, match=r"OaDocumentStore .* another ABI"):
        Deployment.load(path)
