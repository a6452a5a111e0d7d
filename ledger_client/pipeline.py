"""The document pipeline of one member node: from a submitted document to a verified copy.

This module owns the path a customs document takes through the ledger:

Submission (`DocumentPipeline.submit`, `submit_batch`, `submit_import`)
    validate (`manifests.parse_document` plus the ledger's own rules, below) ->
    canonicalize (RFC 8785) -> salted per-field commitment
    (`ledger_client.commitment`) -> payload (document, salts, type, schema
    version; `DocumentPayload`) -> sealed for every destination's CURRENT
    on-chain key and the issuer's own (`ledger_client.envelope`) -> IPFS add and
    pin -> registry transaction (`anchor` / `anchor_batch` / `amend`).
    Every step is recorded in the durable outbox (`ledger_client.outbox`)
    BEFORE its external effect; `resume` finishes what a crash or an outage
    left. The IPFS add always precedes the transaction, so the chain never
    names a payload that was not pinned first.

Fetch (`DocumentPipeline.fetch_and_verify`)
    registry events -> payload digest -> CID -> IPFS cat -> digest recomputed
    from the bytes -> envelope opened with this member's key for the version it
    was sealed to -> payload parsed -> commitment recomputed against the chain ->
    typed model validated -> `VerifiedDocument` with `Provenance`. Each failed
    check raises `VerificationError` whose `check` names it: "not_recipient",
    "payload_digest", "decrypt", "payload_format", "commitment", "schema",
    "issuer", "destinations", "version".

Lifecycle wrappers: `amend`, `revoke`, `acknowledge` (with a salted commitment to
the reasons), `record_checkpoint`.

Rules the pipeline adds to the document models' own validation (each reported
as a field-level `FieldError`, with nothing stored anywhere):

* ``issuer_economy.not_this_member``: a node anchors only in its own economy's
  id namespace;
* ``destinations.not_member`` / ``destinations.no_usable_key``: every
  destination must be an active consortium member with a usable published key
  (the payload is sealed to it);
* ``payload.too_large`` / ``document.not_canonical``: the canonical document
  must fit `max_document_bytes` and be RFC 8785 serialisable;
* ``reference.duplicate_in_batch``, ``reference.conflict``,
  ``reference.pending``, ``reference.revoked``, ``amend.record_changed``:
  references are unique per (issuer, type); a changed document needs
  ``amend=True``; an amendment cannot change the anchored destinations/links;
* ``links.unknown_document``: a link to a document of this node's own economy
  must name one this outbox allocated (or one in the same batch), because the
  on-chain record carries the linked document ids. Links to other economies'
  documents are resolved by the optional `link_resolver`; unresolved ones stay
  inside the encrypted document only.
* ``linked.*`` (from `manifests.check_linked_consistency`): **linked
  consistency is enforced at submission, by the issuing node, for a
  certificate of origin that links a pre-arrival manifest of the SAME economy**
  (in the same batch, pending in this outbox, or anchored by it: then fetched
  and verified from the ledger). The issuer is the only party that sees both
  documents before anything is anchored, and anchoring a certificate that
  contradicts its own manifest can only be a mistake. A manifest issued by
  another economy is not visible to the issuer before anchoring; there the
  importing side's risk engine runs the same check as a finding.

Idempotency: the outbox maps (issuer, type, reference) to one document id. The
same canonical content submitted again returns the existing receipt (no second
transaction); different content is a `DocumentConflictError` unless
``amend=True``, which anchors it as the next version.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from itertools import repeat
from multiprocessing import get_context
from typing import Any, Final, Literal, TypeVar

from ledger_client.commitment import DocumentCommitment, canonical_json, commit, verify_full
from ledger_client.consortium import MEMBER_REFRESH_SECONDS, MemberStatus
from ledger_client.encryption_keys import (
    InvalidPublicKeyError,
    MemberEncryptionKey,
    public_key_from_bytes,
)
from ledger_client.envelope import (
    DecryptionError,
    EnvelopeContext,
    RecipientKey,
    open_envelope,
    read_header,
    seal,
)
from ledger_client.errors import (
    ChainError,
    ConfigurationError,
    ContractRuleError,
    DocumentValidationError,
    IpfsError,
    IpfsUnavailableError,
    LedgerClientError,
    VerificationError,
)
from ledger_client.ipfs import IpfsStore, cid_to_digest, digest_to_cid
from ledger_client.ledger import Ledger
from ledger_client.outbox import (
    Allocation,
    NewSubmission,
    Outbox,
    OutboxEntry,
    SubmissionState,
)
from ledger_client.provenance import (
    DocumentHistory,
    DocumentPayload,
    HistoryReader,
    VerifiedDocument,
    unixfs_digest,
)
from ledger_client.records import (
    CheckpointKind,
    DocStatus,
    DocType,
    Lane,
    Record,
    document_id,
    economy_bytes,
    parse_document_id,
)
from ledger_client.registry import NO_AUTHORITY, ZERO32
from manifests import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    CertificateOfOrigin,
    Document,
    DocumentBase,
    DocumentInvalidError,
    DocumentType,
    FieldError,
    FileError,
    ImportFileError,
    Link,
    PreArrivalManifest,
    UnknownDocumentTypeError,
    check_linked_consistency,
    document_type_of,
    parse_document,
)
from manifests.importers import import_csv_text, import_json_text
from manifests.parsing import decode_json_payload

__all__ = [
    "REASONS_SCHEMA_VERSION",
    "AcknowledgementReceipt",
    "AnchorMismatchError",
    "BatchRejectedError",
    "ChainReceipt",
    "DocumentConflictError",
    "DocumentInput",
    "DocumentPipeline",
    "DocumentRejectedError",
    "LinkResolver",
    "ResumeReport",
    "StageTimings",
    "SubmissionPendingError",
    "SubmissionReceipt",
]

REASONS_SCHEMA_VERSION: Final = "cie.ack-reasons/1"
"""Schema version bound into the commitment to an acknowledgement's reasons."""
_REASONS_DOC_TYPE: Final = 0  # not a document type: reasons are committed to, never anchored

DocumentInput = Document | Mapping[str, Any] | bytes | str
"""A document as a validated model, decoded JSON, or raw JSON text/bytes."""

LinkResolver = Callable[[Link], bytes | None]
"""Maps a link to another economy's document to its 32-byte id (None: unknown)."""

_LOG_QUERY_CHUNK: Final = 200
_T = TypeVar("_T")
_WORKER_CHUNK: Final = 50  # documents per task sent to a worker process


# ------------------------------------------------------------------------- errors


def _as_dicts(errors: Iterable[FieldError], item: int | None = None) -> list[dict[str, str]]:
    out = []
    for error in errors:
        record = {"field": error.field, "rule": error.rule, "message": error.message}
        if item is not None:
            record["item"] = str(item)
        out.append(record)
    return out


class DocumentRejectedError(DocumentValidationError):
    """The document was refused before anything was stored; `field_errors` says why."""

    def __init__(self, field_errors: Sequence[FieldError]) -> None:
        self.field_errors = list(field_errors)
        lines = "; ".join(str(error) for error in self.field_errors[:5])
        more = f" (and {len(self.field_errors) - 5} more)" if len(self.field_errors) > 5 else ""
        super().__init__(
            f"document refused, nothing was stored or anchored: {lines}{more}",
            _as_dicts(self.field_errors),
        )

    @property
    def rules(self) -> list[str]:
        return [error.rule for error in self.field_errors]


class BatchRejectedError(DocumentValidationError):
    """A batch was refused whole, nothing stored; `item_errors` maps item index -> errors.

    For file imports, `file_errors` holds the importer's row/column-level records.
    """

    def __init__(
        self,
        item_errors: Mapping[int, Sequence[FieldError]],
        file_errors: Sequence[FileError] = (),
    ) -> None:
        self.item_errors = {index: list(errors) for index, errors in item_errors.items()}
        self.file_errors = list(file_errors)
        count = sum(len(e) for e in self.item_errors.values()) + len(self.file_errors)
        first = [
            f"item {index}: {error}"
            for index, errors in sorted(self.item_errors.items())
            for error in errors
        ] + [str(error) for error in self.file_errors]
        dicts = [d for i, errors in sorted(self.item_errors.items()) for d in _as_dicts(errors, i)]
        dicts += [
            {"field": error.field, "rule": error.rule, "message": error.message}
            for error in self.file_errors
        ]
        super().__init__(
            f"batch refused ({count} problem(s)), nothing was stored or anchored: "
            + "; ".join(first[:5]),
            dicts,
        )

    @property
    def rules(self) -> list[str]:
        return [d["rule"] for d in self.errors]


