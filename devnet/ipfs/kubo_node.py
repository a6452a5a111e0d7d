"""One running libkubo node and the IPFS operations the RPC server offers on it.

Owns the node's life (create the repo if missing, lock its config to loopback,
run, clean up) and turns libkubo's blocking, timeout-less calls into operations
with deadlines: a call that may wait on the network runs in its own thread, and
callers asking for the same thing (the same CID to fetch, the same peer to dial)
share that one thread. A fetch nobody can serve therefore costs one parked
thread per distinct CID, not one per request, and it still completes (filling
the blockstore) if a provider connects later.

It also recycles the node (`recycle_after`): libkubo's `Download` and `PinCID`
run under `context.Background()`, so each leaves a bitswap session behind that
is never closed. Measured with this build: the fetching node's RSS grows by
about 47 KB per fetch and its idle CPU by about 2.6 points per 1,000 fetches
(13% after 6,000), until a catch-up of tens of thousands of documents spends
most of its CPU on sessions nobody waits for. Stopping and starting the node in
place (same repo, same identity, peers dialed again) drops them: idle CPU back
to ~1% within seconds, and the memory is reused.

It also owns pin groups: a pinned add of many small files costs one libkubo
add and one pin (of a directory holding them) instead of one per file, while
every file still behaves as a recursive pin of its own (`add_pinned_group`,
`unpin`, `pins`; the bookkeeping is `repo.RecursivePinRecord`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial, update_wrapper
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from cid import make_cid

from devnet.ipfs.libkubo import Libkubo, LibkuboError
from devnet.ipfs.repo import (
    RecursivePinRecord,
    local_block_path,
    prepare_repo_config,
    sync_filesystem,
)
from devnet.ipfs.unixfs_layout import CHUNK_SIZE, single_chunk_file_cid

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

DEFAULT_FETCH_TIMEOUT = 120.0
"""Seconds a cat/pin/connect may wait when the client sets no `timeout` (Kubo waits forever)."""

RECYCLE_AFTER = 2000
"""Fetches (cat or pin) after which the node is stopped and started in place, to drop
the bitswap sessions libkubo leaves behind (see the module docstring)."""
RECONNECT_TIMEOUT = 10.0
"""Seconds a recycled node waits for each of its former peers to answer a dial."""

MEMORY_SCRATCH = Path("/dev/shm")
"""tmpfs for the files of a pinned group (see `KuboNode.add_pinned_group`)."""
MEMORY_SCRATCH_RESERVE = 64 * 1024 * 1024
"""tmpfs space a group leaves free; a group that would not fit goes to the disk scratch."""


class NodeOperationError(Exception):
    """An operation failed; `client_error` marks a bad request rather than a node failure."""

    def __init__(self, message: str, *, client_error: bool = False) -> None:
        super().__init__(message)
        self.client_error = client_error


class DeadlineExceeded(NodeOperationError):
    """The network did not deliver in time."""


def canonical_cid(text: str) -> str:
    """The CID in the form libkubo prints: CIDv0 for dag-pb/sha2-256, as given otherwise.

    Accepts `<cid>` and `/ipfs/<cid>`; sub-paths are not supported by libkubo's calls.
    """
    value = text.removeprefix("/ipfs/")
    if "/" in value or not value:
        raise NodeOperationError(
            f'invalid path "{text}": only /ipfs/<cid> or <cid> is supported', client_error=True
        )
    try:
        parsed = make_cid(value)
    except Exception as error:
        raise NodeOperationError(f'invalid path "{text}": {error}', client_error=True) from None
    if parsed.version == 1 and parsed.codec == "dag-pb" and parsed.multihash[:2] == b"\x12\x20":
        return str(parsed.to_v0())
    return str(parsed)


@dataclass
class _Call:
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: BaseException | None = None


class _SharedCalls:
    """Runs each keyed blocking call once, in its own daemon thread, with per-waiter deadlines."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}

    def run(self, key: str, function: Callable[[], T], timeout: float) -> T:
        with self._lock:
            call = self._calls.get(key)
            if call is None:
                call = _Call()
                self._calls[key] = call
                threading.Thread(
                    target=self._execute, args=(key, call, function), name=key, daemon=True
                ).start()
        if not call.done.wait(timeout):
            # Kubo's own wording for a --timeout that fired, so clients need
            # only one rule for the embedded node and real daemons.
            raise DeadlineExceeded(f"{key}: context deadline exceeded (after {timeout:g}s)")
        if call.error is not None:
            raise call.error
        return cast(T, call.result)

    def _execute(self, key: str, call: _Call, function: Callable[[], object]) -> None:
        try:
            call.result = function()
        except BaseException as error:
            call.error = error
        finally:
            with self._lock:
                self._calls.pop(key, None)
            call.done.set()

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._calls)

    def wait_all(self, timeout: float) -> list[str]:
        """Wait up to `timeout` s for every running call to end; the keys still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            running = list(self._calls.items())
        for _, call in running:
            call.done.wait(max(0.0, deadline - time.monotonic()))
        return [key for key, call in running if not call.done.is_set()]


class _SharedExclusiveLock:
    """Many holders in shared mode, or one in exclusive mode."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive and not self._shared)
            self._exclusive = True
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


