"""Request limits of the node API: a body-size cap for every request and a
per-API-key token bucket for the endpoints that write to the chain.

Body size (`BodySizeLimit`, pure ASGI middleware): a request whose
``Content-Length`` exceeds `max_bytes`, or whose streamed body grows past it
(chunked uploads carry no length), is answered 413 with rule
``body.too_large`` before any route runs, so nothing is validated, stored or
anchored.

Rate (`TokenBuckets`): each API key has a bucket of `burst` tokens refilled at
`rate` tokens per second; a request takes one. An empty bucket answers 429 with
rule ``rate.exceeded`` and ``Retry-After`` (whole seconds until a token is
back). The buckets live in process memory: the node is one process, and a
restart that forgets them only grants one fresh burst. A token bucket (rate +
burst) is what operators reason about; a windowed limiter such as `limits`
would add a dependency for the same thirty lines.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RULE_TOO_LARGE = "body.too_large"
RULE_RATE = "rate.exceeded"


def _error_body(rule: str, message: str) -> bytes:
    return json.dumps({"errors": [{"field": "", "rule": rule, "message": message}]}).encode()


class RequestTooLarge(Exception):
    """Raised inside `BodySizeLimit` when a streamed body passes the cap."""


class BodySizeLimit:
    """ASGI middleware: refuse request bodies larger than `max_bytes` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = _error_body(
            RULE_TOO_LARGE,
            f"request body larger than {self.max_bytes} bytes (setting max_request_bytes); "
            "split a bulk submission into smaller batches",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except RequestTooLarge:
            if started:  # the app already answered; nothing sane is left to send
                raise
            await self._refuse(send)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: `burst` tokens, refilled at `rate` per second."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 if granted, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """``Retry-After`` takes whole seconds; round up so a client that obeys it succeeds."""
    return str(max(1, math.ceil(wait)))
