"""The listener woken by WebSocket notifications: the logs its scan selects, confirmed by
new heads (real anvil, real IPFS, SQLite).

Rounds started by a head, by the poll timer, and by the timer while the
subscription is down: every document is assessed exactly once in each case,
because every round scans from the durable cursor.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devnet.anvil import AnvilChain
from ledger_client.chain import HeadSubscription
from ledger_client.errors import ChainUnavailableError
from manifests.generate import generate_manifest
from node import db as tables
from node.db import Database
from node.listener import RegistryListener, State, processing_counts
from node.runtime import NodeRuntime, NodeWorker
from node.settings import NodeSettings
from tests.node.network import Network, count_hook_runs, make_listener


class CuttableProxy:
    """A loopback TCP relay to `port` whose connections the test can drop and refuse."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._live: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()  # down: the handshake fails
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every live connection and refuse new ones until `restore`."""
        self.up.clear()
        with self._lock:
            live, self._live = self._live, []
        for s in live:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.server.close()


@pytest.fixture
def proxy(anvil: AnvilChain) -> Iterator[CuttableProxy]:
    relay = CuttableProxy(anvil.port)
    yield relay
    relay.close()


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Running:
    """`listener.run` in a thread, stopped (and its subscription closed) on exit."""

    def __init__(self, listener: RegistryListener, interval: float, ws_url: str) -> None:
        self.listener = listener
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=listener.run, args=(self.stop, interval), kwargs={"ws_url": ws_url}
        )

    def __enter__(self) -> RegistryListener:
        self.thread.start()
        _wait(lambda: self.listener.heads is not None, "the subscription to start")
        return self.listener

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.listener.heads is None  # closed by run()


def _submit(network: Network, seeds: range) -> set[str]:
    kz = network["KZ"]
    receipts = [
        kz.pipeline.submit(generate_manifest(seed, origin="KZ", destination="UZ")) for seed in seeds
    ]
    return {r.document_id.removeprefix("0x") for r in receipts}


def _acknowledged(db: Database, documents: set[str]) -> Callable[[], bool]:
    def done() -> bool:
        with db.sessions() as session:
            rows = session.scalars(
                select(tables.Processing.document_id).where(
                    tables.Processing.state == State.ACKNOWLEDGED
                )
            )
            return documents <= set(rows)

    return done


def _assert_each_once(db: Database, documents: set[str], hook_runs: list[str]) -> None:
    assert sorted(hook_runs) == sorted(f"0x{d}:1" for d in documents)
    assert processing_counts(db) == {State.ACKNOWLEDGED: len(documents)}
    with db.sessions() as session:
        events = session.scalar(
            select(func.count()).where(tables.ChainEvent.event == "DocumentAnchored")
        )
    assert events == len(documents)


def test_heads_start_the_rounds_when_the_timer_never_fires(
    network: Network, anvil: AnvilChain, database: Callable[[str], Database]
) -> None:
    db = database("uz-heads")
    listener = make_listener(network["UZ"], db, start_block=network.w3.eth.block_number + 1)
    hook_runs: list[str] = []
    count_hook_runs(listener, hook_runs)
    with Running(listener, interval=3600, ws_url=anvil.ws_url):
        assert listener.heads is not None
        assert listener.heads.connected.wait(10)
        documents = _submit(network, range(300, 304))
        _wait(_acknowledged(db, documents), "the documents to be acknowledged")
        scans = dict(listener.scans)
        heads = listener.heads.heads
    assert scans.get("timer", 0) == 0  # a one-hour timer: every round after the first was a head
    assert scans["head"] >= 1 and heads >= scans["head"]
    _assert_each_once(db, documents, hook_runs)


def test_log_subscriptions_announce_exactly_what_each_members_scan_selects(
    network: Network, anvil: AnvilChain, database: Callable[[str], Database]
) -> None:
    """The importer hears of the anchoring, the exporter of the acknowledgement, and
    neither of its own transaction: a header's logs bloom held both members' topics in
    both blocks (the batch's issuer, the acknowledger), so each woke for its own too."""
    start = network.w3.eth.block_number + 1
    listeners = {
        e: make_listener(network[e], database(f"{e.lower()}-logs"), start_block=start)
        for e in ("KZ", "UZ")
    }
    heard: dict[str, list[int]] = {e: [] for e in listeners}
    subscriptions = [
        HeadSubscription(
            anvil.ws_url,
            lambda number: None,
            on_logs=heard[e].append,
            log_filters=listener._scan_filters(),
        )
        for e, listener in listeners.items()
    ]
    for subscription in subscriptions:
        subscription.start()
    try:
        assert all(s.connected.wait(10) for s in subscriptions)
        documents = _submit(network, range(340, 342))
        listeners["UZ"].poll_once()  # assessed and acknowledged
        assert processing_counts(listeners["UZ"].db) == {State.ACKNOWLEDGED: len(documents)}
        head = network.w3.eth.block_number
        selected = {e: listener._span_logs(start, head)[1] for e, listener in listeners.items()}
        assert {log.event for log in selected["UZ"]} == {"DocumentAnchored"}
        assert {log.event for log in selected["KZ"]} == {"DocumentAcknowledged"}
        expected = {e: len(logs) for e, logs in selected.items()}
        _wait(lambda: all(len(heard[e]) >= n for e, n in expected.items()), "the notifications")
        network.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        _wait(lambda: all(s.heads >= 2 for s in subscriptions), "a head after them")
        for e, logs in selected.items():
            assert sorted(heard[e]) == [log.block_number for log in logs]
    finally:
        for subscription in subscriptions:
            subscription.stop()


@pytest.mark.parametrize("confirmations", [0, 1, 3])
def test_a_log_for_this_node_wakes_one_round_once_its_block_is_confirmed(
    network: Network, database: Callable[[str], Database], confirmations: int
) -> None:
    listener = make_listener(
        network["UZ"], database(f"uz-wake-{confirmations}"), confirmations=confirmations
    )

    def woken(notify: Callable[[], None]) -> bool:
        notify()
        was = listener._wake.is_set()
        listener._wake.clear()
        return was

    # Logs for UZ in block 10 (announced before its head) and 12 (after its head).
    wakes = []
    for n in range(10, 20):
        if n == 10 and woken(lambda: listener._on_logs(10)):
            wakes.append(("log", 10))
        if woken(lambda n=n: listener._on_head(n)):  # type: ignore[misc]
            wakes.append(("head", n))
        if n == 12 and woken(lambda: listener._on_logs(12)):
            wakes.append(("log", 12))
    expected = {
        0: [("head", 10), ("log", 12)],  # the block's own head or log, whichever is later
        1: [("head", 11), ("head", 13)],
        3: [("head", 13), ("head", 15)],
    }
    assert wakes == expected[confirmations]  # one round per block with logs, none for others


def test_empty_blocks_start_no_round(
    network: Network, anvil: AnvilChain, database: Callable[[str], Database]
) -> None:
    db = database("uz-empty-heads")
    listener = make_listener(network["UZ"], db, start_block=network.w3.eth.block_number + 1)
    with Running(listener, interval=3600, ws_url=anvil.ws_url):
        heads = listener.heads
        assert heads is not None and heads.connected.wait(10)
        _wait(lambda: heads.heads >= 2, "the first heads")  # the first one starts a round
        rounds = listener.scans["head"]
        seen = heads.heads
        for _ in range(5):
            network.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        _wait(lambda: heads.heads >= seen + 5, "five more heads")
        assert listener.scans["head"] == rounds  # nothing to scan in those blocks
        documents = _submit(network, range(331, 333))
        _wait(_acknowledged(db, documents), "the documents to be acknowledged")
        assert listener.scans["head"] > rounds and listener.scans.get("timer", 0) == 0


def test_dropped_subscription_falls_back_to_polling_and_resubscribes(
    network: Network, proxy: CuttableProxy, database: Callable[[str], Database]
) -> None:
    db = database("uz-drop")
    listener = make_listener(network["UZ"], db, start_block=network.w3.eth.block_number + 1)
    hook_runs: list[str] = []
    count_hook_runs(listener, hook_runs)
    with Running(listener, interval=0.5, ws_url=proxy.ws_url):
        heads = listener.heads
        assert heads is not None and heads.connected.wait(10)
        before = _submit(network, range(310, 313))
        _wait(_acknowledged(db, before), "documents sent while subscribed")

        proxy.cut()
        _wait(lambda: not heads.connected.is_set(), "the subscription to notice the drop")
        timer_rounds = listener.scans["timer"]
        head_rounds = listener.scans["head"]
        during = _submit(network, range(313, 316))
        _wait(_acknowledged(db, during), "documents sent while the subscription is down")
        assert listener.scans["timer"] > timer_rounds  # polling carried on alone
        assert listener.scans["head"] == head_rounds
        assert heads.subscriptions == 1

        proxy.restore()
        _wait(heads.connected.is_set, "the subscription to come back (with backoff)")
        assert heads.subscriptions == 2
        head_rounds = listener.scans["head"]
        after = _submit(network, range(316, 319))
        _wait(_acknowledged(db, after), "documents sent after resubscribing")
        _wait(lambda: listener.scans["head"] > head_rounds, "a round started by a head")
    _assert_each_once(db, before | during | after, hook_runs)


def test_websocket_settings_are_checked() -> None:
    assert NodeSettings(ws_url="ws://127.0.0.1:8545").ws_url == "ws://127.0.0.1:8545"
    assert NodeSettings(ws_url="").ws_url is None
    with pytest.raises(ValueError, match="ws_url must start with ws:// or wss://"):
        NodeSettings(ws_url="http://127.0.0.1:8545")
    with pytest.raises(ValueError, match="CIE_NODE_WS_URL"):
        NodeSettings(rpc_url="ws://127.0.0.1:8545")
    with pytest.raises(ChainUnavailableError, match="not a ws:// or wss:// URL"):
        HeadSubscription("http://127.0.0.1:8545", lambda number: None)


def test_node_worker_follows_heads_from_settings(
    network: Network, anvil: AnvilChain, tmp_path: Path
) -> None:
    member = network["UZ"]
    settings = NodeSettings(
        economy="UZ",
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        confirmations=1,
        poll_interval=3600,  # only heads can start rounds after the first
        ws_url=anvil.ws_url,
        start_block=network.w3.eth.block_number + 1,
    )
    runtime = NodeRuntime.build(
        settings,
        ledger=member.ledger,
        ipfs=member.ipfs,
        encryption_key=member.key,
        pipeline=member.pipeline,
    )
    worker = NodeWorker(runtime)
    worker.start()
    try:
        _wait(lambda: runtime.listener.heads is not None, "the worker to subscribe")
        documents = _submit(network, range(320, 322))
        _wait(_acknowledged(runtime.db, documents), "the worker to acknowledge")
        assert runtime.listener.scans["timer"] == 0 and runtime.listener.scans["head"] >= 1
    finally:
        worker.stop()
        runtime.dispatcher.close()
        runtime.db.close()
    assert runtime.listener.heads is None  # the worker closed its subscription
    assert processing_counts(runtime.db) == {State.ACKNOWLEDGED: 2}
