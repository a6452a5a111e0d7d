"""Webhooks against a real local HTTP receiver (127.0.0.1) that fails, times out, recovers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from node.db import Database, WebhookDelivery
from node.errors import WebhookVerificationError
from node.settings import WebhookTarget
from node.webhooks import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDispatcher,
    WebhookVerifier,
    enqueue,
    sign,
)

SECRET = "test-fixture-secret-0123456789"


class Receiver:
    """Answers per a script of modes ('fail', 'hang', 'ok'); 'ok' after the script ends."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.verifier = WebhookVerifier(SECRET, window=60)
        self.accepted: list[str] = []
        self.rejected: list[str] = []
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    mode = receiver.script.pop(0) if receiver.script else "ok"
                if mode == "hang":
                    time.sleep(0.6)
                    status = 503
                elif mode == "fail":
                    status = 500
                else:
                    try:
                        key = receiver.verifier.verify(dict(self.headers.items()), body)
                        with receiver.lock:
                            receiver.accepted.append(key)
                        status = 200
                    except WebhookVerificationError as exc:
                        receiver.rejected.append(str(exc))
                        status = 401
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[[list[str]], Receiver]]:
    made: list[Receiver] = []

    def make(script: list[str]) -> Receiver:
        made.append(Receiver(script))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _drain(dispatcher: WebhookDispatcher, db: Database, seconds: float = 15.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        dispatcher.deliver_due()
        with db.sessions() as s:
            pending = s.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.state == "pending")
            )
        if not pending:
            return
        time.sleep(0.02)
    raise AssertionError("deliveries still pending")


def test_failures_and_timeouts_are_retried_until_each_delivery_arrives_once(
    receiver: Callable[[list[str]], Receiver], database: Callable[[str], Database]
) -> None:
    r = receiver(["fail", "fail", "fail", "hang", "hang"])
    db = database("hooks")
    target = WebhookTarget(name="risk-a", url=r.url, secret=SECRET)
    for n in range(3):
        with db.transaction() as s:
            enqueue(s, [target], f"0x{n:064x}", 1, {"n": n})
        with db.transaction() as s:  # enqueued twice: still one delivery
            enqueue(s, [target], f"0x{n:064x}", 1, {"n": n})
    dispatcher = WebhookDispatcher(db, [target], timeout=0.3, max_attempts=6, backoff=0.05)
    try:
        _drain(dispatcher, db)
    finally:
        dispatcher.close()
    expected = {f"0x{n:064x}:1:risk-a" for n in range(3)}
    assert sorted(r.accepted) == sorted(expected)  # each once, none missing
    assert r.rejected == []
    assert r.requests >= 8  # the failures and time-outs really happened
    assert dispatcher.dead_letters() == []
    with db.sessions() as s:
        rows = list(s.scalars(select(WebhookDelivery)))
    assert {row.state for row in rows} == {"delivered"} and len(rows) == 3
    assert max(row.attempts for row in rows) >= 3


def test_dead_letter_is_kept_and_can_be_replayed(
    receiver: Callable[[list[str]], Receiver], database: Callable[[str], Database]
) -> None:
    r = receiver(["fail", "fail"])
    db = database("dead")
    target = WebhookTarget(name="risk-b", url=r.url, secret=SECRET)
    with db.transaction() as s:
        enqueue(s, [target], "0x" + "ab" * 32, 2, {"doc": 1})
    dispatcher = WebhookDispatcher(db, [target], timeout=1.0, max_attempts=2, backoff=0.01)
    try:
        _drain(dispatcher, db)
        dead = dispatcher.dead_letters()
        assert [d.idempotency_key for d in dead] == ["0x" + "ab" * 32 + ":2:risk-b"]
        assert dead[0].last_error == "HTTP 500"
        assert r.accepted == []
        assert dispatcher.replay(dead[0].id)
        assert not dispatcher.replay(dead[0].id)  # no longer dead
        _drain(dispatcher, db)
    finally:
        dispatcher.close()
    assert r.accepted == ["0x" + "ab" * 32 + ":2:risk-b"]
    assert dispatcher.dead_letters() == []


def test_verifier_rejects_forged_stale_and_replayed_deliveries() -> None:
    verifier = WebhookVerifier(SECRET, window=60)
    body = json.dumps({"lane": "GREEN"}).encode()
    headers = sign(SECRET, "k1", body)
    assert verifier.verify(headers, body) == "k1"
    with pytest.raises(WebhookVerificationError, match="replay"):
        verifier.verify(headers, body)
    forged = sign("another-secret-0123456789", "k2", body)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verifier.verify(forged, body)
    altered = sign(SECRET, "k3", body)
    with pytest.raises(WebhookVerificationError, match="signature"):
        verifier.verify(altered, body + b" ")
    swapped_key = {**sign(SECRET, "k4", body), KEY_HEADER: "k5"}
    with pytest.raises(WebhookVerificationError, match="signature"):
        verifier.verify(swapped_key, body)
    stale = sign(SECRET, "k6", body, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError, match="window"):
        verifier.verify(stale, body)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verifier.verify({TIMESTAMP_HEADER: "1", SIGNATURE_HEADER: "nope"}, body)
