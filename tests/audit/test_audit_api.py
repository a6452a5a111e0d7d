"""The node's auditor endpoints (/audit/*) in process, over the audit scenario's real
chain and IPFS: every verdict, roles, bad input, HTML, batches and the aggregate report."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_helpers import VERDICTS, Scenario, comparable

from ledger_client.audit import verify_document_file
from ledger_client.audit.document_file import MAX_DOCUMENT_FILE_BYTES
from node.runtime import NodeRuntime
from node.services.api_keys import Role, authenticate, create_api_key, revoke_api_key
from node.settings import NodeSettings
from tests.node.api_client import ROLES, NodeClient

EXIT = {"VALID": 0, "REDACTED_VALID": 0, "TAMPERED": 1, "UNKNOWN": 1, "WRONG_CHAIN": 1,
        "REVOKED": 2, "SUPERSEDED": 3}  # fmt: skip
ENDPOINTS = [("POST", "/audit/verify"), ("POST", "/audit/verify/batch"), ("GET", "/audit/report")]


@pytest.fixture(scope="module")
def node(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeClient]:
    """KZ's node service on the scenario's chain (the issuer's node; any member's would do)."""
    network = scenario.network
    directory: Path = tmp_path_factory.mktemp("audit-api")
    settings = NodeSettings(
        economy="KZ",
        database_url=f"sqlite:///{directory / 'node.db'}",
        confirmations=0,
        run_listener=False,
    )
    runtime = NodeRuntime.build(
        settings,
        ledger=network["KZ"].ledger,
        ipfs=network.exporter_store,
        encryption_key=network["KZ"].key,
        pipeline=network.pipeline("KZ"),
    )
    client = NodeClient(runtime)
    yield client
    runtime.dispatcher.close()
    runtime.db.close()


def verify(node: NodeClient, body: bytes, **kw: object):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}  # type: ignore[dict-item]
    return node.call("POST", "/audit/verify", Role.AUDITOR, content=body, headers=headers, **kw)


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_each_file_gets_the_cli_report_through_the_endpoint(
    node: NodeClient, scenario: Scenario, name: str
) -> None:
    response = verify(node, scenario.files[name])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["schema"] == "cie-ledger/audit-report/v1"
    assert body["verdict"] == VERDICTS[name].value, body["findings"]
    assert body["exit_code"] == EXIT[body["verdict"]]
    library = verify_document_file(scenario.files[name], scenario.ledger)
    assert comparable(body) == comparable(library)


def test_the_html_report_by_query_or_accept_header(node: NodeClient, scenario: Scenario) -> None:
    for kw in ({"params": {"format": "html"}}, {"headers": {"Accept": "text/html"}}):
        response = verify(node, scenario.files["revoked"], **kw)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>") and "REVOKED" in response.text
    as_json = verify(node, scenario.files["revoked"], headers={"Accept": "application/json"})
    assert as_json.json()["verdict"] == "REVOKED"
    explicit = verify(node, scenario.files["revoked"], params={"format": "json"},
                      headers={"Accept": "text/html"})  # fmt: skip
    assert explicit.json()["verdict"] == "REVOKED"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_only_auditors_may_call_and_keys_are_checked(
    node: NodeClient, method: str, path: str
) -> None:
    response = node.call(method, path, content=b"{}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["rule"] == "auth.missing_key"
    response = node.call(method, path, content=b"{}", headers={"X-API-Key": "cie_" + "x" * 43})
    assert response.status_code == 401
    assert response.json()["errors"][0]["rule"] == "auth.invalid_key"
    for role in ROLES:
        if role is not Role.AUDITOR:
            response = node.call(method, path, role, content=b"{}")
            assert response.status_code == 403, (role, response.text)
            assert response.json()["errors"][0]["rule"] == "auth.role"


def test_a_revoked_auditor_key_is_refused(node: NodeClient, scenario: Scenario) -> None:
    key = create_api_key(node.runtime.db, "short-lived auditor", Role.AUDITOR)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    ok = node.client.post("/audit/verify", content=scenario.files["valid"], headers=headers)
    assert ok.status_code == 200
    principal = authenticate(node.runtime.db, key)
    assert principal is not None and revoke_api_key(node.runtime.db, principal.key_id)
    refused = node.client.post("/audit/verify", content=scenario.files["valid"], headers=headers)
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        (b"not json", "audit.document_file"),
        (b"[]", "audit.document_file"),
        (b'{"format": "cie-ledger/document-file/v1"}', "audit.document_file"),
        (b"   ", "body.empty"),
    ],
)
def test_a_body_that_is_not_a_document_file_is_422_naming_why(
    node: NodeClient, body: bytes, rule: str
) -> None:
    response = verify(node, body)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["rule"] == rule and error["message"]


def test_an_oversize_body_is_413_before_it_is_parsed(node: NodeClient) -> None:
    response = verify(node, b" " * (MAX_DOCUMENT_FILE_BYTES + 1))
    assert response.status_code == 413
    # The audit route's own limit, or the API's general body cap when it is lower.
    assert response.json()["errors"][0]["rule"] in ("audit.too_large", "body.too_large")


def test_a_json_array_batch_gives_each_report_and_the_verdict_counts(
    node: NodeClient, scenario: Scenario
) -> None:
    names = sorted(VERDICTS)
    array = [json.loads(scenario.files[n]) for n in names] + [{"format": "nope"}]
    response = node.call("POST", "/audit/verify/batch", Role.AUDITOR, json=array)
    assert response.status_code == 200, response.text
    batch = response.json()
    assert batch["schema"] == "cie-ledger/audit-batch/v1"
    assert batch["total"] == len(names) + 1
    assert [r["source"] for r in batch["results"]] == [f"[{i}]" for i in range(len(names) + 1)]
    for name, result in zip(names, batch["results"], strict=False):
        assert result["verdict"] == VERDICTS[name].value, name
        assert result["report"]["verdict"] == result["verdict"]
        assert result["exit_code"] == EXIT[result["verdict"]]
    unreadable = batch["results"][-1]
    assert unreadable["verdict"] == "UNREADABLE" and unreadable["report"] is None
    assert "format" in unreadable["error"]
    expected_counts = {v: 0 for v in (*EXIT, "UNREADABLE")}
    for verdict in VERDICTS.values():
        expected_counts[verdict.value] += 1
    expected_counts["UNREADABLE"] = 1
    assert batch["summary"] == expected_counts
    assert batch["exit_code"] == 1


def test_a_zip_batch_and_its_status(node: NodeClient, scenario: Scenario) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("valid", "superseded", "redacted_valid"):
            archive.writestr(f"files/{name}.json", scenario.files[name])
        archive.writestr("README.txt", "not a document file, not read")
    response = node.call(
        "POST",
        "/audit/verify/batch",
        Role.AUDITOR,
        content=buffer.getvalue(),
        headers={"Content-Type": "application/zip"},
    )
    assert response.status_code == 200, response.text
    batch = response.json()
    assert [r["source"] for r in batch["results"]] == [
        "files/redacted_valid.json",
        "files/superseded.json",
        "files/valid.json",
    ]
    assert (batch["summary"]["VALID"], batch["summary"]["REDACTED_VALID"]) == (1, 1)
    assert batch["summary"]["SUPERSEDED"] == 1
    assert batch["exit_code"] == 3  # worst of VALID (0) and SUPERSEDED (3)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "rule"),
    [
        (b'{"not": "an array"}', "application/json", 422, "audit.batch"),
        (b"[1, 2", "application/json", 422, "audit.batch"),
        (b"PK\x03\x04 truncated", "application/zip", 422, "audit.batch"),
        (b"a,b\n1,2\n", "text/csv", 415, "audit.media_type"),
    ],
)
def test_a_batch_body_that_is_no_array_or_zip_is_refused(
    node: NodeClient, content: bytes, content_type: str, status: int, rule: str
) -> None:
    response = node.call(
        "POST",
        "/audit/verify/batch",
        Role.AUDITOR,
        content=content,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["rule"] == rule


def test_the_aggregate_report_as_json_and_csv(node: NodeClient, scenario: Scenario) -> None:
    response = node.call("GET", "/audit/report", Role.AUDITOR)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["schema"] == "cie-ledger/audit-analytics/v1"
    assert report["documents"] >= len(scenario.ids) and report["revoked"] >= 1
    csv = node.call("GET", "/audit/report", Role.AUDITOR, params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "section,economy,counterpart,doc_type,period,metric,value"
    bad = node.call("GET", "/audit/report", Role.AUDITOR, params={"from_block": 9, "to_block": 3})
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "audit.block_range"


def test_the_openapi_document_describes_the_bodies(node: NodeClient) -> None:
    paths = node.client.get("/openapi.json").json()["paths"]
    single = paths["/audit/verify"]["post"]
    assert "application/json" in single["requestBody"]["content"]
    assert "text/html" in single["responses"]["200"]["content"]
    batch = paths["/audit/verify/batch"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/zip"} <= set(batch)
