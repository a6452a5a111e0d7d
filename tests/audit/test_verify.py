"""Every verdict through the library (per-document and batched paths alike)."""

from __future__ import annotations

import gc
import json

import pytest
from audit_helpers import HIDE, REVOCATION_REASON, VERDICTS, Scenario, comparable, rewrite

from ledger_client.audit import (
    AuditReport,
    AuditVerifier,
    DocumentFileError,
    Verdict,
    parse_document_file,
    verify_document_file,
    verify_document_files,
)
from ledger_client.audit.chain_index import ChainIndex
from ledger_client.audit.html import render_html

EXPECTED = VERDICTS
EXIT = {
    Verdict.VALID: 0,
    Verdict.REDACTED_VALID: 0,
    Verdict.TAMPERED: 1,
    Verdict.UNKNOWN: 1,
    Verdict.WRONG_CHAIN: 1,
    Verdict.REVOKED: 2,
    Verdict.SUPERSEDED: 3,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_gets_its_verdict_and_exit_code(scenario: Scenario, name: str) -> None:
    report = verify_document_file(scenario.files[name], scenario.ledger, source=name)
    assert report.verdict is EXPECTED[name], report.findings
    assert report.exit_code == EXIT[EXPECTED[name]]
    assert report.schema_ == "cie-ledger/audit-report/v1"
    assert json.loads(report.to_json())["schema"] == "cie-ledger/audit-report/v1"
    # The JSON report reads back as the same report.
    assert AuditReport.model_validate_json(report.to_json()) == report


def test_batched_reads_give_the_same_reports_as_per_document_reads(scenario: Scenario) -> None:
    names = sorted(EXPECTED)
    batched = verify_document_files([(n, scenario.files[n]) for n in names], scenario.ledger)
    assert [item.source for item in batched] == names
    for name, item in zip(names, batched, strict=True):
        single = verify_document_file(scenario.files[name], scenario.ledger, source=name)
        assert item.report is not None
        assert comparable(item.report) == comparable(single), name
        assert AuditReport.model_validate_json(item.report.to_json()) == item.report


def test_a_valid_report_names_issuer_block_acknowledgement_and_links(scenario: Scenario) -> None:
    report = verify_document_file(scenario.files["valid"], scenario.ledger)
    kz = scenario.network["KZ"]
    assert report.document_id == scenario.ids["manifest"]
    assert report.issuer_economy == "KZ"
    assert report.submitter == kz.account.address
    assert report.issuing_authority is None
    assert report.computed_commitment == report.anchored_commitment
    receipt = scenario.network.w3.eth.get_block(report.anchored_block)
    assert report.anchored_block == receipt["number"]
    assert (report.presented_version, report.latest_version) == (1, 1)
    assert not report.later_version_exists and not report.revoked
    importer, lane = scenario.acks["manifest"]
    acked = {d.economy: d.acknowledgements for d in report.destinations}
    assert [(a.version, a.lane) for a in acked[importer]] == [(1, lane.name)]
    assert all(not acks for economy, acks in acked.items() if economy != importer)
    assert report.fields is not None and report.fields["/issuer_economy"] == "KZ"

    certificate = verify_document_file(scenario.files["certificate"], scenario.ledger)
    assert [link.document_id for link in certificate.linked_documents] == [scenario.ids["manifest"]]
    link = certificate.linked_documents[0]
    assert (link.anchored, link.latest_version, link.revoked) == (True, 1, False)


def test_a_redacted_copy_hides_fields_but_keeps_the_commitment(scenario: Scenario) -> None:
    report = verify_document_file(scenario.files["redacted_valid"], scenario.ledger)
    assert report.hidden_field_count > 0
    assert report.fields is not None
    assert not any(p.startswith(tuple(HIDE)) for p in report.fields)
    assert report.computed_commitment == report.anchored_commitment
    file = parse_document_file(scenario.files["redacted_valid"])
    assert file.disclosure == "redacted"


def test_tampering_is_reported_with_both_roots(scenario: Scenario) -> None:
    for name in ("tampered", "redacted_tampered"):
        report = verify_document_file(scenario.files[name], scenario.ledger)
        assert report.anchored
        assert report.computed_commitment != report.anchored_commitment
        assert any("hashes to" in finding for finding in report.findings)


def test_superseded_revoked_unknown_and_wrong_chain_details(scenario: Scenario) -> None:
    superseded = verify_document_file(scenario.files["superseded"], scenario.ledger)
    assert (superseded.presented_version, superseded.latest_version) == (1, 2)
    assert superseded.later_version_exists
    assert [v.version for v in superseded.versions] == [1, 2]
    revoked = verify_document_file(scenario.files["revoked"], scenario.ledger)
    assert revoked.revocation is not None
    assert revoked.revocation.reason_code == REVOCATION_REASON
    unknown = verify_document_file(scenario.files["unknown"], scenario.ledger)
    assert not unknown.anchored and unknown.issuer_economy is None
    wrong = verify_document_file(scenario.files["wrong_chain"], scenario.ledger)
    assert wrong.file_chain_id == wrong.chain_id + 1 and not wrong.anchored


def test_a_transit_declaration_carries_its_checkpoint_trail(scenario: Scenario) -> None:
    report = verify_document_file(scenario.files["transit"], scenario.ledger)
    assert report.transit is not None
    assert report.transit.itinerary == scenario.itinerary
    kinds = [c.kind for c in report.transit.checkpoints]
    assert kinds[0] == "DEPARTURE" and kinds[-1] == "ARRIVAL"
    assert [c.economy for c in report.transit.checkpoints] == scenario.itinerary
    assert report.transit.arrived and report.transit.duration_seconds is not None
    valid = verify_document_file(scenario.files["valid"], scenario.ledger)
    assert valid.transit is None


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"format": "other"}', b'{"format": "cie-ledger/document-file/v1"}'],
)
def test_something_that_is_not_a_document_file_is_an_error(scenario: Scenario, raw: bytes) -> None:
    with pytest.raises(DocumentFileError):
        verify_document_file(raw, scenario.ledger)
    (item,) = verify_document_files([("bad.json", raw)], scenario.ledger)
    assert item.report is None and item.error


