"""ledger_client.ipfs.IpfsStore against embedded nodes: the project's only IPFS client path."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from devnet.ipfs import EmbeddedIpfsNode
from devnet.processes import free_port
from ledger_client.errors import (
    ConfigurationError,
    IpfsContentNotFoundError,
    IpfsError,
    IpfsInvalidCidError,
    IpfsUnavailableError,
)
from ledger_client.ipfs import IpfsStore, cid_to_digest, digest_to_cid
from tests.ipfs.conftest import NodeFactory

pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")

StoreOf = Callable[[EmbeddedIpfsNode], IpfsStore]
HELLO_CID = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"


def test_add_cat_pin_round_trip(
    member_nodes: tuple[EmbeddedIpfsNode, ...], store_of: StoreOf
) -> None:
    store = store_of(member_nodes[0])
    payload = os.urandom(70_000)

    cid = store.add_bytes(payload)

    assert store.cat(cid) == payload
    assert cid in store.pins()
    assert digest_to_cid(cid_to_digest(cid)) == cid
    assert store.add_bytes(b"hello\n") == HELLO_CID
    assert store.node_id() == member_nodes[0].peer_id


def test_batch_add_is_one_request_matching_single_adds(
    member_nodes: tuple[EmbeddedIpfsNode, ...],
    store_of: StoreOf,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = store_of(member_nodes[0])
    payloads = [os.urandom(size) for size in (1, 1024, 65_536, 300_000)] + [b"", b"hello\n"]
    http_client = store._client()  # this thread's ipfshttpclient.Client
    requests_sent: list[int] = []
    original_add = http_client.add

    def counting_add(*files: Any, **options: Any) -> Any:
        requests_sent.append(len(files))
        return original_add(*files, **options)

    monkeypatch.setattr(http_client, "add", counting_add)
    batch = store.add_many(payloads)

    assert requests_sent == [len(payloads)]
    assert batch == [store.add_bytes(payload) for payload in payloads]
    assert len(set(batch)) == len(payloads)
    assert set(batch) <= store.pins()


def test_unpin_is_idempotent(member_nodes: tuple[EmbeddedIpfsNode, ...], store_of: StoreOf) -> None:
    store = store_of(member_nodes[0])
    cid = store.add_bytes(os.urandom(100))

    assert store.unpin(cid) is True
    assert store.unpin(cid) is False
    assert cid not in store.pins()
    store.pin(cid)
    assert cid in store.pins()


def test_cross_member_fetch_and_missing_content(start_node: NodeFactory, store_of: StoreOf) -> None:
    exporter, importer = start_node("exporter"), start_node("importer")
    a, b = store_of(exporter), store_of(importer)
    cid = a.add_bytes(os.urandom(5000))

    started = time.monotonic()
    with pytest.raises(IpfsContentNotFoundError, match=cid):
        b.cat(cid, timeout=1)
    assert time.monotonic() - started < 4

    b.connect(exporter.multiaddr)
    assert b.cat(cid, timeout=10) == a.cat(cid)
    b.pin(cid)
    assert cid in b.pins()


def test_unavailable_when_nothing_listens() -> None:
    address = f"/ip4/127.0.0.1/tcp/{free_port()}/http"
    store = IpfsStore(address, retries=2, backoff=0.05)

    started = time.monotonic()
    with pytest.raises(IpfsUnavailableError) as caught:
        store.add_bytes(b"payload")

    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert address in message and "unreachable" in message and "refused" in message
    assert isinstance(caught.value, ConnectionError)  # catchable as the builtin too


def test_unavailable_after_node_stops(start_node: NodeFactory, store_of: StoreOf) -> None:
    node = start_node("stopping")
    store = store_of(node)
    cid = store.add_bytes(b"kept alive connection first")
    node.stop()

    started = time.monotonic()
    with pytest.raises(IpfsUnavailableError, match="unreachable"):
        store.cat(cid)
    assert time.monotonic() - started < 2


def test_store_reconnects_after_node_restart(start_node: NodeFactory, store_of: StoreOf) -> None:
    node = start_node("restarting")
    store = store_of(node)
    cid = store.add_bytes(os.urandom(2000))
    node.stop()
    node.start()

    assert store.cat(cid, timeout=5)  # same store object, new node process


def test_bad_inputs_are_typed_errors(
    member_nodes: tuple[EmbeddedIpfsNode, ...], store_of: StoreOf
) -> None:
    store = store_of(member_nodes[0])

    with pytest.raises(IpfsInvalidCidError):
        store.cat("not-a-cid")
    with pytest.raises(ConfigurationError):
        IpfsStore("http://127.0.0.1:5001")  # a URL, not a multiaddr


class _Answer(BaseHTTPRequestHandler):
    """An RPC API that answers every POST with the class's (status, body); `seen` keeps
    the paths it was asked."""

    status, body = 500, b""
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "error", "match"),
    [
        (500, b'{"Message":"block was not found locally","Code":0}', IpfsContentNotFoundError,
         "not found locally"),
        (500, b'{"Message":"repo is locked","Code":0}', IpfsError, "repo is locked"),
        (502, b"<html>bad gateway</html>", IpfsError, "HTTP 502"),
    ],
)  # fmt: skip
def test_a_cat_the_node_refuses_is_a_typed_error_with_its_message(
    status: int, body: bytes, error: type[Exception], match: str
) -> None:
    _Answer.status, _Answer.body, _Answer.seen = status, body, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = IpfsStore(f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http")
        with pytest.raises(error, match=match) as raised:
            store.cat(HELLO_CID, timeout=3)
        assert type(raised.value) is error  # not found is not any IpfsError, and vice versa
        assert _Answer.seen == [f"/api/v0/cat?arg={HELLO_CID}&timeout=3s"]  # asked once
        store.close()
    finally:
        server.shutdown()
        server.server_close()
