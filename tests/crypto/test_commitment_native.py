"""ledger_client._commitment (the commitment's hot loops in C) against Python.

The whole rule is checked through `commit` in test_commitment.py; these pin the
functions themselves: the flattening walk against the Python walk (keys that
need escaping, every value type, the documents it leaves to Python and the
errors), every tree shape (odd levels carried up), the inputs they refuse, and
that releasing the GIL while hashing cannot read freed memory.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_client import _commitment
from ledger_client.commitment import _flatten, _flatten_in_python, _scalar_json, commit
from ledger_client.errors import DocumentValidationError

PREFIX = b"\x00cie-ledger/commitment/v1/leaf"

# Keys and strings with what needs escaping in a pointer (~ /) or in JSON (" \\ and
# control characters), and beyond ASCII.
tricky_text = st.text(
    st.sampled_from('~/"\\\x00\x01\x08\t\n\x0c\r\x1f\x7f aé€😀') | st.characters(codec="utf-8"),
    max_size=8,
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(tricky_text, children, max_size=5)
    ),
    max_leaves=40,
)
documents = st.dictionaries(tricky_text, json_values, min_size=1, max_size=6)


def python_leaves(doc: object) -> tuple[list[str], list[bytes]]:
    leaves = _flatten_in_python(doc)  # type: ignore[arg-type]
    return leaves.pointers, leaves.tails


@given(documents)
def test_flatten_gives_the_python_walks_leaves(doc: dict[str, object]) -> None:
    assert _commitment.flatten(doc, _scalar_json) == python_leaves(doc)


class Members(dict[str, object]):
    pass


def nested(depth: int) -> dict[str, object]:
    doc: dict[str, object] = {"leaf": 1}
    for _ in range(depth):
        doc = {"n": doc}
    return doc


@pytest.mark.parametrize(
    "doc",
    [
        {"a": (1, 2)},  # a tuple
        {"a": Members(b=1)},  # a dict subclass
        Members(a=1),
        {"a": {1: "x"}},  # a non-string key
        {"a\ud800": 1},  # a lone surrogate in a key
        {"a": ["x", True]},  # (fast: the control case)
        nested(450),  # deeper than the C walk goes
        {},
    ],
    ids=[
        "tuple",
        "dict-subclass",
        "root-subclass",
        "int-key",
        "surrogate-key",
        "plain",
        "deep",
        "empty",
    ],
)
def test_what_the_c_walk_leaves_to_python_comes_out_the_same(doc: dict[str, object]) -> None:
    fast = _commitment.flatten(doc, _scalar_json)
    if fast is not None:
        assert fast == python_leaves(doc)
    else:
        try:
            expected: object = python_leaves(doc)
        except DocumentValidationError as exc:
            with pytest.raises(DocumentValidationError, match="^" + re.escape(str(exc)) + "$"):
                _flatten(doc)
        else:
            leaves = _flatten(doc)
            assert (leaves.pointers, leaves.tails) == expected
    assert (fast is None) == (doc.get("a") != ["x", True])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), "field /a/0 holds nan, which JSON cannot"),
        (float("inf"), "field /a/0 holds inf, which JSON cannot"),
        (2**53, "field /a/0 holds integer 9007199254740992 beyond"),
        (-(2**70), "field /a/0 holds integer -1180591620717411303424 beyond"),
        ("x\udfff", "field /a/0 holds a string that is not valid Unicode|field /a/0 \\(its name"),
    ],
)
def test_values_json_cannot_hold_are_refused_naming_the_field(value: object, reason: str) -> None:
    with pytest.raises(DocumentValidationError, match=reason):
        commit({"a": [value]}, 1, "1.0")


def test_floats_and_edge_integers_are_encoded_as_rfc8785_says() -> None:
    doc = {"f": [0.1, 1e21, -0.0, 5e-324, 2.0], "i": [2**53 - 1, -(2**53) + 1, 0, -1]}
    pointers, tails = _commitment.flatten(doc, _scalar_json) or ([], [])
    assert (pointers, tails) == python_leaves(doc)
    assert [t.rsplit(b"]", 1)[1] for t in tails] == [
        b"0.1", b"1e+21", b"0", b"5e-324", b"2",
        b"9007199254740991", b"-9007199254740991", b"0", b"-1",
    ]  # fmt: skip


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
    assert _commitment.leaf_hashes(PREFIX, salts, tails) == [
        hashlib.sha256(PREFIX + s + t).digest() for s, t in pairs
    ]


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_tree_root_is_the_documented_tree(leaves: list[bytes]) -> None:
    assert _commitment.tree_root(b"\x01", leaves) == reference_tree_root(b"\x01", leaves)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1000])
def test_tree_root_at_every_shape_of_level(count: int) -> None:
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]
    assert _commitment.tree_root(b"\x01", leaves) == reference_tree_root(b"\x01", leaves)
    # The input list is read, not sorted in place.
    assert leaves == [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(count)]


def test_any_iterable_is_taken_and_bad_input_is_refused_with_the_reason() -> None:
    salts, tails = [b"s" * 32, b"t" * 32], [b"a", b"b"]
    expected = _commitment.leaf_hashes(PREFIX, salts, tails)
    assert _commitment.leaf_hashes(PREFIX, iter(salts), (t for t in tails)) == expected
    assert _commitment.leaf_hashes(PREFIX, [], []) == []
    with pytest.raises(ValueError, match="2 salts for 1 leaves"):
        _commitment.leaf_hashes(PREFIX, salts, tails[:1])
    with pytest.raises(TypeError, match="leaf 1: salt and tail must be bytes, not bytes and str"):
        _commitment.leaf_hashes(PREFIX, salts, [b"a", "b"])
    with pytest.raises(TypeError):
        _commitment.leaf_hashes(PREFIX, 5, tails)
    with pytest.raises(ValueError, match="at least one leaf hash"):
        _commitment.tree_root(b"\x01", [])
    with pytest.raises(ValueError, match="leaf hash 1 is not 32 bytes"):
        _commitment.tree_root(b"\x01", [b"x" * 32, b"x" * 31])
    with pytest.raises(ValueError, match="leaf hash 0 is not 32 bytes"):
        _commitment.tree_root(b"\x01", ["x" * 32])


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
            result = _commitment.leaf_hashes(PREFIX, shared_salts, shared_tails)
        except ValueError:  # the clearing came first (a loaded host): try again
            continue
        finally:
            worker.join()
        if result:  # [] too means the clearing came first
            assert result == expected
            return
    pytest.fail("the other thread cleared the lists before the call, three times")
