"""The node's event listener: registry events -> risk hooks -> acknowledgement on chain.

Scanning follows the web3.py EventScanner recipe. The listener polls
``eth_getLogs`` in chunks of blocks up to ``head - confirmations``
(nothing less confirmed is ever read, so nothing unconfirmed is acted on), with
topic filters: DocumentAnchored / DocumentAmended / DocumentRevoked whose
``destination`` is this economy, DocumentAcknowledged whose ``issuer`` is this
economy, and every TransitCheckpointRecorded. A chunk spans at most `chunk_size`
blocks and aims at `scan_logs_target` logs: the span halves (or less) after a
chunk that held more and doubles after one that held less than half, so a
backlog of any size is read and recorded in bounded pieces (a node offline for
100,000 documents read them in one answer). Each chunk is written in ONE
database transaction together with the new cursor (block number + hash) and the
chunk end's hash in ``scanned_blocks``; event rows are unique by
(tx hash, log index), so a rescan records nothing twice. Before each scan the
cursor's hash is compared with the chain's: on a mismatch (a reorganisation
deeper than the confirmations) the cursor rewinds to the newest scanned block
still on the chain, rows of the orphaned blocks that were not acted on are
dropped, acknowledgements the orphaned blocks held are sent again (no hook runs
again), and the range is scanned again.

What starts a round (scan, then process what is pending): with a WebSocket
endpoint (`follow_heads`), every new-block notification; always, a poll timer
(`interval`), which is the whole mechanism on HTTP-only endpoints and the
fallback while the subscription is down. A notification is only a wake-up:
the round scans from the durable cursor as a timer round does, so a head
missed during a disconnection, or a timer round racing a head, can neither
skip nor repeat anything. `scans` counts rounds by trigger.

Processing is a state machine per (document id, version) in ``processing``::

    pending --verify ok--> assessed --ack sent: ack_tx_hash stored--> assessed (in flight)
        --ack mined (or found on chain)--> acknowledged
    pending --VerificationError--> verification_failed   (alert; no hook runs)
    pending --revoked on chain--> revoked
    pending --max_attempts transient errors--> failed     (alert)

An unreachable IPFS node or chain endpoint is not a document's fault: it costs
no attempt, and the round stops there (every other version needs the same
part); the next round retries.

The risk outcome, value history and webhook deliveries are written in the
same transaction that moves pending -> assessed, so hook effects are recorded
exactly once; a crash before that commit runs the (read-only) hooks again, a
crash after it never does. Before sending an acknowledgement the chain is
asked whether this economy already acknowledged that version, so a crash
between the transaction and the state update neither loses nor repeats it.
The salted commitment to the reasons is stored before the transaction.

Acknowledgements are batched and pipelined: a round reads the backlog
`round_chunk` versions at a time, assesses them, then acknowledges them
`ack_window` at a time: a window goes out as `acknowledgeBatch` transactions of
up to `ACK_BATCH` versions each, sent back to back (nonces from
`TransactionSender`), the hash stored on every row of a transaction before the
window's receipts are awaited. Gas estimation at sending catches a rule already
broken (already acknowledged, revoked); a revert met only when mined comes back
from the receipt as the same typed error. A batch is atomic, so when one of its
versions breaks a rule (at sending or when mined) its versions are sent again
one by one, each ending in its own state; the sealed reasons are reused.

Fetching and verifying is mostly waiting on the chain and IPFS, so a chunk's
pending versions are fetched and verified ahead of their turn, `fetch_workers`
at a time on threads shared by the process's listeners, with their histories
read for a slice of versions in a few requests (`ChainIndex`). The fetch threads
only call the fetcher: state checks, fault points, hooks and every database
write stay on the processing thread, version after version in order, so each
version ends as if fetched at its turn.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

import structlog
from hexbytes import HexBytes
from sqlalchemy import Table, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint

from ledger_client.aeo import Recognition, operator_id_of
from ledger_client.audit.chain_index import ChainIndex
from ledger_client.chain import HeadSubscription
from ledger_client.commitment import commit
from ledger_client.consortium import MEMBER_REFRESH_SECONDS
from ledger_client.envelope import EnvelopeContext, RecipientKey, seal
from ledger_client.errors import ChainError, ContractRuleError, VerificationError
from ledger_client.ipfs import IpfsStore, cid_to_digest
from ledger_client.ledger import Ledger
from ledger_client.provenance import DocumentHistory, DocumentPayload, VerifiedDocument
from ledger_client.raw_logs import RawLog, raw_logs
from ledger_client.records import Lane, economy_bytes, parse_document_id
from ledger_client.registry import AcknowledgementItem
from manifests import PreArrivalManifest, parse_document
from node import db as tables
from node.db import Database
from node.errors import InjectedFault
from node.metrics import (
    ACKNOWLEDGEMENTS_SENT,
    CHAIN_HEADS,
    CHAIN_HEADS_SKIPPED,
    CURSOR_BLOCK,
    DOCUMENTS_PROCESSED,
    EVENTS_SEEN,
    HEAD_SUBSCRIPTION_UP,
    LISTENER_SCANS,
    PROCESSING_ERRORS,
    PROCESSING_SECONDS,
    REORGS,
    VERIFICATION_FAILURES,
)
from node.risk.base import Checkpoint, RiskContext
from node.risk.engine import Assessment, RiskEngine
from node.risk.reference import unit_values
from node.settings import WebhookTarget
from node.value_history import ValueHistory
from node.webhooks import enqueue

log = structlog.get_logger(__name__)

CURSOR_NAME = "registry"
REASONS_SCHEMA_VERSION = "cie.ack-reasons/1"  # as ledger_client.pipeline
REASONS_DOC_TYPE = 0
ZERO32 = b"\x00" * 32
KEEP_SCANNED_BLOCKS = 256
ACK_SETTLE_SECONDS = 10.0
"""An acknowledgement is checked against the chain once it is this old."""
ACK_RECHECK_SECONDS = 60.0
"""A (re)started listener checks the acknowledgements it recorded this recently."""
ROUND_CHUNK = 256
"""Versions a round reads, assesses and acknowledges before it reads the next ones."""
ACK_WINDOW = 256
"""Acknowledgements sent back to back before their receipts are awaited."""
ACK_BATCH = 256
"""Acknowledgements per `acknowledgeBatch` transaction (about 40,500 gas each, ~10.4M for
256; a version alone goes as a single `acknowledge`). Fewer, larger transactions: a chain
that builds each block at a cost growing with its state (anvil 1.7.1) made 64 a
transaction cost a 40,000-document catch-up 1.16x its time (BENCHMARKS.md)."""
FETCH_WORKERS = 8
"""Pending versions of a chunk fetched and verified at once (threads)."""
HEAD_POLL_INTERVAL = 2.0
"""Round timer (s) while the head subscription is live (see `wait_for_trigger`)."""
HISTORY_SLICE = 256
"""Pending versions whose histories are read together (`_read_histories`). Each log query
scans every block from the slice's earliest anchoring to the head, so during a catch-up,
whose documents were anchored long ago, its cost grows with the chain (32 at a time,
anvil took 49-70% of the CPU in the first 20,000 documents of a 100,000 catch-up; 256 at a
time, 33%). Fetches started after hooks ran since the read go `4 * fetch_workers` at a
time, and each such group first asks the registry (one batch of ``eth_call``, was one call
a fetch) whether its documents changed meanwhile; a changed one's fetch reads its history
anew."""
SCAN_LOGS_TARGET = 2000
"""Logs a scan chunk aims at (`next_scan_span`)."""
SCAN_FIRST_SPAN = 16
"""Blocks of a listener's first scan chunk; the span adapts from there."""
_IN_CHUNK = 500
"""Keys per ``IN (...)`` list of the listener's set-based queries."""


