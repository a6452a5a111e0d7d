"""The auditor's side of the ledger: document files, their verification, reports.

* `document_file`: the file an auditor is handed for one document version
  (full, or redacted with per-field salted hashes) and its export from a
  `VerifiedDocument`;
* `report`: `AuditReport`, the stable JSON result of verifying one file
  (schema ``cie-ledger/audit-report/v1``), the `Verdict` enum, and
  `AuditBatchReport` (``cie-ledger/audit-batch/v1``: every file of a batch and
  the count of each verdict);
* `chain_index`: reads registry events for many document ids at once
  (one ``eth_getLogs`` per chunk of ids, JSON-RPC batches for block times);
* `verifier`: `verify_document_file` (one file) and `verify_document_files`
  (many, batched chain reads, optionally hashed in worker processes), and
  `batch_report` over their results;
* `html`: the self-contained printable HTML rendering of a report;
* `analytics`: aggregate statistics from the registry's events;
* `cli`: the ``cie audit`` Typer sub-app.
"""

from ledger_client.audit.document_file import (
    DOCUMENT_FILE_FORMAT,
    DocumentFile,
    DocumentFileError,
    export_document_file,
    parse_document_file,
)
from ledger_client.audit.report import (
    BATCH_REPORT_SCHEMA,
    REPORT_SCHEMA,
    AuditBatchReport,
    AuditReport,
    Verdict,
    exit_code_for,
)
from ledger_client.audit.verifier import (
    AuditVerifier,
    batch_report,
    verify_document_file,
    verify_document_files,
)

__all__ = [
    "BATCH_REPORT_SCHEMA",
    "DOCUMENT_FILE_FORMAT",
    "REPORT_SCHEMA",
    "AuditBatchReport",
    "AuditReport",
    "AuditVerifier",
    "DocumentFile",
    "DocumentFileError",
    "Verdict",
    "batch_report",
    "exit_code_for",
    "export_document_file",
    "parse_document_file",
    "verify_document_file",
    "verify_document_files",
]
