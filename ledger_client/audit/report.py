"""`AuditReport`: the result of verifying one document file (stable JSON schema).

Schema ``cie-ledger/audit-report/v1`` (the `schema_` field, serialised as
``"schema"``). Members are only ever added within v1; renaming or removing one,
or changing its meaning, makes a v2. `AuditReport.model_json_schema()` gives
the JSON Schema (``cie audit schema`` prints it). Conventions: ids, hashes and
commitments are ``0x`` + lowercase hex; times are UTC ISO 8601 strings taken
from block timestamps; economies are ISO 3166-1 alpha-2 codes.

Verdicts (first that applies, in this order):

============== ================================================ =========
WRONG_CHAIN    the file names another chain id / registry        exit 1
UNKNOWN        the id (or the file's version) is not anchored    exit 1
TAMPERED       the recomputed commitment differs from the chain  exit 1
REVOKED        valid, but the issuer revoked the document        exit 2
SUPERSEDED     valid, but a later version exists                 exit 3
REDACTED_VALID a redacted copy that matches the anchored root    exit 0
VALID          a full copy that matches the anchored root        exit 0
============== ================================================ =========
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import StrEnum
from typing import Any, Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

__all__ = [
    "BATCH_REPORT_SCHEMA",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_REVOKED",
    "EXIT_SUPERSEDED",
    "EXIT_USAGE",
    "REPORT_SCHEMA",
    "UNREADABLE",
    "AcknowledgementEntry",
    "AuditBatchReport",
    "AuditReport",
    "BatchFileResult",
    "CheckpointEntry",
    "DestinationEntry",
    "LinkedDocumentEntry",
    "Verdict",
    "VersionEntry",
    "exit_code_for",
    "iso_time",
    "worst_exit_code",
]

REPORT_SCHEMA: Final = "cie-ledger/audit-report/v1"
BATCH_REPORT_SCHEMA: Final = "cie-ledger/audit-batch/v1"
UNREADABLE: Final = "UNREADABLE"
"""The batch verdict of a file that is not a document file (it has no report)."""

EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_REVOKED: Final = 2
EXIT_SUPERSEDED: Final = 3
EXIT_USAGE: Final = 4


class Verdict(StrEnum):
    VALID = "VALID"
    REDACTED_VALID = "REDACTED_VALID"
    TAMPERED = "TAMPERED"
    SUPERSEDED = "SUPERSEDED"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"
    WRONG_CHAIN = "WRONG_CHAIN"


_EXIT_CODES: Final = {
    Verdict.VALID: EXIT_OK,
    Verdict.REDACTED_VALID: EXIT_OK,
    Verdict.TAMPERED: EXIT_INVALID,
    Verdict.UNKNOWN: EXIT_INVALID,
    Verdict.WRONG_CHAIN: EXIT_INVALID,
    Verdict.REVOKED: EXIT_REVOKED,
    Verdict.SUPERSEDED: EXIT_SUPERSEDED,
}


def exit_code_for(verdict: Verdict) -> int:
    """The `cie audit verify` exit status of a verdict."""
    return _EXIT_CODES[verdict]


# Worst first: a batch's status is the first of these that any of its files has.
_SEVERITY: Final = (EXIT_INVALID, EXIT_REVOKED, EXIT_SUPERSEDED, EXIT_OK)


def worst_exit_code(codes: set[int]) -> int:
    """The status of a batch from its files' statuses: 1 > 2 > 3 > 0 (empty: 0)."""
    return next((code for code in _SEVERITY if code in codes), EXIT_OK)