def next_scan_span(span: int, scanned: int, logs: int, *, limit: int, target: int) -> int:
    """The block span of the next scan chunk after one of `scanned` blocks (`span`, or
    fewer at the head) held `logs` logs: shrunk in proportion when it held more than
    `target`, doubled (up to `limit`) when a full span held less than half of it."""
    if logs > target:
        return max(1, scanned * target // logs)
    if scanned >= span and 2 * logs < target:
        return min(limit, 2 * span)
    return min(limit, span)


class State:
    PENDING = "pending"
    ASSESSED = "assessed"
    ACKNOWLEDGED = "acknowledged"
    VERIFICATION_FAILED = "verification_failed"
    REVOKED = "revoked"
    FAILED = "failed"

    FINAL = (ACKNOWLEDGED, VERIFICATION_FAILED, REVOKED, FAILED)


# Statements run once a version (or once a goods item) on the processing thread, built
# once with bind parameters (building a statement and its cache key cost SQLAlchemy more
# than running it: a value-history read 0.80 ms built each time, 0.22 ms reused), on the
# tables rather than the mapped classes (the ORM's bulk layer added ~0.24 ms a write).
_PROCESSING = cast(Table, tables.Processing.__table__)
_P = _PROCESSING.c
_STATE_OF = select(_P.state).where(
    _P.document_id == bindparam("doc"), _P.version == bindparam("version")
)
_MARK_ASSESSED = (
    update(_PROCESSING)
    .where(
        _P.document_id == bindparam("doc"),
        _P.version == bindparam("of_version"),
        _P.state == State.PENDING,  # a concurrent worker may have got there first
    )
    .values(
        state=State.ASSESSED,
        lane=bindparam("new_lane"),
        reference=bindparam("new_reference"),
        document_json=bindparam("new_document_json"),
    )
)
_RECORD_OUTCOME = insert(cast(Table, tables.RiskOutcome.__table__))


class DocumentFetcher(Protocol):
    """The part of `ledger_client.pipeline.DocumentPipeline` the listener uses."""

    def fetch_and_verify(
        self,
        document: bytes | str,
        version: int | None = None,
        *,
        timeout: float | None = None,
        anchored_from: int | None = None,
        history: DocumentHistory | None = None,
    ) -> VerifiedDocument: ...


FaultPoint = Callable[[str], None]


def no_faults(point: str) -> None:
    return None


@dataclass(frozen=True)
class ScanReport:
    from_block: int
    to_block: int
    events: int
    reorg: bool


@dataclass(frozen=True)
class _ReadyAcknowledgement:
    """An assessed version with its reasons sealed and shared: what is sent."""

    doc_hex: str
    version: int
    item: AcknowledgementItem
    started: float


@dataclass(frozen=True)
class _SentAcknowledgement:
    """One sent transaction: `acknowledgeBatch` of `acks`, or `acknowledge` of one (`single`)."""

    acks: tuple[_ReadyAcknowledgement, ...]
    tx_hash: HexBytes
    single: bool


def _hex(value: bytes) -> str:
    return bytes(value).hex()


_fetch_pools: dict[int, ThreadPoolExecutor] = {}
_fetch_pools_lock = threading.Lock()


def _fetch_pool(workers: int) -> ThreadPoolExecutor:
    """The process's pool of `workers` fetch threads, shared by its listeners.

    The threads live as long as the process: the IPFS store and web3's HTTP provider
    keep one connection per thread, so a listener rebuilt after every crash (or many
    listeners in one test process) must not bring new threads each time.
    """
    with _fetch_pools_lock:
        pool = _fetch_pools.get(workers)
        if pool is None:
            pool = _fetch_pools[workers] = ThreadPoolExecutor(
                workers, thread_name_prefix=f"cie-fetch-{workers}"
            )
        return pool


_Keyed = TypeVar("_Keyed", tables.Processing, tables.RiskOutcome)


def _rows_by_key(
    session: Session, model: type[_Keyed], keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], _Keyed]:
    """The rows of `model` for (document, version) `keys`, `_IN_CHUNK` documents a query.

    Selected by document (the primary key's first column) and narrowed to the versions
    asked here: a row-value IN on (document, version) made SQLite scan the whole table
    for every query (87 ms at 100,000 rows, against 7 ms so).
    """
    wanted = set(keys)
    documents = list(dict.fromkeys(document for document, _ in keys))
    found: dict[tuple[str, int], _Keyed] = {}
    for start in range(0, len(documents), _IN_CHUNK):
        chunk = documents[start : start + _IN_CHUNK]
        query = select(model).where(model.document_id.in_(chunk))
        for row in session.scalars(query):
            if (row.document_id, row.version) in wanted:
                found[(row.document_id, row.version)] = row
    return found


def _states(
    db: Database, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], tuple[str, int]]:
    """(state, event block) of the (document, version) `keys` that exist: one query per
    `_IN_CHUNK` documents (Core, as `RegistryListener._state`), through the primary
    key's leading column."""
    p = tables.Processing
    documents = list(dict.fromkeys(doc_hex for doc_hex, _ in keys))
    wanted = set(keys)
    states: dict[tuple[str, int], tuple[str, int]] = {}
    with db.engine.connect() as conn:
        for start in range(0, len(documents), _IN_CHUNK):
            rows = conn.execute(
                select(p.document_id, p.version, p.state, p.event_block).where(
                    p.document_id.in_(documents[start : start + _IN_CHUNK])
                )
            )
            states.update(
                ((d, v), (state, block)) for d, v, state, block in rows if (d, v) in wanted
            )
    return states


def _recorded(history: DocumentHistory) -> tuple[int, bool, int]:
    """What `RegistryClient.recorded_state` answers for a document whose history this is."""
    progress = max((c.position + 1 for c in history.checkpoints), default=0)
    return history.latest_version, history.revocation is not None, progress


def _topic(economy: str) -> str:
    return "0x" + economy_bytes(economy).ljust(32, b"\x00").hex()


