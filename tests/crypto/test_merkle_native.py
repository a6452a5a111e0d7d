"""ledger_client._merkle (the commitment's hashing loops in C) against plain hashlib.

The whole rule is checked through `commit` in test_commitment.py; these pin the
two functions themselves: every tree shape (odd levels carried up), the inputs
they refuse, and that releasing the GIL while hashing cannot read freed memory.
"""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client import _merkle

PREFIX = b"\x00cie-ledger/commitment/v1/leaf"


def reference_tree_root(prefix: bytes, leaf_hashes: list[bytes]) -> bytes:
    level = sorted(leaf_hashes)
    while len(level) > 1:
        paired = [
            hashlib.sha256(prefix + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=300)), max_size=50))
def test_leaf_hashes_are_sha256_of_prefix_salt_and_tail(pairs: list[tuple[bytes, bytes]]) -> None:
    salts, tails = [s for s, _ in pairs], [t for _, t in pairs]
    assert _merkle.leaf_hashes(PREFIX, salts, tails) == [
        hashlib.sha256(PREFIX + s + t).digest() for s, t in pairs
    ]


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_tree_root_is_the_documented_tree(leaves: list[bytes]) -> None:
    assert _merkle.tree_root(b"\x01", leaves) == reference_tree_root(b"\x01", leaves)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1000])
def test_tree_root_at_every_shape_of_level(count: int) -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]
    assert _merkle.tree_root(b"\x01", leaves) == reference_tree_root(b"\x01", leaves)
    # The input list is read, not sorted in place.
    assert leaves == [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]


def test_any_iterable_is_taken_and_bad_input_is_refused_with_the_reason() -> None:
    salts, tails = [b"s" * 32, b"t" * 32], [b"a", b"b"]
    expected = _merkle.leaf_hashes(PREFIX, salts, tails)
    assert _merkle.leaf_hashes(PREFIX, iter(salts), (t for t in tails)) == expected
    assert _merkle.leaf_hashes(PREFIX, [], []) == []
    with pytest.raises(ValueError, match="2 salts for 1 leaves"):
        _merkle.leaf_hashes(PREFIX, salts, tails[:1])
    with pytest.raises(TypeError, match="leaf 1: salt and tail must be bytes, not bytes and str"):
        _merkle.leaf_hashes(PREFIX, salts, [b"a", "b"])
    with pytest.raises(TypeError):
        _merkle.leaf_hashes(PREFIX, 5, tails)
    with pytest.raises(ValueError, match="at least one leaf hash"):
        _merkle.tree_root(b"\x01", [])
    with pytest.raises(ValueError, match="leaf hash 1 is not 32 bytes"):
        _merkle.tree_root(b"\x01", [b"x" * 32, b"x" * 31])
    with pytest.raises(ValueError, match="leaf hash 0 is not 32 bytes"):
        _merkle.tree_root(b"\x01", ["x" * 32])


def test_lists_cleared_by_another_thread_while_hashing_do_not_change_the_result() -> None:
    # The loop runs without the GIL: the call must hold the salts and tails it
    # reads, not borrow them from lists another thread is free to clear (their
    # bytes would be freed and their memory reused by the garbage made below).
    count = 200_000  # tens of milliseconds of hashing, the copy a few
    salts = [hashlib.sha256(b"%d" % i).digest() for i in range(count)]
    tails = [b"tail-%d" % i * 8 for i in range(count)]
    expected = [hashlib.sha256(PREFIX + s + t).digest() for s, t in zip(salts, tails, strict=True)]

    def clear_and_reuse(*lists: list[bytes]) -> None:
        time.sleep(0.005)
        for items in lists:
            items.clear()
        garbage = [bytes([i % 256]) * 32 for i in range(2 * count)]
        del garbage

    for _ in range(3):
        # Copies (bytes(b) would be b itself): the lists hold the only references.
        shared_salts = [bytes(bytearray(s)) for s in salts]
        shared_tails = [bytes(bytearray(t)) for t in tails]
        worker = threading.Thread(target=clear_and_reuse, args=(shared_salts, shared_tails))
        worker.start()
        try:
            result = _merkle.leaf_hashes(PREFIX, shared_salts, shared_tails)
        except ValueError:  # the clearing came first (a loaded host): try again
            continue
        finally:
            worker.join()
        if result:  # [] too means the clearing came first
            assert result == expected
            return
    pytest.fail("the other thread cleared the lists before the call, three times")
