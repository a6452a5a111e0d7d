"""Auditors' services of the node: verify document files handed in, aggregate statistics.

The node verifies against the ledger it runs on (its settings' RPC endpoint and
deployment): a document file carries what recomputes the commitment, so nothing
is fetched from IPFS or decrypted. The work is `ledger_client.audit`'s; this
module keeps one `AuditVerifier` per node (event topics, registry address, chain
id, and the times of blocks at least `confirmations` deep, which a reorg cannot
change) and turns request bodies into the (name, bytes) pairs it reads.
"""

from __future__ import annotations

from typing import Final, Literal

from ledger_client.audit.analytics import AnalyticsReport, aggregate_report
from ledger_client.audit.document_file import (
    document_files_in_json_array,
    document_files_in_zip,
)
from ledger_client.audit.report import AuditBatchReport, AuditReport
from ledger_client.audit.verifier import AuditVerifier, batch_report
from node.runtime import NodeRuntime

__all__ = [
    "MAX_BATCH_INFLATED_BYTES",
    "BatchFormat",
    "aggregate",
    "build_verifier",
    "verify_batch",
    "verify_file",
]

MAX_BATCH_INFLATED_BYTES: Final = 256 * 1024 * 1024
"""Largest sum of the member sizes a zip batch may declare (checked before inflating)."""

BatchFormat = Literal["json", "zip"]


def build_verifier(runtime: NodeRuntime) -> AuditVerifier:
    """The node's read-only verifier (the API keeps one per app and reuses it)."""
    return AuditVerifier(runtime.ledger, settled_depth=max(runtime.settings.confirmations, 1))


def verify_file(verifier: AuditVerifier, body: bytes) -> AuditReport:
    """The report on one document file (`DocumentFileError` if it is not one)."""
    return verifier.verify(body)


def verify_batch(
    verifier: AuditVerifier, body: bytes, file_format: BatchFormat
) -> AuditBatchReport:
    """Reports on a JSON array or zip archive of document files, with per-verdict counts.

    `DocumentFileError` if the body is not such an array or archive (or is over
    the limits); a member that is not a document file is an UNREADABLE result.
    """
    if file_format == "zip":
        files = document_files_in_zip(body, max_total_bytes=MAX_BATCH_INFLATED_BYTES)
    else:
        files = document_files_in_json_array(body)
    return batch_report(verifier.verify_many(files))


def aggregate(
    runtime: NodeRuntime, from_block: int | None, to_block: int | None, overdue_after: int
) -> AnalyticsReport:
    """`ledger_client.audit.analytics.aggregate_report` over the node's ledger.

    The exporters' AEO ids sit in encrypted payloads, so they are not mapped
    here (those documents count as ``unmapped``); ``cie audit report --aeo-map``
    takes a mapping.
    """
    return aggregate_report(
        runtime.ledger, from_block=from_block, to_block=to_block, overdue_after=overdue_after
    )