class DocumentConflictError(LedgerClientError, ValueError):
    """A reference already names a document with other content; pass amend=True to amend it."""

    def __init__(self, reference: str, document_id: bytes) -> None:
        self.reference = reference
        self.document_id = document_id
        super().__init__(
            f"reference {reference!r} is already document 0x{document_id.hex()} with different "
            "content; submit with amend=True to anchor the change as a new version, or use "
            "another reference"
        )


class SubmissionPendingError(LedgerClientError, RuntimeError):
    """The reference has an unfinished submission with other content; resume or abandon it."""

    def __init__(self, reference: str, document_id: bytes) -> None:
        self.reference = reference
        self.document_id = document_id
        super().__init__(
            f"reference {reference!r} (document 0x{document_id.hex()}) has an unfinished "
            "submission with different content; call resume() to finish it or abandon() it"
        )


class AnchorMismatchError(LedgerClientError, RuntimeError):
    """The chain holds a different commitment at the id/version this outbox meant to anchor."""


# ------------------------------------------------------------------------ results


@dataclass(frozen=True)
class SubmissionReceipt:
    """What became of one submitted document version.

    `state` is ANCHORED once the transaction is mined; VALIDATED/STORED when the
    caller asked to queue and an outage stopped it (`resume` finishes it).
    `created` is False when an identical earlier submission was returned.
    """

    document_id: str
    reference: str
    doc_type: DocType
    version: int
    commitment: str
    cid: str
    state: SubmissionState
    tx_hash: str | None
    block_number: int | None
    created: bool = True

    @property
    def document_id_bytes(self) -> bytes:
        return bytes.fromhex(self.document_id[2:])

    @property
    def payload_digest(self) -> bytes:
        return cid_to_digest(self.cid)


@dataclass(frozen=True)
class ChainReceipt:
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class AcknowledgementReceipt:
    """An acknowledgement sent; `reasons` holds the salts to disclose the reasons later."""

    document_id: str
    version: int
    lane: Lane
    reasons: DocumentCommitment
    reasons_cid: str | None
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class ResumeReport:
    anchored: list[SubmissionReceipt]
    failed: list[tuple[SubmissionReceipt, str]]
    pending: list[SubmissionReceipt]


@dataclass
class StageTimings:
    """Seconds spent per pipeline stage (accumulated; see `DocumentPipeline.timings`)."""

    validate: float = 0.0
    canonicalize: float = 0.0
    commit: float = 0.0
    encrypt: float = 0.0
    ipfs: float = 0.0
    chain: float = 0.0
    outbox: float = 0.0
    documents: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "validate": self.validate,
            "canonicalize": self.canonicalize,
            "commit": self.commit,
            "encrypt": self.encrypt,
            "ipfs": self.ipfs,
            "chain": self.chain,
            "outbox": self.outbox,
        }

    def timer(self, stage: str) -> _StageTimer:
        """``with timings.timer("ipfs"):`` adds the time spent inside to that field."""
        return _StageTimer(self, stage)


class _Stopwatch:
    """Adds the time spent inside ``with watch("stage"):`` to a StageTimings field."""

    def __init__(self, timings: StageTimings) -> None:
        self.timings = timings

    def __call__(self, stage: str) -> _StageTimer:
        return self.timings.timer(stage)


class _StageTimer:
    def __init__(self, timings: StageTimings, stage: str) -> None:
        self._timings = timings
        self._stage = stage
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self._started
        setattr(self._timings, self._stage, getattr(self._timings, self._stage) + elapsed)


# ------------------------------------------------------------------ internal plan


class _Plan(Enum):
    NEW = "new"  # first version: allocate a serial and anchor
    AMEND = "amend"  # next version of an anchored document
    EXISTING = "existing"  # identical to the anchored latest version: return it
    PENDING = "pending"  # identical to an unfinished submission: finish it


@dataclass
class _Candidate:
    index: int
    model: Document
    doc_type: DocumentType
    document: dict[str, Any]
    canonical: bytes
    content_digest: bytes
    plan: _Plan = _Plan.NEW
    existing: OutboxEntry | None = None
    # resolved link ids, or the batch index of a document anchored in the same batch
    link_targets: list[bytes | int] = field(default_factory=list)
    commitment: DocumentCommitment | None = None
    document_id: bytes | None = None
    # economy -> (key or None, rule): the recipients' keys as read once for the batch
    keys: Mapping[str, tuple[RecipientKey | None, str]] = field(default_factory=dict)


class _SerialsTaken(Exception):
    """Another pipeline on the same outbox reserved the serials a batch was sealed for."""


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _parse_input(
    item: DocumentInput, doc_type: DocumentType | int | str | None, max_bytes: int
) -> Document | list[FieldError]:
    """Parse and validate one submitted document (no side effects)."""
    try:
        if isinstance(item, DocumentBase):
            kind = item.document_type
            # Re-validate the serialised form: that is what gets committed to.
            data: Any = item.model_dump(mode="json")
        else:
            data = item
            if isinstance(item, bytes | bytearray | memoryview | str) and doc_type is None:
                data = decode_json_payload(item, max_bytes=max_bytes)
            if doc_type is not None:
                kind = DocumentType.parse(doc_type)
            elif isinstance(data, Mapping) and "schema_version" in data:
                kind = document_type_of(str(data["schema_version"]))
            else:
                return [
                    FieldError(
                        "schema_version",
                        "document_type.unknown",
                        "the document has no schema_version, so its type is unknown; "
                        "add it or pass doc_type",
                    )
                ]
        return parse_document(kind, data, max_bytes=max_bytes)
    except DocumentInvalidError as exc:
        return exc.errors
    except UnknownDocumentTypeError as exc:
        return [FieldError("schema_version", "document_type.unknown", str(exc))]


@dataclass(frozen=True)
class _Pure:
    """What a worker process computes for one document: no I/O, no pipeline state."""

    model: Document
    document: dict[str, Any]
    canonical: bytes
    commitment: DocumentCommitment
    seconds: tuple[float, float, float]  # validate, canonicalize, commit


def _pure_stages(
    items: Sequence[DocumentInput], doc_type: DocumentType | int | str | None, max_bytes: int
) -> list[_Pure | list[FieldError]]:
    """Validate, canonicalize and commit documents (run in a worker process)."""
    out: list[_Pure | list[FieldError]] = []
    for item in items:
        started = time.perf_counter()
        parsed = _parse_input(item, doc_type, max_bytes)
        parsed_at = time.perf_counter()
        if isinstance(parsed, list):
            out.append(parsed)
            continue
        document = parsed.model_dump(mode="json")
        try:
            canonical = canonical_json(document)
        except DocumentValidationError as exc:
            out.append([FieldError("", "document.not_canonical", str(exc))])
            continue
        canonical_at = time.perf_counter()
        commitment = commit(document, int(parsed.document_type), parsed.schema_version)
        out.append(
            _Pure(
                parsed,
                document,
                canonical,
                commitment,
                (
                    parsed_at - started,
                    canonical_at - parsed_at,
                    time.perf_counter() - canonical_at,
                ),
            )
        )
    return out


def _chunked(items: Sequence[_T]) -> list[Sequence[_T]]:
    """`items` in the chunks a worker process takes (few enough to keep pickling cheap)."""
    return [items[i : i + _WORKER_CHUNK] for i in range(0, len(items), _WORKER_CHUNK)]


