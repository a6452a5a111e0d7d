"""Every bad file ends in rejected/ with the field and rule that failed, and nothing on chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lxml import etree
from web3 import Web3

from ledger_client.records import economy_bytes
from manifests.generate import generate_manifest
from manifests.importers import export_csv
from manifests.xml import document_to_xml
from tests.node.network import Network
from tests.simple.exchange import FULL, SIMPLE, SimpleNode, drop


def _errors(node: SimpleNode, name: str, folder: str = "rejected") -> list[dict[str, Any]]:
    base = node.folders.rejected if folder == "rejected" else node.folders.decisions_rejected
    assert (base / name).is_file(), f"{name} is not in {folder}/"
    record = json.loads((base / (name + ".errors.json")).read_text())
    assert record["errors"], record
    return list(record["errors"])


def _pairs(errors: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in errors}


def _manifest(seed: str) -> dict[str, Any]:
    return generate_manifest(seed, origin=SIMPLE, destination=FULL).model_dump(mode="json")


def test_bad_files_are_rejected_precisely_and_nothing_is_anchored(
    w3: Web3, simple_node: Callable[..., SimpleNode]
) -> None:
    node = simple_node(max_file_bytes=64 * 1024)
    inbox = node.folders.inbox

    original = _manifest("reject-dup")
    drop(inbox, "00-original.json", json.dumps(original))
    assert node.simple.inbound.run_once().done == ["00-original.json"]
    account = node.member.ledger.sender.address  # type: ignore[union-attr]
    nonce, block = w3.eth.get_transaction_count(account), w3.eth.block_number

    wrong_types = _manifest("reject-types")
    wrong_types["goods_items"][0]["packages"]["count"] = "many"
    wrong_types["goods_items"][0]["value"] = {"amount": "lots", "currency": "USD"}
    bad_codes = _manifest("reject-codes")
    bad_codes["goods_items"][0]["hs_code"] = "12AB"
    bad_codes["goods_items"][0]["value"]["currency"] = "XYZ"
    bad_codes["destinations"] = ["QQ"]
    not_member = _manifest("reject-member")
    not_member["destinations"] = [*not_member["destinations"], "AZ"]
    other_issuer = generate_manifest("reject-issuer", origin=FULL, destination=SIMPLE)
    duplicate = dict(original, goods_items=original["goods_items"][:1])
    duplicate["goods_items"][0] = dict(duplicate["goods_items"][0], description="changed goods")
    csv_text = export_csv([generate_manifest("reject-csv", origin=SIMPLE, destination=FULL)])
    header, first_row = csv_text.splitlines()[:2]
    xml = document_to_xml(generate_manifest("reject-xml", origin=SIMPLE, destination=FULL))
    tree = etree.fromstring(xml)
    tree.find("goods_items/item/gross_mass_kg").text = "heavy"  # type: ignore[union-attr]
    etree.SubElement(tree, "remarks").text = "not in the schema"

    files: dict[str, str | bytes] = {
        "malformed.json": '{"schema_version": "cie.manifest/1", "reference": ',
        "malformed.manifest.csv": header + "\n" + first_row + ',"unclosed\n',
        "bad-column.manifest.csv": header + ",goods_items.colour\n" + first_row + ",red",
        "malformed.xml": xml[:-30],
        "xsd.xml": etree.tostring(tree, xml_declaration=True, encoding="UTF-8"),
        "wrong-types.json": json.dumps(wrong_types),
        "bad-codes.json": json.dumps(bad_codes),
        "not-member.json": json.dumps(not_member),
        "other-issuer.json": other_issuer.model_dump_json(),
        "oversize.json": json.dumps(_manifest("reject-big")) + " " * (70 * 1024),
        "notes.txt": "hello",
        "no-type.csv": csv_text,
        "duplicate.json": json.dumps(duplicate),
    }
    for name, content in files.items():
        drop(inbox, name, content)
    report = node.simple.inbound.run_once()
    assert sorted(report.rejected) == sorted(files)
    assert not [p for p in inbox.iterdir() if p.is_file()]
    assert w3.eth.get_transaction_count(account) == nonce, "a rejected file reached the chain"
    head = w3.eth.block_number
    if head > block:
        assert not node.member.ledger.registry.contract.events.BatchAnchored().get_logs(
            from_block=block + 1, to_block=head, argument_filters={"issuer": economy_bytes(SIMPLE)}
        )

    found = {name: _errors(node, name) for name in files}
    rules = {name: {e["rule"] for e in errors} for name, errors in found.items()}
    assert rules["malformed.json"] == {"json.malformed"}
    assert rules["malformed.manifest.csv"] == {"csv.malformed"}
    assert _pairs(found["bad-column.manifest.csv"]) == {("goods_items[0].colour", "field.unknown")}
    assert rules["malformed.xml"] == {"xml.malformed"}
    assert ("goods_items[0].gross_mass_kg", "xml.schema") in _pairs(found["xsd.xml"])
    assert rules["xsd.xml"] == {"xml.schema"}
    wrong = {field for field, _ in _pairs(found["wrong-types.json"])}
    assert {"goods_items[0].packages.count", "goods_items[0].value.amount"} <= wrong
    codes = _pairs(found["bad-codes.json"])
    assert {f for f, _ in codes} >= {
        "goods_items[0].hs_code",
        "goods_items[0].value.currency",
        "destinations[0]",
    }
    assert ("destinations[1]", "destinations.not_member") in _pairs(found["not-member.json"])
    assert ("issuer_economy", "issuer_economy.not_this_member") in _pairs(
        found["other-issuer.json"]
    )
    assert rules["oversize.json"] == {"file.too_large"}
    assert rules["notes.txt"] == {"file.unknown_extension"}
    assert rules["no-type.csv"] == {"file.csv_type_missing"}
    assert ("reference", "reference.conflict") in _pairs(found["duplicate.json"])
    for errors in found.values():
        assert all(e["message"] for e in errors)

    # The same file dropped again is not anchored again: done/ under a new name.
    drop(inbox, "00-original.json", json.dumps(original))
    assert node.simple.inbound.run_once().done == ["00-original.json"]
    (again,) = [p for p in node.folders.done.glob("*-00-original.json.receipt.json")]
    (record,) = json.loads(again.read_text())["documents"]
    assert record["created"] is False
    assert w3.eth.get_transaction_count(account) == nonce


def test_bad_decision_files_are_rejected(
    network: Network, w3: Web3, simple_node: Callable[..., SimpleNode]
) -> None:
    node = simple_node()
    incoming = network[FULL].pipeline.submit(
        generate_manifest("decision-bad", origin=FULL, destination=SIMPLE)
    )
    stem = incoming.document_id + "-v1"
    node.round()
    assert (node.folders.received / f"{stem}.json").is_file()
    account = node.member.ledger.sender.address  # type: ignore[union-attr]
    nonce = w3.eth.get_transaction_count(account)
    decisions = node.folders.decisions
    unknown = "0x" + "ab" * 32 + "-v1.decision.json"
    files = {
        "not-a-decision.json": json.dumps({"lane": "GREEN", "reason": "x"}),
        f"{stem}.decision.json": json.dumps({"lane": "BLUE", "reason": ""}),
        unknown: json.dumps({"lane": "GREEN", "reason": "x"}),
    }
    for name, content in files.items():
        drop(decisions, name, content)
    report = node.simple.decisions.run_once()
    assert sorted(report["rejected"]) == sorted(files)
    assert w3.eth.get_transaction_count(account) == nonce
    assert _errors(node, "not-a-decision.json", "decisions")[0]["rule"] == "decision.file_name"
    assert _pairs(_errors(node, f"{stem}.decision.json", "decisions")) == {
        ("lane", "lane.literal_error"),
        ("reason", "reason.string_too_short"),
    }
    assert _errors(node, unknown, "decisions")[0]["rule"] == "decision.unknown_document"

    # The corrected decision goes through; a second, different one is refused.
    (node.folders.decisions_rejected / f"{stem}.decision.json").unlink()
    drop(decisions, f"{stem}.decision.json", "{malformed")
    drop(decisions, f"{stem}.decision.json.part", json.dumps({"lane": "RED", "reason": "ok"}))
    assert node.simple.decisions.run_once()["rejected"] == [f"{stem}.decision.json"]
    assert _errors(node, f"{stem}.decision.json", "decisions")[0]["rule"] == (
        "decision.malformed_json"
    )
    (node.folders.decisions_rejected / f"{stem}.decision.json").unlink()
    (decisions / f"{stem}.decision.json.part").rename(decisions / f"{stem}.decision.json")
    assert node.simple.decisions.run_once()["done"] == [f"{stem}.decision.json"]
    drop(decisions, f"{stem}.decision.json", json.dumps({"lane": "GREEN", "reason": "again"}))
    assert node.simple.decisions.run_once()["rejected"] == [f"{stem}.decision.json"]
    assert _errors(node, f"{stem}.decision.json", "decisions")[0]["rule"] == (
        "decision.already_acknowledged"
    )


def test_revoked_document_needs_no_decision(
    network: Network, simple_node: Callable[..., SimpleNode]
) -> None:
    node = simple_node()
    pipeline = network[FULL].pipeline
    incoming = pipeline.submit(
        generate_manifest("decision-revoked", origin=FULL, destination=SIMPLE)
    )
    stem = incoming.document_id + "-v1"
    node.round()
    assert (node.folders.received / f"{stem}.json").is_file()
    pipeline.revoke(incoming.document_id, 1)
    node.round()
    notice = json.loads((node.folders.received / f"{stem}.revoked.json").read_text())
    assert notice["outcome"] == "revoked"
    drop(
        node.folders.decisions, f"{stem}.decision.json", json.dumps({"lane": "RED", "reason": "x"})
    )
    assert node.simple.decisions.run_once()["rejected"] == [f"{stem}.decision.json"]
    assert _errors(node, f"{stem}.decision.json", "decisions")[0]["rule"] == "document.revoked"
