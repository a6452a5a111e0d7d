"""Wiring of simple mode: the folders, the inbound and decision workers, their thread.

Owns `SimpleMode` (built by `node.runtime.NodeRuntime` when
``CIE_NODE_SIMPLE_MODE`` is on) and `FolderWorker`, the background thread that
polls ``inbox/`` and ``decisions/`` every `simple_poll_interval` seconds. The
registry listener (a `ManualReviewListener`) keeps running in the node's
ordinary worker and writes ``received/``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import structlog

from ledger_client.pipeline import DocumentPipeline
from node.db import Database
from node.listener import RegistryListener
from node.simple.decisions import DecisionWorker
from node.simple.folders import ExchangeFolders
from node.simple.inbound import FaultPoint, InboundWorker, no_faults
from node.simple.journal import create_tables

log = structlog.get_logger(__name__)


@dataclass
class SimpleMode:
    folders: ExchangeFolders
    inbound: InboundWorker
    decisions: DecisionWorker
    poll_interval: float

    @classmethod
    def build(
        cls,
        folders: ExchangeFolders,
        *,
        pipeline: DocumentPipeline,
        listener: RegistryListener,
        db: Database,
        max_file_bytes: int,
        poll_interval: float = 1.0,
        fault: FaultPoint = no_faults,
    ) -> SimpleMode:
        folders.create()
        create_tables(db.engine)
        return cls(
            folders,
            InboundWorker(folders, pipeline, db, max_file_bytes=max_file_bytes, fault=fault),
            DecisionWorker(folders, listener, db, fault=fault),
            poll_interval,
        )

    def run_once(self) -> None:
        """One round: every ready inbound file, then every ready decision file."""
        self.inbound.run_once()
        self.decisions.run_once()


class FolderWorker:
    """Polls the exchange folders in one background thread until stopped."""

    def __init__(self, simple: SimpleMode) -> None:
        self.simple = simple
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cie-simple-folders", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.simple.run_once()
            except Exception:
                log.exception("simple.round_failed")
            self.stop_event.wait(self.simple.poll_interval)
