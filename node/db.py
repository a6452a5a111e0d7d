"""The node's local state: SQLAlchemy 2 models and the session factory.

SQLite by default, PostgreSQL (or any SQLAlchemy URL) by setting
`database_url`; the same code runs on both. The schema is made and changed by
the Alembic migrations in `node/migrations` (a model change needs a new
revision; a test fails otherwise). Tables:

* ``chain_cursor`` / ``scanned_blocks``: the listener's durable position
  (block number + hash) and the hashes of recent chunk ends, for reorg rewinds;
* ``chain_events``: every registry event the listener acted on, unique by
  (tx hash, log index), so a rescan never records an event twice;
* ``processing``: one row per (document id, version) addressed to this economy,
  with the state machine pending -> verified -> assessed -> acknowledged
  (or verification_failed / failed / revoked / orphaned);
* ``risk_outcomes``: the effect of the risk hooks, one row per (document, version);
* ``verification_failures``: alerts for documents that did not verify;
* ``acknowledgements``: acknowledgements of this economy's own documents (and ours);
* ``value_history``: unit values per HS subheading and origin (reference engine);
* ``webhook_deliveries``: outbound notifications, unique per (doc, version, target),
  state pending -> delivered | dead (dead letters can be replayed);
* ``api_keys``: hashed API keys with roles; ``aeo_operators``: this economy's AEOs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool


class Base(DeclarativeBase):
    pass


def _now() -> float:
    return time.time()


class ChainCursor(Base):
    __tablename__ = "chain_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    updated_at: Mapped[float] = mapped_column(Float, default=_now)


class ScannedBlock(Base):
    __tablename__ = "scanned_blocks"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(66))


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_chain_event_log"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    event: Mapped[str] = mapped_column(String(40), index=True)
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    economy: Mapped[str | None] = mapped_column(String(2), nullable=True)
    data: Mapped[str] = mapped_column(Text, default="{}")


class Processing(Base):
    __tablename__ = "processing"
    # the risk hooks' lookup of a linked manifest by its issuer's reference
    __table_args__ = (Index("processing_issuer_reference", "issuer", "reference"),)

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[int] = mapped_column(Integer)
    issuer: Mapped[str] = mapped_column(String(2), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_block: Mapped[int] = mapped_column(BigInteger)
    event_tx_hash: Mapped[str] = mapped_column(String(66))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    document_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    lane: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ack_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=_now)
    updated_at: Mapped[float] = mapped_column(Float, default=_now, onupdate=_now)


class RiskOutcome(Base):
    __tablename__ = "risk_outcomes"

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    lane: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)
    hooks: Mapped[str] = mapped_column(Text)
    reasons_commitment: Mapped[str] = mapped_column(String(64))
    reasons_salt: Mapped[str] = mapped_column(Text)  # JSON map of hex salts: unbounded
    reasons_digest: Mapped[str] = mapped_column(String(64))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=_now)


class VerificationFailure(Base):
    __tablename__ = "verification_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    check: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=_now)


class Acknowledgement(Base):
    __tablename__ = "acknowledgements"

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    acknowledger: Mapped[str] = mapped_column(String(2), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(2), index=True)
    lane: Mapped[int] = mapped_column(Integer)
    reasons_commitment: Mapped[str] = mapped_column(String(64))
    reasons_digest: Mapped[str] = mapped_column(String(64))
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))


class ValueHistory(Base):
    __tablename__ = "value_history"
    __table_args__ = (
        UniqueConstraint("document_id", "version", "item", name="uq_value_item"),
        # the risk hooks' lookup: the newest values of one subheading, origin, currency
        Index("value_history_recent", "hs_subheading", "origin", "currency", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hs_subheading: Mapped[str] = mapped_column(String(6), index=True)
    origin: Mapped[str] = mapped_column(String(2), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    unit_value: Mapped[float] = mapped_column(Float)
    document_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    item: Mapped[int] = mapped_column(Integer)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=_now)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=_now)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=_now)
    # Unix time after which the key is refused (None: until revoked).
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)


class AeoOperator(Base):
    __tablename__ = "aeo_operators"

    aeo_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), unique=True)
    tier: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)


class SubmittedDocument(Base):
    __tablename__ = "submitted_documents"

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_type: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(200), index=True)
    destinations: Mapped[str] = mapped_column(String(600))
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=_now)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url` (SQLite pragmas or a pre-pinging pool); no schema changes."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    return engine


class Database:
    """The engine plus a session factory; `transaction()` commits or rolls back as a unit.

    Opening it upgrades the schema to the newest migration (`node.migrations`),
    unless `migrate` is False (`python -m node db ...` manages it by hand).
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            from node import migrations  # imports this module's models

            migrations.upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
