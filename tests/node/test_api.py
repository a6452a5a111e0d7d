"""The node API in process (TestClient) over real chain, IPFS and SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger_client.records import CheckpointKind, document_id
from manifests.generate import DocumentGenerator, generate_transit_declaration
from manifests.importers.csv_documents import export_csv
from node.db import RiskOutcome
from node.risk import ReferenceRiskEngine, RiskEngine
from node.runtime import NodeRuntime
from node.services.api_keys import Role
from node.settings import NodeSettings, RiskRules
from tests.node.api_client import ROLES, NodeClient
from tests.node.network import Member, Network


def _runtime(member: Member, directory: Path) -> NodeRuntime:
    rules = RiskRules(base_inspection_rate=0.0)
    settings = NodeSettings(
        economy=member.economy,
        database_url=f"sqlite:///{directory / (member.economy + '-node.db')}",
        confirmations=0,
        run_listener=False,
        start_block=member.ledger.w3.eth.block_number,
        share_reasons_with=["*"],
    )
    return NodeRuntime.build(
        settings,
        ledger=member.ledger,
        ipfs=member.ipfs,
        encryption_key=member.key,
        pipeline=member.pipeline,
        engine=RiskEngine([ReferenceRiskEngine(rules)], rules),
    )


@pytest.fixture(scope="module")
def nodes(
    network: Network, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, NodeClient]]:
    directory = tmp_path_factory.mktemp("api")
    clients = {e: NodeClient(_runtime(network[e], directory)) for e in ("KZ", "UZ")}
    yield clients
    for c in clients.values():
        c.runtime.db.close()
        c.runtime.dispatcher.close()


GEN = DocumentGenerator(4242)


def _manifest_json() -> dict[str, Any]:
    return GEN.manifest(origin="KZ", destination="UZ").model_dump(mode="json")


ZERO_ID = "0x" + document_id("KZ", 1, 2**62).hex()  # well formed, never anchored

ENDPOINTS = [
    ("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER),
    ("POST", "/documents/PRE_ARRIVAL_MANIFEST/bulk", Role.SUBMITTER),
    ("PUT", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER),
    ("POST", f"/documents/{ZERO_ID}/revoke", Role.SUBMITTER),
    ("POST", f"/documents/{ZERO_ID}/checkpoints", Role.SUBMITTER),
    ("POST", f"/documents/{ZERO_ID}/acknowledge", Role.RISK_OFFICER),
    ("GET", "/inbox", (Role.RISK_OFFICER, Role.AUDITOR)),
    ("GET", f"/documents/{ZERO_ID}", (Role.SUBMITTER, Role.RISK_OFFICER, Role.AUDITOR)),
    ("GET", "/aeo", (Role.SUBMITTER, Role.RISK_OFFICER, Role.AUDITOR)),
    ("GET", "/transit/overdue", (Role.RISK_OFFICER, Role.AUDITOR)),
    ("POST", "/aeo", Role.NODE_ADMIN),
    ("POST", "/aeo/KZAEO1/suspend", Role.NODE_ADMIN),
    ("POST", "/admin/api-keys", Role.NODE_ADMIN),
    ("GET", "/admin/webhooks/dead-letters", Role.NODE_ADMIN),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS)
def test_every_endpoint_enforces_its_role(
    nodes: dict[str, NodeClient], method: str, path: str, allowed: Role | tuple[Role, ...]
) -> None:
    allowed_roles = allowed if isinstance(allowed, tuple) else (allowed,)
    kz, uz = nodes["KZ"], nodes["UZ"]
    response = kz.call(method, path, json={})
    assert response.status_code == 401
    assert response.json()["errors"][0]["rule"] == "auth.missing_key"
    foreign = uz.keys[allowed_roles[0]]  # valid on UZ's node, unknown on KZ's
    response = kz.call(method, path, json={}, headers={"X-API-Key": foreign})
    assert response.status_code == 401
    assert response.json()["errors"][0]["rule"] == "auth.invalid_key"
    for role in ROLES:
        if role in allowed_roles:
            continue
        response = kz.call(method, path, role, json={})
        assert response.status_code == 403, (role, response.text)
        assert response.json()["errors"][0]["rule"] == "auth.role"


def test_submit_read_amend_revoke_and_inbox(network: Network, nodes: dict[str, NodeClient]) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    doc = _manifest_json()
    response = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=doc)
    assert response.status_code == 201, response.text
    submitted = response.json()
    assert submitted["version"] == 1 and submitted["state"] == "anchored"
    doc_id = submitted["document_id"]
    again = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=doc)
    assert again.status_code == 201 and again.json()["created"] is False  # idempotent

    read = kz.call("GET", f"/documents/{doc_id}", Role.AUDITOR)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["readable"] and body["document"]["reference"] == doc["reference"]
    assert body["provenance"]["issuer_economy"] == "KZ"
    assert body["provenance"]["destinations"] == ["UZ"]

    amended = dict(doc, transport_documents=dict(doc["transport_documents"], house=["HBL777"]))
    response = kz.call("PUT", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=amended)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    v1 = kz.call("GET", f"/documents/{doc_id}?version=1", Role.AUDITOR).json()
    assert v1["provenance"]["latest_version"] == 2 and v1["document"] == doc

    uz.runtime.listener.poll_once()
    page = uz.call("GET", "/inbox?issuer=KZ&limit=1&offset=0", Role.RISK_OFFICER).json()
    assert page["total"] >= 2 and len(page["items"]) == 1
    mine = uz.call(
        "GET", "/inbox?state=acknowledged&doc_type=PRE_ARRIVAL_MANIFEST&limit=500", Role.AUDITOR
    ).json()
    versions = {(i["document_id"], i["version"]) for i in mine["items"]}
    assert {(doc_id, 1), (doc_id, 2)} <= versions
    read = kz.call("GET", f"/documents/{doc_id}", Role.AUDITOR).json()
    assert {(a["economy"], a["version"]) for a in read["provenance"]["acknowledgements"]} == {
        ("UZ", 1),
        ("UZ", 2),
    }
    assert all(a["reasons_shared"] for a in read["provenance"]["acknowledgements"])

    response = kz.call(
        "POST", f"/documents/{doc_id}/revoke", Role.SUBMITTER, json={"reason_code": 3}
    )
    assert response.status_code == 200, response.text
    again = kz.call("POST", f"/documents/{doc_id}/revoke", Role.SUBMITTER, json={"reason_code": 3})
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "RegistryDocumentRevoked"


def test_bulk_json_and_csv(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    docs = [_manifest_json(), _manifest_json()]
    response = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST/bulk", Role.SUBMITTER, json=docs)
    assert response.status_code == 201, response.text
    assert [r["reference"] for r in response.json()] == [d["reference"] for d in docs]
    csv_docs = [GEN.manifest(origin="KZ", destination="UZ") for _ in range(2)]
    response = kz.call(
        "POST",
        "/documents/PRE_ARRIVAL_MANIFEST/bulk",
        Role.SUBMITTER,
        content=export_csv(csv_docs),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    assert sorted(r["reference"] for r in response.json()) == sorted(d.reference for d in csv_docs)


def test_transit_checkpoints(network: Network, nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    transit = generate_transit_declaration(77, itinerary=["KZ", "UZ"])
    response = kz.call(
        "POST",
        "/documents/TRANSIT_DECLARATION",
        Role.SUBMITTER,
        json=transit.model_dump(mode="json"),
    )
    assert response.status_code == 201, response.text
    doc_id = response.json()["document_id"]
    response = kz.call(
        "POST", f"/documents/{doc_id}/checkpoints", Role.SUBMITTER, json={"kind": "DEPARTURE"}
    )
    assert response.status_code == 200, response.text
    out_of_order = kz.call(
        "POST", f"/documents/{doc_id}/checkpoints", Role.SUBMITTER, json={"kind": "ARRIVAL"}
    )
    assert out_of_order.status_code == 409
    assert out_of_order.json()["errors"][0]["rule"].startswith("Registry")
    read = kz.call("GET", f"/documents/{doc_id}", Role.AUDITOR).json()
    assert [c["kind"] for c in read["provenance"]["checkpoints"]] == [CheckpointKind.DEPARTURE.name]


def test_overdue_transit_until_arrival(network: Network, nodes: dict[str, NodeClient]) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    transit = generate_transit_declaration(78, itinerary=["KZ", "UZ"])
    assert transit.arrival_time_limit < datetime.now(UTC)  # sample data lies in the past
    response = kz.call(
        "POST",
        "/documents/TRANSIT_DECLARATION",
        Role.SUBMITTER,
        json=transit.model_dump(mode="json"),
    )
    doc_id = response.json()["document_id"]
    uz.runtime.listener.poll_once()
    overdue = uz.call("GET", "/transit/overdue", Role.RISK_OFFICER).json()
    assert doc_id in [o["document_id"] for o in overdue]
    with uz.runtime.db.sessions() as s:
        outcome = s.get(RiskOutcome, (doc_id[2:], 1))
    assert outcome is not None and "transit.overdue" in outcome.reasons
    assert (
        kz.call(
            "POST", f"/documents/{doc_id}/checkpoints", Role.SUBMITTER, json={"kind": "DEPARTURE"}
        ).status_code
        == 200
    )
    assert (
        uz.call(
            "POST", f"/documents/{doc_id}/checkpoints", Role.SUBMITTER, json={"kind": "ARRIVAL"}
        ).status_code
        == 200
    )
    uz.runtime.listener.poll_once()
    overdue = uz.call("GET", "/transit/overdue", Role.AUDITOR).json()
    assert doc_id not in [o["document_id"] for o in overdue]


def test_manual_acknowledgement_overrides_the_hooks(
    network: Network, nodes: dict[str, NodeClient]
) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    doc = _manifest_json()
    doc_id = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=doc).json()[
        "document_id"
    ]
    uz.runtime.listener.scan_once()  # in the inbox, not yet assessed
    response = uz.call(
        "POST",
        f"/documents/{doc_id}/acknowledge",
        Role.RISK_OFFICER,
        json={"version": 1, "lane": "RED", "reason": "intelligence report 42"},
    )
    assert response.status_code == 200, response.text
    lane, _ = network["UZ"].ledger.registry.acknowledgement(bytes.fromhex(doc_id[2:]), 1, "UZ")
    assert lane is not None and lane.name == "RED"
    again = uz.call(
        "POST",
        f"/documents/{doc_id}/acknowledge",
        Role.RISK_OFFICER,
        json={"version": 1, "lane": "GREEN", "reason": "changed my mind"},
    )
    assert again.status_code == 409
    uz.runtime.listener.process_pending()  # the hooks do not overwrite the officer
    lane, _ = network["UZ"].ledger.registry.acknowledgement(bytes.fromhex(doc_id[2:]), 1, "UZ")
    assert lane is not None and lane.name == "RED"
    unknown = uz.call(
        "POST",
        f"/documents/{ZERO_ID}/acknowledge",
        Role.RISK_OFFICER,
        json={"version": 1, "lane": "RED", "reason": "x"},
    )
    assert unknown.status_code == 409


def test_aeo_management(network: Network, nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    now = int(time.time())
    body = {"aeo_id": "KZAEO000777", "tier": 1, "valid_from": now - 10, "valid_until": now + 86400}
    response = kz.call("POST", "/aeo", Role.NODE_ADMIN, json=body)
    assert response.status_code == 201, response.text
    from node.risk import operator_id_of

    assert response.json()["operator_id"] == "0x" + operator_id_of("KZAEO000777").hex()
    assert (
        network["KZ"].ledger.aeo.recognition("KZ", operator_id_of("KZAEO000777"), "KZ").recognized
    )
    listed = kz.call("GET", "/aeo", Role.AUDITOR).json()
    assert [a["aeo_id"] for a in listed] == ["KZAEO000777"]
    response = kz.call("POST", "/aeo/KZAEO000777/suspend", Role.NODE_ADMIN)
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    assert (
        not network["KZ"]
        .ledger.aeo.recognition("KZ", operator_id_of("KZAEO000777"), "KZ")
        .recognized
    )
    assert kz.call("POST", "/aeo/KZAEO000999/suspend", Role.NODE_ADMIN).status_code == 404


def test_admin_creates_keys_that_work(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    response = kz.call(
        "POST", "/admin/api-keys", Role.NODE_ADMIN, json={"name": "bob", "role": "auditor"}
    )
    assert response.status_code == 201
    key = response.json()["key"]
    assert kz.call("GET", "/inbox", headers={"X-API-Key": key}).status_code == 200
    assert (
        kz.call("GET", "/admin/webhooks/dead-letters", headers={"X-API-Key": key}).status_code
        == 403
    )
    assert kz.call("GET", "/admin/webhooks/dead-letters", Role.NODE_ADMIN).json() == []


def _anchored_count(network: Network) -> int:
    registry = network["KZ"].ledger.registry
    return len(registry.contract.events.BatchAnchored().get_logs(from_block=registry.from_block))


def test_bad_input_is_refused_with_field_and_rule_and_nothing_anchored(
    network: Network, nodes: dict[str, NodeClient]
) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    before = _anchored_count(network)
    bad = _manifest_json()
    bad["goods_items"][0]["hs_code"] = "12"
    response = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=bad)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert any(
        e["field"] == "goods_items[0].hs_code" and e["rule"].startswith("hs_code") for e in errors
    ), errors

    not_json = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, content=b"{nope")
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["rule"]

    empty = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, content=b"")
    assert empty.status_code == 422 and empty.json()["errors"][0]["rule"] == "body.empty"

    other_issuer = GEN.manifest(origin="UZ", destination="KZ").model_dump(mode="json")
    response = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=other_issuer)
    assert response.status_code == 422
    assert "issuer_economy.not_this_member" in [e["rule"] for e in response.json()["errors"]]

    response = kz.call("POST", "/documents/NOT_A_TYPE", Role.SUBMITTER, json=_manifest_json())
    assert (
        response.status_code == 422 and response.json()["errors"][0]["rule"] == "doc_type.unknown"
    )

    batch = [_manifest_json(), bad]
    response = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST/bulk", Role.SUBMITTER, json=batch)
    assert response.status_code == 422
    assert {e.get("item") for e in response.json()["errors"]} == {1}

    response = kz.call(
        "POST",
        "/documents/PRE_ARRIVAL_MANIFEST/bulk",
        Role.SUBMITTER,
        content="reference,nonsense\nx,y\n",
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["rule"]
    response = kz.call(
        "POST",
        "/documents/PRE_ARRIVAL_MANIFEST/bulk",
        Role.SUBMITTER,
        content="x",
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code == 415

    changed = _manifest_json()
    kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=changed)
    before = _anchored_count(network)
    changed["transport_documents"] = dict(changed["transport_documents"], house=["HBL1"])
    conflict = kz.call("POST", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=changed)
    assert (
        conflict.status_code == 409 and conflict.json()["errors"][0]["rule"] == "reference.conflict"
    )
    never = _manifest_json()
    response = kz.call("PUT", "/documents/PRE_ARRIVAL_MANIFEST", Role.SUBMITTER, json=never)
    assert response.status_code == 404
    assert response.json()["errors"][0]["rule"] == "reference.unknown"

    assert (
        kz.call("GET", "/documents/0x1234", Role.AUDITOR).json()["errors"][0]["rule"]
        == "document_id.format"
    )
    assert kz.call("GET", f"/documents/{ZERO_ID}", Role.AUDITOR).status_code == 404
    malformed = kz.call("GET", "/documents/0x" + "00" * 32, Role.AUDITOR)
    assert malformed.json()["errors"][0]["rule"] == "document_id.structure"
    assert kz.call("GET", f"/documents/{ZERO_ID}?version=0", Role.AUDITOR).status_code == 422
    revoke = kz.call(
        "POST", f"/documents/{ZERO_ID}/revoke", Role.SUBMITTER, json={"reason_code": 0}
    )
    assert revoke.status_code == 422 and revoke.json()["errors"][0]["field"] == "reason_code"
    kind = kz.call(
        "POST", f"/documents/{ZERO_ID}/checkpoints", Role.SUBMITTER, json={"kind": "LANDED"}
    )
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "kind"
    lane = uz.call(
        "POST",
        f"/documents/{ZERO_ID}/acknowledge",
        Role.RISK_OFFICER,
        json={"version": 1, "lane": "BLUE", "reason": "x"},
    )
    assert lane.status_code == 422 and lane.json()["errors"][0]["field"] == "lane"
    inbox = uz.call("GET", "/inbox?lane=BLUE", Role.AUDITOR)
    assert inbox.status_code == 422 and inbox.json()["errors"][0]["field"] == "lane"
    assert uz.call("GET", "/inbox?limit=0", Role.AUDITOR).status_code == 422
    aeo = kz.call(
        "POST",
        "/aeo",
        Role.NODE_ADMIN,
        json={"aeo_id": "bad", "tier": 1, "valid_from": 0, "valid_until": 1},
    )
    assert aeo.status_code == 422 and aeo.json()["errors"][0]["field"] == "aeo_id"
    foreign_aeo = kz.call(
        "POST",
        "/aeo",
        Role.NODE_ADMIN,
        json={"aeo_id": "UZAEO1", "tier": 1, "valid_from": 0, "valid_until": 1},
    )
    assert foreign_aeo.json()["errors"][0]["rule"] == "aeo_id.other_economy"
    key = kz.call("POST", "/admin/api-keys", Role.NODE_ADMIN, json={"name": "x", "role": "king"})
    assert key.status_code == 422 and key.json()["errors"][0]["field"] == "role"
    assert _anchored_count(network) == before  # nothing of the bad input reached the chain


def test_health_readiness_and_metrics(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    assert kz.call("GET", "/health").json() == {"status": "ok"}
    ready = kz.call("GET", "/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    metrics = kz.call("GET", "/metrics")
    assert metrics.status_code == 200 and "cie_node_events_total" in metrics.text
