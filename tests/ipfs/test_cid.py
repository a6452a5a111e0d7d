"""CIDv0 <-> on-chain digest conversion, and the UnixFS arithmetic behind add's Size
and the CIDs of single-chunk files."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devnet.ipfs.unixfs_layout import (
    CHUNK_SIZE,
    file_cumulative_size,
    leaf_block,
    single_chunk_file_cid,
)
from ledger_client.errors import IpfsInvalidCidError
from ledger_client.ipfs import cid_to_digest, digest_to_cid

# Known Kubo CIDs (`ipfs add` with default settings).
HELLO_CID = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"  # "hello\n"
EMPTY_FILE_CID = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"  # b""


def unixfs_leaf_block(data: bytes) -> bytes:
    """The dag-pb block Kubo writes for a small file, built by hand (data < 128 bytes)."""
    unixfs = b"\x08\x02" + (b"\x12" + bytes([len(data)]) + data if data else b"")
    unixfs += b"\x18" + bytes([len(data)])
    return b"\x0a" + bytes([len(unixfs)]) + unixfs


@pytest.mark.parametrize(("content", "cid"), [(b"hello\n", HELLO_CID), (b"", EMPTY_FILE_CID)])
def test_digest_is_the_sha256_of_the_dag_pb_block(content: bytes, cid: str) -> None:
    digest = hashlib.sha256(unixfs_leaf_block(content)).digest()

    assert cid_to_digest(cid) == digest
    assert digest_to_cid(digest) == cid


@given(st.binary(min_size=32, max_size=32))
def test_digest_round_trips_through_cidv0(digest: bytes) -> None:
    cid = digest_to_cid(digest)

    assert cid.startswith("Qm") and len(cid) == 46
    assert cid_to_digest(cid) == digest


def test_cidv1_dag_pb_form_gives_the_same_digest() -> None:
    cidv1 = "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4"  # HELLO_CID as v1

    assert cid_to_digest(cidv1) == cid_to_digest(HELLO_CID)


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-cid",
        "",
        # raw-leaves CIDv1 of "hello\n": a digest of different bytes, so refused
        "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am",
    ],
)
def test_cid_to_digest_refuses_what_the_ledger_cannot_anchor(bad: str) -> None:
    with pytest.raises(IpfsInvalidCidError):
        cid_to_digest(bad)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_digest_to_cid_wants_32_bytes(length: int) -> None:
    with pytest.raises(IpfsInvalidCidError, match="32 bytes"):
        digest_to_cid(b"\x01" * length)


def test_cumulative_size_of_known_files() -> None:
    assert file_cumulative_size(0) == len(unixfs_leaf_block(b"")) == 6
    assert file_cumulative_size(6) == len(unixfs_leaf_block(b"hello\n")) == 14
    # One full chunk: a single leaf (varints of 262144 take 3 bytes).
    assert file_cumulative_size(CHUNK_SIZE) == CHUNK_SIZE + 14


@pytest.mark.parametrize(("content", "cid"), [(b"hello\n", HELLO_CID), (b"", EMPTY_FILE_CID)])
def test_single_chunk_file_cid_of_known_files(content: bytes, cid: str) -> None:
    assert leaf_block(content) == unixfs_leaf_block(content)
    assert single_chunk_file_cid(content) == cid


@given(st.integers(min_value=0, max_value=CHUNK_SIZE))
def test_leaf_block_has_the_size_add_reports(length: int) -> None:
    data = b"\xa5" * length
    block = leaf_block(data)

    assert len(block) == file_cumulative_size(length)
    assert data in block
    assert digest_to_cid(hashlib.sha256(block).digest()) == single_chunk_file_cid(data)


def test_a_file_over_one_chunk_has_no_single_leaf() -> None:
    with pytest.raises(ValueError, match="several 262144-byte chunks"):
        leaf_block(b"\x00" * (CHUNK_SIZE + 1))
