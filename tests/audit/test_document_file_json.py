"""Reading a document file's JSON: the fast parser changes no answer.

`document_file._load_json` parses with jiter and hands anything jiter refuses to
`json.loads` (with duplicate member names refused), so every input must give
what `json.loads` alone gives: the same value, types included, or the same
error message. The reference below is the reader as it was before jiter.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger_client.audit import document_file
from ledger_client.audit.document_file import DocumentFileError, parse_document_file
from ledger_client.commitment import reject_duplicate_keys


def reference_outcome(raw: bytes | str) -> Any:
    try:
        return typed(json.loads(raw, object_pairs_hook=reject_duplicate_keys))
    except (ValueError, RecursionError) as exc:
        return ("refused", f"not a JSON document file: {exc}")


def outcome(raw: bytes | str) -> Any:
    try:
        return typed(document_file._load_json(raw, "a JSON document file"))
    except DocumentFileError as exc:
        return ("refused", str(exc))


def typed(value: Any) -> Any:
    """`value` with every type spelled out (1, 1.0 and True differ; -0.0 and NaN compare)."""
    if isinstance(value, dict):
        return ("object", [(key, typed(child)) for key, child in value.items()])
    if isinstance(value, list):
        return ("array", [typed(child) for child in value])
    if isinstance(value, float):
        return ("float", repr(value), math.copysign(1.0, value))
    return (type(value).__name__, value)


def assert_same(raw: bytes | str) -> None:
    assert outcome(raw) == reference_outcome(raw)


# Every code point, lone surrogates included (json.dumps writes them as \ud800
# escapes, or raw with ensure_ascii=False; both reach the fallback).
tricky_characters = st.sampled_from('\ud800\udfff\x00\x1f"\\\u2028\ufeff😀')
any_text = st.text(st.characters(exclude_categories=[]) | tricky_characters, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values, st.booleans(), st.sampled_from([None, 0, 2]))
def test_any_json_text_reads_as_json_loads_reads_it(
    value: Any, ascii_only: bool, indent: int | None
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert_same(text.encode("utf-8", "surrogatepass"))
    assert_same(text)


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "é", "a\\u0000"]), json_values), max_size=5),
    st.integers(0, 3),
)
def test_duplicate_member_names_are_refused_at_any_depth(
    members: list[tuple[str, Any]], depth: int
) -> None:
    body = "{" + ",".join(f'"{key}":{json.dumps(value)}' for key, value in members) + "}"
    assert_same(("[" * depth + body + "]" * depth).encode())


number_literals = st.from_regex(
    r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?", fullmatch=True
)


@given(number_literals)
@example("9007199254740993")
@example("0.1000000000000000055511151231257827021181583404541015625")
@example("2.2250738585072011e-308")
@example("1e400")
@example("-1e-400")
def test_numbers_read_as_json_loads_reads_them(literal: str) -> None:
    assert_same(f"[{literal}]".encode())
    assert_same(f'{{"n":{literal}}}'.encode())


SAMPLE = (
    b'{"a":[1,2.5,-0,-0.0,true,false,null,"x\\u00e9\\ud83d\\ude00"],'
    b'"b":{"c":"d","e":{}},"f":[],"g":"\\"\\\\/\\b\\f\\n\\r\\t"}'
)


@given(
    st.lists(
        st.tuples(
            st.integers(0, len(SAMPLE)),
            st.integers(0, 3),
            st.binary(max_size=3)
            | st.sampled_from([b'"', b"\\", b",", b":", b"{", b"}", b"[", b"]", b"\\u"]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_damaged_json_gets_the_same_answer(edits: list[tuple[int, int, bytes]]) -> None:
    raw = SAMPLE
    for at, cut, insert in edits:
        raw = raw[:at] + insert + raw[at + cut :]
    assert_same(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"\xef\xbb\xbf{}",
        "\ufeff{}",
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-32-le"),
        b"[NaN, Infinity, -Infinity]",
        b"[+1]",
        b"[01]",
        b"[1.]",
        b"[.5]",
        b"[1,]",
        b'{"a":1,}',
        b"[1] x",
        b'"\x00"',
        b'"\x1f"',
        b'"\x7f"',
        b'"\\ud800"',
        b'"\\udc00\\ud800"',
        b'"\xed\xa0\x80"',
        b'"\xff"',
        b'"\\u00"',
        b'"\\x41"',
        b"[1]\x0b",
        b"\x0c[1]",
        b"[10000000000000000000000000000000000000000]",
        b"[-9223372036854775809, 18446744073709551616]",
        b'{"a":1,"a":1}',
        b'{"a":{"b":1,"b":1}}',
        b'{"a":1,"\\u0061":2}',
        b"[" * 300 + b"]" * 300,
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 300 + b"1" + b"}" * 300,
    ],
)
def test_edge_cases_read_as_json_loads_reads_them(raw: bytes | str) -> None:
    assert_same(raw)


def test_a_document_file_with_a_duplicate_member_is_refused() -> None:
    raw = b'{"format":"cie-ledger/document-file/v1","format":"cie-ledger/document-file/v1"}'
    with pytest.raises(DocumentFileError, match="duplicate key 'format'"):
        parse_document_file(raw)
