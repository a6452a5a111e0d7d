"""Catalogue of bad inputs: each is refused with field-level errors and leaves no trace.

"No trace" is checked, not assumed: the exporting IPFS node's pins, the
registry's event count, the member account's nonce (no transaction sent), the
outbox's rows and serial counter are all identical before and after, and the
next serial the pipeline would use is unused on-chain.
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pipeline_helpers import Network, document_of, registry_event_count, with_unique_reference

from ledger_client.outbox import Outbox, OutboxSummary
from ledger_client.pipeline import BatchRejectedError, DocumentPipeline, DocumentRejectedError
from ledger_client.records import economy_bytes
from manifests import DocumentType, PreArrivalManifest
from manifests.generate import DocumentGenerator, Inconsistency
from manifests.importers import export_csv

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST


@dataclass(frozen=True)
class Trace:
    pins: frozenset[str]
    events: int
    nonce: int
    outbox: OutboxSummary
    next_serial: int | None


def trace(network: Network, pipeline: DocumentPipeline) -> Trace:
    return Trace(
        frozenset(network.exporter_store.pins()),
        registry_event_count(network),
        network.w3.eth.get_transaction_count(pipeline.ledger.sender.address),  # type: ignore[union-attr]
        pipeline.outbox.summary(),
        pipeline.outbox.next_serial(pipeline.economy),
    )


@pytest.fixture(scope="module")
def kz(network: Network) -> DocumentPipeline:
    return network.pipeline("KZ")


@pytest.fixture(scope="module")
def kz_manifest(kz: DocumentPipeline) -> PreArrivalManifest:
    """A manifest KZ has anchored, for certificates to link to."""
    manifest = document_of(MANIFEST, "KZ")
    assert isinstance(manifest, PreArrivalManifest)
    kz.submit(manifest)
    return manifest


def manifest_data() -> dict[str, Any]:
    return document_of(MANIFEST, "KZ", seed=100).model_dump(mode="json")


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = manifest_data()
    edit(data)
    return data


def linked_certificate(manifest: PreArrivalManifest, *broken: Inconsistency) -> Any:
    return DocumentGenerator(5).linked_certificate(manifest, inconsistencies=broken)


# Each case: (submission given the pipeline and the anchored manifest, expected (field, rule)).
SINGLE_CASES: dict[str, tuple[Callable[[DocumentPipeline, PreArrivalManifest], Any], str, str]] = {
    "wrong type": (
        lambda p, _m: p.submit(changed(lambda d: d.__setitem__("goods_items", "none"))),
        "goods_items",
        "type.list",
    ),
    "wrong type of a date": (
        lambda p, _m: p.submit(changed(lambda d: d.__setitem__("departure", "tomorrow"))),
        "departure",
        "type.datetime",
    ),
    "missing field": (
        lambda p, _m: p.submit(changed(lambda d: d.pop("consignee"))),
        "consignee",
        "field.required",
    ),
    "bad country code": (
        lambda p, _m: p.submit(
            changed(lambda d: d["consignee"]["address"].__setitem__("country", "XX"))
        ),
        "consignee.address.country",
        "country.code",
    ),
    "bad HS code": (
        lambda p, _m: p.submit(
            changed(lambda d: d["goods_items"][0].__setitem__("hs_code", "12AB"))
        ),
        "goods_items[0].hs_code",
        "hs_code.format",
    ),
    "unknown document type code": (
        lambda p, _m: p.submit(manifest_data(), doc_type=9),
        "schema_version",
        "document_type.unknown",
    ),
    "no schema version and no type": (
        lambda p, _m: p.submit(changed(lambda d: d.pop("schema_version"))),
        "schema_version",
        "document_type.unknown",
    ),
    "malformed JSON": (
        lambda p, _m: p.submit(b'{"schema_version": "cie.manifest/1", "reference": '),
        "",
        "json.malformed",
    ),
    "duplicate JSON key": (
        lambda p, _m: p.submit(b'{"reference": "A-1", "reference": "A-2"}', doc_type=MANIFEST),
        "",
        "json.duplicate_key",
    ),
    "oversize raw payload": (
        lambda p, _m: p.submit(b" " * ((1 << 20) + 1), doc_type=MANIFEST),
        "",
        "payload.too_large",
    ),
    "issuer is another member": (
        lambda p, _m: p.submit(document_of(MANIFEST, "UZ")),
        "issuer_economy",
        "issuer_economy.not_this_member",
    ),
    "destination is not a consortium member": (
        lambda p, _m: p.submit(changed(lambda d: d["destinations"].append("FR"))),
        "destinations[1]",
        "destinations.not_member",
    ),
    "link to an own document that does not exist": (
        lambda p, m: p.submit(_certificate_linking(m, "KZ-NEVER-1")),
        "links[0]",
        "links.unknown_document",
    ),
    "certificate whose HS codes contradict its manifest": (
        lambda p, m: p.submit(linked_certificate(m, Inconsistency.HS_CODE)),
        "items[*].hs_code",
        "linked.hs_code_not_in_manifest",
    ),
    "certificate whose consignee contradicts its manifest": (
        lambda p, m: p.submit(linked_certificate(m, Inconsistency.CONSIGNEE_NAME)),
        "consignee.name",
        "linked.consignee_name_mismatch",
    ),
    "certificate whose consignee country contradicts its manifest": (
        lambda p, m: p.submit(linked_certificate(m, Inconsistency.CONSIGNEE_COUNTRY)),
        "consignee.address.country",
        "linked.consignee_country_mismatch",
    ),
}


def _certificate_linking(manifest: PreArrivalManifest, reference: str) -> Any:
    certificate = linked_certificate(manifest)
    data = certificate.model_dump(mode="json")
    data["links"][0]["reference"] = reference
    return data


def field_matches(pattern: str, field: str) -> bool:
    if "[*]" not in pattern:
        return pattern == field
    head, tail = pattern.split("[*]")
    return field.startswith(head + "[") and field.endswith("]" + tail)


@pytest.mark.parametrize("case", list(SINGLE_CASES), ids=lambda c: c.replace(" ", "_"))
def test_a_bad_document_is_refused_with_a_field_error_and_leaves_no_trace(
    network: Network, kz: DocumentPipeline, kz_manifest: PreArrivalManifest, case: str
) -> None:
    submit, field, rule = SINGLE_CASES[case]
    before = trace(network, kz)
    with pytest.raises(DocumentRejectedError) as caught:
        submit(kz, kz_manifest)
    found = [(e.field, e.rule) for e in caught.value.field_errors]
    assert any(r == rule and field_matches(field, f) for f, r in found), found
    assert caught.value.errors and all(
        {"field", "rule", "message"} <= set(e) for e in caught.value.errors
    )
    assert trace(network, kz) == before
    next_serial = kz.outbox.next_serial("KZ") or kz.serial_floor
    assert not kz.registry.contract.functions.isSerialUsed(economy_bytes("KZ"), next_serial).call()


def test_an_oversize_canonical_document_is_refused(network: Network) -> None:
    small = network.pipeline("KZ", max_document_bytes=1000)
    before = trace(network, small)
    with pytest.raises(DocumentRejectedError) as caught:
        small.submit(document_of(MANIFEST, "KZ", seed=200))
    assert ("", "payload.too_large") in [(e.field, e.rule) for e in caught.value.field_errors]
    assert trace(network, small) == before


BATCH_CASES: dict[str, Callable[[PreArrivalManifest], list[Any]]] = {
    "one invalid document among valid ones": lambda _m: [
        document_of(MANIFEST, "KZ", seed=300),
        changed(lambda d: d["goods_items"][0].__setitem__("hs_code", "12AB")),
        document_of(MANIFEST, "KZ", seed=400),
    ],
    "a reference twice in one batch": lambda _m: _same_reference_twice(),
    "a manifest and a certificate contradicting it in one batch": lambda _m: _batch_pair(),
}


def _same_reference_twice() -> list[Any]:
    first = manifest_data()
    second = copy.deepcopy(first)
    second["consignee"]["name"] = "Another Name LLP"
    return [first, second]


def _batch_pair() -> list[Any]:
    manifest = document_of(MANIFEST, "KZ", seed=500)
    assert isinstance(manifest, PreArrivalManifest)
    return [manifest, linked_certificate(manifest, Inconsistency.HS_CODE)]


BATCH_EXPECTED = {
    "one invalid document among valid ones": {1: "hs_code.format"},
    "a reference twice in one batch": {1: "reference.duplicate_in_batch"},
    "a manifest and a certificate contradicting it in one batch": {
        1: "linked.hs_code_not_in_manifest"
    },
}


@pytest.mark.parametrize("case", list(BATCH_CASES), ids=lambda c: c.replace(" ", "_"))
def test_a_batch_with_a_bad_item_is_refused_whole(
    network: Network, kz: DocumentPipeline, kz_manifest: PreArrivalManifest, case: str
) -> None:
    items = BATCH_CASES[case](kz_manifest)
    before = trace(network, kz)
    with pytest.raises(BatchRejectedError) as caught:
        kz.submit_batch(items)
    expected = BATCH_EXPECTED[case]
    assert set(caught.value.item_errors) == set(expected)
    for index, rule in expected.items():
        assert rule in [e.rule for e in caught.value.item_errors[index]]
    assert all(e["item"] in {str(i) for i in expected} for e in caught.value.errors)
    assert trace(network, kz) == before


def test_a_malformed_csv_file_is_refused_with_its_row_and_column(
    network: Network, kz: DocumentPipeline
) -> None:
    manifests = [document_of(MANIFEST, "KZ", seed=s) for s in (600, 700)]
    table = export_csv(manifests)
    rows = list(csv.reader(io.StringIO(table)))
    rows[1][rows[0].index("goods_items.hs_code")] = "12AB"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    broken = out.getvalue()
    before = trace(network, kz)
    with pytest.raises(BatchRejectedError) as caught:
        kz.submit_import(broken, file_format="csv", doc_type=MANIFEST)
    assert [(e.rule, e.row, e.column) for e in caught.value.file_errors] == [
        ("hs_code.format", 2, "goods_items.hs_code")
    ]
    with pytest.raises(BatchRejectedError) as caught:
        kz.submit_import(
            table.replace("reference", "referenc", 1), file_format="csv", doc_type=MANIFEST
        )
    assert "csv.missing_column" in caught.value.rules
    assert trace(network, kz) == before
    # The untouched table goes through: the importer path is the same batch path.
    receipts = kz.submit_import(table, file_format="csv", doc_type=MANIFEST)
    assert [r.reference for r in receipts] == [m.reference for m in manifests]


def test_a_malformed_json_file_is_refused(network: Network, kz: DocumentPipeline) -> None:
    before = trace(network, kz)
    with pytest.raises(BatchRejectedError) as caught:
        kz.submit_import(b'[{"schema_version": "cie.manifest/1",]', file_format="json")
    assert caught.value.rules == ["json.malformed"]
    assert caught.value.file_errors[0].row == 1
    assert trace(network, kz) == before


def test_a_consistent_certificate_of_a_manifest_is_accepted_and_linked_on_chain(
    network: Network, kz: DocumentPipeline, kz_manifest: PreArrivalManifest
) -> None:
    """Positive control for the linked-consistency rule (and the on-chain link)."""
    certificate = with_unique_reference(linked_certificate(kz_manifest))
    receipt = kz.submit(certificate)
    manifest_id = kz.outbox.allocation("KZ", int(MANIFEST), kz_manifest.reference)
    assert manifest_id is not None
    reader = network.pipeline(certificate.destinations[0], side="importer")
    verified = reader.fetch_and_verify(receipt.document_id)
    assert verified.provenance.links == (manifest_id.document_id,)
    assert verified.document == certificate


def test_an_outbox_of_its_own_is_untouched_by_refusals(network: Network) -> None:
    """A refused first submission of a fresh node does not even create its serial counter."""
    fresh = network.pipeline("AZ", outbox=Outbox.in_memory())
    with pytest.raises(DocumentRejectedError):
        fresh.submit(copy.deepcopy(manifest_data()))
    assert fresh.outbox.next_serial("AZ") is None
    assert fresh.outbox.summary().allocations == 0
