"""Aggregate report figures against a scenario with known counts (own deployment)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import Network, document_of, with_unique_reference
from typer.testing import CliRunner
from web3 import Web3

from devnet.anvil import AnvilChain
from devnet.processes import free_port
from ledger_client.audit.analytics import (
    AnalyticsReport,
    aggregate_report,
    exporter_aeo_ids_via_pipeline,
    operator_id_of,
    to_csv,
)
from ledger_client.audit.cli import app
from ledger_client.chain import connect
from ledger_client.ledger import Ledger
from ledger_client.records import CheckpointKind, Lane
from manifests import DocumentType
from manifests.generate import DocumentGenerator

RECOGNISED = "KZAEO000001"
NOT_REGISTERED = "KZAEO999999"
LANES = [Lane.RED, Lane.GREEN, Lane.GREEN, Lane.YELLOW, Lane.GREEN,
         Lane.RED, Lane.RED, Lane.GREEN, Lane.YELLOW, Lane.GREEN]  # fmt: skip
# Documents 0-4 recognised AEO, 5-7 no AEO, 8 an AEO id nobody registered, 9 unmapped.
AEO_OF = [RECOGNISED] * 5 + [None] * 3 + [NOT_REGISTERED]
HOURS_100 = 100 * 3600


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilChain]:
    """A private chain: this module moves the clock forward (evm_increaseTime), which
    must not leak into other modules' validity windows and deadlines."""
    chain = AnvilChain(port=free_port(), log_file=tmp_path_factory.mktemp("anvil") / "a.log")
    chain.start()
    yield chain
    chain.stop()


@pytest.fixture(scope="module")
def w3(anvil: AnvilChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="module")
def known(network: Network, anvil: AnvilChain, tmp_path_factory: pytest.TempPathFactory) -> dict:
    w3 = network.w3
    kz = network.pipeline("KZ")
    documents = [document_of(DocumentType.PRE_ARRIVAL_MANIFEST, "KZ", seed=300 + i)
                 for i in range(6)]  # fmt: skip
    documents += [document_of(DocumentType.CERTIFICATE_OF_ORIGIN, "KZ", seed=400 + i)
                  for i in range(4)]  # fmt: skip
    receipts = kz.submit_batch(documents)
    importers = [d.destinations[0] for d in documents]
    for receipt, importer, lane in zip(receipts, importers, LANES, strict=True):
        network[importer].ledger.registry.acknowledge(
            receipt.document_id_bytes, 1, lane, os.urandom(32)
        )
    now = int(w3.eth.get_block("latest")["timestamp"])
    kz_aeo = network["KZ"].ledger.aeo
    kz_aeo.register_operator(operator_id_of(RECOGNISED), 1, now - 60, now + 10 * 365 * 86400)
    for importer in sorted(set(importers)):
        kz_aeo.approve_mra(importer)
        network[importer].ledger.aeo.approve_mra("KZ")

    generator = DocumentGenerator(21)
    transits = [with_unique_reference(generator.transit_declaration(itinerary=["KZ", "UZ"]))
                for _ in range(2)]  # fmt: skip
    transit_receipts = kz.submit_batch(transits)
    for receipt in transit_receipts:
        network["KZ"].ledger.registry.record_checkpoint(
            receipt.document_id_bytes, CheckpointKind.DEPARTURE
        )
    w3.provider.make_request("evm_increaseTime", [HOURS_100])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    network["UZ"].ledger.registry.record_checkpoint(
        transit_receipts[0].document_id_bytes, CheckpointKind.ARRIVAL
    )
    mapping = {r.document_id: AEO_OF[i] for i, r in enumerate(receipts[:9])}
    directory = tmp_path_factory.mktemp("analytics")
    network.deployment.save(directory / "deployment.json")
    return {
        "kz": kz,
        "documents": documents,
        "receipts": receipts,
        "importers": importers,
        "mapping": mapping,
        "ledger": Ledger.open(w3, network.deployment),
        "rpc_url": anvil.rpc_url,
        "directory": directory,
    }


