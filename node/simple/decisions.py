"""Officers' decision files: ``decisions/`` -> acknowledgement on chain -> ``decisions/done/``.

Owns `DecisionWorker` and the decision file format (see `node.simple`). A
decision is recorded exactly like the risk officer's manual acknowledgement of
the API (`node.services.documents.acknowledge_manually`): a manual risk outcome
with a salted commitment to ``{lane, manual, officer, reason, decision_file}``
moves the version from ``awaiting_decision`` to ``assessed`` in one
transaction, then the listener's acknowledgement path sends it (it asks the
chain first, so a crash anywhere neither loses nor repeats it). The file moves
to ``decisions/done/`` (with a receipt) only once the acknowledgement is on
chain; a file that cannot be applied moves to ``decisions/rejected/`` with an
error file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ledger_client.commitment import commit
from ledger_client.provenance import read_history
from ledger_client.records import Lane
from node import db as tables
from node.db import Database
from node.listener import REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION, RegistryListener, State
from node.simple.folders import ExchangeFolders, move, write_json
from node.simple.inbound import ERRORS_SUFFIX, RECEIPT_SUFFIX, FaultPoint, no_faults
from node.simple.review import AWAITING_DECISION

log = structlog.get_logger(__name__)

DECISION_NAME: Final = re.compile(r"^0x([0-9a-fA-F]{64})-v([1-9][0-9]{0,8})\.decision\.json$")
MAX_DECISION_BYTES: Final = 64 * 1024


class Decision(BaseModel):
    """The content of a decision file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lane: Literal["GREEN", "YELLOW", "RED"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    officer: Annotated[str | None, Field(max_length=100)] = None

    @field_validator("lane", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class DecisionRejected(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['rule']}" for e in errors))
        self.errors = errors


def _error(rule: str, message: str, field: str = "") -> dict[str, Any]:
    return {"field": field, "rule": rule, "message": message}


def parse_decision_file(name: str, raw: bytes) -> tuple[str, int, Decision]:
    """(document id hex, version, decision) of one decision file, or `DecisionRejected`."""
    match = DECISION_NAME.match(name)
    if match is None:
        raise DecisionRejected(
            [
                _error(
                    "decision.file_name",
                    f"{name!r}: a decision file is named 0x<64 hex document id>-v<version>"
                    ".decision.json, as named in the received/ file",
                )
            ]
        )
    if len(raw) > MAX_DECISION_BYTES:
        raise DecisionRejected(
            [_error("decision.too_large", f"a decision file is at most {MAX_DECISION_BYTES} bytes")]
        )
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecisionRejected(
            [_error("decision.malformed_json", f"not valid UTF-8 JSON: {exc}")]
        ) from None
    try:
        decision = Decision.model_validate(data)
    except ValidationError as exc:
        raise DecisionRejected(
            [
                _error(
                    f"{'.'.join(str(p) for p in e['loc']) or 'decision'}.{e['type']}",
                    e["msg"]
                    + (
                        "; lane is GREEN, YELLOW or RED"
                        if e["loc"] and e["loc"][0] == "lane"
                        else ""
                    ),
                    ".".join(str(p) for p in e["loc"]),
                )
                for e in exc.errors()
            ]
        ) from None
    return match.group(1).lower(), int(match.group(2)), decision


class DecisionWorker:
    def __init__(
        self,
        folders: ExchangeFolders,
        listener: RegistryListener,
        db: Database,
        *,
        fault: FaultPoint = no_faults,
    ) -> None:
        self.folders = folders
        self.listener = listener
        self.db = db
        self.fault = fault

    def run_once(self) -> dict[str, list[str]]:
        report: dict[str, list[str]] = {"done": [], "rejected": [], "deferred": []}
        for path in self.folders.ready_files(self.folders.decisions):
            report[self.process_file(path)].append(path.name)
        return report

    def _reject(self, path: Path, errors: list[dict[str, Any]]) -> str:
        write_json(
            self.folders.decisions_rejected / (path.name + ERRORS_SUFFIX),
            {"file": path.name, "outcome": "rejected", "errors": errors},
        )
        move(path, self.folders.decisions_rejected / path.name)
        log.info("simple.decision_rejected", file=path.name, rules=[e["rule"] for e in errors])
        return "rejected"

    def process_file(self, path: Path) -> str:
        name = path.name
        try:
            doc_hex, version, decision = parse_decision_file(name, path.read_bytes())
        except DecisionRejected as exc:
            return self._reject(path, exc.errors)
        reasons = {
            "decision_file": name,
            "lane": decision.lane,
            "manual": True,
            "officer": decision.officer or "",
            "reason": decision.reason,
        }
        with self.listener.lock:
            problem = self._record(doc_hex, version, reasons)
            if isinstance(problem, str):
                return "deferred"
            if problem is not None:
                return self._reject(path, [problem])
            self.fault("decision.after_record")
            state = self.listener.process(doc_hex, version)
        if state == State.REVOKED:
            return self._reject(
                path, [_error("document.revoked", "the issuer revoked this document; no decision")]
            )
        if state != State.ACKNOWLEDGED:
            return "deferred"  # the acknowledgement failed for now; the listener retries it
        with self.db.sessions() as session:
            row = session.get(tables.Processing, (doc_hex, version))
        assert row is not None
        write_json(
            self.folders.decisions_done / (name + RECEIPT_SUFFIX),
            {
                "file": name,
                "outcome": "acknowledged",
                "document_id": "0x" + doc_hex,
                "version": version,
                "lane": decision.lane,
                "transaction": ("0x" + row.ack_tx_hash.removeprefix("0x"))
                if row.ack_tx_hash
                else None,
            },
        )
        self.fault("decision.after_receipt")
        move(path, self.folders.decisions_done / name)
        log.info("simple.decision_acknowledged", file=name, lane=decision.lane)
        return "done"

    def _record(
        self, doc_hex: str, version: int, reasons: dict[str, Any]
    ) -> dict[str, Any] | str | None:
        """Record the decision as the version's manual outcome; None when it stands recorded."""
        with self.db.sessions() as session:
            row = session.get(tables.Processing, (doc_hex, version))
            outcome = session.get(tables.RiskOutcome, (doc_hex, version))
        if row is None or row.state == State.PENDING:
            if row is None and not self._known_on_chain(doc_hex, version):
                return _error(
                    "decision.unknown_document",
                    f"0x{doc_hex} version {version} is not a document addressed to this economy",
                )
            return "deferred"  # seen on chain, not fetched and verified yet
        same = outcome is not None and outcome.manual and json.loads(outcome.reasons) == reasons
        if row.state in (State.ASSESSED, State.ACKNOWLEDGED) and same:
            return None  # recorded before a crash: finish it
        if row.state == State.ACKNOWLEDGED:
            return _error(
                "decision.already_acknowledged",
                f"0x{doc_hex} version {version} is already acknowledged; a decision is final",
            )
        if row.state == State.REVOKED:
            return _error("document.revoked", "the issuer revoked this document; no decision")
        if row.state != AWAITING_DECISION:
            return _error(
                "decision.not_awaiting",
                f"0x{doc_hex} version {version} is {row.state}, not awaiting a decision",
            )
        committed = commit(reasons, REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION)
        with self.db.transaction() as session:
            stored = session.get(tables.RiskOutcome, (doc_hex, version))
            if stored is None:
                stored = tables.RiskOutcome(document_id=doc_hex, version=version, hooks="")
                session.add(stored)
            stored.lane = int(Lane[reasons["lane"]])
            stored.score = 0.0
            stored.reasons = json.dumps(reasons, sort_keys=True)
            stored.reasons_commitment = committed.root.hex()
            stored.reasons_salt = json.dumps({k: v.hex() for k, v in committed.salts.items()})
            stored.reasons_digest = ""
            stored.manual = True
            processing = session.get(tables.Processing, (doc_hex, version))
            assert processing is not None
            processing.state = State.ASSESSED
            processing.lane = int(Lane[reasons["lane"]])
        return None

    def _known_on_chain(self, doc_hex: str, version: int) -> bool:
        try:
            history = read_history(self.listener.registry, bytes.fromhex(doc_hex))
        except Exception:  # not anchored (or the chain is unreachable: the file waits)
            return False
        return self.listener.economy in history.destinations and version <= len(history.versions)
