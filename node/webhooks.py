"""Outbound webhooks to external risk systems: signed, retried, dead-lettered, replayable.

A delivery is written in the same database transaction as the assessment it
reports (`enqueue`), keyed by "<doc id>:<version>:<target>", so it exists exactly
once whatever crashes. `WebhookDispatcher.deliver_due` POSTs pending deliveries
with a timeout; a failure (connection error, timeout, non-2xx) is retried with
exponential backoff (`backoff`, doubled per attempt); after `max_attempts` the
delivery becomes a dead letter, listed by `dead_letters` and sent again by `replay`.

Signing (`sign`): headers ``X-CIE-Timestamp`` (unix seconds),
``X-CIE-Idempotency-Key`` and ``X-CIE-Signature: v1=<hex HMAC-SHA256(secret,
"<timestamp>.<idempotency key>.<body>")>``. Receivers use `WebhookVerifier`,
which refuses a bad signature, a timestamp outside the replay window, and an
idempotency key it has already accepted (a replayed delivery). A receiver that
answered 2xx but whose answer was lost sees the same key again: it must treat
it as already done, which the verifier reports as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from node.db import Database, WebhookDelivery
from node.errors import WebhookVerificationError
from node.metrics import WEBHOOK_DEAD, WEBHOOK_DELIVERIES
from node.settings import WebhookTarget

log = structlog.get_logger(__name__)

TIMESTAMP_HEADER = "X-CIE-Timestamp"
SIGNATURE_HEADER = "X-CIE-Signature"
KEY_HEADER = "X-CIE-Idempotency-Key"

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def _mac(secret: str, timestamp: str, key: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + key.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, key: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that authenticate `body` as delivery `key` at `timestamp` (now)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        TIMESTAMP_HEADER: ts,
        KEY_HEADER: key,
        SIGNATURE_HEADER: "v1=" + _mac(secret, ts, key, body),
    }


class WebhookVerifier:
    """For receivers: check signature, freshness (`window` seconds) and replays.

    `seen` maps each accepted idempotency key to when it was accepted; pass a
    persistent mapping (e.g. a `shelve` file or a database-backed dict) so that a
    receiver restart does not forget them. The default lives in memory. Keys
    older than twice the window are dropped: the timestamp check refuses those
    deliveries anyway.
    """

    def __init__(
        self,
        secret: str,
        *,
        window: float = 300.0,
        seen: MutableMapping[str, float] | None = None,
    ) -> None:
        self.secret = secret
        self.window = window
        self._seen: MutableMapping[str, float] = {} if seen is None else seen
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> str:
        """Return the idempotency key of an authentic, fresh, first delivery; raise otherwise."""
        lowered = {k.lower(): v for k, v in headers.items()}
        ts = lowered.get(TIMESTAMP_HEADER.lower())
        key = lowered.get(KEY_HEADER.lower())
        signature = lowered.get(SIGNATURE_HEADER.lower())
        if not ts or not key or not signature or not signature.startswith("v1="):
            raise WebhookVerificationError("missing or malformed X-CIE-* signature headers")
        if not hmac.compare_digest(signature[3:], _mac(self.secret, ts, key, body)):
            raise WebhookVerificationError("signature does not match the body (forged or altered)")
        current = time.time() if now is None else now
        try:
            age = abs(current - int(ts))
        except ValueError:
            raise WebhookVerificationError("timestamp is not an integer") from None
        if age > self.window:
            raise WebhookVerificationError(
                f"timestamp is {age:.0f} s away (window {self.window} s)"
            )
        with self._lock:
            for old in [k for k, t in self._seen.items() if current - t > 2 * self.window]:
                del self._seen[old]
            if key in self._seen:
                raise WebhookVerificationError(f"delivery {key} was already accepted (replay)")
            self._seen[key] = current
        return key


def enqueue(
    session: Session,
    targets: Sequence[WebhookTarget],
    document_id: str,
    version: int,
    payload: Mapping[str, object],
) -> None:
    """Add one delivery per target inside the caller's transaction (idempotent by key)."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    for target in targets:
        key = f"{document_id}:{version}:{target.name}"
        exists = session.scalar(
            select(WebhookDelivery.id).where(WebhookDelivery.idempotency_key == key)
        )
        if exists is None:
            session.add(
                WebhookDelivery(idempotency_key=key, target=target.name, body=body, state=PENDING)
            )


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    retried: int
    dead: int


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        targets: Sequence[WebhookTarget],
        *,
        timeout: float = 5.0,
        max_attempts: int = 6,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.targets = {t.name: t for t in targets}
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.clock = clock
        self.client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        now = self.clock()
        with self.db.sessions() as session:
            due = list(
                session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now)
                    .order_by(WebhookDelivery.id)
                    .limit(limit)
                )
            )
        delivered = retried = dead = 0
        for delivery in due:
            outcome = self._attempt(delivery)
            if outcome == DELIVERED:
                delivered += 1
            elif outcome == DEAD:
                dead += 1
            else:
                retried += 1
        return DeliveryReport(delivered, retried, dead)

    def _attempt(self, delivery: WebhookDelivery) -> str:
        target = self.targets.get(delivery.target)
        error: str | None
        if target is None:
            error = f"target {delivery.target} is no longer configured"
        else:
            body = delivery.body.encode()
            headers = {
                "Content-Type": "application/json",
                **sign(target.secret, delivery.idempotency_key, body),
            }
            try:
                response = self.client.post(target.url, content=body, headers=headers)
                error = (
                    None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
                )
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        with self.db.transaction() as session:
            row = session.get(WebhookDelivery, delivery.id)
            assert row is not None
            row.attempts += 1
            if error is None:
                row.state, row.delivered_at, row.last_error = DELIVERED, self.clock(), None
                WEBHOOK_DELIVERIES.labels(row.target, "delivered").inc()
                return DELIVERED
            row.last_error = error
            if row.attempts >= self.max_attempts:
                row.state = DEAD
                WEBHOOK_DEAD.inc()
                WEBHOOK_DELIVERIES.labels(row.target, "dead").inc()
                log.warning("webhook.dead_letter", key=row.idempotency_key, error=error)
                return DEAD
            row.next_attempt_at = self.clock() + self.backoff * 2 ** (row.attempts - 1)
            WEBHOOK_DELIVERIES.labels(row.target, "retry").inc()
            return PENDING

    def dead_letters(self) -> list[WebhookDelivery]:
        with self.db.sessions() as session:
            return list(
                session.scalars(select(WebhookDelivery).where(WebhookDelivery.state == DEAD))
            )

    def replay(self, delivery_id: int) -> bool:
        """Put a dead letter back in the queue (attempts reset); False if not dead."""
        with self.db.transaction() as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None or row.state != DEAD:
                return False
            row.state, row.attempts, row.next_attempt_at = PENDING, 0, self.clock()
            return True
