"""Through the node API, acting on documents that are not the caller's to act on:
revoking another economy's document, a checkpoint by an economy off the
itinerary, acknowledging as a non-destination. Each is a 409 naming the rule,
and the calling node leaves no trace (chain, pins, outbox, node database).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from manifests.generate import DocumentGenerator, generate_transit_declaration
from node.services.api_keys import Role
from tests.node.network import Network
from tests.node.test_api import NodeClient
from tests.reliability.conftest import trace


@pytest.fixture(scope="module")
def kz_documents(nodes: dict[str, NodeClient]) -> dict[str, str]:
    """A KZ -> UZ manifest and a KZ -> AZ transit declaration (departed), anchored by KZ."""
    kz = nodes["KZ"]
    manifest = DocumentGenerator(7070).manifest(origin="KZ", destination="UZ")
    transit = generate_transit_declaration(7071, itinerary=["KZ", "AZ"])
    ids = {}
    for name, path, document in (
        ("manifest", "/documents/PRE_ARRIVAL_MANIFEST", manifest),
        ("transit", "/documents/TRANSIT_DECLARATION", transit),
    ):
        response = kz.call("POST", path, Role.SUBMITTER, json=document.model_dump(mode="json"))
        assert response.status_code == 201, response.text
        ids[name] = response.json()["document_id"]
    departed = kz.call(
        "POST",
        f"/documents/{ids['transit']}/checkpoints",
        Role.SUBMITTER,
        json={"kind": "DEPARTURE"},
    )
    assert departed.status_code == 200, departed.text
    return ids


# case -> (calling node, request given the ids, expected rule)
CASES: dict[str, tuple[str, Callable[[dict[str, str]], tuple[str, str, Role, Any]], str]] = {
    "revoke another economy's document": (
        "UZ",
        lambda ids: (
            "POST",
            f"/documents/{ids['manifest']}/revoke",
            Role.SUBMITTER,
            {"reason_code": 1},
        ),
        "RegistryNotIssuer",
    ),
    "checkpoint by an economy off the itinerary": (
        "UZ",
        lambda ids: (
            "POST",
            f"/documents/{ids['transit']}/checkpoints",
            Role.SUBMITTER,
            {"kind": "INCIDENT"},
        ),
        "RegistryNotOnItinerary",
    ),
    "acknowledgement by a non-destination (the issuer itself)": (
        "KZ",
        lambda ids: (
            "POST",
            f"/documents/{ids['manifest']}/acknowledge",
            Role.RISK_OFFICER,
            {"version": 1, "lane": "GREEN", "reason": "mine anyway"},
        ),
        "acknowledge.not_allowed",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: c.replace(" ", "_"))
def test_acting_on_a_document_that_is_not_the_callers_is_409_and_leaves_no_trace(
    network: Network, nodes: dict[str, NodeClient], kz_documents: dict[str, str], case: str
) -> None:
    economy, request, rule = CASES[case]
    node = nodes[economy]
    method, path, role, body = request(kz_documents)
    before = trace(network, node)
    response = node.call(method, path, role, json=body)
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["rule"] == rule
    assert trace(network, node) == before
