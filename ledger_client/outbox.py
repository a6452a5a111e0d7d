"""The document pipeline's durable outbox: what a member node has promised to anchor.

This module owns the local, transactional record that makes submission
crash-safe (SQLAlchemy 2; SQLite by default, any SQLAlchemy URL such as
PostgreSQL works). Three tables:

``outbox_serial_counters`` (economy PK, next_serial)
    The next serial this node will hand out in its economy's id namespace. Only
    ever grows, so a released serial is never reused (a gap is harmless; a reused
    serial could point two references at one id).

``outbox_allocations`` (economy, doc_type, reference) PK -> serial, document_id
    Which document id a reference got. Written together with the reference's
    first submission, deleted again only if that submission fails before
    anything reached the chain.

``outbox_submissions`` one row per attempt to anchor one version of a document
    document id, version, reference, content digest (SHA-256 of the canonical
    document, for idempotency), commitment, the CID the envelope will get
    (computed locally before the add), the sealed envelope itself (kept until
    anchored, so a retry re-adds identical bytes and gets the same CID),
    destinations and link ids (the on-chain record), the anchoring group (first
    serial of the batch a first version is anchored with), tx hash, block, error.
    At most one non-failed row per (document id, version).

State machine of a submission::

    validated --(IPFS add+pin returned the expected CID)--> stored
    stored    --(anchor/amend transaction mined)----------> anchored
    validated | stored --(definite failure or abandon)----> failed
    anchored  --(a reorganisation dropped its block)------> stored

Every row is written before the external effect it describes (the add, the
transaction), in its own database transaction, so after a crash the outbox
says exactly which effects may have happened: `DocumentPipeline.resume` asks
the chain and IPFS to settle the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from ledger_client.errors import ConfigurationError, LedgerClientError

__all__ = [
    "MAX_OUTBOX_SERIAL",
    "Allocation",
    "NewSubmission",
    "Outbox",
    "OutboxEntry",
    "OutboxSummary",
    "OutboxTransaction",
    "SerialsExhaustedError",
    "SubmissionState",
]

# Serials are uint64 on-chain; SQL integers are signed 64-bit.
MAX_OUTBOX_SERIAL: Final = 2**63 - 1
_IN_CHUNK: Final = 500  # values per SQL IN (...) list, well below SQLite's variable limit


class SerialsExhaustedError(LedgerClientError, OverflowError):
    """The economy's serial namespace (as far as the outbox can count) is used up."""


class SubmissionState(StrEnum):
    VALIDATED = "validated"
    """Allocated, committed and sealed; the IPFS add may or may not have happened."""
    STORED = "stored"
    """The envelope is added and pinned; the transaction may or may not have happened."""
    ANCHORED = "anchored"
    """The transaction is mined (terminal, unless a reorganisation drops its block)."""
    FAILED = "failed"
    """Given up; nothing of it is on chain and its payload was unpinned (terminal)."""

    @property
    def is_pending(self) -> bool:
        return self in (SubmissionState.VALIDATED, SubmissionState.STORED)


class _Base(DeclarativeBase):
    pass


class _SerialCounter(_Base):
    __tablename__ = "outbox_serial_counters"

    economy: Mapped[str] = mapped_column(String(2), primary_key=True)
    next_serial: Mapped[int] = mapped_column(BigInteger)


class _Allocation(_Base):
    __tablename__ = "outbox_allocations"
    __table_args__ = (UniqueConstraint("economy", "serial", name="uq_outbox_allocation_serial"),)

    economy: Mapped[str] = mapped_column(String(2), primary_key=True)
    doc_type: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger)
    document_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)