def _seal_stage(
    jobs: Sequence[tuple[bytes, Mapping[str, RecipientKey], EnvelopeContext]],
) -> tuple[list[bytes], float]:
    """Seal payloads (run in a worker process); the envelopes and the seconds it took."""
    started = time.perf_counter()
    envelopes = [seal(plaintext, recipients, context) for plaintext, recipients, context in jobs]
    return envelopes, time.perf_counter() - started


def _as_document_id(value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    if len(value) != 32:
        raise ValueError("a document id is 32 bytes (bytes32), given as bytes or 0x-hex")
    return bytes(value)


def _receipt(entry: OutboxEntry, *, created: bool = True) -> SubmissionReceipt:
    return SubmissionReceipt(
        document_id=_hex(entry.document_id),
        reference=entry.reference,
        doc_type=DocType(entry.doc_type),
        version=entry.version,
        commitment=_hex(entry.commitment),
        cid=entry.cid,
        state=entry.state,
        tx_hash=_hex(entry.tx_hash) if entry.tx_hash else None,
        block_number=entry.block_number,
        created=created,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------- pipeline


class DocumentPipeline:
    """Submission and fetch of documents for one member node.

    `ledger` signs as one of the member's node accounts; `ipfs` is the member's
    own IPFS node; `encryption_key` is the member's current X25519 key, or a
    mapping key version -> key including older versions (needed to open
    documents sealed before a rotation); `outbox` is this node's durable outbox
    (one per node: the serial counter lives there). `reorg_depth` is how many
    recent blocks `resume` re-checks for anchors a reorganisation dropped.

    Thread-safe (submissions are serialised by a lock). With ``workers`` > 1,
    batches of at least 100 documents are validated, canonicalized and committed,
    and their new documents sealed, in that many worker processes (started on first
    use; `close` stops them).
    """

    def __init__(
        self,
        ledger: Ledger,
        ipfs: IpfsStore,
        encryption_key: MemberEncryptionKey | Mapping[int, MemberEncryptionKey],
        outbox: Outbox,
        *,
        economy: str | None = None,
        authority_id: bytes = NO_AUTHORITY,
        link_resolver: LinkResolver | None = None,
        max_document_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        key_refresh_seconds: float = MEMBER_REFRESH_SECONDS,
        fetch_timeout: float | None = None,
        reorg_depth: int = 64,
        workers: int = 1,
    ) -> None:
        if ledger.sender is None:
            raise ConfigurationError("the pipeline needs a ledger opened with a signing account")
        self.ledger = ledger
        self.registry = ledger.registry
        self.ipfs = ipfs
        self.outbox = outbox
        self.authority_id = authority_id
        self.link_resolver = link_resolver
        self.max_document_bytes = max_document_bytes
        self.key_refresh_seconds = key_refresh_seconds
        self.fetch_timeout = fetch_timeout
        self.reorg_depth = reorg_depth
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._estimator: ThreadPoolExecutor | None = None
        self.timings = StageTimings()
        self._watch = _Stopwatch(self.timings)
        self._lock = threading.RLock()
        self._history = HistoryReader(self.registry)

        own = ledger.consortium.economy_of(ledger.sender.address)
        if economy is not None and economy != own:
            raise ConfigurationError(
                f"the ledger's account {ledger.sender.address} signs for {own}, not {economy}"
            )
        self.economy = own
        self._private_keys = self._match_private_keys(encryption_key)
        self._serial_floor = self._chain_serial_floor()

    # -- configuration ---------------------------------------------------------

    def _match_private_keys(
        self, given: MemberEncryptionKey | Mapping[int, MemberEncryptionKey]
    ) -> dict[int, MemberEncryptionKey]:
        """Key version -> private key, checked against the keys published on-chain."""
        consortium = self.ledger.consortium
        current_key, current_version = consortium.encryption_key(self.economy)
        if isinstance(given, MemberEncryptionKey):
            keys = {}
            for version in range(current_version, 0, -1):
                if consortium.encryption_key_at(self.economy, version) == given.public_key_bytes:
                    keys[version] = given
        else:
            keys = dict(given)
        current = keys.get(current_version)
        if current is None or current.public_key_bytes != current_key:
            raise ConfigurationError(
                f"the encryption key given for {self.economy} is not its current on-chain key "
                f"(version {current_version}); publish it with "
                "consortium.rotate_encryption_key(key.public_key_bytes) or load the right key"
            )
        return keys

    def _chain_serial_floor(self) -> int:
        """The first serial after every batch this economy anchored (1 on a fresh chain)."""
        logs = self.registry.contract.events.BatchAnchored().get_logs(
            argument_filters={"issuer": economy_bytes(self.economy)},
            from_block=self.registry.from_block,
        )
        return max(
            (int(log["args"]["firstSerial"]) + int(log["args"]["count"]) for log in logs),
            default=1,
        )

    def _recipient_key(self, economy: str) -> tuple[RecipientKey | None, str]:
        """The current published key of an active member, or (None, rule) if unusable;
        read at most `key_refresh_seconds` ago (`ConsortiumClient.member`)."""
        try:
            info = self.ledger.consortium.member(economy, max_age=self.key_refresh_seconds)
        except ContractRuleError:
            return None, "destinations.not_member"
        if info.status is not MemberStatus.ACTIVE or info.key_version == 0:
            return None, "destinations.not_member"
        try:
            public_key_from_bytes(info.encryption_key)
        except InvalidPublicKeyError:
            return None, "destinations.no_usable_key"
        return RecipientKey(info.encryption_key, info.key_version), ""

    @property
    def serial_floor(self) -> int:
        """The lowest serial this pipeline will allocate (first one after the chain's
        highest anchored serial of this economy when the pipeline was opened)."""
        return self._serial_floor

    def reset_timings(self) -> None:
        self.timings = StageTimings()
        self._watch = _Stopwatch(self.timings)

    # -- submission --------------------------------------------------------------

    def submit(
        self,
        document: DocumentInput,
        *,
        doc_type: DocumentType | int | str | None = None,
        amend: bool = False,
        queue: bool = False,
    ) -> SubmissionReceipt:
        """Validate, seal, store and anchor one document (see the module docstring).

        Raises `DocumentRejectedError` (field errors; nothing stored),
        `DocumentConflictError` (changed content without amend=True),
        `SubmissionPendingError`, `IpfsUnavailableError` (nothing on chain; the
        submission is recorded as failed), a chain error (the submission stays
        pending for `resume`), or a typed contract error (failed, payload
        unpinned). With ``queue=True`` an IPFS or chain outage returns a pending
        receipt instead of raising.
        """
        with self._lock:
            candidates = self._prepare([document], doc_type, amend=amend, single=True)
            return self._execute(candidates, queue=queue)[0]

    def amend(
        self,
        document: DocumentInput,
        *,
        doc_type: DocumentType | int | str | None = None,
        queue: bool = False,
    ) -> SubmissionReceipt:
        """Anchor a changed document under its existing reference as the next version."""
        return self.submit(document, doc_type=doc_type, amend=True, queue=queue)

    def submit_batch(
        self,
        documents: Sequence[DocumentInput],
        *,
        doc_type: DocumentType | int | str | None = None,
        queue: bool = False,
    ) -> list[SubmissionReceipt]:
        """Anchor many new documents in ONE transaction (receipts in input order).

        Every document is validated first; if any is invalid the whole batch is
        refused with `BatchRejectedError` (per-item field errors) and nothing
        is stored. New documents get consecutive serials, are added to IPFS in
        one request and anchored with one `anchorBatch`. Documents identical to
        ones already anchored are returned as they are.
        """
        if not documents:
            return []
        with self._lock:
            candidates = self._prepare(documents, doc_type, amend=False, single=False)
            return self._execute(candidates, queue=queue)

    def submit_batches(
        self,
        batches: Iterable[Sequence[DocumentInput]],
        *,
        doc_type: DocumentType | int | str | None = None,
    ) -> list[list[SubmissionReceipt]]:
        """Submit many batches (as `submit_batch` each), one in flight behind the next.

        While batch k is added to IPFS and anchored on a worker thread, batch k+1
        is validated, committed, sealed and recorded here: the node's IPFS add and
        the wait for the transaction (time spent in other processes) overlap with
        this process's CPU work. Each batch is still recorded in the outbox
        before any of its external effects, its payloads are added before its
        transaction is sent, and transactions go out in batch order. Receipts per
        batch, in input order.

        Batches that are not all new documents (identical resubmissions, pending
        ones) wait for the batch in flight and then go through `submit_batch`.
        A failure raises once the batch in flight has settled; batches recorded
        but not anchored by then stay pending for `resume` (nothing is lost).
        """
        results: list[list[SubmissionReceipt]] = []
        with self._lock, ThreadPoolExecutor(1, thread_name_prefix="pipeline-send") as sender:
            in_flight: tuple[Future[None], list[_Candidate]] | None = None

            def settle() -> None:
                nonlocal in_flight
                if in_flight is not None:
                    future, candidates = in_flight
                    in_flight = None
                    future.result()
                    results.append(self._receipts(candidates))

            try:
                for batch in batches:
                    if not batch:
                        settle()
                        results.append([])
                        continue
                    candidates = self._prepare(batch, doc_type, amend=False, single=False)
                    if any(c.plan is not _Plan.NEW for c in candidates):
                        settle()
                        results.append(self.submit_batch(batch, doc_type=doc_type))
                        continue
                    entries = self._record_new(candidates)
                    self.timings.documents += len(candidates)
                    settle()
                    in_flight = (
                        sender.submit(self._finish, entries, queue=False, settle=False),
                        candidates,
                    )
                settle()
            finally:
                if in_flight is not None:  # an exception above: let the batch in flight end
                    with contextlib.suppress(Exception):
                        in_flight[0].result()
        return results

    def _receipts(self, candidates: Sequence[_Candidate]) -> list[SubmissionReceipt]:
        current = self.outbox.current_entries(
            [c.document_id for c in candidates if c.document_id is not None]
        )
        receipts = []
        for candidate in candidates:
            assert candidate.document_id is not None
            receipts.append(_receipt(current[candidate.document_id]))
        return receipts

    def submit_import(
        self,
        raw: bytes | str,
        *,
        file_format: Literal["json", "csv"],
        doc_type: DocumentType | int | str | None = None,
        source: str = "<input>",
        queue: bool = False,
    ) -> list[SubmissionReceipt]:
        """Import a JSON or CSV file with the `manifests` importers and submit it as a batch.

        A malformed or invalid file raises `BatchRejectedError` whose
        `file_errors` locate each problem (row, column, field).
        """
        try:
            if file_format == "json":
                documents = import_json_text(raw, doc_type, source=source)
            elif file_format == "csv":
                if doc_type is None:
                    raise ConfigurationError("a CSV import needs the document type")
                documents = import_csv_text(raw, doc_type, source=source)
            else:
                raise ConfigurationError(f"unknown file format {file_format!r}; use json or csv")
        except ImportFileError as exc:
            raise BatchRejectedError({}, exc.errors) from None
        return self.submit_batch(documents, queue=queue)

    # .. preparation (no side effects) ...........................................

    def _parse(
        self, item: DocumentInput, doc_type: DocumentType | int | str | None
    ) -> Document | list[FieldError]:
        return _parse_input(item, doc_type, self.max_document_bytes)

    def _pure_in_workers(
        self, items: Sequence[DocumentInput], doc_type: DocumentType | int | str | None
    ) -> list[_Pure | list[FieldError]] | None:
        """Validation, canonicalization and commitment of a large batch in the worker
        processes (None: do it here). Chunks keep the pickling overhead small."""
        if not self._in_workers(len(items)):
            return None
        chunks = _chunked(items)
        results: list[_Pure | list[FieldError]] = []
        for chunk in self._worker_pool().map(
            _pure_stages, chunks, repeat(doc_type), repeat(self.max_document_bytes)
        ):
            results.extend(chunk)
        return results

    def _in_workers(self, count: int) -> bool:
        """Whether a batch of `count` documents goes to the worker processes (if any)."""
        return self.workers >= 2 and count >= 2 * _WORKER_CHUNK

    def _worker_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:  # submissions are serialised by the pipeline's lock
            # spawn, not fork: this process runs threads (HTTP sessions, a sender).
            self._pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        return self._pool

    def close(self) -> None:
        """Stop the worker processes and the estimating thread, if any (the outbox and
        clients are the caller's)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._estimator is not None:
            self._estimator.shutdown()
            self._estimator = None

    def _prepare(
        self,
        items: Sequence[DocumentInput],
        doc_type: DocumentType | int | str | None,
        *,
        amend: bool,
        single: bool,
    ) -> list[_Candidate]:
        errors: dict[int, list[FieldError]] = {}
        candidates: list[_Candidate] = []
        pure = self._pure_in_workers(items, doc_type)
        precommitted: dict[int, DocumentCommitment] = {}
        if pure is not None:
            for index, result in enumerate(pure):
                if isinstance(result, list):
                    errors[index] = result
                    continue
                for stage, seconds in zip(
                    ("validate", "canonicalize", "commit"), result.seconds, strict=True
                ):
                    setattr(self.timings, stage, getattr(self.timings, stage) + seconds)
                precommitted[index] = result.commitment
                candidates.append(
                    _Candidate(
                        index=index,
                        model=result.model,
                        doc_type=result.model.document_type,
                        document=result.document,
                        canonical=result.canonical,
                        content_digest=hashlib.sha256(result.canonical).digest(),
                    )
                )
        models: list[tuple[int, Document]] = []
        if pure is None:
            with self._watch("validate"):
                for index, item in enumerate(items):
                    parsed = self._parse(item, doc_type)
                    if isinstance(parsed, list):
                        errors[index] = parsed
                    else:
                        models.append((index, parsed))
        for index, model in models:
            with self._watch("canonicalize"):
                document = model.model_dump(mode="json")
                try:
                    canonical = canonical_json(document)
                except DocumentValidationError as exc:
                    errors[index] = [FieldError("", "document.not_canonical", str(exc))]
                    continue
            candidates.append(
                _Candidate(
                    index=index,
                    model=model,
                    doc_type=model.document_type,
                    document=document,
                    canonical=canonical,
                    content_digest=hashlib.sha256(canonical).digest(),
                )
            )
        with self._watch("validate"):
            # Every recipient's key is read once per batch: validation and sealing
            # then agree on it, and a batch costs one read per economy, not one per
            # cache expiry.
            economies = {self.economy}
            for candidate in candidates:
                economies.update(candidate.model.destinations)
            keys = {economy: self._recipient_key(economy) for economy in sorted(economies)}
            for candidate in candidates:
                candidate.keys = keys
            in_batch: dict[tuple[int, str], _Candidate] = {}
            # What the outbox knows about these references, read in a few queries
            # instead of two per document.
            allocations = self.outbox.allocations(
                self.economy, [(int(c.doc_type), c.model.reference) for c in candidates]
            )
            currents = self.outbox.current_entries(
                [allocation.document_id for allocation in allocations.values()]
            )
            for candidate in candidates:
                key = (int(candidate.doc_type), candidate.model.reference)
                found = self._check(
                    candidate,
                    amend=amend,
                    single=single,
                    allocation=allocations.get(key),
                    currents=currents,
                )
                if key in in_batch:
                    found.append(
                        FieldError(
                            "reference",
                            "reference.duplicate_in_batch",
                            f"reference {candidate.model.reference!r} is already item "
                            f"{in_batch[key].index} of this batch; references are unique per "
                            "issuer and document type",
                        )
                    )
                in_batch.setdefault(key, candidate)
                if found:
                    errors.setdefault(candidate.index, []).extend(found)
            for candidate in candidates:
                if candidate.index in errors or candidate.plan not in (_Plan.NEW, _Plan.AMEND):
                    continue
                found = self._check_links(candidate, in_batch)
                if found:
                    errors.setdefault(candidate.index, []).extend(found)
        if errors:
            self._raise_rejection(errors, candidates, single)
        with self._watch("commit"):
            for candidate in candidates:
                if candidate.plan in (_Plan.NEW, _Plan.AMEND):
                    candidate.commitment = precommitted.get(candidate.index) or commit(
                        candidate.document,
                        int(candidate.doc_type),
                        candidate.model.schema_version,
                    )
        return candidates

    @staticmethod
    def _raise_rejection(
        errors: dict[int, list[FieldError]], candidates: Sequence[_Candidate], single: bool
    ) -> None:
        if not single:
            raise BatchRejectedError(errors)
        (problems,) = errors.values()
        rules = {problem.rule for problem in problems}
        if candidates and candidates[0].document_id is not None:
            reference, doc_id = candidates[0].model.reference, candidates[0].document_id
            if "reference.conflict" in rules:
                raise DocumentConflictError(reference, doc_id)
            if "reference.pending" in rules:
                raise SubmissionPendingError(reference, doc_id)
        raise DocumentRejectedError(problems)

    def _check(
        self,
        candidate: _Candidate,
        *,
        amend: bool,
        single: bool,
        allocation: Allocation | None,
        currents: Mapping[bytes, OutboxEntry],
    ) -> list[FieldError]:
        """The ledger's rules for one parsed document; classifies it (new, amend, ...).

        `allocation` is the outbox's allocation of the document's reference (if
        any) and `currents` its current outbox entries, read for the whole batch.
        """
        model = candidate.model
        problems: list[FieldError] = []
        if model.issuer_economy != self.economy:
            problems.append(
                FieldError(
                    "issuer_economy",
                    "issuer_economy.not_this_member",
                    f"this node anchors documents of {self.economy}, not "
                    f"{model.issuer_economy}; submit it through that economy's node",
                )
            )
        for position, destination in enumerate(model.destinations):
            key, rule = candidate.keys.get(destination) or self._recipient_key(destination)
            if key is None:
                problems.append(
                    FieldError(
                        f"destinations[{position}]",
                        rule,
                        f"{destination} is not an active consortium member with a usable "
                        "published encryption key, so the document cannot be sealed for it",
                    )
                )
        if len(candidate.canonical) > self.max_document_bytes:
            problems.append(
                FieldError(
                    "",
                    "payload.too_large",
                    f"the canonical document is {len(candidate.canonical)} bytes, more than "
                    f"the limit of {self.max_document_bytes}; split it",
                )
            )
        if problems:
            return problems
        if allocation is None:
            return []
        candidate.document_id = allocation.document_id
        current = currents.get(allocation.document_id)
        if current is None:  # only failed attempts left a trace: start afresh
            return []
        candidate.existing = current
        if current.content_digest == candidate.content_digest:
            done = current.state is SubmissionState.ANCHORED
            candidate.plan = _Plan.EXISTING if done else _Plan.PENDING
            return []
        if current.state.is_pending:
            return [
                FieldError(
                    "reference",
                    "reference.pending",
                    f"reference {model.reference!r} has an unfinished submission with other "
                    "content; resume() or abandon() it first",
                )
            ]
        if not amend:
            return [
                FieldError(
                    "reference",
                    "reference.conflict",
                    f"reference {model.reference!r} is already document "
                    f"0x{allocation.document_id.hex()} with different content; amend it"
                    + (" with amend=True" if single else " on its own (submit(..., amend=True))"),
                )
            ]
        candidate.plan = _Plan.AMEND
        state = self.registry.document_state(allocation.document_id)
        if state.status is DocStatus.REVOKED:
            return [
                FieldError(
                    "reference",
                    "reference.revoked",
                    f"document 0x{allocation.document_id.hex()} is revoked; revocation is final",
                )
            ]
        anchored = self.outbox.anchored_entry(allocation.document_id, 1)
        if anchored is not None and tuple(model.destinations) != anchored.destinations:
            return [
                FieldError(
                    "destinations",
                    "amend.record_changed",
                    "an amendment keeps the anchored destinations "
                    f"{list(anchored.destinations)}; anchor a new document to change them",
                )
            ]
        return []

    def _check_links(
        self, candidate: _Candidate, in_batch: Mapping[tuple[int, str], _Candidate]
    ) -> list[FieldError]:
        """Resolve links to ids; enforce linked consistency (see the module docstring)."""
        problems: list[FieldError] = []
        targets: list[bytes | int] = []
        for position, link in enumerate(candidate.model.links):
            target: bytes | int | None = None
            linked_model: Document | None = None
            if link.issuer_economy == self.economy:
                sibling = in_batch.get((int(link.type), link.reference))
                if sibling is not None and sibling is not candidate:
                    linked_model = sibling.model
                    # A sibling anchored earlier already has its id; a new one gets
                    # its id when the batch's serials are allocated.
                    target = (
                        sibling.index
                        if sibling.plan is _Plan.NEW or sibling.document_id is None
                        else sibling.document_id
                    )
                else:
                    allocation = self.outbox.allocation(
                        self.economy, int(link.type), link.reference
                    )
                    if allocation is None:
                        problems.append(
                            FieldError(
                                f"links[{position}]",
                                "links.unknown_document",
                                f"{self.economy} has no {link.document_type} with reference "
                                f"{link.reference!r}; submit it first or in the same batch",
                            )
                        )
                        continue
                    target = allocation.document_id
            elif self.link_resolver is not None:
                target = self.link_resolver(link)
            if target is None:
                continue
            targets.append(target)
            if (
                isinstance(candidate.model, CertificateOfOrigin)
                and link.type is DocumentType.PRE_ARRIVAL_MANIFEST
                and link.issuer_economy == self.economy
            ):
                if linked_model is None:
                    assert isinstance(target, bytes)
                    linked_model = self._read_own(target)
                if isinstance(linked_model, PreArrivalManifest):
                    problems.extend(
                        FieldError(issue.field, issue.rule, issue.message)
                        for issue in check_linked_consistency(candidate.model, linked_model)
                    )
        candidate.link_targets = targets
        if candidate.plan is _Plan.AMEND and candidate.existing is not None:
            anchored = self.outbox.anchored_entry(candidate.existing.document_id, 1)
            resolved = [t for t in targets if isinstance(t, bytes)]
            if anchored is not None and tuple(resolved) != anchored.links:
                problems.append(
                    FieldError(
                        "links",
                        "amend.record_changed",
                        "an amendment keeps the links anchored with version 1; anchor a new "
                        "document to change them",
                    )
                )
        return problems

    def _read_own(self, doc_id: bytes) -> Document:
        """A document this node issued: from its pending envelope, else from the ledger."""
        entry = self.outbox.current_entry(doc_id)
        if entry is not None and entry.envelope is not None:
            plaintext = self._open(entry.envelope, EnvelopeContext(doc_id, entry.version))
            payload = DocumentPayload.from_bytes(plaintext)
            return parse_document(payload.doc_type, payload.document)
        return self.fetch_and_verify(doc_id).document

    # .. execution (side effects, recorded first) .................................

    def _execute(self, candidates: list[_Candidate], *, queue: bool) -> list[SubmissionReceipt]:
        receipts: dict[int, SubmissionReceipt] = {}
        new = [c for c in candidates if c.plan is _Plan.NEW]
        amendments = [c for c in candidates if c.plan is _Plan.AMEND]
        for candidate in candidates:
            if candidate.plan is _Plan.EXISTING:
                assert candidate.existing is not None
                receipts[candidate.index] = _receipt(candidate.existing, created=False)
        pending = {c.existing.id: c for c in candidates if c.plan is _Plan.PENDING and c.existing}
        if pending:
            self._finish(
                [c.existing for c in pending.values() if c.existing], queue=queue, settle=True
            )
        if new:
            self._finish(self._record_new(new), queue=queue, settle=False)
        for candidate in amendments:
            self._finish(self._record_amendment(candidate), queue=queue, settle=False)
        self.timings.documents += len(new) + len(amendments)
        current = self.outbox.current_entries(
            [c.document_id for c in candidates if c.index not in receipts and c.document_id]
        )
        for candidate in candidates:
            if candidate.index in receipts:
                continue
            assert candidate.document_id is not None
            entry = current.get(candidate.document_id)
            assert entry is not None
            receipts[candidate.index] = _receipt(entry, created=candidate.plan is not _Plan.PENDING)
        return [receipts[c.index] for c in candidates]

    def _seal(self, candidate: _Candidate, doc_id: bytes, version: int) -> bytes:
        with self._watch("encrypt"):
            return seal(*self._seal_job(candidate, doc_id, version))

    def _seal_job(
        self, candidate: _Candidate, doc_id: bytes, version: int
    ) -> tuple[bytes, dict[str, RecipientKey], EnvelopeContext]:
        """What `seal` takes for a candidate: its payload, its recipients' keys, the context."""
        assert candidate.commitment is not None
        recipients: dict[str, RecipientKey] = {}
        for economy in {*candidate.model.destinations, self.economy}:
            key, _ = candidate.keys.get(economy) or self._recipient_key(economy)
            if key is None:  # checked during validation; only a race gets here
                raise ConfigurationError(f"{economy} has no usable encryption key any more")
            recipients[economy] = key
        payload = DocumentPayload(
            int(candidate.doc_type),
            candidate.model.schema_version,
            candidate.document,
            candidate.commitment.salts,
        )
        return payload.to_bytes(candidate.canonical), recipients, EnvelopeContext(doc_id, version)

    def _sealed_in_workers(self, candidates: Sequence[_Candidate]) -> list[bytes] | None:
        """The envelopes of a large batch of new documents (ids assigned), sealed in the
        worker processes (None: seal each here). Payloads and keys are gathered here."""
        if not self._in_workers(len(candidates)):
            return None
        jobs = []
        with self._watch("encrypt"):
            for candidate in candidates:
                assert candidate.document_id is not None
                jobs.append(self._seal_job(candidate, candidate.document_id, 1))
        envelopes: list[bytes] = []
        for sealed, seconds in self._worker_pool().map(_seal_stage, _chunked(jobs)):
            envelopes.extend(sealed)
            self.timings.encrypt += seconds
        return envelopes

    def _record_new(self, candidates: list[_Candidate]) -> list[OutboxEntry]:
        """Allocate consecutive serials and record the sealed submissions, in one transaction.

        Sealing happens before the transaction, for the serials it is about to
        reserve, so the outbox is not held while envelopes are built (a
        `submit_batches` sender thread marks the previous batch meanwhile). If
        another pipeline on the same outbox took those serials in between, the
        transaction rolls back and the batch is sealed again for the next ones.
        """
        while True:
            first = max(self.outbox.next_serial(self.economy) or 0, self._serial_floor)
            for offset, candidate in enumerate(candidates):
                candidate.document_id = document_id(
                    self.economy, int(candidate.doc_type), first + offset
                )
            by_index = {c.index: c for c in candidates}
            submissions: list[NewSubmission] = []
            sealed = self._sealed_in_workers(candidates)
            for offset, candidate in enumerate(candidates):
                doc_id = candidate.document_id
                assert doc_id is not None and candidate.commitment is not None
                envelope = (
                    sealed[offset] if sealed is not None else self._seal(candidate, doc_id, 1)
                )
                with self._watch("ipfs"):  # the CID the add must return, computed locally
                    cid = digest_to_cid(unixfs_digest(envelope))
                submissions.append(
                    NewSubmission(
                        document_id=doc_id,
                        economy=self.economy,
                        doc_type=int(candidate.doc_type),
                        reference=candidate.model.reference,
                        version=1,
                        content_digest=candidate.content_digest,
                        commitment=candidate.commitment.root,
                        cid=cid,
                        envelope=envelope,
                        destinations=tuple(candidate.model.destinations),
                        links=tuple(
                            t if isinstance(t, bytes) else self._sibling_id(by_index, t)
                            for t in candidate.link_targets
                        ),
                        group_first_serial=first,
                    )
                )
            started = time.perf_counter()
            try:
                with self.outbox.transaction() as work:
                    reserved = work.reserve_serials(
                        self.economy, len(candidates), self._serial_floor
                    )
                    if reserved != first:
                        raise _SerialsTaken
                    work.allocate(
                        [
                            Allocation(
                                self.economy,
                                int(candidate.doc_type),
                                candidate.model.reference,
                                first + offset,
                                submission.document_id,
                            )
                            for offset, (candidate, submission) in enumerate(
                                zip(candidates, submissions, strict=True)
                            )
                        ]
                    )
                    entries = work.add_submissions(submissions)
            except _SerialsTaken:
                continue
            finally:
                self.timings.outbox += time.perf_counter() - started
            return entries

    @staticmethod
    def _sibling_id(by_index: Mapping[int, _Candidate], index: int) -> bytes:
        doc_id = by_index[index].document_id
        assert doc_id is not None
        return doc_id

    def _record_amendment(self, candidate: _Candidate) -> list[OutboxEntry]:
        assert candidate.document_id is not None and candidate.commitment is not None
        doc_id = candidate.document_id
        version = self.registry.document_state(doc_id).version + 1
        envelope = self._seal(candidate, doc_id, version)
        anchored = self.outbox.anchored_entry(doc_id, 1)
        with self._watch("outbox"), self.outbox.transaction() as work:
            (entry,) = work.add_submissions(
                [
                    NewSubmission(
                        document_id=doc_id,
                        economy=self.economy,
                        doc_type=int(candidate.doc_type),
                        reference=candidate.model.reference,
                        version=version,
                        content_digest=candidate.content_digest,
                        commitment=candidate.commitment.root,
                        cid=digest_to_cid(unixfs_digest(envelope)),
                        envelope=envelope,
                        destinations=tuple(candidate.model.destinations),
                        links=anchored.links if anchored is not None else (),
                        group_first_serial=None,
                    )
                ]
            )
        return [entry]

    def _record(self, entry: OutboxEntry) -> Record:
        return Record(
            DocType(entry.doc_type),
            entry.commitment,
            cid_to_digest(entry.cid),
            entry.destinations,
            entry.links,
        )

    def _store(self, entries: Sequence[OutboxEntry]) -> None:
        """Add and pin the envelopes (one request) and check they got the expected CIDs."""
        unstored = [e for e in entries if e.state is SubmissionState.VALIDATED]
        if not unstored:
            return
        envelopes = []
        for entry in unstored:
            if entry.envelope is None:
                raise LedgerClientError(f"outbox lost the envelope of submission {entry.id}")
            envelopes.append(entry.envelope)
        with self._watch("ipfs"):
            cids = self.ipfs.add_many(envelopes)
        wrong = [(e, cid) for e, cid in zip(unstored, cids, strict=True) if cid != e.cid]
        if wrong:
            for _, cid in wrong:
                self._unpin_quietly(cid)
            entry, cid = wrong[0]
            raise IpfsError(
                f"IPFS node {self.ipfs.api_address} gave CID {cid} for the envelope of "
                f"0x{entry.document_id.hex()}, expected {entry.cid}; is it importing with "
                "non-default settings?"
            )
        with self._watch("outbox"):
            self.outbox.mark_stored([e.id for e in unstored])

    def _estimate(
        self, entries: Sequence[OutboxEntry], records: Sequence[Record]
    ) -> Future[int] | None:
        """The gas of the transaction anchoring a serial run (its `records`), estimated
        on another thread (None for an amendment): it runs while the envelopes are
        added, both being round trips that need nothing of each other; the transaction
        itself is sent only once the envelopes are stored."""
        if entries[0].version > 1:
            return None
        if self._estimator is None:
            self._estimator = ThreadPoolExecutor(1, thread_name_prefix="pipeline-estimate")

        def estimate() -> int:
            with self._watch("chain"):
                return self.registry.anchoring_gas(
                    entries[0].serial, records, authority_id=self.authority_id
                )

        return self._estimator.submit(estimate)

    def _send(
        self, entries: Sequence[OutboxEntry], records: Sequence[Record], gas: Future[int] | None
    ) -> tuple[bytes, int]:
        """The one transaction that anchors `entries` (a serial run with its `records` and
        `_estimate`, or one amendment); a refusal at the estimate raises here."""
        if entries[0].version > 1:
            (entry,) = entries
            with self._watch("chain"):
                receipt = self.registry.amend(
                    entry.document_id, entry.commitment, cid_to_digest(entry.cid)
                )
            return bytes(receipt["transactionHash"]), int(receipt["blockNumber"])
        limit = gas.result() if gas is not None else None
        with self._watch("chain"):
            if len(entries) == 1:
                batch = self.registry.anchor(
                    entries[0].serial, records[0], authority_id=self.authority_id, gas=limit
                )
            else:
                batch = self.registry.anchor_batch(
                    entries[0].serial, records, authority_id=self.authority_id, gas=limit
                )
        return batch.tx_hash, batch.block_number

    def _finish(self, entries: Sequence[OutboxEntry], *, queue: bool, settle: bool) -> None:
        """Drive pending submissions to anchored: settle from chain (when an earlier
        attempt may have reached it), store, send."""
        if not entries:
            return
        remaining = self._settle_from_chain(entries) if settle else list(entries)
        for run in self._runs(remaining):
            self._store_and_send(run, queue=queue)

    def _store_and_send(self, run: Sequence[OutboxEntry], *, queue: bool) -> None:
        ids = [e.id for e in run]
        records = [self._record(e) for e in run] if run[0].version == 1 else []
        gas = self._estimate(run, records)
        try:
            self._store(run)
        except IpfsUnavailableError as exc:
            if queue:
                self.outbox.note_error(ids, _describe(exc))
                return
            self._fail(run, exc)
            raise
        except IpfsError as exc:
            self._fail(run, exc)
            raise
        try:
            tx_hash, block_number = self._send(run, records, gas)
        except ContractRuleError as exc:
            # Refused by the contract (at estimate or when mined): nothing of ours is
            # on chain, unless an earlier attempt of ours already anchored it.
            remaining = self._settle_from_chain(run)
            if remaining:
                self._fail(remaining, exc)
            if any(self._state_of(e) is not SubmissionState.ANCHORED for e in run):
                raise
            return
        except Exception as exc:
            # Unreachable chain or unknown outcome (e.g. receipt timeout): the
            # transaction may still land, so keep the payload pinned and stay pending.
            self.outbox.note_error(ids, _describe(exc))
            if queue and isinstance(exc, ChainError | ConnectionError | OSError):
                return
            raise
        with self._watch("outbox"):
            self.outbox.mark_anchored(ids, tx_hash, block_number)

    def _state_of(self, entry: OutboxEntry) -> SubmissionState:
        return next(e.state for e in self.outbox.entries(entry.document_id) if e.id == entry.id)

    @staticmethod
    def _runs(entries: Sequence[OutboxEntry]) -> list[list[OutboxEntry]]:
        """Group first versions into runs of consecutive serials of one anchoring group
        (one transaction each); every amendment is a run of its own."""
        runs: list[list[OutboxEntry]] = []
        for entry in sorted(entries, key=lambda e: (e.version > 1, e.serial, e.version)):
            last = runs[-1][-1] if runs else None
            if (
                last is not None
                and entry.version == 1
                and last.version == 1
                and entry.group_first_serial == last.group_first_serial
                and entry.serial == last.serial + 1
            ):
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return runs

    def _fail(self, entries: Sequence[OutboxEntry], exc: BaseException) -> None:
        """Terminal failure: unpin the payloads (best effort), then record it."""
        for entry in entries:
            try:
                self.ipfs.unpin(entry.cid)
            except IpfsUnavailableError:
                # An unreachable node serves nothing either; stop trying (each try
                # costs its retries). The failure row keeps the CID for an operator.
                break
            except IpfsError:
                continue
        with self._watch("outbox"):
            self.outbox.mark_failed([e.id for e in entries], _describe(exc))

    def _unpin_quietly(self, cid: str) -> None:
        with contextlib.suppress(IpfsError):
            self.ipfs.unpin(cid)

    # .. settling against the chain ..............................................

    def _on_chain(
        self, entries: Sequence[OutboxEntry]
    ) -> dict[int, tuple[bytes, bytes, bytes, int]]:
        """entry id -> (commitment, payload digest, tx hash, block) for entries the chain has."""
        found: dict[int, tuple[bytes, bytes, bytes, int]] = {}
        firsts = [e for e in entries if e.version == 1]
        contract = self.registry.contract
        for start in range(0, len(firsts), _LOG_QUERY_CHUNK):
            chunk = firsts[start : start + _LOG_QUERY_CHUNK]
            by_id = {e.document_id: e for e in chunk}
            for log in contract.events.DocumentAnchored().get_logs(
                argument_filters={"id": list(by_id)}, from_block=self.registry.from_block
            ):
                entry = by_id.get(bytes(log["args"]["id"]))
                if entry is not None and entry.id not in found:
                    found[entry.id] = (
                        bytes(log["args"]["commitment"]),
                        bytes(log["args"]["payloadDigest"]),
                        bytes(log["transactionHash"]),
                        int(log["blockNumber"]),
                    )
        for entry in entries:
            if entry.version == 1:
                continue
            for log in contract.events.DocumentAmended().get_logs(
                argument_filters={"id": entry.document_id}, from_block=self.registry.from_block
            ):
                if int(log["args"]["version"]) == entry.version:
                    found[entry.id] = (
                        bytes(log["args"]["commitment"]),
                        bytes(log["args"]["payloadDigest"]),
                        bytes(log["transactionHash"]),
                        int(log["blockNumber"]),
                    )
                    break
        return found

    def _settle_from_chain(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Mark entries the chain already holds (ours: anchored; another's: failed).

        Returns the entries still to be sent. An amendment whose version number
        the chain has moved past cannot be sent any more (its envelope is bound
        to that version) and fails.
        """
        chain = self._on_chain(entries)
        remaining = []
        for entry in entries:
            held = chain.get(entry.id)
            if held is None:
                if entry.version > 1:
                    current = self.registry.document_state(entry.document_id).version
                    if current + 1 != entry.version:
                        self._fail(
                            [entry],
                            AnchorMismatchError(
                                f"document 0x{entry.document_id.hex()} is at version {current}; "
                                f"this amendment was sealed as version {entry.version}"
                            ),
                        )
                        continue
                remaining.append(entry)
                continue
            commitment, digest, tx_hash, block_number = held
            if commitment != entry.commitment or digest != cid_to_digest(entry.cid):
                self._fail(
                    [entry],
                    AnchorMismatchError(
                        f"the chain holds another commitment for 0x{entry.document_id.hex()} "
                        f"version {entry.version} (0x{commitment.hex()}); this submission "
                        "cannot be anchored there"
                    ),
                )
                continue
            if entry.state is SubmissionState.VALIDATED:
                self._store([entry])  # the chain names it: make sure it is pinned here
            self.outbox.mark_anchored([entry.id], tx_hash, block_number)
        return remaining

    # .. recovery ................................................................

    def pending(self) -> list[SubmissionReceipt]:
        """Submissions of this economy that are not anchored or failed yet."""
        return [_receipt(e) for e in self.outbox.pending(self.economy)]

    def resume(self) -> ResumeReport:
        """Finish every pending submission (after a crash or an IPFS/chain outage).

        First, anchors of the last `reorg_depth` blocks that a reorganisation
        dropped from the chain become pending again. For each pending submission:
        if the chain already holds it (the transaction went through
        before the crash) and the on-chain commitment and digest match, mark it
        anchored; if the chain holds something else there, fail it; otherwise
        re-add the identical envelope (same CID) and send the transaction,
        batches again as one `anchorBatch` of consecutive serials. A group that
        still cannot complete (outage) stays pending and is reported as such.
        """
        with self._lock:
            self._requeue_dropped_anchors()
            pending = self.outbox.pending(self.economy)
            errors: dict[int, str] = {}
            groups: dict[tuple[str, int], list[OutboxEntry]] = {}
            for entry in pending:
                key = (
                    ("group", entry.group_first_serial or entry.serial)
                    if entry.version == 1
                    else ("amend", entry.id)
                )
                groups.setdefault((key[0], int(key[1])), []).append(entry)
            for group in groups.values():
                try:
                    self._finish(group, queue=True, settle=True)
                except Exception as exc:
                    # Recorded on the (still pending) rows too, so the reason survives.
                    self.outbox.note_error([e.id for e in group], _describe(exc))
                    for entry in group:
                        errors[entry.id] = _describe(exc)
            report = ResumeReport([], [], [])
            for entry in pending:
                final = next(e for e in self.outbox.entries(entry.document_id) if e.id == entry.id)
                receipt = _receipt(final)
                if final.state is SubmissionState.ANCHORED:
                    report.anchored.append(receipt)
                elif final.state is SubmissionState.FAILED:
                    report.failed.append((receipt, final.error or errors.get(entry.id, "")))
                else:
                    report.pending.append(receipt)
            return report

    def _requeue_dropped_anchors(self) -> None:
        """Anchors of the last `reorg_depth` blocks that the chain no longer holds (a
        reorganisation dropped their block) go back to `stored`, so resume sends them
        again: same id, same pinned payload."""
        head = int(self.ledger.w3.eth.block_number)
        recent = self.outbox.anchored_since(self.economy, max(0, head - self.reorg_depth))
        if not recent:
            return
        held = self._on_chain(recent)
        dropped = [entry.id for entry in recent if entry.id not in held]
        if dropped:
            self.outbox.mark_unanchored(
                dropped, "its anchoring block left the chain (a reorganisation); anchoring again"
            )

    def abandon(self, document: bytes | str) -> list[SubmissionReceipt]:
        """Give up the pending submissions of a document: unpin their payloads, mark failed.

        Anything the chain already holds is marked anchored instead (it cannot be
        abandoned). Requires the IPFS node, so the payload really is unpinned.
        """
        doc_id = _as_document_id(document)
        with self._lock:
            pending = [e for e in self.outbox.entries(doc_id) if e.state.is_pending]
            remaining = self._settle_from_chain(pending)
            for entry in remaining:
                self.ipfs.unpin(entry.cid)  # False (fine) if it was never added
                self.outbox.mark_failed([entry.id], "abandoned by the operator")
            return [
                _receipt(e) for e in self.outbox.entries(doc_id) if e.id in {p.id for p in pending}
            ]

    # -- fetch and verify ---------------------------------------------------------

    def history(self, document: bytes | str) -> DocumentHistory:
        """Everything the chain says about a document (no payload fetched)."""
        return self._history.read(_as_document_id(document))

    def fetch_and_verify(
        self,
        document: bytes | str,
        version: int | None = None,
        *,
        timeout: float | None = None,
        anchored_from: int | None = None,
        history: DocumentHistory | None = None,
    ) -> VerifiedDocument:
        """Fetch a document version (latest by default) and verify it end to end.

        `anchored_from`: a block at or before the document's anchoring, if known
        (it shortens the history's log query; see `read_history`). `history`: the
        document's history if the caller already read it (`ChainIndex.histories`
        reads many documents' in a few requests); the chain is then not asked again.

        Raises `VerificationError` naming the failed check, `DocumentNotAnchoredError`,
        or an IPFS error if the payload cannot be had.
        """
        doc_id = _as_document_id(document)
        if history is None:
            history = self._history.read(doc_id, from_block=anchored_from)
        elif history.document_id != doc_id:
            raise ValueError(
                f"the history given is 0x{history.document_id.hex()}'s, not 0x{doc_id.hex()}'s"
            )
        provenance = history.provenance(version)
        if self.economy != history.issuer_economy and self.economy not in history.destinations:
            raise VerificationError(
                "not_recipient",
                f"{self.economy} is neither the issuer nor a destination of 0x{doc_id.hex()} "
                f"(destinations: {', '.join(history.destinations)})",
            )
        envelope = self.ipfs.cat(provenance.cid, timeout=timeout or self.fetch_timeout)
        if unixfs_digest(envelope) != provenance.payload_digest:
            raise VerificationError(
                "payload_digest",
                f"the bytes IPFS returned for {provenance.cid} do not hash to the digest "
                "anchored on-chain",
            )
        plaintext = self._open(envelope, EnvelopeContext(doc_id, provenance.version))
        payload = DocumentPayload.from_bytes(plaintext)
        if payload.doc_type != int(history.doc_type):
            raise VerificationError(
                "payload_format",
                f"payload is document type {payload.doc_type}, the id says {int(history.doc_type)}",
            )
        commitment = verify_full(
            payload.document,
            payload.doc_type,
            payload.schema_version,
            payload.salts,
            provenance.commitment,
        )
        try:
            model = parse_document(history.doc_type.value, payload.document)
        except DocumentInvalidError as exc:
            raise VerificationError(
                "schema", f"the committed document does not validate: {exc}"
            ) from None
        if model.model_dump(mode="json") != payload.document:
            raise VerificationError(
                "schema", "the committed document is not in its model's canonical JSON form"
            )
        if model.issuer_economy != history.issuer_economy:
            raise VerificationError(
                "issuer",
                f"the document names issuer {model.issuer_economy}, but {history.issuer_economy} "
                "anchored it",
            )
        if tuple(model.destinations) != history.destinations:
            raise VerificationError(
                "destinations",
                f"the document's destinations {model.destinations} are not the anchored "
                f"{list(history.destinations)}",
            )
        return VerifiedDocument(model, payload.document, commitment, provenance)

    def _open(self, envelope: bytes, context: EnvelopeContext) -> bytes:
        header = read_header(envelope)
        entry = next((r for r in header.recipients if r.economy == self.economy), None)
        if entry is None:
            raise VerificationError(
                "not_recipient",
                f"the envelope is sealed for {[r.economy for r in header.recipients]}, "
                f"not {self.economy}",
            )
        key = self._private_keys.get(entry.key_version)
        if key is None:
            raise DecryptionError(
                f"the envelope is sealed to {self.economy}'s key version {entry.key_version}; "
                f"this node holds versions {sorted(self._private_keys)}"
            )
        return open_envelope(
            envelope, self.economy, key, entry.key_version, expected_context=context
        )

    # -- lifecycle wrappers -------------------------------------------------------

    def revoke(self, document: bytes | str, reason_code: int) -> ChainReceipt:
        receipt = self.registry.revoke(_as_document_id(document), reason_code)
        return ChainReceipt(_hex(bytes(receipt["transactionHash"])), int(receipt["blockNumber"]))

    def record_checkpoint(self, document: bytes | str, kind: CheckpointKind) -> ChainReceipt:
        receipt = self.registry.record_checkpoint(_as_document_id(document), kind)
        return ChainReceipt(_hex(bytes(receipt["transactionHash"])), int(receipt["blockNumber"]))

    def acknowledge(
        self,
        document: bytes | str,
        version: int,
        lane: Lane,
        reasons: Mapping[str, Any],
        *,
        share_with_issuer: bool = False,
    ) -> AcknowledgementReceipt:
        """Send the risk outcome for a version, anchoring a salted commitment to `reasons`.

        The reasons stay private unless ``share_with_issuer``: then they (with
        their salts) are sealed for the issuer and this member, added to IPFS,
        and the payload digest is anchored too. Keep the returned commitment's
        salts to disclose the reasons later (`commitment.redact`).
        """
        doc_id = _as_document_id(document)
        reasons_commitment = commit(dict(reasons), _REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION)
        digest, cid = ZERO32, None
        if share_with_issuer:
            issuer = parse_document_id(doc_id).economy
            recipients = {}
            for economy in {issuer, self.economy}:
                key, _ = self._recipient_key(economy)
                if key is None:
                    raise ConfigurationError(f"{economy} has no usable encryption key")
                recipients[economy] = key
            payload = DocumentPayload(
                _REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION, dict(reasons), reasons_commitment.salts
            )
            envelope = seal(payload.to_bytes(), recipients, EnvelopeContext(doc_id, version))
            cid = self.ipfs.add_bytes(envelope)
            digest = cid_to_digest(cid)
        receipt = self.registry.acknowledge(doc_id, version, lane, reasons_commitment.root, digest)
        return AcknowledgementReceipt(
            document_id=_hex(doc_id),
            version=version,
            lane=lane,
            reasons=reasons_commitment,
            reasons_cid=cid,
            tx_hash=_hex(receipt.tx_hash),
            block_number=receipt.block_number,
        )