class RegistryListener:
    def __init__(
        self,
        *,
        economy: str,
        ledger: Ledger,
        fetcher: DocumentFetcher,
        db: Database,
        engine: RiskEngine,
        ipfs: IpfsStore | None = None,
        confirmations: int = 2,
        chunk_size: int = 2000,
        start_block: int | None = None,
        max_attempts: int = 5,
        share_reasons_with: Callable[[str], bool] = lambda issuer: False,
        webhooks: Sequence[WebhookTarget] = (),
        fault: FaultPoint = no_faults,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ack_settle_seconds: float = ACK_SETTLE_SECONDS,
        round_chunk: int = ROUND_CHUNK,
        ack_window: int = ACK_WINDOW,
        fetch_workers: int = FETCH_WORKERS,
        head_poll_interval: float = HEAD_POLL_INTERVAL,
        scan_logs_target: int = SCAN_LOGS_TARGET,
    ) -> None:
        if round_chunk < 1 or ack_window < 1:
            raise ValueError(
                f"round_chunk ({round_chunk}) and ack_window ({ack_window}) must be at least 1"
            )
        if fetch_workers < 1:
            raise ValueError(f"fetch_workers ({fetch_workers}) must be at least 1")
        if chunk_size < 1 or scan_logs_target < 1:
            raise ValueError(
                f"chunk_size ({chunk_size}) and scan_logs_target ({scan_logs_target}) "
                "must be at least 1"
            )
        self.economy = economy
        self.ledger = ledger
        self.w3 = ledger.w3
        self.registry = ledger.registry
        self.contract = ledger.registry.contract
        self.fetcher = fetcher
        self.db = db
        self.engine = engine
        self.ipfs = ipfs
        self.confirmations = confirmations
        self.chunk_size = chunk_size
        self.scan_logs_target = scan_logs_target
        self._scan_span = min(chunk_size, SCAN_FIRST_SPAN)
        self.start_block = start_block if start_block is not None else ledger.registry.from_block
        self.max_attempts = max_attempts
        self.share_reasons_with = share_reasons_with
        self.webhooks = list(webhooks)
        self.fault = fault
        self.clock = clock
        self.ack_settle_seconds = ack_settle_seconds
        self.round_chunk = round_chunk
        self.ack_window = ack_window
        self.fetch_workers = fetch_workers
        self.head_poll_interval = head_poll_interval
        # Wake bookkeeping, on the subscription's thread (`_on_head`, `_on_logs`): blocks
        # with a log for this node (or a subscription's first head) awaiting their
        # confirmations, the newest head announced, and the subscription whose first head
        # was seen.
        self._unconfirmed: list[int] = []
        self._head = -1
        self._subscription_seen = 0
        # Fetches started ahead of their version's turn (`_assess_pending`), taken by
        # `_fetch_for_assessment`; filled and emptied on the processing thread.
        self._prefetched: dict[tuple[str, int], Future[VerifiedDocument]] = {}
        # The trader's AEO recognition, read on the fetch thread after a prefetched
        # version verified (a chain read the reference hooks would make in turn),
        # taken by `_context`: (document, version) -> ((economy, operator id), answer).
        self._recognitions: dict[tuple[str, int], tuple[tuple[str, bytes], Recognition]] = {}
        # The unit values the hooks compare with (`RiskContext.unit_values`), written
        # with each assessment.
        self._values = ValueHistory(db)
        # Reads the histories of the versions about to be fetched in a few requests.
        self._histories = ChainIndex(
            ledger.registry, settled_depth=confirmations, max_cached_blocks=65_536
        )
        self._lock = threading.RLock()  # the worker and the API share one listener
        self._acks_checked_until = time.time() - ACK_RECHECK_SECONDS
        self._wake = threading.Event()  # set by a head notification (or by `wake()`)
        self.heads: HeadSubscription | None = None
        #: Rounds run by `run`, by trigger: "head", "timer" (and "start").
        self.scans: Counter[str] = Counter()
        events = self.contract.events
        self._events = {
            name: getattr(events, name)()
            for name in (
                "DocumentAnchored",
                "DocumentAmended",
                "DocumentRevoked",
                "DocumentAcknowledged",
                "TransitCheckpointRecorded",
            )
        }
        self._topics = {
            "0x" + bytes(HexBytes(event.topic)).hex(): name for name, event in self._events.items()
        }
        self._names = {bytes.fromhex(topic[2:]): name for topic, name in self._topics.items()}

    def _topic_of(self, name: str) -> str:
        return next(t for t, n in self._topics.items() if n == name)

    # ------------------------------------------------------------------ scanning

    def cursor(self) -> tuple[int, str] | None:
        c = tables.ChainCursor
        with self.db.engine.connect() as conn:  # Core: read every round
            row = conn.execute(
                select(c.block_number, c.block_hash).where(c.name == CURSOR_NAME)
            ).first()
            return (int(row[0]), str(row[1])) if row else None

    def _block_hash(self, number: int) -> str:
        return _hex(self.w3.eth.get_block(number)["hash"])

    def _check_reorg(self, current: tuple[int, str] | None, on_chain: str | None = None) -> bool:
        """Compare the cursor (`current`, as read) with the chain (`on_chain`: the hash
        the chain has at the cursor's height, when already read); rewind on a mismatch.
        True if it rewound."""
        if current is None:
            return False
        number, block_hash = current
        if (on_chain or self._block_hash(number)) == block_hash:
            return False
        with self.db.sessions() as session:
            scanned = list(
                session.scalars(
                    select(tables.ScannedBlock).order_by(tables.ScannedBlock.block_number.desc())
                )
            )
        fork = self.start_block - 1
        fork_hash = ""
        for block in scanned:
            if (
                block.block_number <= self.w3.eth.block_number
                and self._block_hash(block.block_number) == block.block_hash
            ):
                fork, fork_hash = block.block_number, block.block_hash
                break
        with self.db.transaction() as session:
            orphaned = session.scalars(
                select(tables.Processing).where(tables.Processing.event_block > fork)
            ).all()
            acted = [p for p in orphaned if p.state != State.PENDING]
            for p in orphaned:
                if p.state == State.PENDING:
                    session.delete(p)
            for table in (tables.ChainEvent, tables.Acknowledgement):
                session.execute(delete(table).where(table.block_number > fork))
            session.execute(
                delete(tables.ScannedBlock).where(tables.ScannedBlock.block_number > fork)
            )
            cursor = session.get(tables.ChainCursor, CURSOR_NAME)
            assert cursor is not None
            if fork < self.start_block:
                session.delete(cursor)
            else:
                cursor.block_number, cursor.block_hash = fork, fork_hash
        reopened = self._reopen_dropped_acknowledgements(fork)
        REORGS.inc()
        log.warning(
            "listener.reorg",
            cursor=number,
            rewound_to=fork,
            orphaned=len(orphaned),
            acted_on=len(acted),
            acknowledgements_dropped=reopened,
        )
        for p in acted:
            log.error("listener.reorg_after_action", document=p.document_id, version=p.version)
        return True

    def _reopen_dropped_acknowledgements(self, fork: int) -> int:
        """Versions whose acknowledgement the reorganisation dropped go back to `assessed`:
        the acknowledgement is sent again, no hook runs again (its effect is recorded
        once). Candidates are the versions acknowledged since the fork block's time (a
        minute's margin for clock skew); the chain is asked about each."""
        since = int(self.w3.eth.get_block(max(fork, 0))["timestamp"]) - 60
        return self._reopen_unless_on_chain(since, time.time())

    def recheck_acknowledgements(self) -> int:
        """Re-open acknowledgements the chain no longer holds; returns how many.

        An acknowledgement mined in a block after the cursor can leave the chain
        without the cursor noticing (a chain that lost its newest blocks, such as
        anvil restarted from its state file, or a short reorganisation ahead of the
        scan). Each acknowledgement is asked about once, `ack_settle_seconds` after
        it was recorded (a restarted listener asks again about the last
        `ACK_RECHECK_SECONDS`); one the chain does not hold is sent again.
        """
        until = time.time() - self.ack_settle_seconds
        if until <= self._acks_checked_until:
            return 0
        reopened = self._reopen_unless_on_chain(self._acks_checked_until, until)
        self._acks_checked_until = until
        return reopened

    def _reopen_unless_on_chain(self, since: float, until: float) -> int:
        """Acknowledged versions recorded in (since, until] that the chain does not
        hold go back to `assessed` (sent again; hooks do not run again)."""
        with self.db.engine.connect() as conn:  # Core: asked every round
            candidates = conn.execute(
                select(tables.Processing.document_id, tables.Processing.version).where(
                    tables.Processing.state == State.ACKNOWLEDGED,
                    tables.Processing.updated_at > since,
                    tables.Processing.updated_at <= until,
                )
            ).all()
        keys = [(str(d), int(v)) for d, v in candidates]
        on_chain = self._acknowledged_on_chain(keys)
        dropped = [key for key, held in zip(keys, on_chain, strict=True) if not held]
        reopened = 0
        for doc_hex, version in dropped:
            with self.db.transaction() as session:
                row = session.get(tables.Processing, (doc_hex, version))
                if row is not None and row.state == State.ACKNOWLEDGED:
                    row.state, row.ack_tx_hash = State.ASSESSED, None
                    reopened += 1
        if reopened:
            log.warning("listener.acknowledgements_dropped", reopened=reopened)
        return reopened

    def _acknowledged_on_chain(self, keys: Sequence[tuple[str, int]]) -> list[bool]:
        """Whether this economy's acknowledgement of each (document, version) is on chain;
        one JSON-RPC batch of `eth_call`s per 500 versions."""
        held: list[bool] = []
        for start in range(0, len(keys), 500):
            chunk = [(bytes.fromhex(d), v) for d, v in keys[start : start + 500]]
            held += self.registry.acknowledged(self.economy, chunk)
        return held

    def scan_once(self) -> ScanReport:
        """Record confirmed events up to head - confirmations, chunk by chunk."""
        with PROCESSING_SECONDS.labels("scan").time():
            return self._scan()

    def _scan(self) -> ScanReport:
        # JSON-RPC batches: one round trip for the head and the cursor's block, one per
        # chunk for its end block and its logs. When a head announced how far the chain
        # reaches (`_announced_span`), the first chunk rides in the head's batch: one
        # round trip a round at low load, where every document has its rounds.
        current = self.cursor()
        requests: list[tuple[RPCEndpoint, Any]] = [(RPCEndpoint("eth_blockNumber"), [])]
        if current is not None:
            requests.append((RPCEndpoint("eth_getBlockByNumber"), [hex(current[0]), False]))
        spans_at, ahead = len(requests), self._announced_span(current)
        if ahead is not None:
            requests += self._span_requests(*ahead)
        answers = self._read_batch(requests, "reading the head", allow_none=True)
        head = int(answers[0], 16)
        at_cursor = answers[1] if current is not None else None
        # no block at the cursor (a shorter chain): `_check_reorg` asks again, and fails
        reorg = self._check_reorg(current, at_cursor["hash"][2:].lower() if at_cursor else None)
        safe = head - self.confirmations
        current = self.cursor() if reorg else current
        start = current[0] + 1 if current else self.start_block
        first, events = start, 0
        while start <= safe:
            end = min(start + self._scan_span - 1, safe)
            if (
                ahead is not None
                and not reorg  # (a rewound cursor starts earlier, unless the chain
                # flipped back between the reads: then the span may be of the other branch)
                and ahead[0] == start
                and ahead[1] <= safe
                and answers[spans_at] is not None
            ):
                end = ahead[1]
                end_hash, logs = self._span_answers(answers[spans_at:])
            else:
                end_hash, logs = self._span_logs(start, end)
            ahead = None
            self.fault("scan.before_commit")
            with self.db.transaction() as session:
                events += self._record_span(session, logs)
                self._advance(session, end, end_hash)
            CURSOR_BLOCK.set(end)
            self._scan_span = next_scan_span(
                self._scan_span,
                end - start + 1,
                len(logs),
                limit=self.chunk_size,
                target=self.scan_logs_target,
            )
            start = end + 1
        return ScanReport(first, max(first - 1, safe), events, reorg)

    def _advance(self, session: Session, end: int, end_hash: str) -> None:
        """Record block `end` as scanned (forgetting those older than the reorg check
        needs) and move the cursor to it, as plain Core statements: a round runs on
        every head that may concern this node, and the ORM merges these replaced read
        each row before writing it."""
        conn = session.connection()
        scanned, cursor = tables.ScannedBlock, tables.ChainCursor
        conn.execute(
            delete(scanned).where(
                (scanned.block_number < end - KEEP_SCANNED_BLOCKS * self.chunk_size)
                | (scanned.block_number == end)
            )
        )
        conn.execute(insert(scanned).values(block_number=end, block_hash=end_hash))
        moved = conn.execute(
            update(cursor)
            .where(cursor.name == CURSOR_NAME)
            .values(block_number=end, block_hash=end_hash, updated_at=time.time())
        )
        if not moved.rowcount:
            conn.execute(
                insert(cursor).values(
                    name=CURSOR_NAME, block_number=end, block_hash=end_hash, updated_at=time.time()
                )
            )

    def _span_logs(self, start: int, end: int) -> tuple[str, list[RawLog]]:
        """The hash of block `end` and the span's logs in chain order, in one JSON-RPC
        batch read unformatted: web3's log formatting and event decoding cost about
        0.9 ms a log, more than recording it (CHANGELOG, listener scan)."""
        requests = self._span_requests(start, end)
        return self._span_answers(self._read_batch(requests, f"reading blocks {start}-{end}"))

    def _span_requests(self, start: int, end: int) -> list[tuple[RPCEndpoint, Any]]:
        return [
            (RPCEndpoint("eth_getBlockByNumber"), [hex(end), False]),
            *((RPCEndpoint("eth_getLogs"), [query]) for query in self._log_filters(start, end)),
        ]

    def _span_answers(self, answers: Sequence[Any]) -> tuple[str, list[RawLog]]:
        block, *found = answers
        logs = [log for result in found for log in raw_logs(result, self._names)]
        logs.sort(key=lambda log: (log.block_number, log.log_index))
        return block["hash"][2:].lower(), logs

    def _announced_span(self, current: tuple[int, str] | None) -> tuple[int, int] | None:
        """The first chunk after `current` up to the confirmed part of the newest head
        announced (`_on_head`), or None when none reaches past the cursor (polling, or
        no cursor yet): the round then asks the head before any chunk."""
        if current is None:
            return None
        start = current[0] + 1
        end = min(start + self._scan_span - 1, self._head - self.confirmations)
        return (start, end) if end >= start else None

    def _read_batch(
        self, requests: list[tuple[RPCEndpoint, Any]], what: str, *, allow_none: bool = False
    ) -> list[Any]:
        """The results of one JSON-RPC batch, unformatted (web3 formats a whole block into
        attribute dicts, more CPU than the rest of a round's reads); an error answer, or
        an empty one unless `allow_none`, raises ChainError naming `what`."""
        provider = cast(JSONBaseProvider, self.w3.provider)  # the node's is HTTP (`connect`)
        responses = provider.make_batch_request(requests)
        if not isinstance(responses, list):
            raise ChainError(f"{what} failed: {responses}")
        for response in responses:
            if "error" in response or (response.get("result") is None and not allow_none):
                raise ChainError(f"{what} failed: {response}")
        return [response.get("result") for response in responses]

    def _log_filters(self, start: int, end: int) -> list[dict[str, Any]]:
        """The `eth_getLogs` filters of one chunk (`_scan_filters` over its blocks)."""
        return [{**f, "fromBlock": hex(start), "toBlock": hex(end)} for f in self._scan_filters()]

    def _scan_filters(self) -> list[dict[str, Any]]:
        """What the scan selects: versions addressed to this economy, acknowledgements
        of its documents, every transit checkpoint (also what wakes a round)."""
        address = self.contract.address
        own = _topic(self.economy)
        queries: list[list[Any]] = [
            [
                [
                    self._topic_of(n)
                    for n in ("DocumentAnchored", "DocumentAmended", "DocumentRevoked")
                ],
                None,
                None,
                own,
            ],
            [self._topic_of("DocumentAcknowledged"), None, own],
            [self._topic_of("TransitCheckpointRecorded")],
        ]
        return [{"address": address, "topics": topics} for topics in queries]

    def _record_span(self, session: Session, logs: Sequence[RawLog]) -> int:
        """Record a span's logs (chain order) that are not recorded yet; returns how many.

        A few set-based statements per span rather than several per log (the 100k
        catch-up recorded under 1,000 logs/s that way): one query for the logs already
        recorded, one per `_IN_CHUNK` documents for their known versions and
        acknowledgements, an UPDATE for revocations, then bulk INSERTs.
        """
        seen = self._recorded_logs(session, logs)
        events: list[dict[str, Any]] = []
        versions: dict[tuple[str, int], dict[str, Any]] = {}
        acks: dict[tuple[str, int, str], dict[str, Any]] = {}
        revoked: set[str] = set()
        for log in logs:
            tx_hash = _hex(log.tx_hash)
            if (tx_hash, log.log_index) in seen:
                continue
            seen.add((tx_hash, log.log_index))
            name, doc_hex = log.event, _hex(log.topics[1])
            version: int | None = None
            economy: str | None = None
            data: dict[str, int] = {}
            if name == "DocumentAnchored":
                version = 1
            elif name == "DocumentAmended":
                version = log.uint(0)
            elif name == "DocumentRevoked":
                data = {"reason": log.uint(0)}
                revoked.add(doc_hex)
                for (doc, _), row in versions.items():  # versions seen earlier in this span
                    if doc == doc_hex and row["state"] == State.PENDING:
                        row["state"] = State.REVOKED
            elif name == "DocumentAcknowledged":
                version, economy = log.uint(0), log.topics[3][:2].decode()
                acks[(doc_hex, version, economy)] = {
                    "document_id": doc_hex,
                    "version": version,
                    "acknowledger": economy,
                    "issuer": log.topics[2][:2].decode(),
                    "lane": log.uint(1),
                    "reasons_commitment": _hex(log.word(2)),
                    "reasons_digest": _hex(log.word(3)),
                    "block_number": log.block_number,
                    "tx_hash": tx_hash,
                }
            elif name == "TransitCheckpointRecorded":
                economy = log.topics[2][:2].decode()
                data = {"kind": int.from_bytes(log.topics[3], "big"), "position": log.uint(0)}
            events.append(
                {
                    "tx_hash": tx_hash,
                    "log_index": log.log_index,
                    "block_number": log.block_number,
                    "block_hash": _hex(log.block_hash),
                    "event": name,
                    "document_id": doc_hex,
                    "version": version,
                    "economy": economy,
                    "data": json.dumps(data),
                }
            )
            if version is not None and name in ("DocumentAnchored", "DocumentAmended"):
                parsed = parse_document_id(log.topics[1])
                versions.setdefault(
                    (doc_hex, version),
                    {
                        "document_id": doc_hex,
                        "version": version,
                        "doc_type": int(parsed.doc_type),
                        "issuer": parsed.economy,
                        "state": State.PENDING,
                        "event_block": log.block_number,
                        "event_tx_hash": tx_hash,
                    },
                )
            EVENTS_SEEN.labels(name).inc()
        if not events:
            return 0
        revocations = self._revoke_recorded(session, revoked)
        for key in self._known(session, tables.Processing, versions):
            del versions[key]
        revocations += sum(row["state"] == State.REVOKED for row in versions.values())
        if revocations:
            DOCUMENTS_PROCESSED.labels(State.REVOKED).inc(revocations)
        known_acks = set(self._known(session, tables.Acknowledgement, acks))
        for key in known_acks:  # seen again after a reorg: the newer record wins
            session.merge(tables.Acknowledgement(**acks.pop(key)))
        for table, rows in (
            (tables.ChainEvent, events),
            (tables.Processing, list(versions.values())),
            (tables.Acknowledgement, list(acks.values())),
        ):
            if rows:
                session.execute(insert(table), rows)
        return len(events)

    @staticmethod
    def _recorded_logs(session: Session, logs: Sequence[RawLog]) -> set[tuple[str, int]]:
        """(tx hash, log index) of the logs among `logs` that are recorded already."""
        hashes = list({_hex(log.tx_hash) for log in logs})
        found: set[tuple[str, int]] = set()
        for at in range(0, len(hashes), _IN_CHUNK):
            rows = session.execute(
                select(tables.ChainEvent.tx_hash, tables.ChainEvent.log_index).where(
                    tables.ChainEvent.tx_hash.in_(hashes[at : at + _IN_CHUNK])
                )
            )
            found.update((tx_hash, index) for tx_hash, index in rows)
        return found

    @staticmethod
    def _known(session: Session, table: Any, keys: Mapping[tuple[Any, ...], object]) -> list[Any]:
        """The keys of `keys` (primary keys of `table`, document id first) it holds."""
        documents = list({key[0] for key in keys})
        columns = [column for column in table.__table__.primary_key.columns]
        found: list[Any] = []
        for at in range(0, len(documents), _IN_CHUNK):
            rows = session.execute(
                select(*columns).where(columns[0].in_(documents[at : at + _IN_CHUNK]))
            )
            found.extend(key for key in map(tuple, rows) if key in keys)
        return found

    @staticmethod
    def _revoke_recorded(session: Session, documents: set[str]) -> int:
        """Revoke the recorded pending or assessed versions of `documents`; how many."""
        revoked = 0
        ordered = sorted(documents)
        for at in range(0, len(ordered), _IN_CHUNK):
            result = session.execute(
                update(tables.Processing)
                .where(
                    tables.Processing.document_id.in_(ordered[at : at + _IN_CHUNK]),
                    tables.Processing.state.in_([State.PENDING, State.ASSESSED]),
                )
                .values(state=State.REVOKED)
                .execution_options(synchronize_session=False)
            )
            revoked += cast(CursorResult[Any], result).rowcount
        return revoked

    # ---------------------------------------------------------------- processing

    def process_pending(self, limit: int | None = None) -> int:
        """Advance every unfinished (document, version); returns how many were touched.

        The backlog is read `round_chunk` versions at a time (oldest event first), so
        memory and the time to the first acknowledgement do not grow with it. Each
        chunk is assessed (hooks run) before its acknowledgements are sent, so a
        version's hooks never wait for the acknowledgements of the versions scanned
        with it; a head that arrives meanwhile is scanned and assessed before the next
        acknowledgement is sent (`_catch_up`).
        """
        touched = 0
        after: tuple[int, str, int] | None = None
        while limit is None or touched < limit:
            size = self.round_chunk if limit is None else min(self.round_chunk, limit - touched)
            keys = self._unfinished(after, size)
            if not keys:
                break
            after = keys[-1]
            self._assess_pending(keys)
            self._acknowledge_assessed([(d, v) for _, d, v in keys], serve_heads=True)
            touched += len(keys)
        return touched

    def _unfinished(
        self, after: tuple[int, str, int] | None, size: int
    ) -> list[tuple[int, str, int]]:
        """(event block, document, version) of up to `size` pending or assessed versions
        after `after` in that order: a version retried later in the round is not read
        again, one a head brings meanwhile is."""
        p = tables.Processing
        query = (
            select(p.event_block, p.document_id, p.version)
            .where(p.state.in_([State.PENDING, State.ASSESSED]))
            .order_by(p.event_block, p.document_id, p.version)
            .limit(size)
        )
        if after is not None:
            query = query.where(tuple_(p.event_block, p.document_id, p.version) > tuple_(*after))
        with self.db.engine.connect() as conn:  # Core: asked every round
            return [(int(b), str(d), int(v)) for b, d, v in conn.execute(query)]

    def _assess_pending(self, keys: Sequence[tuple[Any, str, int]]) -> None:
        """Assess the pending versions among (anything, document, version) `keys`.

        Fetching and verifying a version is mostly waiting (a log query, an IPFS cat
        from the issuer's node), so the next versions are fetched and verified ahead,
        `fetch_workers` at a time, on the shared fetch threads, started in groups of
        `4 * fetch_workers` as the hooks reach them (at least that many ahead, fewer than
        twice); those threads only call the fetcher. The histories of the next
        `HISTORY_SLICE` versions are read here first, in a few requests
        (`_read_histories`), so a fetch does not read its own. Everything else (the
        state check, the fault points, hooks, every database write) happens here, one
        version after the other in key order, as when each version was fetched at its
        turn: a verification failure, a revocation or an outage ends the same way. The
        lock is held for `4 * fetch_workers` versions at a time and their states are
        read in one query as it is taken (a manual acknowledgement waits for the
        group, as for an acknowledgement window).
        Fetches not taken when the round stops (an outage re-raised, a fault) are
        dropped.
        """
        pending = self._pending_versions(keys)
        ahead = 4 * self.fetch_workers
        started = 0
        histories: dict[bytes, DocumentHistory] = {}
        try:
            for first in range(0, len(pending), ahead):
                # held for `ahead` versions: their states, read at the start, hold until
                # each one's turn (an outside change takes the lock)
                with self._lock:
                    group_keys = [(d, v) for d, v, _ in pending[first : first + ahead]]
                    still_pending = {
                        key
                        for key, (state, _) in _states(self.db, group_keys).items()
                        if state == State.PENDING
                    }
                    for index in range(first, min(len(pending), first + ahead)):
                        doc_hex, version, _ = pending[index]
                        while started < min(len(pending), index + ahead):
                            slice_end = started - started % HISTORY_SLICE + HISTORY_SLICE
                            group = min(len(pending), started + ahead, slice_end)
                            if started % HISTORY_SLICE == 0:
                                # the slice's first group starts as its histories are read
                                histories = self._read_histories(pending[started:slice_end])
                            else:
                                # later ones after hooks ran meanwhile: their histories
                                # are checked against the registry first, a group at a time
                                self._drop_changed(histories, pending[started:group])
                            for doc_ahead, version_ahead, event_block in pending[started:group]:
                                self._start_fetch(
                                    doc_ahead,
                                    version_ahead,
                                    event_block,
                                    histories.get(bytes.fromhex(doc_ahead)),
                                )
                            started = group
                        if (doc_hex, version) in still_pending:
                            self._assess(doc_hex, version)
                        dropped = self._prefetched.pop((doc_hex, version), None)
                        if dropped is not None:  # no longer pending when its turn came
                            dropped.cancel()
        finally:
            with self._lock:
                for future in self._prefetched.values():
                    future.cancel()
                self._prefetched.clear()
                self._recognitions.clear()

    def _pending_versions(self, keys: Sequence[tuple[Any, str, int]]) -> list[tuple[str, int, int]]:
        """(document, version, event block) of the versions among `keys` still pending,
        in the order of `keys`."""
        found = _states(self.db, [(d, v) for _, d, v in keys])
        return [
            (d, v, found[(d, v)][1])
            for _, d, v in keys
            if (d, v) in found and found[(d, v)][0] == State.PENDING
        ]

    def _read_histories(
        self, versions: Sequence[tuple[str, int, int]]
    ) -> dict[bytes, DocumentHistory]:
        """The histories of (document, version, event block) `versions`, read with a few
        requests for all of them (`ChainIndex`): version 1's event block is its
        anchoring, so those are read from the earliest such block. A document absent
        from the answer (or every one, if the read fails) reads its own history when
        fetched, and meets any chain trouble there, as before."""
        first = [(bytes.fromhex(d), b) for d, v, b in versions if v == 1]
        later = [bytes.fromhex(d) for d, v, _ in versions if v != 1]
        try:
            found = (
                self._histories.histories([d for d, _ in first], min(b for _, b in first))
                if first
                else {}
            )
            if later:
                found.update(self._histories.histories(later))
        except Exception as exc:
            log.warning("listener.history_read_failed", versions=len(versions), error=str(exc))
            return {}
        return found

    def _drop_changed(
        self, histories: dict[bytes, DocumentHistory], versions: Sequence[tuple[str, int, int]]
    ) -> None:
        """Forget the histories among `histories` of (document, version, event block)
        `versions` whose document was amended, revoked or checkpointed since they were
        read (one JSON-RPC batch of ``eth_call``): their fetches read them anew. If the
        registry cannot be asked, all of them are forgotten."""
        # once a document: its versions share its history
        documents = dict.fromkeys(bytes.fromhex(d) for d, _, _ in versions)
        held = [doc_id for doc_id in documents if doc_id in histories]
        try:
            now = self.registry.recorded_states(held)
        except Exception as exc:
            log.warning("listener.recheck_failed", versions=len(held), error=str(exc))
            for doc_id in held:
                del histories[doc_id]
            return
        for doc_id, state in zip(held, now, strict=True):
            if state != _recorded(histories[doc_id]):
                del histories[doc_id]

    def _start_fetch(
        self, doc_hex: str, version: int, event_block: int, history: DocumentHistory | None
    ) -> None:
        """Fetch and verify a pending version on a fetch thread (`_fetch_for_assessment`
        takes the result). Version 1's event block is its anchoring block."""
        anchored_from = event_block if version == 1 else None
        self._prefetched[(doc_hex, version)] = _fetch_pool(self.fetch_workers).submit(
            self._fetch, bytes.fromhex(doc_hex), version, anchored_from, history
        )

    def _fetch(
        self,
        doc_id: bytes,
        version: int,
        anchored_from: int | None,
        history: DocumentHistory | None = None,
    ) -> VerifiedDocument:
        with PROCESSING_SECONDS.labels("fetch_verify").time():
            verified = self.fetcher.fetch_and_verify(
                doc_id, version, anchored_from=anchored_from, history=history
            )
        aeo_id = verified.document.trader_aeo_id
        if aeo_id:  # read ahead; on failure the hooks' own lookup meets the trouble
            with contextlib.suppress(Exception):
                key = (aeo_id[:2], operator_id_of(aeo_id))
                answer = self.ledger.aeo.recognition(*key, self.economy)
                self._recognitions[(doc_id.hex(), version)] = (key, answer)
        return verified

    def _catch_up(self) -> None:
        """A new head arrived while acknowledgements are being sent: scan now and assess
        what it brought before the next acknowledgement is sent, so hooks wait for one
        acknowledgement's sending (or one window's receipts) at most, not for a round."""
        if not self._head_waiting():
            return
        self._wake.clear()
        self.scans["head"] += 1
        LISTENER_SCANS.labels("head").inc()
        if self.scan_once().events:
            with self.db.sessions() as session:
                pending = session.execute(
                    select(
                        tables.Processing.event_block,
                        tables.Processing.document_id,
                        tables.Processing.version,
                    )
                    .where(tables.Processing.state == State.PENDING)
                    .order_by(tables.Processing.event_block, tables.Processing.document_id)
                ).all()
            self._assess_pending([(b, d, int(v)) for b, d, v in pending])

    def _head_waiting(self) -> bool:
        return self.heads is not None and self._wake.is_set()

    def _state(self, doc_hex: str, version: int) -> str | None:
        # Core, not the ORM: asked once a version on the processing thread (the ORM's
        # session and identity map cost 1.6x this read)
        with self.db.engine.connect() as conn:
            return conn.execute(
                _STATE_OF, {"doc": doc_hex, "version": version}
            ).scalar_one_or_none()

    def poll_once(self) -> ScanReport:
        report = self.scan_once()
        self.recheck_acknowledgements()
        self.process_pending()
        return report

    # ------------------------------------------------------------------ triggers

    def follow_heads(
        self, ws_url: str, *, poa: bool = False, max_backoff: float = 15.0
    ) -> HeadSubscription:
        """Start waking rounds on the logs the scan selects, as `ws_url` (ws:// or wss://)
        announces them, once their block is confirmed (heads count the confirmations)."""
        if self.heads is not None:
            raise RuntimeError("the listener already follows a head subscription")
        self.heads = HeadSubscription(
            ws_url,
            self._on_head,
            on_logs=self._on_logs,
            log_filters=self._scan_filters(),
            poa=poa,
            max_backoff=max_backoff,
        )
        self.heads.start()
        return self.heads

    def _on_head(self, block_number: int) -> None:
        """Count a confirmation: wake a round once a block with a log the scan selects
        (`_on_logs`) has `confirmations` blocks on top. The first head of every
        subscription counts as such a block (what was announced while it was down is
        not replayed). Other heads start no round: their blocks have nothing for this
        node. Log subscriptions filter by topic position, which a header's logs bloom
        cannot: with the bloom, a member's own anchoring (its economy is the batch's
        issuer topic) and its own acknowledgements (the acknowledger topic) woke its
        rounds too, about two rounds of four per document at low load."""
        CHAIN_HEADS.inc()
        heads = self.heads
        first = heads is not None and heads.subscriptions != self._subscription_seen
        if heads is not None:
            self._subscription_seen = heads.subscriptions
        self._head = block_number
        if first:
            self._unconfirmed.append(block_number)
        if not self._wake_if_confirmed():
            CHAIN_HEADS_SKIPPED.inc()

    def _on_logs(self, block_number: int) -> None:
        """A log the scan selects is in `block_number` (its head may come before or after)."""
        self._unconfirmed.append(block_number)
        self._wake_if_confirmed()

    def _wake_if_confirmed(self) -> bool:
        confirmed = self._head - self.confirmations
        if self._unconfirmed and min(self._unconfirmed) <= confirmed:
            self._unconfirmed = [n for n in self._unconfirmed if n > confirmed]
            self._wake.set()
            return True
        return False

    def wake(self) -> None:
        """Start the next round now (as a head notification would)."""
        self._wake.set()

    def wait_for_trigger(self, stop: threading.Event, interval: float) -> str:
        """Block until a head wakes a round ("head"), the timer runs out ("timer") or `stop`
        is set ("stop"). Heads that arrived during the previous round start the next one at
        once. The timer is `interval`, or `head_poll_interval` if longer while the head
        subscription is live (heads then start every round with something to scan; the
        timer only retries what a round left for later)."""
        started = time.monotonic()
        while not stop.is_set():
            live = self.heads is not None and self.heads.connected.is_set()
            timer = max(interval, self.head_poll_interval) if live else interval
            remaining = started + timer - time.monotonic()
            if remaining <= 0:
                return "timer"
            if self._wake.wait(min(remaining, 0.2)):
                self._wake.clear()
                return "head"
        return "stop"

    def stop_following(self) -> None:
        if self.heads is not None:
            self.heads.stop()
            self.heads = None
        HEAD_SUBSCRIPTION_UP.set(0)

    def round(self, trigger: str) -> ScanReport:
        """One round (scan, then process), counted under `trigger`."""
        self.scans[trigger] += 1
        LISTENER_SCANS.labels(trigger).inc()
        HEAD_SUBSCRIPTION_UP.set(int(self.heads is not None and self.heads.connected.is_set()))
        return self.poll_once()

    def run(
        self, stop: threading.Event, interval: float = 1.0, *, ws_url: str | None = None
    ) -> None:
        """Run rounds until `stop` is set, on heads from `ws_url` if given and on a timer;
        errors are logged and retried next round."""
        if ws_url:
            self.follow_heads(ws_url)
        trigger = "start"
        try:
            while trigger != "stop":
                try:
                    self.round(trigger)
                except InjectedFault:
                    raise
                except Exception:
                    PROCESSING_ERRORS.inc()
                    log.exception("listener.poll_failed")
                trigger = self.wait_for_trigger(stop, interval)
        finally:
            if ws_url:
                self.stop_following()

    @property
    def lock(self) -> threading.RLock:
        """Held while versions are processed (a group of them, or an acknowledgement
        window); hold it to change a version from outside."""
        return self._lock

    def process(self, doc_hex: str, version: int) -> str:
        """Advance one (document, version) as far as it goes; returns its state."""
        with self._lock:
            return self._process(doc_hex, version)

    def _process(self, doc_hex: str, version: int) -> str:
        state = self._state(doc_hex, version)
        if state == State.PENDING:
            state = self._assess(doc_hex, version)
        if state == State.ASSESSED:
            state = self._acknowledge(doc_hex, version)
        return state or ""

    def _fail_attempt(self, doc_hex: str, version: int, error: str) -> str:
        PROCESSING_ERRORS.inc()
        with self.db.transaction() as session:
            row = session.get(tables.Processing, (doc_hex, version))
            assert row is not None
            row.attempts += 1
            row.last_error = error
            if row.attempts >= self.max_attempts:
                row.state = State.FAILED
                DOCUMENTS_PROCESSED.labels(State.FAILED).inc()
                log.error("listener.gave_up", document=doc_hex, version=version, error=error)
            return row.state

    def _retry_later(self, doc_hex: str, version: int, exc: Exception) -> str:
        """A step that may work next round failed: count an attempt; for an outage
        (OSError: connection refused or reset, timeouts) note the error and re-raise it
        instead, so the round stops without charging the document."""
        error = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, OSError):
            return self._fail_attempt(doc_hex, version, error)
        PROCESSING_ERRORS.inc()
        with self.db.transaction() as session:
            row = session.get(tables.Processing, (doc_hex, version))
            assert row is not None
            row.last_error = error
        raise exc

    def _fetch_for_assessment(self, doc_hex: str, version: int) -> VerifiedDocument | str:
        """Fetch and verify a version addressed here, before anything acts on it.

        Returns the verified document, or the state the version ended in instead:
        VERIFICATION_FAILED (recorded, counted, logged; no hook ever sees it), REVOKED,
        or the retry state after a transient IPFS or chain failure. A fetch started
        ahead by `_assess_pending` is taken (its outcome, exception included, is handled
        exactly as a fetch made here).
        """
        doc_id = bytes.fromhex(doc_hex)
        self.fault("process.before_fetch")
        prefetched = self._prefetched.pop((doc_hex, version), None)
        anchored_from = None
        if prefetched is None and version == 1:
            # Version 1 was scanned from its DocumentAnchored event: the history's log
            # query can start at that block instead of the registry's first.
            with self.db.sessions() as session:
                row = session.get(tables.Processing, (doc_hex, version))
                anchored_from = row.event_block if row is not None else None
        try:
            if prefetched is not None:
                verified = prefetched.result()
            else:
                verified = self._fetch(doc_id, version, anchored_from)
        except VerificationError as exc:
            check = str(getattr(exc, "check", "") or str(exc).split(":", 1)[0])
            with self.db.transaction() as session:
                row = session.get(tables.Processing, (doc_hex, version))
                assert row is not None
                row.state = State.VERIFICATION_FAILED
                row.last_error = str(exc)
                session.add(
                    tables.VerificationFailure(
                        document_id=doc_hex, version=version, check=check, message=str(exc)
                    )
                )
            VERIFICATION_FAILURES.labels(check).inc()
            DOCUMENTS_PROCESSED.labels(State.VERIFICATION_FAILED).inc()
            log.error(
                "listener.verification_failed",
                document=doc_hex,
                version=version,
                check=check,
                error=str(exc),
            )
            return State.VERIFICATION_FAILED
        except Exception as exc:  # IPFS or chain trouble: try again next round
            return self._retry_later(doc_hex, version, exc)
        if verified.provenance.revoked:
            with self.db.transaction() as session:
                row = session.get(tables.Processing, (doc_hex, version))
                assert row is not None
                row.state = State.REVOKED
            DOCUMENTS_PROCESSED.labels(State.REVOKED).inc()
            return State.REVOKED
        return verified

    def _assess(self, doc_hex: str, version: int) -> str:
        doc_id = bytes.fromhex(doc_hex)
        fetched = self._fetch_for_assessment(doc_hex, version)
        if isinstance(fetched, str):
            return fetched
        verified = fetched
        with PROCESSING_SECONDS.labels("hooks").time():
            assessment = self.engine.assess(self._context(doc_id, version, verified))
        self.fault("process.after_hooks")
        reasons = assessment.reasons()
        reasons_commitment = commit(dict(reasons), REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION)
        try:
            # Core statements, not ORM objects: this transaction runs once a version on
            # the processing thread, and the unit of work cost 1.7x these statements
            with self.db.transaction() as session:
                result = session.execute(
                    _MARK_ASSESSED,
                    {
                        "doc": doc_hex,
                        "of_version": version,
                        "new_lane": int(assessment.lane),
                        "new_reference": verified.document.reference,
                        "new_document_json": json.dumps(verified.document_json, sort_keys=True),
                    },
                )
                moved = cast(CursorResult[Any], result).rowcount
                if moved:
                    session.execute(
                        _RECORD_OUTCOME,
                        {
                            "document_id": doc_hex,
                            "version": version,
                            "lane": int(assessment.lane),
                            "score": assessment.score,
                            "reasons": json.dumps(reasons, sort_keys=True),
                            "hooks": ",".join(assessment.hooks),
                            "reasons_commitment": _hex(reasons_commitment.root),
                            "reasons_salt": json.dumps(
                                {k: v.hex() for k, v in reasons_commitment.salts.items()}
                            ),
                            "reasons_digest": "",
                        },
                    )
                    values_committed = self._values.record(
                        session,
                        doc_hex,
                        version,
                        verified.provenance.issuer_economy,
                        unit_values(verified.document),
                    )
                    enqueue(
                        session,
                        self.webhooks,
                        "0x" + doc_hex,
                        version,
                        self._webhook_body(doc_hex, version, verified, assessment),
                    )
        except IntegrityError:  # another worker (process) recorded this version first
            moved = 0
        if not moved:
            return self._state(doc_hex, version) or ""
        values_committed()  # the hooks' value windows learn what this version added
        self.fault("process.after_assess")
        return State.ASSESSED

    def _webhook_body(
        self, doc_hex: str, version: int, verified: VerifiedDocument, assessment: Assessment
    ) -> dict[str, object]:
        return {
            "economy": self.economy,
            "document_id": "0x" + doc_hex,
            "version": version,
            "doc_type": verified.document.document_type.name,
            "issuer": verified.provenance.issuer_economy,
            "reference": verified.document.reference,
            "assessment": assessment.reasons(),
        }

    def _context(self, doc_id: bytes, version: int, verified: VerifiedDocument) -> RiskContext:
        read_ahead = self._recognitions.pop((doc_id.hex(), version), None)

        def recognition(operator_economy: str, operator_id: bytes) -> Recognition:
            if read_ahead is not None and read_ahead[0] == (operator_economy, operator_id):
                return read_ahead[1]
            return self.ledger.aeo.recognition(operator_economy, operator_id, self.economy)

        def history(subheading: str, origin: str, currency: str) -> list[float]:
            # The newest `value_history_window`: the whole history would make each
            # lookup, and catch-up, grow with it.
            return self._values.values(
                subheading, origin, currency, doc_id.hex(), self.engine.rules.value_history_window
            )

        def linked_manifest(issuer: str, reference: str) -> PreArrivalManifest | None:
            with self.db.sessions() as session:
                row = session.scalars(
                    select(tables.Processing)
                    .where(
                        tables.Processing.issuer == issuer,
                        tables.Processing.reference == reference,
                        tables.Processing.doc_type == 1,
                        tables.Processing.document_json.is_not(None),
                    )
                    .order_by(tables.Processing.version.desc())
                ).first()
            if row is None or row.document_json is None:
                return None
            model = parse_document(1, json.loads(row.document_json))
            return model if isinstance(model, PreArrivalManifest) else None

        checkpoints = [
            Checkpoint(c.economy, int(c.kind), int(c.position))
            for c in verified.provenance.checkpoints
        ]
        return RiskContext(
            economy=self.economy,
            document_id=doc_id,
            version=version,
            document=verified.document,
            issuer_economy=verified.provenance.issuer_economy,
            now=self.clock(),
            recognition=recognition,
            unit_values=history,
            linked_manifest=linked_manifest,
            checkpoints=checkpoints,
        )

    # ------------------------------------------------------------ acknowledging

    def _mark_acknowledged(self, doc_hex: str, version: int, tx_hash: str | None) -> str:
        self._mark_all_acknowledged([(doc_hex, version)], tx_hash)
        return State.ACKNOWLEDGED

    def _mark_all_acknowledged(self, keys: Sequence[tuple[str, int]], tx_hash: str | None) -> None:
        """Record versions as acknowledged (by `tx_hash`, None if found on chain), in one
        database transaction."""
        if not keys:
            return
        with self.db.transaction() as session:
            rows = _rows_by_key(session, tables.Processing, keys)
            for key in keys:
                row = rows[key]
                if row.state != State.ACKNOWLEDGED:
                    row.state = State.ACKNOWLEDGED
                    row.ack_tx_hash = tx_hash
                    DOCUMENTS_PROCESSED.labels(State.ACKNOWLEDGED).inc()

    def _acknowledge(self, doc_hex: str, version: int) -> str:
        """Acknowledge one assessed version and wait for it; returns its state."""
        self._acknowledge_assessed([(doc_hex, version)], serve_heads=False)
        return self._state(doc_hex, version) or ""

    def _acknowledge_assessed(self, keys: Sequence[tuple[str, int]], *, serve_heads: bool) -> None:
        """Acknowledge the assessed versions among `keys`, `ack_window` at a time: the
        window's transactions (`ACK_BATCH` versions each) are sent back to back, each
        hash stored on its rows (still `assessed`) before any receipt is awaited, then
        the receipts are awaited in order. A crash in between leaves rows with a hash
        and no confirmation; the chain check before sending settles them (mined:
        acknowledged; not: sent again, and a duplicate reverts with
        RegistryAlreadyAcknowledged)."""
        for start in range(0, len(keys), self.ack_window):
            window = keys[start : start + self.ack_window]
            with self._lock:  # a manual acknowledgement waits for the window, not between
                self._acknowledge_window(window, serve_heads=serve_heads)

    def _acknowledge_window(self, keys: Sequence[tuple[str, int]], *, serve_heads: bool) -> None:
        """Send, then confirm; a head that arrives meanwhile (`serve_heads`) first has
        what was sent confirmed, then is scanned and assessed (`_catch_up`), so neither
        its hooks nor the sent acknowledgements wait for the rest of the window."""
        with self.db.sessions() as session:
            rows = _rows_by_key(session, tables.Processing, keys)
            assessed = [k for k in keys if k in rows and rows[k].state == State.ASSESSED]
        if not assessed:
            return
        try:  # one round trip: already acknowledged (before a crash, by another worker)?
            on_chain = self._acknowledged_on_chain(assessed)
        except Exception as exc:
            for doc_hex, version in assessed:  # an outage re-raises at the first one
                self._retry_later(doc_hex, version, exc)
            return
        held = [key for key, on in zip(assessed, on_chain, strict=True) if on]
        self._mark_all_acknowledged(held, None)
        unsent = [key for key, on in zip(assessed, on_chain, strict=True) if not on]
        sent: list[_SentAcknowledgement] = []
        for start in range(0, len(unsent), ACK_BATCH):
            if serve_heads and self._head_waiting():
                self._confirm_window(sent)
                sent = []
                self._catch_up()
            sent += self._send_batch(self._ready_all(unsent[start : start + ACK_BATCH]))
        self._confirm_window(sent)

    def _ready_all(self, keys: Sequence[tuple[str, int]]) -> list[_ReadyAcknowledgement]:
        """`_ready` for several versions at once: their rows read in one query and the
        sealed reasons of all of them added to IPFS in one request. If sealing or adding
        fails, each version is readied alone and meets its own error (an outage stops
        the round at the first)."""
        if len(keys) <= 1:
            return [r for key in keys if (r := self._ready(*key)) is not None]
        started = time.perf_counter()
        with self.db.sessions() as session:
            rows = _rows_by_key(session, tables.Processing, keys)
            outcomes = _rows_by_key(session, tables.RiskOutcome, keys)
        envelopes: dict[tuple[str, int], bytes] = {}
        try:
            for key in keys:
                envelope = self._seal_reasons(
                    bytes.fromhex(key[0]), key[1], rows[key].issuer, outcomes[key]
                )
                if envelope is not None:
                    envelopes[key] = envelope
            cids = self.ipfs.add_many(list(envelopes.values())) if self.ipfs and envelopes else []
        except InjectedFault:
            raise
        except Exception as exc:
            log.info("listener.reasons_batch_failed", versions=len(keys), error=str(exc))
            return [r for key in keys if (r := self._ready(*key)) is not None]
        digests = {key: cid_to_digest(cid) for key, cid in zip(envelopes, cids, strict=True)}
        return [
            self._ready_item(rows[key], outcomes[key], digests.get(key, ZERO32), started)
            for key in keys
        ]

    def _ready(self, doc_hex: str, version: int) -> _ReadyAcknowledgement | None:
        """Seal and share the reasons of an assessed version; None when it ended otherwise."""
        doc_id = bytes.fromhex(doc_hex)
        started = time.perf_counter()
        with self.db.sessions() as session:
            outcome = session.get(tables.RiskOutcome, (doc_hex, version))
            row = session.get(tables.Processing, (doc_hex, version))
        assert outcome is not None and row is not None
        try:
            digest = self._share_reasons(doc_id, version, row.issuer, outcome)
        except ContractRuleError as exc:
            self._rejected(doc_hex, version, exc)
            return None
        except InjectedFault:
            raise
        except Exception as exc:
            self._retry_later(doc_hex, version, exc)
            return None
        return self._ready_item(row, outcome, digest, started)

    @staticmethod
    def _ready_item(
        row: tables.Processing, outcome: tables.RiskOutcome, digest: bytes, started: float
    ) -> _ReadyAcknowledgement:
        item = AcknowledgementItem(
            bytes.fromhex(row.document_id),
            row.version,
            Lane(outcome.lane),
            bytes.fromhex(outcome.reasons_commitment),
            digest,
            # the scanned anchoring: its receipt gives the proof without a log search
            anchored_in=bytes.fromhex(row.event_tx_hash) if row.version == 1 else None,
        )
        return _ReadyAcknowledgement(row.document_id, row.version, item, started)

    def _send_batch(self, ready: Sequence[_ReadyAcknowledgement]) -> list[_SentAcknowledgement]:
        """Send `ready` as one acknowledgeBatch and store its hash on every row (states
        stay `assessed`). If the chain refuses the batch (one version breaks a rule), or
        it cannot be built or sent, the versions go one by one (`_send_one`) instead."""
        if len(ready) <= 1:
            return self._send_each(ready)
        self.fault("process.before_ack")
        try:
            tx_hash = self.registry.send_acknowledgements([r.item for r in ready])
        except ContractRuleError as exc:  # (a PermissionError: before the outages)
            log.info("listener.batch_refused", versions=len(ready), error=str(exc))
            return self._send_each(ready)
        except InjectedFault:
            raise
        except OSError as exc:  # an outage: noted on the first version, the round stops
            self._retry_later(ready[0].doc_hex, ready[0].version, exc)
            raise
        except Exception as exc:  # not sendable as a batch: each version meets its own error
            log.info("listener.batch_refused", versions=len(ready), error=str(exc))
            return self._send_each(ready)
        keys = [(r.doc_hex, r.version) for r in ready]
        with self.db.transaction() as session:
            outcomes = _rows_by_key(session, tables.RiskOutcome, keys)
            rows = _rows_by_key(session, tables.Processing, keys)
            for r, key in zip(ready, keys, strict=True):
                outcomes[key].reasons_digest = r.item.reasons_digest.hex()
                rows[key].ack_tx_hash = _hex(tx_hash)
        self.fault("process.ack_sent")
        return [_SentAcknowledgement(tuple(ready), tx_hash, single=False)]

    def _send_each(self, ready: Sequence[_ReadyAcknowledgement]) -> list[_SentAcknowledgement]:
        return [sent for r in ready if (sent := self._send_one(r)) is not None]

    def _send_one(self, ready: _ReadyAcknowledgement) -> _SentAcknowledgement | None:
        """Send one acknowledgement and store its hash and the reasons' digest (state
        stays `assessed`); None when it ended otherwise (see `_rejected`)."""
        doc_hex, version, item = ready.doc_hex, ready.version, ready.item
        try:
            self.fault("process.before_ack")
            tx_hash = self.registry.send_acknowledgement(
                item.doc_id,
                version,
                item.lane,
                item.reasons_commitment,
                item.reasons_digest,
                anchored_in=item.anchored_in,
            )
        except ContractRuleError as exc:
            self._rejected(doc_hex, version, exc)
            return None
        except InjectedFault:
            raise
        except Exception as exc:
            self._retry_later(doc_hex, version, exc)
            return None
        with self.db.transaction() as session:
            stored = session.get(tables.RiskOutcome, (doc_hex, version))
            sending = session.get(tables.Processing, (doc_hex, version))
            assert stored is not None and sending is not None
            stored.reasons_digest = item.reasons_digest.hex()
            sending.ack_tx_hash = _hex(tx_hash)
        self.fault("process.ack_sent")
        return _SentAcknowledgement((ready,), tx_hash, single=True)

    def _confirm_window(self, sent: Sequence[_SentAcknowledgement]) -> None:
        """Await the receipts in order. A batch that reverted when mined recorded
        nothing: its versions are sent again one by one, then confirmed."""
        refused: list[_ReadyAcknowledgement] = []
        for tx in sent:
            try:
                receipt = self.registry.confirm(tx.tx_hash)
            except ContractRuleError as exc:  # reverted when mined (status 0)
                if tx.single:
                    self._rejected(tx.acks[0].doc_hex, tx.acks[0].version, exc)
                else:
                    log.info("listener.batch_reverted", versions=len(tx.acks), error=str(exc))
                    refused += tx.acks
                continue
            except InjectedFault:
                raise
            except Exception as exc:
                for ack in tx.acks:  # an outage re-raises at the first one
                    self._retry_later(ack.doc_hex, ack.version, exc)
                continue
            self.fault("process.after_ack")
            now = time.perf_counter()
            for ack in tx.acks:
                ACKNOWLEDGEMENTS_SENT.labels(ack.item.lane.name).inc()
                PROCESSING_SECONDS.labels("acknowledge").observe(now - ack.started)
            self._mark_all_acknowledged(
                [(ack.doc_hex, ack.version) for ack in tx.acks],
                _hex(receipt.tx_hash),
            )
        if refused:
            self._confirm_window(self._send_each(refused))

    def _rejected(self, doc_hex: str, version: int, exc: ContractRuleError) -> str:
        """The chain refused the acknowledgement (when gas was estimated or when mined)."""
        if exc.rule == "RegistryAlreadyAcknowledged":
            return self._mark_acknowledged(doc_hex, version, None)
        if exc.rule == "RegistryDocumentRevoked":
            with self.db.transaction() as session:
                r = session.get(tables.Processing, (doc_hex, version))
                assert r is not None
                r.state, r.ack_tx_hash = State.REVOKED, None
            return State.REVOKED
        with self.db.transaction() as session:
            r = session.get(tables.Processing, (doc_hex, version))
            assert r is not None
            r.ack_tx_hash = None  # nothing of ours is in flight for this version
        return self._fail_attempt(doc_hex, version, str(exc))

    def _share_reasons(
        self, doc_id: bytes, version: int, issuer: str, outcome: tables.RiskOutcome
    ) -> bytes:
        """Seal the reasons (with their salts) for the issuer and us and add them to IPFS;
        returns their digest, 0 when policy says no."""
        envelope = self._seal_reasons(doc_id, version, issuer, outcome)
        if envelope is None or self.ipfs is None:
            return ZERO32
        return cid_to_digest(self.ipfs.add_bytes(envelope))

    def _seal_reasons(
        self, doc_id: bytes, version: int, issuer: str, outcome: tables.RiskOutcome
    ) -> bytes | None:
        """The reasons' envelope for the issuer and us (their current keys, read at most
        `MEMBER_REFRESH_SECONDS` ago); None when policy says no."""
        if self.ipfs is None or not self.share_reasons_with(issuer):
            return None
        recipients = {}
        for economy in {issuer, self.economy}:
            info = self.ledger.consortium.member(economy, max_age=MEMBER_REFRESH_SECONDS)
            recipients[economy] = RecipientKey(info.encryption_key, info.key_version)
        salts = {k: bytes.fromhex(v) for k, v in json.loads(outcome.reasons_salt).items()}
        payload = DocumentPayload(
            REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION, json.loads(outcome.reasons), salts
        )
        return seal(payload.to_bytes(), recipients, EnvelopeContext(doc_id, version))


def processing_counts(db: Database) -> dict[str, int]:
    with db.sessions() as session:
        rows = session.execute(
            select(tables.Processing.state, func.count()).group_by(tables.Processing.state)
        ).all()
    return {state: int(count) for state, count in rows}
