"""Verify document files against the ledger and say what the chain knows about them.

Entry points:

* `verify_document_file(file_bytes, ledger)` -> `AuditReport` for one file. It
  reads the document's history through the verifier's `chain_index.ChainIndex`,
  one id at a time (the plain per-document path: a few requests per document).
* `verify_document_files(files, ledger)` -> one `BatchItem` per file, reading the
  chain for a chunk of files at once through `chain_index.ChainIndex`.

Both only read the chain (the ledger may be opened without a signing account)
and never fetch or decrypt payloads: a document file carries what is needed to
recompute the commitment. Both build the report with the same function, so a
file gets the same report either way.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger_client.audit.chain_index import ChainIndex
from ledger_client.audit.document_file import DocumentFile, DocumentFileError, parse_document_file
from ledger_client.audit.report import (
    EXIT_INVALID,
    UNREADABLE,
    AuditBatchReport,
    AuditReport,
    BatchFileResult,
    CheckpointEntry,
    LinkedDocumentEntry,
    RevocationEntry,
    TransitTrail,
    Verdict,
    exit_code_for,
    iso_time,
    worst_exit_code,
)
from ledger_client.commitment import commit, root_of_redacted
from ledger_client.errors import LedgerClientError
from ledger_client.heap import frozen_heap
from ledger_client.ledger import Ledger
from ledger_client.provenance import DocumentHistory
from ledger_client.records import CheckpointKind, DocType, parse_document_id
from ledger_client.registry import NO_AUTHORITY

__all__ = [
    "AuditVerifier",
    "BatchItem",
    "batch_report",
    "computed_root",
    "verify_document_file",
    "verify_document_files",
]

BATCH_CHUNK = 2000
HASH_JOB = 250  # files per worker job when hashing in worker processes


@dataclass(frozen=True)
class BatchItem:
    """One file of a batch: its report, or why it could not be read (`error`)."""

    source: str
    report: AuditReport | None
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return self.report.exit_code if self.report is not None else 4

    @property
    def verdict(self) -> str:
        return self.report.verdict.value if self.report is not None else UNREADABLE


def batch_report(items: Sequence[BatchItem]) -> AuditBatchReport:
    """The batch's reports, the count of each verdict and its status (worst file first)."""
    summary = dict.fromkeys([*(v.value for v in Verdict), UNREADABLE], 0)
    results = []
    for item in items:
        summary[item.verdict] += 1
        results.append(
            BatchFileResult(
                source=item.source,
                verdict=item.verdict,
                exit_code=EXIT_INVALID if item.report is None else item.report.exit_code,
                error=item.error,
                report=item.report,
            )
        )
    return AuditBatchReport(
        checked_at=_now(),
        total=len(results),
        exit_code=worst_exit_code({r.exit_code for r in results}),
        summary=summary,
        results=results,
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def computed_root(file: DocumentFile) -> tuple[bytes | None, str | None]:
    """The commitment root the file hashes to, or (None, why it cannot be hashed)."""
    try:
        if file.redacted is not None:
            return root_of_redacted(file.redacted), None
        assert file.document is not None and file.salts is not None
        return commit(file.document, file.doc_type, file.schema_version, file.salts).root, None
    except (LedgerClientError, TypeError, ValueError) as exc:
        return None, str(exc)


@dataclass(frozen=True)
class PresentedFile:
    """What the report needs from a file: its header, recomputed root, routing fields.

    Small and picklable, so batch verification can hash files in worker processes.
    """

    chain_id: int
    registry: str
    document_id: bytes
    version: int
    doc_type: int
    schema_version: str
    disclosure: str
    root: bytes | None
    hash_error: str | None
    disclosed_field_count: int
    hidden_field_count: int
    issuer: object | None
    destinations: dict[int, object]
    fields: dict[str, object] | None

    @property
    def document_id_hex(self) -> str:
        return "0x" + self.document_id.hex()


def present_file(raw: bytes | str, *, include_fields: bool) -> PresentedFile:
    """Parse a document file and recompute its root (`DocumentFileError` if unreadable)."""
    file = parse_document_file(raw)
    root, why = computed_root(file)
    issuer, named = file.routing_fields()
    return PresentedFile(
        chain_id=file.chain_id,
        registry=file.registry,
        document_id=file.document_id,
        version=file.version,
        doc_type=file.doc_type,
        schema_version=file.schema_version,
        disclosure=file.disclosure,
        root=root,
        hash_error=why,
        disclosed_field_count=file.disclosed_field_count,
        hidden_field_count=file.hidden_field_count,
        issuer=issuer,
        destinations=named,
        fields=file.visible_fields if include_fields else None,
    )


def _present_many(
    items: Sequence[tuple[str, bytes]], include_fields: bool
) -> list[PresentedFile | str]:
    """`present_file` over many files; unreadable ones become their error message."""
    out: list[PresentedFile | str] = []
    for _, raw in items:
        try:
            out.append(present_file(raw, include_fields=include_fields))
        except DocumentFileError as exc:
            out.append(str(exc))
    return out


_forked_items: Sequence[tuple[str, bytes]] = ()
_fork_lock = threading.Lock()


def _present_range(start: int, stop: int, include_fields: bool) -> list[PresentedFile | str]:
    """`_present_many` over files [start, stop) of the batch a worker was forked with."""
    return _present_many(_forked_items[start:stop], include_fields)


class AuditVerifier:
    """Verifies document files against one ledger (read-only)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        block_chunk: int | None = None,
        settled_depth: int | None = None,
    ) -> None:
        """`block_chunk`: split log queries into block ranges; `settled_depth`: cache
        only the times of blocks that deep (a long-lived verifier; see `ChainIndex`)."""
        self.ledger = ledger
        self.registry = ledger.registry
        self.chain_id = int(ledger.deployment.chain_id)
        self.registry_address = ledger.deployment.contracts["DocumentRegistry"].address
        self.index = ChainIndex(
            ledger.registry, block_chunk=block_chunk, settled_depth=settled_depth
        )

    def _on_this_chain(self, file: PresentedFile) -> bool:
        return (
            file.chain_id == self.chain_id
            and file.registry.lower() == self.registry_address.lower()
        )

    # -- one file ---------------------------------------------------------------

    def verify(self, file_bytes: bytes | str, *, source: str | None = None) -> AuditReport:
        """Verify one file with per-document chain reads; `DocumentFileError` if unreadable."""
        file = present_file(file_bytes, include_fields=True)
        history = linked = None
        if self._on_this_chain(file):
            history = self._read(file.document_id)
            if history is not None:
                linked = {link: self._read(link) for link in history.links}
        return build_report(
            file,
            history,
            linked or {},
            chain_id=self.chain_id,
            registry=self.registry_address,
            source=source,
            include_fields=True,
        )

    def _read(self, doc_id: bytes) -> DocumentHistory | None:
        """The history of one id through this verifier's index (its block chunks and
        block-time cache), None if it was never anchored."""
        try:
            return self.index.histories([doc_id]).get(doc_id)
        except (ValueError, UnicodeDecodeError):
            return None

    # -- many files -------------------------------------------------------------

    def verify_many(
        self,
        files: Iterable[tuple[str, bytes]],
        *,
        progress: Callable[[int], None] | None = None,
        chunk: int = BATCH_CHUNK,
        include_fields: bool = False,
        workers: int = 1,
    ) -> list[BatchItem]:
        """Verify (source name, bytes) pairs; chain reads batched per `chunk` files.

        With ``workers > 1`` the files are parsed and hashed in that many worker
        processes (the commitment is CPU-bound), ahead of the chain reads and
        reports of earlier chunks, which stay in this process.
        """
        # The collector's full collections would walk the whole heap (modules,
        # files, the reports so far) every few hundred thousand allocations:
        # frozen, batches run 1.2x faster (bench.audit_bench's "before" row).
        with frozen_heap() as keep:
            return self._verify_all(list(files), progress, chunk, include_fields, workers, keep)

    def _verify_all(
        self,
        items: list[tuple[str, bytes]],
        progress: Callable[[int], None] | None,
        chunk: int,
        include_fields: bool,
        workers: int,
        keep: Callable[[], None],
    ) -> list[BatchItem]:
        """`verify_many`; `keep` is called after each chunk (its reports stay till the end)."""
        chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        results: list[BatchItem] = []
        if workers <= 1 or len(items) < 2 * HASH_JOB:
            for part in chunks:
                results.extend(self._verify_chunk(part, _present_many(part, include_fields)))
                keep()
                if progress is not None:
                    progress(len(part))
            return results
        global _forked_items
        context = multiprocessing.get_context("fork")
        # The workers are forked with the files in memory (`_forked_items`) and are
        # sent index ranges: pickling every file to a worker cost as much as a
        # tenth of its hashing. The lock keeps concurrent batches from swapping
        # the files under a fork.
        with _fork_lock:
            _forked_items = items
            try:
                pool = context.Pool(workers)  # forks now
            finally:
                _forked_items = ()
        with pool:
            jobs = []
            for start, part in zip(range(0, len(items), chunk), chunks, strict=True):
                stop = start + len(part)
                jobs.append(
                    [
                        pool.apply_async(
                            _present_range, (first, min(first + HASH_JOB, stop), include_fields)
                        )
                        for first in range(start, stop, HASH_JOB)
                    ]
                )
            for part, part_jobs in zip(chunks, jobs, strict=True):
                presented = [p for job in part_jobs for p in job.get()]
                results.extend(self._verify_chunk(part, presented))
                keep()
                if progress is not None:
                    progress(len(part))
        return results

    def _verify_chunk(
        self, items: Sequence[tuple[str, bytes]], presented: Sequence[PresentedFile | str]
    ) -> list[BatchItem]:
        include_fields = any(isinstance(p, PresentedFile) and p.fields is not None
                             for p in presented)  # fmt: skip
        wanted = [
            p.document_id
            for p in presented
            if isinstance(p, PresentedFile) and self._on_this_chain(p)
        ]
        histories = self.index.histories(wanted) if wanted else {}
        link_ids = {link for h in histories.values() for link in h.links} - histories.keys()
        if link_ids:
            histories.update(self.index.histories(link_ids))
        out = []
        checked_at = _now()
        for (source, _), file in zip(items, presented, strict=True):
            if isinstance(file, str):
                out.append(BatchItem(source, None, file))
                continue
            history = histories.get(file.document_id) if self._on_this_chain(file) else None
            linked = {link: histories.get(link) for link in history.links} if history else {}
            out.append(
                BatchItem(
                    source,
                    build_report(
                        file,
                        history,
                        linked,
                        chain_id=self.chain_id,
                        registry=self.registry_address,
                        source=source,
                        include_fields=include_fields,
                        checked_at=checked_at,
                    ),
                )
            )
        return out


def verify_document_file(
    file_bytes: bytes | str, ledger: Ledger, *, source: str | None = None
) -> AuditReport:
    """Verify one document file against `ledger` (read-only). THE function to mount.

    Raises `DocumentFileError` (a ValueError) when the bytes are not a document
    file; every other outcome, including tampering, is a report with a verdict.
    """
    return AuditVerifier(ledger).verify(file_bytes, source=source)


def verify_document_files(
    files: Iterable[tuple[str, bytes]],
    ledger: Ledger,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> list[BatchItem]:
    """Verify many (name, bytes) files with batched chain reads (see `AuditVerifier`)."""
    return AuditVerifier(ledger).verify_many(files, progress=progress, workers=workers)


# ------------------------------------------------------------------------ report


def build_report(
    file: PresentedFile,
    history: DocumentHistory | None,
    linked: Mapping[bytes, DocumentHistory | None],
    *,
    chain_id: int,
    registry: str,
    source: str | None,
    include_fields: bool,
    checked_at: str | None = None,
) -> AuditReport:
    """The report for `file` given what the chain holds (`history` None: not anchored).

    `checked_at` (default: now) lets a batch stamp its reports with one time.

    Built with validation: pydantic-core validates a small model faster than
    `model_construct` builds one in Python (profiled on batches).
    """
    findings: list[str] = []
    root = file.root
    if file.hash_error is not None:
        findings.append(f"the file cannot be hashed: {file.hash_error}")
    base: dict[str, object] = {
        "checked_at": checked_at or _now(),
        "chain_id": chain_id,
        "registry": registry,
        "source": source,
        "document_id": file.document_id_hex,
        "file_chain_id": file.chain_id,
        "file_registry": file.registry,
        "disclosure": file.disclosure,
        "presented_version": file.version,
        "doc_type": _type_name(file.doc_type),
        "schema_version": file.schema_version,
        "computed_commitment": _hex(root) if root is not None else None,
        "disclosed_field_count": file.disclosed_field_count,
        "hidden_field_count": file.hidden_field_count,
        "fields": file.fields if include_fields else None,
    }

    def done(verdict: Verdict, **chain: object) -> AuditReport:
        return AuditReport(
            verdict=verdict,
            exit_code=exit_code_for(verdict),
            findings=findings,
            **base,  # type: ignore[arg-type]
            **chain,  # type: ignore[arg-type]
        )

    if file.chain_id != chain_id or file.registry.lower() != registry.lower():
        findings.append(
            f"the file is for chain {file.chain_id}, registry {file.registry}; this verifier "
            f"reads chain {chain_id}, registry {registry}: verify it against that ledger"
        )
        return done(Verdict.WRONG_CHAIN, anchored=False)
    if history is None:
        findings.append(f"document {file.document_id_hex} is not anchored on this ledger")
        return done(Verdict.UNKNOWN, anchored=False)

    chain = _chain_facts(history, file, linked)
    if file.version > history.latest_version:
        findings.append(
            f"the file claims version {file.version}; the chain holds versions "
            f"1..{history.latest_version}"
        )
        return done(Verdict.UNKNOWN, anchored=True, **chain)
    anchored_root = history.versions[file.version - 1].commitment
    chain["anchored_commitment"] = _hex(anchored_root)
    if file.doc_type != int(history.doc_type):
        findings.append(
            f"the file says document type {file.doc_type}; the id is a {history.doc_type.name}"
        )
    if root is None or root != anchored_root:
        if root is not None:
            findings.append(
                f"the file hashes to {_hex(root)}, but version {file.version} was anchored "
                f"with {_hex(anchored_root)}: a value, salt, hidden-field hash, the type or "
                "the schema version was changed"
            )
            other = next((v.version for v in history.versions if v.commitment == root), None)
            if other is not None:
                findings.append(f"the content matches version {other}, not {file.version}")
        return done(Verdict.TAMPERED, anchored=True, **chain)
    findings.append(f"commitment matches version {file.version} as anchored on-chain")
    findings += _consistency(file, history)
    if history.revocation is not None:
        findings.append(
            f"revoked by the issuer (reason code {history.revocation.reason_code}) at "
            f"{iso_time(history.revocation.timestamp)}"
        )
        return done(Verdict.REVOKED, anchored=True, **chain)
    if file.version < history.latest_version:
        findings.append(
            f"version {file.version} is superseded: the latest version is {history.latest_version}"
        )
        return done(Verdict.SUPERSEDED, anchored=True, **chain)
    if file.disclosure == "redacted":
        findings.append(f"{file.hidden_field_count} field(s) are hidden in this copy")
        return done(Verdict.REDACTED_VALID, anchored=True, **chain)
    return done(Verdict.VALID, anchored=True, **chain)


def _type_name(doc_type: int) -> str:
    try:
        return DocType(doc_type).name
    except ValueError:
        return f"UNKNOWN_{doc_type}"


def _consistency(file: PresentedFile, history: DocumentHistory) -> list[str]:
    """Disagreements between the (disclosed) routing fields and the anchored record."""
    problems = []
    if file.issuer is not None and file.issuer != history.issuer_economy:
        problems.append(
            f"the document names issuer {file.issuer}, but {history.issuer_economy} anchored it"
        )
    anchored = history.destinations
    if any(i >= len(anchored) or anchored[i] != v for i, v in file.destinations.items()):
        named = [file.destinations[i] for i in sorted(file.destinations)]
        problems.append(
            f"the document names destinations {named}, the chain anchored {list(anchored)}"
        )
    return problems


def _chain_facts(
    history: DocumentHistory,
    file: PresentedFile,
    linked: Mapping[bytes, DocumentHistory | None],
) -> dict[str, object]:
    # The many small entries go in as dicts: pydantic-core validates them into
    # their models within the report's one validation, several times faster
    # than a model __init__ each.
    anchored = history.versions[0]
    chosen = history.versions[min(file.version, history.latest_version) - 1]
    acks: dict[str, list[dict[str, object]]] = {d: [] for d in history.destinations}
    for ack in history.acknowledgements:
        acks.setdefault(ack.economy, []).append(
            dict(
                version=ack.version,
                lane=ack.lane.name,
                block=ack.block_number,
                time=iso_time(ack.timestamp),
                reasons_commitment=_hex(ack.reasons_commitment),
                reasons_shared=any(ack.reasons_digest),
                tx_hash=_hex(ack.tx_hash),
            )
        )
    facts: dict[str, object] = {
        "issuer_economy": history.issuer_economy,
        "submitter": history.submitter,
        "issuing_authority": (
            None if history.authority_id == NO_AUTHORITY else _hex(history.authority_id)
        ),
        "batch_key": _hex(history.batch_key),
        "anchored_block": anchored.block_number,
        "anchored_at": iso_time(anchored.timestamp),
        "anchor_tx": _hex(anchored.tx_hash),
        "version_block": chosen.block_number,
        "version_time": iso_time(chosen.timestamp),
        "latest_version": history.latest_version,
        "later_version_exists": file.version < history.latest_version,
        "versions": [
            dict(
                version=v.version,
                commitment=_hex(v.commitment),
                block=v.block_number,
                time=iso_time(v.timestamp),
                tx_hash=_hex(v.tx_hash),
            )
            for v in history.versions
        ],
        "revoked": history.revocation is not None,
        "revocation": (
            RevocationEntry(
                reason_code=history.revocation.reason_code,
                block=history.revocation.block_number,
                time=iso_time(history.revocation.timestamp),
                tx_hash=_hex(history.revocation.tx_hash),
            )
            if history.revocation is not None
            else None
        ),
        "destinations": [
            {"economy": economy, "acknowledgements": entries} for economy, entries in acks.items()
        ],
        "linked_documents": [_linked_entry(link, linked.get(link)) for link in history.links],
    }
    if history.doc_type is DocType.TRANSIT_DECLARATION:
        facts["transit"] = _transit(history)
    return facts


def _linked_entry(link: bytes, history: DocumentHistory | None) -> LinkedDocumentEntry:
    doc_type: str | None = None
    issuer: str | None = None
    try:
        parsed = parse_document_id(link)
        doc_type, issuer = parsed.doc_type.name, parsed.economy
    except (ValueError, UnicodeDecodeError):
        pass
    if history is None:
        return LinkedDocumentEntry(
            document_id=_hex(link), doc_type=doc_type, issuer_economy=issuer, anchored=False
        )
    return LinkedDocumentEntry(
        document_id=_hex(link),
        doc_type=doc_type,
        issuer_economy=issuer,
        anchored=True,
        latest_version=history.latest_version,
        revoked=history.revocation is not None,
        revocation_reason=history.revocation.reason_code if history.revocation else None,
    )


def _transit(history: DocumentHistory) -> TransitTrail:
    departure = next((c for c in history.checkpoints if c.kind is CheckpointKind.DEPARTURE), None)
    arrival = next((c for c in history.checkpoints if c.kind is CheckpointKind.ARRIVAL), None)
    return TransitTrail(
        itinerary=list(history.destinations),
        checkpoints=[
            CheckpointEntry(
                economy=c.economy,
                kind=c.kind.name,
                position=c.position,
                block=c.block_number,
                time=iso_time(c.timestamp),
                tx_hash=_hex(c.tx_hash),
            )
            for c in history.checkpoints
        ],
        departed=departure is not None,
        arrived=arrival is not None,
        duration_seconds=(
            arrival.timestamp - departure.timestamp
            if arrival is not None and departure is not None
            else None
        ),
    )
