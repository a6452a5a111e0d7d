"""A simple-mode member (UZ: folders, manual review) and a full-mode member (KZ: API,
risk engine) exchange all three document types in both directions on one ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from web3 import Web3

from ledger_client.records import Lane
from manifests import DocumentType
from manifests.generate import (
    generate_linked_co,
    generate_manifest,
    generate_transit_declaration,
)
from manifests.importers import export_csv
from manifests.xml import document_to_xml
from node import db as tables
from node.db import Database
from node.listener import State
from node.simple import AWAITING_DECISION
from tests.node.network import Network, make_listener
from tests.simple.exchange import FULL, SIMPLE, SimpleNode, drop


def _receipt(folder: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / (name + ".receipt.json")).read_text())


def test_files_in_chain_out_both_directions(
    network: Network,
    w3: Web3,
    simple_node: Callable[..., SimpleNode],
    tmp_path: Path,
) -> None:
    uz = simple_node()
    kz_db = Database(f"sqlite:///{tmp_path / 'kz.db'}")
    kz = make_listener(network[FULL], kz_db, start_block=w3.eth.block_number + 1)
    registry = network[FULL].ledger.registry

    # ---- simple -> full: JSON manifest, CSV transit declaration, XML certificate
    manifest = generate_manifest("simple-out-1", origin=SIMPLE, destination=FULL)
    transit = generate_transit_declaration("simple-out-2", itinerary=[SIMPLE, FULL])
    certificate = generate_linked_co(manifest)
    inbox = uz.folders.inbox
    drop(inbox, "01-arrival.json", manifest.model_dump_json())
    drop(inbox, "02-movement.transit.csv", export_csv([transit]))
    drop(inbox, "03-origin.xml", document_to_xml(certificate))
    (inbox / "04-still-writing.xml.part").write_bytes(document_to_xml(certificate)[:100])

    report = uz.simple.inbound.run_once()
    assert report.done == ["01-arrival.json", "02-movement.transit.csv", "03-origin.xml"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["04-still-writing.xml.part"]
    sent: dict[str, bytes] = {}
    for name, document in (
        ("01-arrival.json", manifest),
        ("02-movement.transit.csv", transit),
        ("03-origin.xml", certificate),
    ):
        assert (uz.folders.done / name).is_file()
        (record,) = _receipt(uz.folders.done, name)["documents"]
        assert record["reference"] == document.reference
        assert record["state"] == "anchored" and record["transaction"].startswith("0x")
        assert record["commitment"] and record["version"] == 1
        doc_id = bytes.fromhex(record["document_id"][2:])
        assert registry.document_state(doc_id).version == 1
        sent[document.reference] = doc_id

    kz.poll_once()
    with kz_db.sessions() as session:
        for reference, doc_id in sent.items():
            row = session.get(tables.Processing, (doc_id.hex(), 1))
            assert row is not None and row.state == State.ACKNOWLEDGED, (reference, row)
            assert row.reference == reference
            assert registry.acknowledgement(doc_id, 1, FULL)[0] is not None

    # ---- full -> simple: the full node submits through its pipeline
    kz_manifest = generate_manifest("simple-in-1", origin=FULL, destination=SIMPLE)
    kz_transit = generate_transit_declaration("simple-in-2", itinerary=[FULL, SIMPLE])
    kz_certificate = generate_linked_co(kz_manifest)
    pipeline = network[FULL].pipeline
    incoming = {
        DocumentType(doc.document_type): bytes.fromhex(
            pipeline.submit(doc).document_id.removeprefix("0x")
        )
        for doc in (kz_manifest, kz_transit, kz_certificate)
    }

    uz.round()  # the listener writes received/; no decision yet, nothing acknowledged
    lanes = {
        DocumentType.PRE_ARRIVAL_MANIFEST: "GREEN",
        DocumentType.TRANSIT_DECLARATION: "YELLOW",
        DocumentType.CERTIFICATE_OF_ORIGIN: "RED",
    }
    for kind, doc_id in incoming.items():
        stem = f"0x{doc_id.hex()}-v1"
        received = json.loads((uz.folders.received / f"{stem}.json").read_text())
        assert received["doc_type"] == kind.name
        assert received["provenance"]["issuer_economy"] == FULL
        assert received["provenance"]["transaction"].startswith("0x")
        assert received["decision_file"] == f"{stem}.decision.json"
        page = (uz.folders.received / f"{stem}.html").read_text()
        assert received["reference"] in page and "<script" not in page
        assert registry.acknowledgement(doc_id, 1, SIMPLE)[0] is None
        with uz.db.sessions() as session:
            row = session.get(tables.Processing, (doc_id.hex(), 1))
            assert row is not None and row.state == AWAITING_DECISION
        decision = {"lane": lanes[kind], "reason": f"checked {kind.name}", "officer": "A. Officer"}
        drop(uz.folders.decisions, received["decision_file"], json.dumps(decision))

    uz.round()
    for kind, doc_id in incoming.items():
        name = f"0x{doc_id.hex()}-v1.decision.json"
        assert (uz.folders.decisions_done / name).is_file()
        receipt = _receipt(uz.folders.decisions_done, name)
        assert receipt["lane"] == lanes[kind] and receipt["transaction"].startswith("0x")
        assert registry.acknowledgement(doc_id, 1, SIMPLE)[0] is Lane[lanes[kind]]

    kz.poll_once()  # the issuer sees the manual decisions like any acknowledgement
    with kz_db.sessions() as session:
        for kind, doc_id in incoming.items():
            ack = session.get(tables.Acknowledgement, (doc_id.hex(), 1, SIMPLE))
            assert ack is not None and ack.lane == int(Lane[lanes[kind]])
    kz_db.close()