class _Submission(_Base):
    __tablename__ = "outbox_submissions"
    __table_args__ = (
        Index(
            "ux_outbox_live_version",
            "document_id",
            "version",
            unique=True,
            sqlite_where=text("state != 'failed'"),
            postgresql_where=text("state != 'failed'"),
        ),
        Index("ix_outbox_state", "economy", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    economy: Mapped[str] = mapped_column(String(2))
    doc_type: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    content_digest: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    cid: Mapped[str] = mapped_column(String(100))
    envelope: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    destinations: Mapped[str] = mapped_column(Text)
    links: Mapped[str] = mapped_column(Text)
    group_first_serial: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Allocation:
    economy: str
    doc_type: int
    reference: str
    serial: int
    document_id: bytes


@dataclass(frozen=True)
class NewSubmission:
    """A submission about to be recorded in state `validated`."""

    document_id: bytes
    economy: str
    doc_type: int
    reference: str
    version: int
    content_digest: bytes
    commitment: bytes
    cid: str
    envelope: bytes
    destinations: tuple[str, ...]
    links: tuple[bytes, ...]
    group_first_serial: int | None


@dataclass(frozen=True, eq=False)
class OutboxEntry:
    """A snapshot of one submission row."""

    id: int
    document_id: bytes
    economy: str
    doc_type: int
    reference: str
    version: int
    state: SubmissionState
    content_digest: bytes
    commitment: bytes
    cid: str
    envelope: bytes | None
    destinations: tuple[str, ...]
    links: tuple[bytes, ...]
    group_first_serial: int | None
    tx_hash: bytes | None
    block_number: int | None
    error: str | None
    created_at: float
    updated_at: float

    @property
    def serial(self) -> int:
        return int.from_bytes(self.document_id[24:], "big")


@dataclass(frozen=True)
class OutboxSummary:
    allocations: int
    by_state: dict[SubmissionState, int]

    @property
    def pending(self) -> int:
        return sum(n for state, n in self.by_state.items() if state.is_pending)


def _entry(row: _Submission) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        document_id=bytes.fromhex(row.document_id),
        economy=row.economy,
        doc_type=row.doc_type,
        reference=row.reference,
        version=row.version,
        state=SubmissionState(row.state),
        content_digest=bytes.fromhex(row.content_digest),
        commitment=bytes.fromhex(row.commitment),
        cid=row.cid,
        envelope=row.envelope,
        destinations=tuple(row.destinations.split(",")) if row.destinations else (),
        links=tuple(bytes.fromhex(link) for link in row.links.split(",") if link),
        group_first_serial=row.group_first_serial,
        tx_hash=bytes.fromhex(row.tx_hash) if row.tx_hash else None,
        block_number=row.block_number,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _allocation(row: _Allocation) -> Allocation:
    return Allocation(
        row.economy, row.doc_type, row.reference, row.serial, bytes.fromhex(row.document_id)
    )


class OutboxTransaction:
    """One database transaction of the outbox (see `Outbox.transaction`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def reserve_serials(self, economy: str, count: int, floor: int) -> int:
        """Take `count` consecutive unused serials, none below `floor`; return the first."""
        counter = self._session.get(_SerialCounter, economy, with_for_update=True)
        if counter is None:
            counter = _SerialCounter(economy=economy, next_serial=floor)
            self._session.add(counter)
        first = max(counter.next_serial, floor)
        if first + count - 1 > MAX_OUTBOX_SERIAL:
            raise SerialsExhaustedError(
                f"economy {economy} has no {count} serials left below 2**63 in this outbox"
            )
        counter.next_serial = first + count
        return first

    def allocation(self, economy: str, doc_type: int, reference: str) -> Allocation | None:
        row = self._session.get(_Allocation, (economy, doc_type, reference))
        return _allocation(row) if row is not None else None

    def allocate(self, allocations: Sequence[Allocation]) -> None:
        """Record the document ids given to (economy, type, reference), in one statement."""
        now = time.time()
        self._session.execute(
            insert(_Allocation),
            [
                {
                    "economy": a.economy,
                    "doc_type": a.doc_type,
                    "reference": a.reference,
                    "serial": a.serial,
                    "document_id": a.document_id.hex(),
                    "created_at": now,
                }
                for a in allocations
            ],
        )

    def add_submissions(self, new: Sequence[NewSubmission]) -> list[OutboxEntry]:
        """Record submissions in state `validated`, in one statement (an ORM object per
        row cost more than the rest of the outbox's work); their entries, in order."""
        now = time.time()
        state = SubmissionState.VALIDATED
        ids = self._session.scalars(
            insert(_Submission).returning(_Submission.id, sort_by_parameter_order=True),
            [
                {
                    "document_id": n.document_id.hex(),
                    "economy": n.economy,
                    "doc_type": n.doc_type,
                    "reference": n.reference,
                    "version": n.version,
                    "state": state.value,
                    "content_digest": n.content_digest.hex(),
                    "commitment": n.commitment.hex(),
                    "cid": n.cid,
                    "envelope": n.envelope,
                    "destinations": ",".join(n.destinations),
                    "links": ",".join(link.hex() for link in n.links),
                    "group_first_serial": n.group_first_serial,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in new
            ],
        ).all()
        return [
            OutboxEntry(
                id=row_id,
                state=state,
                tx_hash=None,
                block_number=None,
                error=None,
                created_at=now,
                updated_at=now,
                **{name: getattr(n, name) for name in _NEW_SUBMISSION_FIELDS},
            )
            for row_id, n in zip(ids, new, strict=True)
        ]


_NEW_SUBMISSION_FIELDS: Final = tuple(f.name for f in fields(NewSubmission))


def _enable_sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run during a write; synchronous=FULL makes a committed
    # state survive power loss, which is the point of recording it first.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Outbox:
    """The durable outbox of one member node (see the module docstring).

    `url` is any SQLAlchemy URL; ``sqlite://`` (no path) is an in-memory
    database for tests. Tables are created if missing.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = self._engine(url, echo)
        self._lock = threading.RLock()
        _Base.metadata.create_all(self.engine)

    @staticmethod
    def _engine(url: str, echo: bool) -> Engine:
        if not url:
            raise ConfigurationError("the outbox needs a database URL, e.g. sqlite:///outbox.db")
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One shared connection, or every session would see its own empty database.
            return create_engine(
                url,
                echo=echo,
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        engine = create_engine(url, echo=echo)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _enable_sqlite_durability)
        return engine

    @classmethod
    def in_memory(cls) -> Outbox:
        return cls("sqlite://")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        # One session at a time per Outbox: a pipeline that records the next batch
        # while a worker thread marks the previous one stored/anchored must not
        # interleave them on one connection (in-memory) or wait out SQLite's busy
        # timeout behind a long recording transaction (file).
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[OutboxTransaction]:
        """A unit of work committed at the end of the block (rolled back on an exception)."""
        with self._session() as session, session.begin():
            yield OutboxTransaction(session)

    # -- reads ------------------------------------------------------------------

    def allocation(self, economy: str, doc_type: int, reference: str) -> Allocation | None:
        with self._session() as session:
            row = session.get(_Allocation, (economy, doc_type, reference))
            return _allocation(row) if row is not None else None

    def allocations(
        self, economy: str, keys: Sequence[tuple[int, str]]
    ) -> dict[tuple[int, str], Allocation]:
        """`allocation` for many (doc type, reference) keys in a few queries (one per chunk)."""
        found: dict[tuple[int, str], Allocation] = {}
        references = sorted({reference for _, reference in keys})
        wanted = set(keys)
        with self._session() as session:
            for start in range(0, len(references), _IN_CHUNK):
                rows = session.scalars(
                    select(_Allocation).where(
                        _Allocation.economy == economy,
                        _Allocation.reference.in_(references[start : start + _IN_CHUNK]),
                    )
                )
                for row in rows:
                    if (row.doc_type, row.reference) in wanted:
                        found[(row.doc_type, row.reference)] = _allocation(row)
        return found

    def allocation_of(self, document_id: bytes) -> Allocation | None:
        with self._session() as session:
            row = session.scalars(
                select(_Allocation).where(_Allocation.document_id == document_id.hex())
            ).first()
            return _allocation(row) if row is not None else None

    def entries(self, document_id: bytes) -> list[OutboxEntry]:
        """Every submission of a document, oldest version (then attempt) first."""
        with self._session() as session:
            rows = session.scalars(
                select(_Submission)
                .where(_Submission.document_id == document_id.hex())
                .order_by(_Submission.version, _Submission.id)
            )
            return [_entry(row) for row in rows]

    def current_entry(self, document_id: bytes) -> OutboxEntry | None:
        """The highest version that is anchored or still pending (failed attempts skipped)."""
        live = [e for e in self.entries(document_id) if e.state is not SubmissionState.FAILED]
        return live[-1] if live else None

    def current_entries(self, document_ids: Sequence[bytes]) -> dict[bytes, OutboxEntry]:
        """`current_entry` of many documents in a few queries; documents without one are
        left out."""
        found: dict[bytes, OutboxEntry] = {}
        hexes = sorted({document_id.hex() for document_id in document_ids})
        with self._session() as session:
            for start in range(0, len(hexes), _IN_CHUNK):
                rows = session.scalars(
                    select(_Submission)
                    .where(
                        _Submission.document_id.in_(hexes[start : start + _IN_CHUNK]),
                        _Submission.state != SubmissionState.FAILED.value,
                    )
                    .order_by(_Submission.version, _Submission.id)
                )
                for row in rows:  # ascending versions: the last one seen is the current one
                    entry = _entry(row)
                    found[entry.document_id] = entry
        return found

    def anchored_entry(self, document_id: bytes, version: int) -> OutboxEntry | None:
        for entry in self.entries(document_id):
            if entry.version == version and entry.state is SubmissionState.ANCHORED:
                return entry
        return None

    def pending(self, economy: str | None = None) -> list[OutboxEntry]:
        """Submissions in `validated` or `stored`, oldest first."""
        return self.entries_in([SubmissionState.VALIDATED, SubmissionState.STORED], economy)

    def entries_in(
        self, states: Sequence[SubmissionState], economy: str | None = None
    ) -> list[OutboxEntry]:
        """Submissions in any of `states` (of `economy`, if given), oldest first."""
        with self._session() as session:
            query = select(_Submission).where(_Submission.state.in_([s.value for s in states]))
            if economy is not None:
                query = query.where(_Submission.economy == economy)
            return [_entry(row) for row in session.scalars(query.order_by(_Submission.id))]

    def anchored_since(self, economy: str, block_number: int) -> list[OutboxEntry]:
        """Anchored submissions of `economy` mined at or after `block_number`, oldest first."""
        with self._session() as session:
            query = (
                select(_Submission)
                .where(_Submission.state == SubmissionState.ANCHORED.value)
                .where(_Submission.economy == economy)
                .where(_Submission.block_number >= block_number)
                .order_by(_Submission.id)
            )
            return [_entry(row) for row in session.scalars(query)]

    def next_serial(self, economy: str) -> int | None:
        with self._session() as session:
            counter = session.get(_SerialCounter, economy)
            return counter.next_serial if counter is not None else None

    def summary(self) -> OutboxSummary:
        with self._session() as session:
            allocations = session.scalar(select(func.count()).select_from(_Allocation)) or 0
            counts = session.execute(
                select(_Submission.state, func.count()).group_by(_Submission.state)
            ).all()
        by_state = {state: 0 for state in SubmissionState}
        for state, count in counts:
            by_state[SubmissionState(state)] = int(count)
        return OutboxSummary(int(allocations), by_state)

    # -- transitions ------------------------------------------------------------

    def _transition(
        self,
        ids: Sequence[int],
        allowed: Sequence[SubmissionState],
        values: dict[str, Any],
        session: Session,
    ) -> None:
        result = session.execute(
            update(_Submission)
            .where(_Submission.id.in_(list(ids)))
            .where(_Submission.state.in_([state.value for state in allowed]))
            .values(updated_at=time.time(), **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(ids):  # type: ignore[attr-defined]
            raise LedgerClientError(
                f"outbox: {len(ids) - result.rowcount} of submissions {list(ids)} "  # type: ignore[attr-defined]
                f"were not in state {[s.value for s in allowed]} (a concurrent writer?)"
            )

    def mark_stored(self, ids: Sequence[int]) -> None:
        with self._session() as session, session.begin():
            self._transition(
                ids,
                [SubmissionState.VALIDATED, SubmissionState.STORED],
                {"state": SubmissionState.STORED.value, "error": None},
                session,
            )

    def mark_anchored(self, ids: Sequence[int], tx_hash: bytes, block_number: int) -> None:
        """Terminal success; the envelope is dropped (IPFS holds it, pinned)."""
        with self._session() as session, session.begin():
            self._transition(
                ids,
                [SubmissionState.VALIDATED, SubmissionState.STORED],
                {
                    "state": SubmissionState.ANCHORED.value,
                    "tx_hash": tx_hash.hex(),
                    "block_number": block_number,
                    "envelope": None,
                    "error": None,
                },
                session,
            )

    def mark_unanchored(self, ids: Sequence[int], error: str) -> None:
        """Anchored submissions whose block left the chain (a reorganisation) go back to
        `stored`: their payloads are still pinned, so `resume` sends them again."""
        with self._session() as session, session.begin():
            self._transition(
                ids,
                [SubmissionState.ANCHORED],
                {
                    "state": SubmissionState.STORED.value,
                    "tx_hash": None,
                    "block_number": None,
                    "error": error,
                },
                session,
            )

    def note_error(self, ids: Sequence[int], error: str) -> None:
        """Record why a still-pending submission did not advance (it stays pending)."""
        with self._session() as session, session.begin():
            session.execute(
                update(_Submission)
                .where(_Submission.id.in_(list(ids)))
                .values(error=error, updated_at=time.time())
                .execution_options(synchronize_session=False)
            )

    def mark_failed(self, ids: Sequence[int], error: str) -> None:
        """Terminal failure. A first version's reference allocation is released with it,
        so submitting the reference again starts afresh (under a new serial)."""
        with self._session() as session, session.begin():
            self._transition(
                ids,
                [SubmissionState.VALIDATED, SubmissionState.STORED],
                {"state": SubmissionState.FAILED.value, "error": error, "envelope": None},
                session,
            )
            rows = session.scalars(select(_Submission).where(_Submission.id.in_(list(ids))))
            for row in list(rows):
                if row.version != 1:
                    continue
                live = session.scalar(
                    select(func.count())
                    .select_from(_Submission)
                    .where(_Submission.document_id == row.document_id)
                    .where(_Submission.state != SubmissionState.FAILED.value)
                )
                if not live:
                    session.execute(
                        delete(_Allocation).where(_Allocation.document_id == row.document_id)
                    )