def expected_inspection(known: dict) -> dict[str, tuple[int, int, int, int, int]]:
    """importer -> (aeo docs, aeo inspected, other docs, other inspected, unmapped)."""
    out: dict[str, list[int]] = {}
    for i, (importer, lane) in enumerate(zip(known["importers"], LANES, strict=True)):
        t = out.setdefault(importer, [0, 0, 0, 0, 0])
        inspected = lane in (Lane.YELLOW, Lane.RED)
        if i == 9:
            t[4] += 1
        elif AEO_OF[i] == RECOGNISED:
            t[0] += 1
            t[1] += inspected
        else:
            t[2] += 1
            t[3] += inspected
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def test_report_figures_match_the_scenario(known: dict) -> None:
    report = aggregate_report(known["ledger"], exporter_aeo=known["mapping"])
    assert report.schema_ == "cie-ledger/audit-analytics/v1"
    assert report.documents == 12
    assert report.by_type == {
        "CERTIFICATE_OF_ORIGIN": 4, "PRE_ARRIVAL_MANIFEST": 6, "TRANSIT_DECLARATION": 2,
    }  # fmt: skip
    assert report.acknowledgements == 10
    assert report.lanes == {"GREEN": 5, "YELLOW": 2, "RED": 3}
    assert (report.amendments, report.revoked) == (0, 0)
    routes = sum(len(d.destinations) for d in known["documents"]) + 2 * 2
    assert sum(r.documents for r in report.by_route) == routes
    assert sum(p.documents for p in report.by_period) == 12
    assert report.ack_latency.acknowledgements == 10
    assert report.ack_latency.max_seconds is not None and report.ack_latency.max_seconds >= 0

    got = {
        r.importing_economy: (r.aeo_documents, r.aeo_inspected, r.other_documents,
                              r.other_inspected, r.unmapped_documents)
        for r in report.inspection
    }  # fmt: skip
    assert got == expected_inspection(known)
    totals = [sum(t[k] for t in got.values()) for k in range(5)]
    assert totals == [5, 2, 4, 3, 1]
    for rate in report.inspection:
        if rate.aeo_rate is not None and rate.other_rate:
            assert rate.ratio == pytest.approx(rate.aeo_rate / rate.other_rate)

    assert report.transit.movements == 2
    assert (report.transit.departed, report.transit.arrived, report.transit.overdue) == (2, 1, 1)
    durations = [m.duration_seconds for m in report.transit_movements if m.duration_seconds]
    assert len(durations) == 1 and durations[0] >= HOURS_100


def test_without_a_mapping_every_acknowledged_document_is_unmapped(known: dict) -> None:
    report = aggregate_report(known["ledger"])
    assert sum(r.unmapped_documents for r in report.inspection) == 10
    assert all(r.aeo_documents == r.other_documents == 0 for r in report.inspection)


def test_the_member_pipeline_computes_the_aeo_mapping(known: dict) -> None:
    ids = [r.document_id for r in known["receipts"]]
    mapping = exporter_aeo_ids_via_pipeline(known["kz"], ids)
    assert len(mapping) == 10
    for document, receipt in zip(known["documents"], known["receipts"], strict=True):
        assert mapping[receipt.document_id_bytes] == document.trader_aeo_id


def test_csv_and_json_exports_and_the_cli(known: dict, tmp_path: Path) -> None:
    report = aggregate_report(known["ledger"], exporter_aeo=known["mapping"])
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    lanes = {r["metric"]: int(r["value"]) for r in rows if r["section"] == "lanes"
             and not r["economy"]}  # fmt: skip
    assert lanes == {"GREEN": 5, "YELLOW": 2, "RED": 3}
    assert AnalyticsReport.model_validate_json(report.to_json()) == report

    mapping_file = tmp_path / "aeo.json"
    mapping_file.write_text(json.dumps(known["mapping"]))
    json_out, csv_out = tmp_path / "r.json", tmp_path / "r.csv"
    result = CliRunner().invoke(
        app,
        ["report", "--json", str(json_out), "--csv", str(csv_out), "--aeo-map",
         str(mapping_file), "--rpc-url", known["rpc_url"], "--deployment",
         str(known["directory"] / "deployment.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(json_out.read_text())
    assert data["schema"] == "cie-ledger/audit-analytics/v1"
    assert data["documents"] == 12 and data["lanes"]["RED"] == 3
    assert sum(r["aeo_documents"] for r in data["inspection"]) == 5
    assert csv_out.read_text().startswith("section,economy,")


def test_block_range_chunks_give_the_same_report(known: dict) -> None:
    head = known["ledger"].w3.eth.block_number  # the chain moves on between the two reports
    whole = aggregate_report(known["ledger"], exporter_aeo=known["mapping"], to_block=head)
    chunked = aggregate_report(
        known["ledger"], exporter_aeo=known["mapping"], block_chunk=3, to_block=head
    )
    assert chunked.model_dump(exclude={"generated_at"}) == whole.model_dump(
        exclude={"generated_at"}
    )
