"""The project's one IPFS client: ipfshttpclient 0.7.0 behind a small typed adapter.

Owns every call the project makes to an IPFS node (`IpfsStore`) and the
conversion between the CIDv0 strings IPFS uses and the 32-byte digests the
ledger anchors on-chain (`cid_to_digest`, `digest_to_cid`).

`cat`, asked once a document by every importer, goes over a urllib3 pool to the same
API (requests' and ipfshttpclient's layers cost more CPU than the request); its failures
are raised as ipfshttpclient's, so every call shares one error mapping (`_call`).

The only configuration is the node's RPC API address (a multiaddr such as
``/ip4/127.0.0.1/tcp/5001/http``); the same code talks to the devnet's embedded
nodes, a Kubo daemon, or an IPFS Cluster proxy. ipfshttpclient is unmaintained
since 2021 and its `connect()` refuses daemons newer than 0.8, so the client is
constructed directly and never leaves this module.

Adds always ask for Kubo's historical defaults (CIDv0, dag-pb leaves, 256 KiB
chunks, sha2-256), whatever the daemon's own import settings are, because the
ledger stores only the sha2-256 digest and rebuilds ``Qm...`` from it.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

import ipfshttpclient
import structlog
import urllib3
from cid import CIDv0, make_cid
from ipfshttpclient import exceptions as ipfs_errors
from requests import ConnectTimeout

from ledger_client.errors import (
    ConfigurationError,
    IpfsContentNotFoundError,
    IpfsError,
    IpfsInvalidCidError,
    IpfsUnavailableError,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

# ipfshttpclient 0.7.0 passes urllib3 a `strict` argument that urllib3 2.x
# deprecates with a FutureWarning on every new connection; harmless, and noise.
warnings.filterwarnings(
    "ignore", message="The 'strict' parameter", category=FutureWarning, module="urllib3"
)

_SHA2_256_PREFIX = b"\x12\x20"  # multihash: code 0x12 (sha2-256), length 32

# Kubo's defaults, stated explicitly (see the module docstring).
_ADD_OPTIONS = {"cid-version": "0", "chunker": "size-262144", "hash": "sha2-256"}

# Connections kept to the node for `cat` (the listener fetches on 8 threads).
_CAT_CONNECTIONS = 8

# Answers from Kubo (and the embedded node) that mean "the content could not be had".
_NOT_FOUND_MARKERS = (
    "context deadline exceeded",
    "not found",
    "could not find",
    "no link named",
    "not pinned",
)


def cid_to_digest(cid: str) -> bytes:
    """The 32-byte sha2-256 digest inside a dag-pb CID (``Qm...`` or its CIDv1 form)."""
    try:
        parsed = make_cid(cid)
    except Exception as error:
        raise IpfsInvalidCidError(f"{cid!r} is not a CID: {error}") from None
    multihash = bytes(parsed.multihash)
    if parsed.codec != "dag-pb" or not (
        multihash.startswith(_SHA2_256_PREFIX) and len(multihash) == 34
    ):
        raise IpfsInvalidCidError(
            f"{cid} is not a dag-pb sha2-256 CID (codec {parsed.codec}); the ledger anchors "
            "only CIDv0-compatible content, add it with Kubo's defaults"
        )
    return multihash[2:]


def digest_to_cid(digest: bytes) -> str:
    """The CIDv0 (``Qm...``) of a 32-byte sha2-256 digest anchored on-chain."""
    if len(digest) != 32:
        raise IpfsInvalidCidError(f"a sha2-256 digest has 32 bytes, got {len(digest)}")
    return str(CIDv0(_SHA2_256_PREFIX + bytes(digest)))


class IpfsStore:
    """Add, fetch and pin content on one IPFS node through its Kubo RPC API.

    Thread-safe: each thread gets its own HTTP session. Connection failures are
    retried `retries` times with exponential backoff starting at `backoff`
    seconds, then raise `IpfsUnavailableError`; a fetch that the node cannot
    satisfy within its timeout raises `IpfsContentNotFoundError`.
    """

    def __init__(
        self,
        api_address: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 2.0,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        self.api_address = api_address
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()
        client = self._client()  # a malformed address fails here, not at first use
        self._api_url: str = client._client._base_url  # ".../api/v0/", from the multiaddr
        # Thread-safe; no retries of its own (`_call` retries), no proxies (loopback).
        self._pool = urllib3.PoolManager(maxsize=_CAT_CONNECTIONS, retries=False)

    # -- content ----------------------------------------------------------

    def add_bytes(self, data: bytes) -> str:
        """Add and pin one payload; returns its CIDv0."""
        return self.add_many([data])[0]

    def add_many(self, payloads: Sequence[bytes]) -> list[str]:
        """Add and pin several payloads in one request; CIDs in the payloads' order."""
        if not payloads:
            return []
        files = [io.BytesIO(payload) for payload in payloads]

        def add(client: Any) -> list[str]:
            for file in files:
                file.seek(0)  # a retried request re-reads the payloads
            result = client.add(
                *files,
                pin=True,
                raw_leaves=False,
                opts=dict(_ADD_OPTIONS),
                timeout=(self.connect_timeout, self.timeout),
            )
            entries = result if isinstance(result, list) else [result]
            return [str(entry["Hash"]) for entry in entries]

        cids = self._call("add", add)
        if len(cids) != len(payloads):
            raise IpfsError(
                f"{self.api_address} returned {len(cids)} CIDs for {len(payloads)} payloads"
            )
        for cid in cids:
            cid_to_digest(cid)  # refuse anything the ledger could not anchor
            if not cid.startswith("Qm"):
                raise IpfsError(f"{self.api_address} returned {cid}, not a CIDv0; check its config")
        return cids

    def cat(self, cid: str, timeout: float | None = None) -> bytes:
        """The content of `cid`, fetched from peers if needed, within `timeout` seconds.

        Asked over a urllib3 pool rather than through ipfshttpclient: a node fetches
        one envelope a document, and requests' and ipfshttpclient's layers cost 0.6 ms
        of CPU a cat more than the request itself (1.2 vs 0.5 ms, a 5 kB payload).
        Its failures go through the same mapping as every other call (`_call`)."""
        _check_cid(cid)
        wait = self.timeout if timeout is None else timeout
        # The node enforces `wait`; the read timeout only catches a node that stopped
        # answering altogether.
        deadline = urllib3.Timeout(connect=self.connect_timeout, read=wait + 5.0)
        fields = {"arg": cid, "timeout": f"{wait:g}s"}
        return self._call("cat", lambda _client: self._post("cat", fields, deadline), cid=cid)

    def _post(self, command: str, fields: dict[str, str], timeout: urllib3.Timeout) -> bytes:
        """One RPC call's whole answer; urllib3's failures raised as ipfshttpclient's."""
        url = f"{self._api_url}{command}?{urlencode(fields)}"
        try:
            response = self._pool.request("POST", url, timeout=timeout)
        except urllib3.exceptions.NewConnectionError as error:  # refused: before its base
            raise ipfs_errors.ConnectionError(error) from error
        except urllib3.exceptions.ConnectTimeoutError as error:
            raise ipfs_errors.TimeoutError(ConnectTimeout(error)) from error
        except urllib3.exceptions.ReadTimeoutError as error:
            raise ipfs_errors.TimeoutError(error) from error
        except urllib3.exceptions.ProtocolError as error:  # the connection dropped mid-answer
            raise ipfs_errors.ProtocolError(error) from error
        except urllib3.exceptions.HTTPError as error:
            raise ipfs_errors.Error(str(error)) from error
        if response.status != 200:
            try:
                message = str(json.loads(response.data)["Message"])
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {response.status}: {response.data[:200]!r}"
            raise ipfs_errors.ErrorResponse(message, None)
        return bytes(response.data)

    # -- pins -------------------------------------------------------------

    def pin(self, cid: str, timeout: float | None = None) -> None:
        """Pin `cid` recursively (fetching it first if needed)."""
        _check_cid(cid)
        wait = self.timeout if timeout is None else timeout
        self._call(
            "pin",
            lambda client: client.pin.add(
                cid, opts={"timeout": f"{wait:g}s"}, timeout=(self.connect_timeout, wait + 5.0)
            ),
            cid=cid,
        )

    def unpin(self, cid: str) -> bool:
        """Remove the recursive pin of `cid`; False if it was not pinned (idempotent)."""
        _check_cid(cid)
        try:
            self._call("unpin", lambda client: client.pin.rm(cid, timeout=self._timeouts()))
        except IpfsError as error:
            if "not pinned" in str(error):
                return False
            raise
        return True

    def pins(self) -> set[str]:
        """CIDs pinned recursively on the node."""
        result = self._call(
            "pins", lambda client: client.pin.ls(type="recursive", timeout=self._timeouts())
        )
        return {str(cid) for cid in (result["Keys"] or {})}

    # -- node -------------------------------------------------------------

    def node_id(self) -> str:
        """The node's libp2p peer id."""
        return str(self._call("id", lambda client: client.id(timeout=self._timeouts()))["ID"])

    def connect(self, multiaddr: str, timeout: float | None = None) -> None:
        """Open a swarm connection to a peer at `multiaddr` (with ``/p2p/<peer id>``)."""
        wait = self.timeout if timeout is None else timeout
        # Not client.swarm.connect: in 0.7.0 it also sends every character of
        # the address as an extra argument, which Kubo rejects.
        self._call(
            "connect",
            lambda client: client._client.request(
                "/swarm/connect",
                (multiaddr,),
                decoder="json",
                opts={"timeout": f"{wait:g}s"},
                timeout=(self.connect_timeout, wait + 5.0),
            ),
        )

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()
        self._pool.clear()

    def __enter__(self) -> IpfsStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------

    def _timeouts(self) -> tuple[float, float]:
        return (self.connect_timeout, self.timeout)

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            try:
                client = ipfshttpclient.Client(self.api_address, session=True)
                # The same fix as the chain's (`chain.http_session`): requests would read
                # the environment's proxy variables and .netrc again on every request.
                # The API is the member's own node; ipfshttpclient passes no proxies.
                client._client._session.trust_env = False
            except ipfs_errors.AddressError as error:
                raise ConfigurationError(
                    f"IPFS API address {self.api_address!r} is not usable ({error}); "
                    "expected a multiaddr like /ip4/127.0.0.1/tcp/5001/http"
                ) from None
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _call(self, what: str, operation: Callable[[Any], T], *, cid: str | None = None) -> T:
        attempt = 0
        while True:
            try:
                return operation(self._client())
            except (
                ipfs_errors.ConnectionError,
                ipfs_errors.ProtocolError,
                ipfs_errors.TimeoutError,
            ) as error:
                # ProtocolError is mostly "connection aborted": the node went away
                # mid-request (e.g. a restart); as retryable as a refused connect.
                connect_failed = not isinstance(error, ipfs_errors.TimeoutError) or isinstance(
                    error.original, ConnectTimeout
                )
                if not connect_failed:
                    raise self._timed_out(what, cid) from error
                if attempt >= self.retries:
                    raise IpfsUnavailableError(
                        f"IPFS node at {self.api_address} is unreachable ({what}: "
                        f"{_reason(error)}); start the member's IPFS node or fix the "
                        "configured API address"
                    ) from error
                delay = self.backoff * 2**attempt
                log.warning("ipfs_retry", what=what, attempt=attempt + 1, delay=delay)
                time.sleep(delay)
                attempt += 1
            except ipfs_errors.ErrorResponse as error:
                message = str(error)
                if cid is not None and any(marker in message for marker in _NOT_FOUND_MARKERS):
                    raise IpfsContentNotFoundError(
                        f"{cid} could not be retrieved from the IPFS node at {self.api_address}: "
                        f"{message} (no connected peer provided it in time?)"
                    ) from error
                raise IpfsError(f"IPFS {what} failed at {self.api_address}: {message}") from error
            except ipfs_errors.Error as error:
                raise IpfsError(
                    f"IPFS {what} failed at {self.api_address}: {error} (is this a Kubo RPC API?)"
                ) from error
            except OSError as error:
                # requests' own errors while reading a response body (a node
                # that died mid-answer) bypass ipfshttpclient's mapping.
                raise IpfsUnavailableError(
                    f"IPFS node at {self.api_address} failed during {what}: {error}"
                ) from error

    def _timed_out(self, what: str, cid: str | None) -> IpfsError:
        if cid is not None:
            return IpfsContentNotFoundError(
                f"{cid} could not be retrieved from the IPFS node at {self.api_address} in time"
            )
        return IpfsUnavailableError(
            f"IPFS node at {self.api_address} did not answer {what} within {self.timeout:g}s"
        )


def _check_cid(cid: str) -> None:
    try:
        make_cid(cid)
    except Exception as error:
        raise IpfsInvalidCidError(f"{cid!r} is not a CID: {error}") from None


def _reason(error: ipfs_errors.CommunicationError) -> str:
    text = str(error.original or error)
    # requests buries the socket error ("[Errno 111] Connection refused") in a
    # long retry message; show just that part when it is there.
    match = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return match.group(0).strip() if match else text
