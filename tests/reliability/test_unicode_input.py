"""Unicode edge cases through the node API: each is refused with the field and rule
and leaves no trace (chain, IPFS pins, outbox, node database), or is accepted in
one canonical form (NFC), so two spellings of one document are one document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from manifests.generate import DocumentGenerator
from node.services.api_keys import Role
from tests.node.network import Network
from tests.node.test_api import NodeClient
from tests.reliability.conftest import trace

MANIFEST = "/documents/PRE_ARRIVAL_MANIFEST"


def _manifest(seed: int = 5150) -> dict[str, Any]:
    return DocumentGenerator(seed).manifest(origin="KZ", destination="UZ").model_dump(mode="json")


def _named(name: str) -> bytes:
    data = _manifest()
    data["consignee"]["name"] = name
    return json.dumps(data, ensure_ascii=False).encode()


def _referenced(reference: str) -> bytes:
    data = _manifest()
    data["reference"] = reference
    return json.dumps(data, ensure_ascii=False).encode()


# case -> (raw body, expected field, expected rule)
CASES: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "NUL inside a name": (
        lambda: _named("Acme\u0000 Trading"),
        "consignee.name",
        "text.control_character",
    ),
    "bidi override inside a name": (
        lambda: _named("Acme \u202etxeT"),
        "consignee.name",
        "text.bidi_control",
    ),
    "bidi isolate inside a name": (
        lambda: _named("Acme \u2067x\u2069"),
        "consignee.name",
        "text.bidi_control",
    ),
    "lone surrogate escaped in JSON": (
        lambda: _named("Acme Trading").replace(b'"Acme Trading"', b'"Acme \\ud800 Trading"'),
        "consignee.name",
        "type.string",
    ),
    "bytes that are not UTF-8": (
        lambda: _named("Acme Trading").replace(b"Acme", b"Ac\xffme"),
        "",
        "payload.encoding",
    ),
    "100,000-character name": (lambda: _named("A" * 100_000), "consignee.name", "string.too_long"),
    "full-width letters in a reference (homoglyph duplicate)": (
        lambda: _referenced("KZ-\uff2d\uff21\uff2e-1"),
        "reference",
        "reference.format",
    ),
    "zero-width space in a reference (invisible duplicate)": (
        lambda: _referenced("KZ-MAN-1\u200b"),
        "reference",
        "reference.format",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=lambda c: c.replace(" ", "_"))
def test_a_unicode_edge_case_is_refused_with_its_field_and_rule_and_leaves_no_trace(
    network: Network, nodes: dict[str, NodeClient], case: str
) -> None:
    body, field, rule = CASES[case]
    kz = nodes["KZ"]
    before = trace(network, kz)
    response = kz.call(
        "POST",
        MANIFEST,
        Role.SUBMITTER,
        content=body(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    found = [(e["field"], e["rule"]) for e in response.json()["errors"]]
    assert any(f == field and r.startswith(rule) for f, r in found), found
    assert trace(network, kz) == before


def test_nfd_and_nfc_spellings_are_one_document_not_two(
    network: Network, nodes: dict[str, NodeClient]
) -> None:
    kz = nodes["KZ"]
    data = _manifest(5151)
    data["consignee"]["name"] = "Cafe\u0301 Ozbek"  # NFD: e + combining acute
    first = kz.call("POST", MANIFEST, Role.SUBMITTER, json=data)
    assert first.status_code == 201 and first.json()["created"] is True
    before = trace(network, kz)
    data["consignee"]["name"] = "Caf\u00e9 Ozbek"  # NFC: precomposed
    again = kz.call("POST", MANIFEST, Role.SUBMITTER, json=data)
    assert again.status_code == 201, again.text
    assert again.json()["created"] is False  # the same document, no second anchoring
    assert again.json()["document_id"] == first.json()["document_id"]
    assert trace(network, kz) == before
    stored = kz.call("GET", f"/documents/{first.json()['document_id']}", Role.AUDITOR).json()
    assert stored["document"]["consignee"]["name"] == "Caf\u00e9 Ozbek"
