"""Replayed webhook deliveries, on the receiving side (`node.webhooks.WebhookVerifier`).

A receiver that keeps its accepted delivery ids in a persistent store refuses a
replay even after a restart; and a delivery the node retries because the
receiver's answer was lost is recognised as a replay, so the receiver acts on
it once. The receiver here is a real HTTP server on loopback; the sender is the
node's own `WebhookDispatcher` over the node database.
"""

from __future__ import annotations

import json
import shelve
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from node.db import Database
from node.errors import WebhookVerificationError
from node.settings import WebhookTarget
from node.webhooks import WebhookDispatcher, WebhookVerifier, enqueue, sign

SECRET = "receiver-shared-secret-0123456789"


def test_a_replay_is_refused_after_the_receiver_restarts(tmp_path: Path) -> None:
    body = json.dumps({"document_id": "0xab", "lane": "RED"}).encode()
    headers = sign(SECRET, "0xab:1:risk", body)
    with shelve.open(str(tmp_path / "seen")) as store:
        assert WebhookVerifier(SECRET, seen=store).verify(headers, body) == "0xab:1:risk"
    with (
        shelve.open(str(tmp_path / "seen")) as store,  # a new process, same store
        pytest.raises(WebhookVerificationError, match="replay"),
    ):
        WebhookVerifier(SECRET, seen=store).verify(headers, body)
    # Without a persistent store the restarted receiver would accept it again: the
    # reason to pass one. The timestamp window still bounds how late a replay can come.
    assert WebhookVerifier(SECRET).verify(headers, body) == "0xab:1:risk"
    late = time.time() + 301
    with pytest.raises(WebhookVerificationError, match="window"):
        WebhookVerifier(SECRET).verify(headers, body, now=late)


class _Receiver(BaseHTTPRequestHandler):
    verifier: WebhookVerifier
    processed: list[str]
    lose_first_answer: list[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            key = self.verifier.verify(dict(self.headers.items()), body)
        except WebhookVerificationError as exc:
            # A replay is "already done": answer 2xx so the sender stops; anything else is 401.
            self.send_response(200 if "replay" in str(exc) else 401)
            self.end_headers()
            return
        self.processed.append(key)
        if self.lose_first_answer.pop() if self.lose_first_answer else False:
            self.send_response(502)  # processed, but the sender sees a failure
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type(
        "Receiver",
        (_Receiver,),
        {"verifier": WebhookVerifier(SECRET), "processed": [], "lose_first_answer": [True]},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_a_retried_delivery_whose_answer_was_lost_is_processed_once(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    target = WebhookTarget(name="risk", url=url, secret=SECRET)
    db = Database(f"sqlite:///{tmp_path / 'node.db'}")
    now = [time.time()]
    dispatcher = WebhookDispatcher(db, [target], backoff=1.0, clock=lambda: now[0])
    try:
        with db.transaction() as session:
            enqueue(session, [target], "0xab", 1, {"lane": "RED"})
        now[0] = time.time()  # due now
        first = dispatcher.deliver_due()
        assert (first.delivered, first.retried) == (0, 1)  # the receiver's 502
        now[0] += 10
        second = dispatcher.deliver_due()
        assert second.delivered == 1  # the retry is a replay: answered 2xx, not redone
        assert handler.processed == ["0xab:1:risk"]
    finally:
        dispatcher.close()
        db.close()