@functools.lru_cache(maxsize=65_536)  # block times repeat across a batch's reports
def iso_time(timestamp: int) -> str:
    """A UNIX timestamp as UTC ISO 8601 (``2026-01-31T12:00:00Z``)."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _schema_field(schema: str, description: str) -> Any:
    """The ``schema`` member (``schema_`` in Python: BaseModel has a ``schema``)."""
    return Field(
        default=schema,
        serialization_alias="schema",
        validation_alias=AliasChoices("schema", "schema_"),
        description=description,
    )


class VersionEntry(_Model):
    version: int
    commitment: str
    block: int
    time: str
    tx_hash: str


class AcknowledgementEntry(_Model):
    version: int = Field(description="the document version acknowledged")
    lane: str = Field(description="GREEN, YELLOW or RED")
    block: int
    time: str
    reasons_commitment: str
    reasons_shared: bool = Field(description="whether the reasons were sealed for the issuer")
    tx_hash: str


class DestinationEntry(_Model):
    economy: str
    acknowledgements: list[AcknowledgementEntry] = Field(default_factory=list)


class LinkedDocumentEntry(_Model):
    document_id: str
    doc_type: str | None = Field(description="type read off the id (None if the id is malformed)")
    issuer_economy: str | None
    anchored: bool
    latest_version: int | None = None
    revoked: bool | None = None
    revocation_reason: int | None = None


class CheckpointEntry(_Model):
    economy: str
    kind: str = Field(description="DEPARTURE, TRANSIT_PASSED, ARRIVAL or INCIDENT")
    position: int = Field(description="itinerary index of the economy")
    block: int
    time: str
    tx_hash: str


class TransitTrail(_Model):
    itinerary: list[str] = Field(description="the anchored destinations, in itinerary order")
    checkpoints: list[CheckpointEntry]
    departed: bool
    arrived: bool
    duration_seconds: int | None = Field(
        None, description="ARRIVAL time minus DEPARTURE time, once arrived"
    )


class RevocationEntry(_Model):
    reason_code: int
    block: int
    time: str
    tx_hash: str


class AuditReport(_Model):
    """What the ledger says about one presented document version, and the verdict."""

    schema_: str = _schema_field(REPORT_SCHEMA, "report schema version")
    verdict: Verdict
    exit_code: int = Field(description="the CLI exit status of this verdict")
    findings: list[str] = Field(description="human-readable reasons behind the verdict")
    checked_at: str = Field(description="when the verification ran (UTC)")
    chain_id: int = Field(description="chain the verifier was connected to")
    registry: str = Field(description="registry the verifier read")
    source: str | None = Field(None, description="file name, when verified from a file")

    # -- the presented file
    document_id: str
    file_chain_id: int
    file_registry: str
    disclosure: str = Field(description="full or redacted")
    presented_version: int
    doc_type: str
    schema_version: str
    computed_commitment: str | None = Field(
        description="root recomputed from the file (None if the file could not be hashed)"
    )
    disclosed_field_count: int
    hidden_field_count: int
    fields: dict[str, Any] | None = Field(
        None, description="disclosed values by JSON Pointer (single-file verification only)"
    )

    # -- what the chain says (None/empty when not anchored or on the wrong chain)
    anchored: bool
    anchored_commitment: str | None = Field(
        None, description="the root anchored for the presented version"
    )
    issuer_economy: str | None = None
    submitter: str | None = Field(None, description="account that sent the anchoring tx")
    issuing_authority: str | None = Field(
        None, description="authority id the batch was anchored under (None: the customs node)"
    )
    batch_key: str | None = None
    anchored_block: int | None = None
    anchored_at: str | None = None
    anchor_tx: str | None = None
    version_block: int | None = None
    version_time: str | None = None
    latest_version: int | None = None
    later_version_exists: bool = False
    versions: list[VersionEntry] = Field(default_factory=list)
    revoked: bool = False
    revocation: RevocationEntry | None = None
    destinations: list[DestinationEntry] = Field(default_factory=list)
    linked_documents: list[LinkedDocumentEntry] = Field(default_factory=list)
    transit: TransitTrail | None = None

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)


class BatchFileResult(_Model):
    """One file of a batch: its verdict and report, or why it is not a document file."""

    source: str = Field(description="member name, path or ``[index]`` in the batch")
    verdict: str = Field(description="a verdict, or UNREADABLE (not a document file)")
    exit_code: int
    error: str | None = Field(None, description="why the file could not be read (UNREADABLE)")
    report: AuditReport | None = None


class AuditBatchReport(_Model):
    """Every file of a batch and the count of each verdict (schema ``cie-ledger/audit-batch/v1``).

    `exit_code` is the batch's status, the worst among its files (1 > 2 > 3 > 0,
    an unreadable file counting as 1), as ``cie audit verify-batch`` exits.
    """

    schema_: str = _schema_field(BATCH_REPORT_SCHEMA, "batch report schema version")
    checked_at: str
    total: int
    exit_code: int
    summary: dict[str, int] = Field(
        description="files per verdict: every verdict and UNREADABLE, in a fixed order, zeros "
        "included"
    )
    results: list[BatchFileResult]

    def to_json(self, *, indent: int | None = None) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)