def test_the_html_report_is_self_contained_and_escaped(scenario: Scenario) -> None:
    report = verify_document_file(scenario.files["certificate"], scenario.ledger)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "VALID" in page and report.document_id in page
    for external in ("<script", "<link", "src=", "http://", "https://"):
        assert external not in page
    hostile = report.model_copy(update={"fields": {"/x": "<script>alert(1)</script>"}})
    assert "<script>alert" not in render_html(hostile)


def test_hashing_in_worker_processes_gives_the_same_reports(scenario: Scenario) -> None:
    names = sorted(EXPECTED)
    files = [(f"{i}-{n}", scenario.files[n]) for i in range(50) for n in names]
    in_process = verify_document_files(files, scenario.ledger)
    with_workers = verify_document_files(files, scenario.ledger, workers=2)
    assert [i.source for i in with_workers] == [i.source for i in in_process]
    for a, b in zip(in_process, with_workers, strict=True):
        assert a.report is not None and b.report is not None
        assert comparable(a.report) == comparable(b.report)
    verdicts = [item.report.verdict for item in with_workers if item.report]
    assert verdicts == [EXPECTED[n] for _ in range(50) for n in names]
    assert gc.get_freeze_count() == 0  # batches freeze the heap only while they run


def test_edge_files_unknown_version_malformed_id_and_removed_field(scenario: Scenario) -> None:
    future = rewrite(scenario.files["latest"], lambda d: d.update(version=d["version"] + 5))
    zero_id = rewrite(scenario.files["valid"], lambda d: d.update(documentId="0x" + "00" * 32))
    removed = rewrite(scenario.files["valid"], lambda d: d["document"].pop("reference"))
    cases = {"future": future, "zero": zero_id, "removed": removed}
    expected = {"future": Verdict.UNKNOWN, "zero": Verdict.UNKNOWN, "removed": Verdict.TAMPERED}
    batched = {i.source: i.report for i in verify_document_files(cases.items(), scenario.ledger)}
    for name, raw in cases.items():
        report = verify_document_file(raw, scenario.ledger)
        assert report.verdict is expected[name], (name, report.findings)
        assert batched[name] is not None and batched[name].verdict is expected[name]
    removed_report = verify_document_file(removed, scenario.ledger)
    assert removed_report.computed_commitment is None
    assert any("cannot be hashed" in f for f in removed_report.findings)
    assert verify_document_file(future, scenario.ledger).anchored


def test_log_queries_split_into_block_ranges_read_the_same_histories(scenario: Scenario) -> None:
    names = sorted(EXPECTED)
    files = [(n, scenario.files[n]) for n in names]
    plain = AuditVerifier(scenario.ledger)
    whole = plain.verify_many(files)
    verifier = AuditVerifier(scenario.ledger, block_chunk=2)
    chunked = verifier.verify_many(files)
    assert verifier.index.requests > plain.index.requests + 5
    for a, b in zip(whole, chunked, strict=True):
        assert a.report is not None and b.report is not None
        assert comparable(a.report) == comparable(b.report)


def test_a_long_lived_index_caches_only_settled_block_times(scenario: Scenario) -> None:
    ids = [bytes.fromhex(scenario.ids[name][2:]) for name in ("manifest", "transit")]

    def requests_per_read(index: ChainIndex) -> tuple[int, int]:
        start = index.requests
        first = index.histories(ids)
        middle = index.requests
        assert index.histories(ids) == first
        return middle - start, index.requests - middle

    registry = scenario.ledger.registry
    # Nothing is that deep on the test chain: block times are read again every time,
    # the head asked in the same batch (as many requests as an index caching all).
    cold, again = requests_per_read(ChainIndex(registry, settled_depth=10**9))
    assert again == cold
    assert cold == requests_per_read(ChainIndex(registry))[0]
    # Everything is settled: the second read finds every block time cached
    # (no block batch).
    cold, again = requests_per_read(ChainIndex(registry, settled_depth=0))
    assert again == cold - 1