def _gated(
    method: Callable[Concatenate[KuboNode, P], T],
) -> Callable[Concatenate[KuboNode, P], T]:
    """A public operation that calls libkubo: waits while the node is being recycled,
    and a recycle waits for it (`KuboNode._recycle`)."""

    def gated(self: KuboNode, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._gate:
            self._gate.wait_for(lambda: not self._recycling)
            self._active += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            with self._gate:
                self._active -= 1
                self._gate.notify_all()

    update_wrapper(gated, method)
    return gated


_MEMORY_SCRATCH_PREFIX = "cie-ipfs-"


def _remove_memory_scratch_of_dead_processes() -> None:
    """tmpfs holds RAM until reboot: remove what a killed node process left there."""
    for directory in MEMORY_SCRATCH.glob(f"{_MEMORY_SCRATCH_PREFIX}*-*"):
        owner = directory.name.removeprefix(_MEMORY_SCRATCH_PREFIX).partition("-")[0]
        if not owner.isdigit():
            continue
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            shutil.rmtree(directory, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


class KuboNode:
    """The libkubo node of one repo, started by `start()` and stopped by `close()`.

    Durability: with `sync_every_block` the blockstore fsyncs every block as
    Kubo does by default. Without it (the default here) blocks are written
    unsynced and `flush()` makes everything durable with one `syncfs`; the RPC
    server calls it once per add or pin request before answering, so what an
    answer reports as added is on disk in both modes (see `repo.set_block_sync`).
    """

    def __init__(
        self,
        repo_dir: Path,
        *,
        swarm_port: int,
        api_port: int,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        sync_every_block: bool = False,
        recycle_after: int = RECYCLE_AFTER,
    ) -> None:
        if recycle_after < 1:
            raise ValueError(f"recycle_after must be at least 1, not {recycle_after}")
        self.repo_dir = repo_dir.resolve()
        self.sync_every_block = sync_every_block
        self.swarm_port = swarm_port
        self.api_port = api_port
        self.fetch_timeout = fetch_timeout
        self._kubo = Libkubo(self.repo_dir)
        self._calls = _SharedCalls()
        # Pinning adds run concurrently (shared); an add with pin=False and an
        # unpin take the lock exclusively, because both decide whether to
        # remove a pin from what the recursive-pin record says at that moment.
        self._pin_lock = _SharedExclusiveLock()
        self._closed = threading.Event()
        # Recycling (`_recycle`): operations in progress, whether a recycle runs, and
        # the fetches since the last one; `_dialed` keeps the peers this node dialed
        # (those that dialed it show in its peer list).
        self.recycle_after = recycle_after
        self._gate = threading.Condition()
        self._active = 0
        self._recycling = False
        self._fetches = 0
        self._dialed: set[str] = set()
        self.scratch_dir = Path(tempfile.mkdtemp(prefix="cie-ipfs-"))
        """Uploads and downloads pass through files here (libkubo works on paths)."""
        self.memory_scratch_dir: Path | None = None
        """The files of pinned groups pass through here when it has room (tmpfs)."""
        if MEMORY_SCRATCH.is_dir() and os.access(MEMORY_SCRATCH, os.W_OK):
            _remove_memory_scratch_of_dead_processes()
            prefix = f"{_MEMORY_SCRATCH_PREFIX}{os.getpid()}-"
            self.memory_scratch_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=MEMORY_SCRATCH))
        self._pins: RecursivePinRecord | None = None
        self.peer_id = ""
        self.config: dict[str, Any] = {}

    # -- life cycle -------------------------------------------------------

    def start(self) -> None:
        self.repo_dir.mkdir(parents=True, exist_ok=True)
        if self._kubo.create_repo():
            log.info("created IPFS repo %s", self.repo_dir)
        # Always re-lock, not only on creation: the ports may have changed and
        # a hand-edited config must not re-enable public networking.
        self.config = prepare_repo_config(
            self.repo_dir,
            swarm_port=self.swarm_port,
            api_port=self.api_port,
            block_sync=self.sync_every_block,
        )
        self._pins = RecursivePinRecord(self.repo_dir)
        self._kubo.run_node()
        self.peer_id = self._kubo.node_id()
        with self._pin_lock.exclusive():
            # Groups emptied just before a crash still hold their libkubo pin.
            self._release_emptied_groups()
        log.info("IPFS node %s listening on %s", self.peer_id, self._kubo.listen_addresses())

    def close(self) -> None:
        """Stop the node; later calls fail instead of silently starting a new node."""
        if self._closed.is_set():
            return
        self._closed.set()
        with self._gate:  # a recycle under way would start the node again
            self._gate.wait_for(lambda: not self._recycling)
        pending = self._calls.pending()
        if pending:
            log.info("abandoning calls still waiting on the network: %s", pending)
        self._kubo.cleanup_node()
        if self._pins is not None:
            self._pins.close()
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        if self.memory_scratch_dir is not None:
            shutil.rmtree(self.memory_scratch_dir, ignore_errors=True)

    def _check_open(self) -> Libkubo:
        if self._closed.is_set():
            raise NodeOperationError("the IPFS node is shutting down")
        return self._kubo

    @property
    def _pin_record(self) -> RecursivePinRecord:
        if self._pins is None:
            raise NodeOperationError("the IPFS node has not been started")
        return self._pins

    # -- identity and peers -----------------------------------------------

    @_gated
    def listen_addresses(self) -> list[str]:
        return self._check_open().listen_addresses()

    @_gated
    def peers(self) -> list[tuple[str, str]]:
        """(address, peer id) of every connected peer."""
        return self.peers_of(self._check_open())

    @staticmethod
    def peers_of(kubo: Libkubo) -> list[tuple[str, str]]:
        result = []
        for entry in kubo.peers():
            address, _, peer = entry.rpartition("/")
            result.append((address, peer))
        return result

    @_gated
    def connect(self, multiaddr: str, timeout: float | None) -> str:
        """Dial a peer at `/ip4/127.x.x.x/tcp/<port>/p2p/<id>`; returns its peer id."""
        address, peer = self._dial(multiaddr, self._deadline(timeout))
        self._dialed.add(address)
        return peer

    def _dial(self, multiaddr: str, timeout: float) -> tuple[str, str]:
        """Dial a loopback peer (anything else is refused: network safety rule);
        its canonical `/ip4/.../tcp/<port>/p2p/<id>` address and peer id."""
        parts = multiaddr.strip("/").split("/")
        if (
            len(parts) != 6
            or parts[0] != "ip4"
            or not parts[1].startswith("127.")
            or parts[2] != "tcp"
            or parts[4] not in ("p2p", "ipfs")
        ):
            raise NodeOperationError(
                f"refusing to dial {multiaddr!r}: the embedded node only dials "
                "/ip4/127.x.x.x/tcp/<port>/p2p/<peer id> (network safety rule)",
                client_error=True,
            )
        address = "/" + "/".join([*parts[:4], "p2p", parts[5]])
        kubo = self._check_open()
        self._calls.run(f"connect {address}", partial(kubo.connect, address), timeout)
        return address, parts[5]

    # -- content ----------------------------------------------------------

    @_gated
    def add(self, source: Path, *, only_hash: bool, pin: bool) -> str:
        """Add one file with Kubo's defaults; `pin=False` leaves earlier pins alone."""
        kubo = self._check_open()
        if only_hash:
            return kubo.add_file(source, only_hash=True)
        if pin:
            with self._pin_lock.shared():
                cid = kubo.add_file(source, only_hash=False)  # always pins
                self._pin_record.add(cid)  # a group file added again leaves its group
            self._release_emptied_groups_if_any()
            return cid
        with self._pin_lock.exclusive():
            cid = kubo.add_file(source, only_hash=False)
            if not self._pin_record.has_own_pin(cid):
                kubo.unpin(cid)  # a group that holds it keeps holding it
        return cid

    @_gated
    def add_pinned_group(self, contents: Sequence[bytes]) -> list[str]:
        """Add and pin files of at most one chunk each with ONE libkubo add; their CIDs.

        libkubo pins each add with ~4 leveldb fsyncs, which dominates adding many
        small files one by one. Here the files go into one scratch directory that
        libkubo adds (and pins recursively) as a whole. libkubo answers only the
        directory's CID (the group root); each file's CID follows from its bytes
        (`single_chunk_file_cid`), and every one must be in the blockstore, or the
        request fails and the root's pin is undone. The pin record then shows each
        file as a recursive pin of its own (`RecursivePinRecord`), as Kubo's
        `ipfs add` of several files does. The caller `flush()`es before answering.
        """
        if not contents:
            raise ValueError("a pinned group needs at least one file")
        too_large = [index for index, data in enumerate(contents) if len(data) > CHUNK_SIZE]
        if too_large:
            raise ValueError(
                f"files {too_large} are over {CHUNK_SIZE} bytes, so not single-chunk files "
                "a pinned group can take; add them one by one"
            )
        kubo = self._check_open()
        cids = [single_chunk_file_cid(data) for data in contents]
        directory = Path(
            tempfile.mkdtemp(prefix="group-", dir=self._group_scratch(sum(map(len, contents))))
        )
        try:
            for index, data in enumerate(contents):
                (directory / str(index)).write_bytes(data)
            with self._pin_lock.shared():
                root = kubo.add_file(directory, only_hash=False)  # pins the root recursively
                missing = [
                    (index, cid) for index, cid in enumerate(cids) if not self.has_local_block(cid)
                ]
                if not missing:
                    self._pin_record.add_group(root, cids)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        if missing:
            with self._pin_lock.exclusive():
                record = self._pin_record
                if not record.is_group_root(root) and not record.has_own_pin(root):
                    kubo.unpin(root)
                self._release_emptied_groups()
            index, cid = missing[0]
            raise NodeOperationError(
                f"adding {len(contents)} files as directory {root}: the block of file #{index} "
                f"({cid}, computed with Kubo's default layout) is not in the blockstore "
                f"({len(missing)} of {len(contents)} files missing); nothing was pinned"
            )
        return cids

    def _group_scratch(self, size: int) -> Path:
        """tmpfs if it has room: creating and deleting hundreds of small files
        there costs a few milliseconds, on the repo's disk filesystem tens to
        hundreds (journal updates), and none of it needs to survive the add."""
        memory = self.memory_scratch_dir
        if memory is not None:
            status = os.statvfs(memory)
            if status.f_bavail * status.f_frsize >= size + MEMORY_SCRATCH_RESERVE:
                return memory
        return self.scratch_dir

    def flush(self) -> None:
        """Make every block and pin written so far durable (one syncfs; when every
        block is synced as it is written, only the pin record's log needs it)."""
        if self.sync_every_block:
            self._pin_record.sync()
        else:
            sync_filesystem(self.repo_dir)

    def cat(self, cid_text: str, *, timeout: float | None, offline: bool) -> bytes:
        try:
            return self._cat(cid_text, timeout=timeout, offline=offline)
        finally:
            self._count_fetch()

    @_gated
    def _cat(self, cid_text: str, *, timeout: float | None, offline: bool) -> bytes:
        cid = canonical_cid(cid_text)
        kubo = self._check_open()
        if offline and not self.has_local_block(cid):
            raise NodeOperationError(f"block was not found locally (offline): {cid}")

        def fetch() -> bytes:
            destination = self.scratch_dir / uuid.uuid4().hex
            try:
                kubo.download(cid, destination)
                if destination.is_dir():
                    raise NodeOperationError(f"{cid} is a directory, not a file")
                return destination.read_bytes()
            except LibkuboError as error:
                raise NodeOperationError(str(error)) from None
            finally:
                if destination.is_dir():
                    shutil.rmtree(destination, ignore_errors=True)
                else:
                    destination.unlink(missing_ok=True)

        return self._calls.run(f"fetch {cid}", fetch, self._deadline(timeout))

    def has_local_block(self, cid: str) -> bool:
        return local_block_path(self.repo_dir, cid).exists()

    # -- pins -------------------------------------------------------------

    def pin(self, cid_text: str, *, timeout: float | None) -> str:
        try:
            return self._pin(cid_text, timeout=timeout)
        finally:
            self._count_fetch()

    @_gated
    def _pin(self, cid_text: str, *, timeout: float | None) -> str:
        cid = canonical_cid(cid_text)
        kubo = self._check_open()

        def pin_cid() -> None:
            try:
                kubo.pin(cid)
            except LibkuboError as error:
                raise NodeOperationError(str(error)) from None

        # Pinning fetches what is missing, so it may wait like a cat does.
        self._calls.run(f"pin {cid}", pin_cid, self._deadline(timeout))
        with self._pin_lock.shared():
            self._pin_record.add(cid)  # a group file pinned on its own leaves its group
        self._release_emptied_groups_if_any()
        return cid

    @_gated
    def unpin(self, cid_text: str) -> str:
        cid = canonical_cid(cid_text)
        kubo = self._check_open()
        record = self._pin_record
        with self._pin_lock.exclusive():
            # The root of a group with live files stays pinned in libkubo (it
            # holds them): of such a root only an own pin (pin/add) can go.
            holds_files = record.holds_files(cid)
            removed = record.has_own_pin(cid) if holds_files else kubo.unpin(cid)
            removed = record.in_group(cid) or removed
            record.discard(cid)
            self._release_emptied_groups()
        if not removed:
            raise NodeOperationError(f"{cid} is not pinned or pinned indirectly")
        return cid

    def _release_emptied_groups_if_any(self) -> None:
        if self._pin_record.emptied_groups():
            with self._pin_lock.exclusive():
                self._release_emptied_groups()

    def _release_emptied_groups(self) -> None:
        """Unpin in libkubo the root of every group whose files are all unpinned.

        The caller holds the pin lock exclusively. The record's unpin lines are
        made durable first: a crash must not leave a record that still counts a
        file as pinned through a root libkubo no longer pins.
        """
        record = self._pin_record
        emptied = record.emptied_groups()
        if not emptied:
            return
        self.flush()
        kubo = self._check_open()
        for root in emptied:
            if not record.has_own_pin(root):
                kubo.unpin(root)  # False if a crash came between this and drop_group
            record.drop_group(root)

    @_gated
    def pins(self) -> dict[str, str]:
        """Pinned CID -> "recursive" or "indirect", as callers see them: a group's
        files are recursive pins; its root and the files unpinned from it are hidden."""
        record = self._pin_record
        recursive, hidden = record.snapshot(), record.hidden()
        pinned = {canonical_cid(cid) for cid in self._check_open().pins()} - hidden
        return {cid: "recursive" if cid in recursive else "indirect" for cid in pinned}

    # -- recycling ----------------------------------------------------------

    def _count_fetch(self) -> None:
        """Count a fetch; the one that reaches `recycle_after` recycles the node."""
        with self._gate:
            self._fetches += 1
            if self._fetches < self.recycle_after or self._recycling or self._closed.is_set():
                return
            self._recycling = True  # new operations wait from here
            self._gate.wait_for(lambda: self._active == 0)
        try:
            self._recycle()
        finally:
            with self._gate:
                self._recycling = False
                self._fetches = 0
                self._gate.notify_all()

    def _recycle(self) -> None:
        """Stop and start the node in place, then dial its peers again.

        Runs with no operation in progress (each waits for its answer or its
        deadline, so this wait is bounded). Calls abandoned after their deadline
        may still wait inside libkubo; the node's shutdown ends them with an error
        ("promise channel was closed"), and the new node starts after they ended.
        """
        kubo = self._check_open()
        began = time.perf_counter()
        peers = {f"{address}/p2p/{peer}" for address, peer in self.peers_of(kubo)}
        kubo.cleanup_node()
        # A call abandoned inside libkubo ends with an error now; until it has, it may
        # still release the node it ran on, taking a node started meanwhile with it.
        stuck = self._calls.wait_all(RECONNECT_TIMEOUT)
        if stuck:
            log.warning("calls still inside libkubo after its node stopped: %s", stuck)
        kubo.run_node()
        lost = []
        for address in sorted(peers | self._dialed):
            try:
                self._dial(address, min(RECONNECT_TIMEOUT, self.fetch_timeout))
            except (LibkuboError, NodeOperationError) as error:
                lost.append(f"{address} ({error})")
        log.info(
            "recycled the node after %d fetches in %.2f s (libkubo leaves a bitswap session "
            "per fetch); %d peers dialed again%s",
            self._fetches,
            time.perf_counter() - began,
            len(peers | self._dialed) - len(lost),
            f"; not reachable: {', '.join(lost)}" if lost else "",
        )

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None or timeout <= 0:
            return self.fetch_timeout
        return min(timeout, self.fetch_timeout)


__all__ = ["DeadlineExceeded", "KuboNode", "NodeOperationError", "canonical_cid"]
