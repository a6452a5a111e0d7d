"""The simple-mode tables in the node database.

``simple_inbound_files`` is the inbound journal: one row per (file name,
SHA-256 of its content), written BEFORE anything is submitted, updated with
the outcome (receipt or errors, and the name it gets in ``done/`` or
``rejected/``) BEFORE the file is moved. A file still in ``inbox/`` after a
crash is matched with its row on the next round: submitted again when the
outcome is unknown (the pipeline's outbox makes that idempotent), or just moved
when it is known.
"""

from __future__ import annotations

import time

from sqlalchemy import Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class SimpleBase(DeclarativeBase):
    pass


def _now() -> float:
    return time.time()


class InboundState:
    SUBMITTING = "submitting"
    DONE = "done"
    REJECTED = "rejected"


class InboundFile(SimpleBase):
    __tablename__ = "simple_inbound_files"
    __table_args__ = (UniqueConstraint("file_name", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)  # side file JSON
    destination: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=_now)
    updated_at: Mapped[float] = mapped_column(Float, default=_now, onupdate=_now)


def create_tables(engine: Engine) -> None:
    SimpleBase.metadata.create_all(engine)
