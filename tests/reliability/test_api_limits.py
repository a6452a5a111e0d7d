"""Request limits of the node API: oversize bodies (413) and submission rate (429).

Both refusals happen before any document is parsed, so nothing reaches IPFS,
the chain, the outbox or the node database: checked with `trace`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from manifests.generate import DocumentGenerator
from node.api.limits import TokenBuckets, retry_after_header
from node.main import create_app
from node.services.api_keys import Role
from tests.node.network import Network
from tests.node.test_api import NodeClient
from tests.reliability.conftest import trace

MANIFEST = "/documents/PRE_ARRIVAL_MANIFEST"


def _manifest() -> dict[str, object]:
    return DocumentGenerator(9090).manifest(origin="KZ", destination="UZ").model_dump(mode="json")


def _client(node: NodeClient, **limits: object) -> TestClient:
    settings = node.runtime.settings.model_copy(update=limits)
    return TestClient(create_app(settings, runtime=node.runtime))


def test_an_oversize_body_is_refused_with_413_before_anything_runs(
    network: Network, nodes: dict[str, NodeClient]
) -> None:
    kz = nodes["KZ"]
    client = _client(kz, max_request_bytes=4096)
    key = {"X-API-Key": kz.keys[Role.SUBMITTER]}
    document = _manifest()
    padded = json.dumps(document | {"padding": "x" * 5000}).encode()
    before = trace(network, kz)

    declared = client.post(MANIFEST, content=padded, headers=key)
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["rule"] == "body.too_large"
    assert "4096" in declared.json()["errors"][0]["message"]

    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length to trust
        for start in range(0, len(padded), 1000):
            yield padded[start : start + 1000]

    streamed = client.post(MANIFEST, content=chunks(), headers=key)
    assert streamed.status_code == 413
    assert streamed.json()["errors"][0]["rule"] == "body.too_large"
    bulk = client.post(f"{MANIFEST}/bulk", content=b"[" + b" " * 8000 + b"]", headers=key)
    assert bulk.status_code == 413
    assert trace(network, kz) == before
    # The same document without padding fits and is accepted (the limit, not the document,
    # refused it above).
    accepted = client.post(MANIFEST, json=document, headers=key)
    assert accepted.status_code == 201, accepted.text


def test_submissions_beyond_the_burst_get_429_with_retry_after_per_key(
    network: Network, nodes: dict[str, NodeClient]
) -> None:
    kz = nodes["KZ"]
    # One token back every 100 s: the fourth request inside this test is always refused.
    client = _client(kz, submit_rate=0.01, submit_burst=3)
    key = {"X-API-Key": kz.keys[Role.SUBMITTER]}
    for _ in range(3):  # tokens are taken before the body is read: bad bodies count too
        assert client.post(MANIFEST, content=b"{nope", headers=key).status_code == 422
    before = trace(network, kz)
    refused = client.post(MANIFEST, json=_manifest(), headers=key)
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["rule"] == "rate.exceeded"
    assert 0 < error["retry_after"] <= 100
    assert 1 <= int(refused.headers["Retry-After"]) <= 100
    assert trace(network, kz) == before  # a refused valid document is not anchored

    # Other keys and read endpoints are not affected by this key's bucket.
    other = kz.call(
        "POST",
        "/admin/api-keys",
        Role.NODE_ADMIN,
        json={"name": "second-submitter", "role": "submitter"},
    )
    assert other.status_code == 201
    second = client.post(MANIFEST, content=b"{nope", headers={"X-API-Key": other.json()["key"]})
    assert second.status_code == 422
    reads = client.get("/aeo", headers=key)
    assert reads.status_code == 200
    # The risk officer's acknowledgement writes to the chain too, so it has a bucket.
    officer = {"X-API-Key": kz.keys[Role.RISK_OFFICER]}
    acks = [
        client.post(f"/documents/0x{'00' * 32}/acknowledge", json={}, headers=officer).status_code
        for _ in range(4)
    ]
    assert acks == [422, 422, 422, 429]


def test_token_bucket_refills_at_its_rate_and_caps_at_its_burst() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert buckets.take("b") == 0.0  # buckets are per key
    now[0] = 0.25
    assert buckets.take("a") == pytest.approx(0.25)
    now[0] = 0.5
    assert buckets.take("a") == 0.0
    now[0] = 100.0  # a long pause refills to the burst, not beyond
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)
    assert retry_after_header(0.01) == "1" and retry_after_header(1.2) == "2"
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)
