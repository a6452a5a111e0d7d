"""Scenario builders shared by the audit tests (imported as `audit_helpers`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_helpers import Network, document_of, with_unique_reference

from ledger_client.audit import AuditReport, Verdict, export_document_file
from ledger_client.commitment import canonical_json
from ledger_client.ledger import Ledger
from ledger_client.pipeline import DocumentPipeline
from ledger_client.records import CheckpointKind, Lane
from manifests import DocumentType, PreArrivalManifest
from manifests.generate import DocumentGenerator

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST
REVOCATION_REASON = 7
HIDE = ["/consignee", "/goods_items/0/description"]
VERDICTS = {
    "valid": Verdict.VALID,
    "redacted_valid": Verdict.REDACTED_VALID,
    "tampered": Verdict.TAMPERED,
    "redacted_tampered": Verdict.TAMPERED,
    "superseded": Verdict.SUPERSEDED,
    "latest": Verdict.VALID,
    "revoked": Verdict.REVOKED,
    "unknown": Verdict.UNKNOWN,
    "wrong_chain": Verdict.WRONG_CHAIN,
    "certificate": Verdict.VALID,
    "transit": Verdict.VALID,
}
"""The verdict of each file of the scenario (`Scenario.files`)."""


@dataclass
class Scenario:
    """Document files for each verdict, plus where they came from."""

    network: Network
    ledger: Ledger  # read-only
    rpc_url: str
    deployment_file: Path
    files: dict[str, bytes]
    ids: dict[str, str]
    acks: dict[str, tuple[str, Lane]]
    itinerary: list[str]


def comparable(report: AuditReport | dict[str, Any]) -> dict[str, Any]:
    """A report as JSON data without what differs between runs (time, single-file fields)."""
    if isinstance(report, AuditReport):
        data = report.model_dump(mode="json", by_alias=True)
    else:
        data = dict(report)
    data.pop("checked_at")
    data.pop("fields")
    return data


def rewrite(file: bytes, change: Any) -> bytes:
    """Parse a document file, let `change(data)` alter it, write it back canonically."""
    data = json.loads(file)
    change(data)
    return canonical_json(data)


def _tamper_full(data: dict[str, Any]) -> None:
    data["document"]["reference"] += "X"


def _tamper_redacted(data: dict[str, Any]) -> None:
    leaf = next(d for d in data["redacted"]["disclosed"] if d["path"] == ["reference"])
    leaf["value"] += "X"


def build_scenario(network: Network, rpc_url: str, directory: Path) -> Scenario:
    """Anchor the scenario's documents and export one document file per verdict."""
    kz: DocumentPipeline = network.pipeline("KZ")
    deployment = network.deployment
    manifest = document_of(MANIFEST, "KZ", seed=1)
    assert isinstance(manifest, PreArrivalManifest)
    certificate = with_unique_reference(DocumentGenerator(5).linked_certificate(manifest))
    manifest_receipt, certificate_receipt = kz.submit_batch([manifest, certificate])

    importer = manifest.destinations[0]
    importer_pipeline = network.pipeline(importer, side="importer")
    importer_pipeline.acknowledge(manifest_receipt.document_id, 1, Lane.RED, {"hs": "watch"})

    amended = document_of(MANIFEST, "KZ", seed=2)
    first = kz.submit(amended)
    data = amended.model_dump(mode="json")
    data["goods_items"][0]["description"] = "Amended description"
    kz.amend(data)

    revoked = document_of(MANIFEST, "KZ", seed=3)
    revoked_receipt = kz.submit(revoked)
    revoked_file = export_document_file(
        kz.fetch_and_verify(revoked_receipt.document_id), deployment
    )
    kz.revoke(revoked_receipt.document_id, REVOCATION_REASON)

    transit = DocumentGenerator(11).transit_declaration(itinerary=["KZ", "UZ", "AZ"])
    transit = with_unique_reference(transit)
    transit_receipt = kz.submit(transit)
    itinerary = list(transit.destinations)
    steps = [(itinerary[0], CheckpointKind.DEPARTURE)]
    steps += [(e, CheckpointKind.TRANSIT_PASSED) for e in itinerary[1:-1]]
    steps += [(itinerary[-1], CheckpointKind.ARRIVAL)]
    for economy, kind in steps:
        network[economy].ledger.registry.record_checkpoint(transit_receipt.document_id_bytes, kind)

    verified = kz.fetch_and_verify(manifest_receipt.document_id)
    full = export_document_file(verified, deployment)
    redacted = export_document_file(verified, deployment, hide=HIDE)
    files = {
        "valid": full,
        "redacted_valid": redacted,
        "tampered": rewrite(full, _tamper_full),
        "redacted_tampered": rewrite(redacted, _tamper_redacted),
        "superseded": export_document_file(
            kz.fetch_and_verify(first.document_id, version=1), deployment
        ),
        "latest": export_document_file(kz.fetch_and_verify(first.document_id), deployment),
        "revoked": revoked_file,
        "unknown": rewrite(full, lambda d: d.update(documentId=d["documentId"][:-8] + "00ffffff")),
        "wrong_chain": rewrite(full, lambda d: d.update(chainId=d["chainId"] + 1)),
        "certificate": export_document_file(
            kz.fetch_and_verify(certificate_receipt.document_id), deployment
        ),
        "transit": export_document_file(
            kz.fetch_and_verify(transit_receipt.document_id), deployment
        ),
    }
    deployment_file = directory / "deployment.json"
    deployment.save(deployment_file)
    return Scenario(
        network=network,
        ledger=Ledger.open(network.w3, deployment),
        rpc_url=rpc_url,
        deployment_file=deployment_file,
        files=files,
        ids={
            "manifest": manifest_receipt.document_id,
            "certificate": certificate_receipt.document_id,
            "amended": first.document_id,
            "revoked": revoked_receipt.document_id,
            "transit": transit_receipt.document_id,
        },
        acks={"manifest": (importer, Lane.RED)},
        itinerary=itinerary,
    )
