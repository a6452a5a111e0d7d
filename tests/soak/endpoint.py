"""A loopback TCP forwarder in front of the chain's JSON-RPC port that the soak can
cut: while it is down, every open connection is reset and new ones are reset as
soon as they are accepted, which is what clients see when the chain endpoint goes
away. The listening socket stays bound while down: closing it let an outgoing
connection take the port as its ephemeral local port, and a 5,000-document soak
then failed to bring the endpoint back ("Address already in use")."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from devnet.processes import free_port


class ChainEndpoint:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: socket.socket | None = None
        self._down = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        if self._server is None:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen(128)
            self._server = server
            threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        self._down = False

    def down(self) -> None:
        """Reset the open connections and every new one until `up`."""
        self._down = True
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _reset(sock)

    def close(self) -> None:
        """Stop forwarding for good: reset everything and release the port."""
        self.down()
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if self._down:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self._lock:
                    self._open.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)  # wakes a pump blocked in recv
        sock.close()
