"""Inbound files: ``inbox/`` -> validated and submitted -> ``done/`` or ``rejected/``.

Owns `InboundWorker` and the inbound file formats (see `node.simple`). One
file is handled at a time, in name order, in these crash-safe steps::

    read + SHA-256 -> journal row "submitting" (committed) -> pipeline.submit_batch
      -> journal row "done" | "rejected" with the side file's content (committed)
      -> side file written (receipt / errors) -> file renamed into done/ | rejected/

A crash anywhere leaves the file in ``inbox/``; the next round (after a
restart too) finds its journal row and either submits again (outcome unknown:
the outbox returns the existing receipt or finishes the pending submission, so
nothing is anchored twice) or only writes the side file and moves it. A chain
or IPFS outage leaves the file in ``inbox/`` for the next round (counted in
``attempts``); only a file that is wrong in itself is rejected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import select

from ledger_client.errors import DocumentValidationError
from ledger_client.pipeline import BatchRejectedError, DocumentPipeline, SubmissionReceipt
from manifests import Document, DocumentType, FileError, ImportFileError
from manifests.importers import import_csv_text, import_json_text
from manifests.xml import read_xml_documents
from node.db import Database
from node.errors import InjectedFault
from node.simple.folders import ExchangeFolders, move, write_json
from node.simple.journal import InboundFile, InboundState

log = structlog.get_logger(__name__)

RECEIPT_SUFFIX: Final = ".receipt.json"
ERRORS_SUFFIX: Final = ".errors.json"

# ``<name>.<type>.csv``: the CSV layout has no schema_version, so the name says the type.
CSV_TYPES: Final[dict[str, DocumentType]] = {
    "manifest": DocumentType.PRE_ARRIVAL_MANIFEST,
    "pre_arrival_manifest": DocumentType.PRE_ARRIVAL_MANIFEST,
    "transit": DocumentType.TRANSIT_DECLARATION,
    "transit_declaration": DocumentType.TRANSIT_DECLARATION,
    "origin": DocumentType.CERTIFICATE_OF_ORIGIN,
    "certificate_of_origin": DocumentType.CERTIFICATE_OF_ORIGIN,
}

FaultPoint = Callable[[str], None]


def no_faults(point: str) -> None:
    return None


class FileRejected(Exception):
    """The file itself is wrong; `errors` are the error file's records."""

    def __init__(self, errors: Sequence[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['rule']}" for e in errors))
        self.errors = list(errors)


def _error(rule: str, message: str, field: str = "", **where: Any) -> dict[str, Any]:
    record = {"field": field, "rule": rule, "message": message}
    record.update({k: v for k, v in where.items() if v is not None})
    return record


def _file_error(error: FileError) -> dict[str, Any]:
    return _error(
        error.rule,
        error.message,
        error.field,
        row=error.row,
        column=error.column,
        document_index=error.document_index,
    )


def receipt_record(receipt: SubmissionReceipt) -> dict[str, Any]:
    return {
        "document_id": receipt.document_id,
        "reference": receipt.reference,
        "doc_type": receipt.doc_type.name,
        "version": receipt.version,
        "commitment": receipt.commitment,
        "cid": receipt.cid,
        "state": str(receipt.state.value),
        "transaction": receipt.tx_hash,
        "block_number": receipt.block_number,
        "created": receipt.created,
    }


def parse_inbound_file(name: str, raw: bytes, max_bytes: int) -> list[Document]:
    """The documents of one dropped file, or `FileRejected` naming every problem."""
    lowered = name.lower()
    try:
        if lowered.endswith(".json"):
            return import_json_text(raw, None, source=name, max_bytes=max_bytes)
        if lowered.endswith(".xml"):
            return read_xml_documents(raw, source=name, max_bytes=max_bytes)
        if lowered.endswith(".csv"):
            stem = lowered[: -len(".csv")]
            kind = CSV_TYPES.get(stem.rsplit(".", 1)[1]) if "." in stem else None
            if kind is None:
                raise FileRejected(
                    [
                        _error(
                            "file.csv_type_missing",
                            f"a CSV file is named <name>.<type>.csv with type one of "
                            f"{', '.join(CSV_TYPES)} (e.g. arrivals.manifest.csv); got {name!r}",
                        )
                    ]
                )
            return import_csv_text(raw, kind, source=name, max_bytes=max_bytes)
    except ImportFileError as exc:
        raise FileRejected([_file_error(e) for e in exc.errors]) from None
    raise FileRejected(
        [
            _error(
                "file.unknown_extension",
                f"{name!r} is not a document file; drop .json, .xml or <name>.<type>.csv files",
            )
        ]
    )


def _rejection_records(exc: DocumentValidationError) -> list[dict[str, Any]]:
    if isinstance(exc, BatchRejectedError):
        records = [
            _error(e.rule, e.message, e.field, document_index=index)
            for index, errors in sorted(exc.item_errors.items())
            for e in errors
        ]
        return records + [_file_error(e) for e in exc.file_errors]
    return [
        _error(str(e.get("rule", "")), str(e.get("message", "")), str(e.get("field", "")))
        for e in exc.errors
    ] or [_error("document.rejected", str(exc))]


@dataclass
class InboundReport:
    done: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


class InboundWorker:
    def __init__(
        self,
        folders: ExchangeFolders,
        pipeline: DocumentPipeline,
        db: Database,
        *,
        max_file_bytes: int,
        fault: FaultPoint = no_faults,
    ) -> None:
        self.folders = folders
        self.pipeline = pipeline
        self.db = db
        self.max_file_bytes = max_file_bytes
        self.fault = fault

    def run_once(self) -> InboundReport:
        report = InboundReport()
        for path in self.folders.ready_files(self.folders.inbox):
            outcome = self.process_file(path)
            getattr(report, outcome).append(path.name)
        return report

    # -- one file --------------------------------------------------------------

    def _read(self, path: Path) -> tuple[bytes | None, str]:
        """(content or None when oversize, SHA-256 hex)."""
        if path.stat().st_size <= self.max_file_bytes:
            raw = path.read_bytes()
            return raw, hashlib.sha256(raw).hexdigest()
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return None, digest.hexdigest()

    def _row(self, name: str, sha256: str) -> InboundFile | None:
        with self.db.sessions() as session:
            return session.scalars(
                select(InboundFile).where(
                    InboundFile.file_name == name, InboundFile.sha256 == sha256
                )
            ).first()

    def process_file(self, path: Path) -> str:
        """Handle one ready file of ``inbox/``; returns "done", "rejected" or "deferred"."""
        name = path.name
        raw, sha256 = self._read(path)
        row = self._row(name, sha256)
        if row is not None and row.state != InboundState.SUBMITTING:
            if not (self._directory(row) / str(row.destination)).exists():
                return self._finish(path, row)  # a crash came between outcome and move
            row = None  # handled and moved before: this is a new drop of the same file
        try:
            documents = self._parse(name, raw)
        except FileRejected as exc:
            return self._finish(path, self._record(name, sha256, None, errors=exc.errors))
        if row is None:
            self._journal(name, sha256)
        self.fault("inbound.after_journal")
        try:
            receipts = self.pipeline.submit_batch(documents)
        except DocumentValidationError as exc:
            self.fault("inbound.after_submit")
            return self._finish(
                path, self._record(name, sha256, None, errors=_rejection_records(exc))
            )
        except InjectedFault:
            raise
        except Exception as exc:  # chain or IPFS outage: the file waits in inbox/
            with self.db.transaction() as session:
                stored = session.scalars(
                    select(InboundFile).where(
                        InboundFile.file_name == name, InboundFile.sha256 == sha256
                    )
                ).one()
                stored.attempts += 1
                stored.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("simple.inbound_deferred", file=name, error=str(exc))
            return "deferred"
        self.fault("inbound.after_submit")
        return self._finish(path, self._record(name, sha256, receipts))

    def _parse(self, name: str, raw: bytes | None) -> list[Document]:
        if raw is None:
            raise FileRejected(
                [
                    _error(
                        "file.too_large",
                        f"the file is larger than the limit of {self.max_file_bytes} bytes "
                        "(CIE_NODE_SIMPLE_MAX_FILE_BYTES); split it",
                    )
                ]
            )
        return parse_inbound_file(name, raw, self.max_file_bytes)

    def _journal(self, name: str, sha256: str) -> None:
        """The journal row, in state submitting, committed before anything is submitted."""
        with self.db.transaction() as session:
            row = session.scalars(
                select(InboundFile).where(
                    InboundFile.file_name == name, InboundFile.sha256 == sha256
                )
            ).first()
            if row is None:
                session.add(
                    InboundFile(file_name=name, sha256=sha256, state=InboundState.SUBMITTING)
                )
            else:
                row.state, row.outcome, row.destination = InboundState.SUBMITTING, None, None

    def _directory(self, row: InboundFile) -> Path:
        return self.folders.done if row.state == InboundState.DONE else self.folders.rejected

    def _destination(self, directory: Path, name: str, sha256: str) -> str:
        for candidate in (name, f"{sha256[:12]}-{name}"):
            if not (directory / candidate).exists():
                return candidate
        counter = 2
        while (directory / f"{sha256[:12]}-{counter}-{name}").exists():
            counter += 1
        return f"{sha256[:12]}-{counter}-{name}"

    def _record(
        self,
        name: str,
        sha256: str,
        receipts: list[SubmissionReceipt] | None,
        *,
        errors: Sequence[dict[str, Any]] = (),
    ) -> InboundFile:
        """Store the outcome (and the name in done/ or rejected/) before anything moves."""
        state = InboundState.DONE if receipts is not None else InboundState.REJECTED
        directory = self.folders.done if receipts is not None else self.folders.rejected
        outcome: dict[str, Any] = {"file": name, "sha256": sha256, "outcome": state}
        if receipts is not None:
            outcome["documents"] = [receipt_record(r) for r in receipts]
        else:
            outcome["errors"] = list(errors)
        with self.db.transaction() as session:
            row = session.scalars(
                select(InboundFile).where(
                    InboundFile.file_name == name, InboundFile.sha256 == sha256
                )
            ).first()
            if row is None:
                row = InboundFile(file_name=name, sha256=sha256)
                session.add(row)
            row.state = state
            row.outcome = json.dumps(outcome, sort_keys=True)
            row.destination = self._destination(directory, name, sha256)
            session.flush()
            session.expunge(row)
        self.fault("inbound.after_outcome")
        return row

    def _finish(self, path: Path, row: InboundFile) -> str:
        assert row.outcome is not None and row.destination is not None
        done = row.state == InboundState.DONE
        directory = self._directory(row)
        suffix = RECEIPT_SUFFIX if done else ERRORS_SUFFIX
        write_json(directory / (row.destination + suffix), json.loads(row.outcome))
        self.fault("inbound.after_side_file")
        move(path, directory / row.destination)
        self.fault("inbound.after_move")
        log.info("simple.inbound_" + row.state, file=path.name, destination=row.destination)
        return "done" if done else "rejected"
