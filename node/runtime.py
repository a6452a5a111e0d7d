"""Wiring of one node: everything built from `NodeSettings`, and the background worker.

`NodeRuntime.from_settings` connects to the chain, loads the deployment, the
node account's keystore and the member encryption key, opens the IPFS store,
the outbox and the node database, discovers the risk hooks and builds the
listener and the webhook dispatcher. Tests build a `NodeRuntime` from parts.
`NodeWorker` runs the listener and the webhook deliveries in one background
thread until stopped: a round on every new block when `ws_url` is set, and on
the `poll_interval` timer in any case.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import structlog

from ledger_client.chain import TransactionSender, connect
from ledger_client.deployment import Deployment
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.ipfs import IpfsStore
from ledger_client.keystore import load_account, read_password_file
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from node.db import Database
from node.errors import NodeConfigurationError
from node.listener import RegistryListener
from node.risk.engine import RiskEngine, discover_hooks
from node.settings import NodeSettings
from node.simple import ExchangeFolders, FolderWorker, ManualReviewListener, SimpleMode
from node.webhooks import WebhookDispatcher

log = structlog.get_logger(__name__)


@dataclass
class NodeRuntime:
    settings: NodeSettings
    db: Database
    ledger: Ledger
    pipeline: DocumentPipeline
    ipfs: IpfsStore
    encryption_key: MemberEncryptionKey
    listener: RegistryListener
    dispatcher: WebhookDispatcher
    extra_closers: list[object] = field(default_factory=list)
    simple: SimpleMode | None = None  # set when settings.simple_mode

    @property
    def economy(self) -> str:
        return self.settings.economy

    @classmethod
    def build(
        cls,
        settings: NodeSettings,
        *,
        ledger: Ledger,
        ipfs: IpfsStore,
        encryption_key: MemberEncryptionKey,
        pipeline: DocumentPipeline | None = None,
        engine: RiskEngine | None = None,
        db: Database | None = None,
    ) -> NodeRuntime:
        """Build from parts; the outbox shares the node database unless `pipeline` is given."""
        db = db or Database(settings.database_url)
        if pipeline is None:
            pipeline = DocumentPipeline(
                ledger,
                ipfs,
                encryption_key,
                Outbox(settings.database_url),
                economy=settings.economy,
                fetch_timeout=settings.ipfs_timeout,
            )
        engine = engine or RiskEngine(
            discover_hooks(settings.risk_rules, settings.risk_hooks), settings.risk_rules
        )
        listener_options: dict[str, Any] = {}
        listener_class: type[RegistryListener] = RegistryListener
        if settings.simple_mode:  # officers' decision files acknowledge, not the engine
            listener_class = ManualReviewListener
            listener_options["folders"] = ExchangeFolders(settings.simple_root).create()
        listener = listener_class(
            **listener_options,
            economy=settings.economy,
            ledger=ledger,
            fetcher=pipeline,
            db=db,
            engine=engine,
            ipfs=ipfs,
            confirmations=settings.confirmations,
            chunk_size=settings.chunk_size,
            start_block=settings.start_block,
            max_attempts=settings.max_attempts,
            fetch_workers=settings.fetch_workers,
            head_poll_interval=settings.head_poll_interval,
            share_reasons_with=settings.shares_reasons_with,
            webhooks=settings.webhooks,
        )
        dispatcher = WebhookDispatcher(
            db,
            settings.webhooks,
            timeout=settings.webhook_timeout,
            max_attempts=settings.webhook_max_attempts,
            backoff=settings.webhook_backoff,
        )
        runtime = cls(settings, db, ledger, pipeline, ipfs, encryption_key, listener, dispatcher)
        if settings.simple_mode:
            runtime.simple = SimpleMode.build(
                ExchangeFolders(settings.simple_root),
                pipeline=pipeline,
                listener=listener,
                db=db,
                max_file_bytes=settings.simple_max_file_bytes,
                poll_interval=settings.simple_poll_interval,
            )
        return runtime

    @classmethod
    def from_settings(cls, settings: NodeSettings) -> NodeRuntime:
        for name in (
            "keystore_file",
            "keystore_password_file",
            "encryption_key_file",
            "encryption_key_password_file",
        ):
            if getattr(settings, name) is None:
                raise NodeConfigurationError(f"set CIE_NODE_{name.upper()}: the node needs it")
        assert settings.keystore_file and settings.keystore_password_file
        assert settings.encryption_key_file and settings.encryption_key_password_file
        w3 = connect(settings.rpc_url, poa=settings.poa)
        deployment = Deployment.load(settings.deployment_file)
        account = load_account(
            settings.keystore_file, read_password_file(settings.keystore_password_file)
        )
        ledger = Ledger.open(w3, deployment, TransactionSender(w3, account))
        key = MemberEncryptionKey.load(
            settings.encryption_key_file,
            read_password_file(settings.encryption_key_password_file),
        )
        ipfs = IpfsStore(settings.ipfs_api, timeout=settings.ipfs_timeout)
        return cls.build(settings, ledger=ledger, ipfs=ipfs, encryption_key=key)

    def close(self) -> None:
        self.dispatcher.close()
        self.pipeline.close()
        self.ipfs.close()
        self.db.close()


class NodeWorker:
    """The listener and the webhook deliveries, polled in one background thread
    (in simple mode the exchange folders too, in a thread of their own)."""

    def __init__(self, runtime: NodeRuntime) -> None:
        self.runtime = runtime
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cie-node-worker", daemon=True)
        self.folders = FolderWorker(runtime.simple) if runtime.simple is not None else None

    def start(self) -> None:
        self.thread.start()
        if self.folders is not None:
            self.folders.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.folders is not None:
            self.folders.stop(timeout)
        self.thread.join(timeout)

    def _run(self) -> None:
        settings = self.runtime.settings
        listener = self.runtime.listener
        if settings.ws_url:
            listener.follow_heads(
                settings.ws_url, poa=settings.poa, max_backoff=settings.ws_max_backoff
            )
        trigger = "start"
        try:
            while trigger != "stop":
                try:
                    listener.round(trigger)
                    self.runtime.dispatcher.deliver_due()
                except Exception:
                    log.exception("worker.round_failed")
                trigger = listener.wait_for_trigger(self.stop_event, settings.poll_interval)
        finally:
            listener.stop_following()
