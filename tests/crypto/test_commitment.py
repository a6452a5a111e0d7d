"""Salted per-field commitments and selective disclosure (ledger_client.commitment).

A reference implementation written from the module docstring (with rfc8785 for
every encoding) pins the spec to the code; the properties below each break if
the matching part of the rule is dropped.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger_client import commitment as cm
from ledger_client.commitment import (
    DocumentCommitment,
    RedactedDocument,
    RedactionError,
    canonical_json,
    commit,
    decode_salts,
    encode_salts,
    redact,
    root_of_redacted,
    verify_full,
    verify_redacted,
)
from ledger_client.errors import DocumentValidationError, VerificationError

# ------------------------------------------------------------------ strategies

SAFE_INT = 2**53 - 1
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-SAFE_INT, SAFE_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)
documents = st.dictionaries(st.text(max_size=6), json_values, max_size=6)
doc_types = st.integers(0, 2**32 - 1)
schema_versions = st.text(min_size=1, max_size=10).filter(lambda s: len(s.encode()) <= 64)


def leaves_of(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(typed path, value) of every leaf, written independently of the module."""
    if isinstance(node, dict) and node:
        for key, child in node.items():
            yield from leaves_of(child, (*path, key))
    elif isinstance(node, list) and node:
        for index, child in enumerate(node):
            yield from leaves_of(child, (*path, index))
    else:
        yield path, node


def pointer(path: tuple[Any, ...]) -> str:
    return "".join(
        "/" + (str(s).replace("~", "~0").replace("/", "~1") if isinstance(s, str) else str(s))
        for s in path
    )


def reference_root(
    doc: dict[str, Any], doc_type: int, version: str, salts: dict[str, bytes]
) -> bytes:
    """The commitment rule of the module docstring, step by step, with rfc8785."""

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    leaf_hashes = []
    for path, value in leaves_of(doc):
        p = rfc8785.dumps(list(path))
        v = rfc8785.dumps(value)
        salt = salts[pointer(path)]
        leaf_hashes.append(
            sha(b"\x00cie-ledger/commitment/v1/leaf" + salt + len(p).to_bytes(4, "big") + p + v)
        )
    level = sorted(leaf_hashes)
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    s = version.encode()
    return sha(
        b"\x02cie-ledger/commitment/v1/root"
        + doc_type.to_bytes(4, "big")
        + len(s).to_bytes(4, "big")
        + s
        + len(leaf_hashes).to_bytes(4, "big")
        + level[0]
    )


def fixed_salts(doc: dict[str, Any]) -> dict[str, bytes]:
    return {
        pointer(path): hashlib.sha256(pointer(path).encode()).digest() for path, _ in leaves_of(doc)
    }


MANIFEST: dict[str, Any] = {
    "documentId": "0x" + "ab" * 32,
    "issuer": {"economy": "SG", "name": "Singapore Customs"},
    "consignee": {"name": "Foo GmbH", "aeo": False, "id": "DE123456789"},
    "transport": {"mode": 1, "vessel": "MSC ANNA", "eta": "2024-05-01T10:00:00Z"},
    "items": [
        {"line": 1, "hsCode": "850440", "grossKg": 12.5, "marks": [], "extra": {}},
        {"line": 2, "hsCode": "850490", "grossKg": 3.25, "origin": None, "dg": True},
    ],
    "a/b~c": "escaped key",
}


# -------------------------------------------------------------- the rule itself


@given(documents, doc_types, schema_versions)
def test_commit_follows_the_documented_rule(
    doc: dict[str, Any], doc_type: int, version: str
) -> None:
    salts = fixed_salts(doc)
    assert commit(doc, doc_type, version, salts).root == reference_root(
        doc, doc_type, version, salts
    )


def test_threads_committing_at_once_get_the_same_roots() -> None:
    # The hashing loops (ledger_client._commitment) run with the GIL released.
    docs = [{**MANIFEST, "n": i, "items": MANIFEST["items"] * (i % 5 + 1)} for i in range(40)]
    salts = [fixed_salts(doc) for doc in docs]
    expected = [reference_root(doc, 1, "1.0", s) for doc, s in zip(docs, salts, strict=True)]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            roots = pool.map(lambda doc, s: commit(doc, 1, "1.0", s).root, docs, salts)
            assert list(roots) == expected


def test_known_answer_vector() -> None:
    # Pinned output for a fixed document and salts (salt = SHA-256 of the
    # pointer): any change to the rule, intended or not, changes this value.
    salts = fixed_salts(MANIFEST)
    root = commit(MANIFEST, 7, "1.0", salts).root
    assert root == reference_root(MANIFEST, 7, "1.0", salts)
    assert root.hex() == "29f20d453d9e00f0ab670c12ae1de4a5242eb110288b75b7105c16f5d6b3790d"


@given(
    st.text(max_size=40)
    | st.integers(-SAFE_INT, SAFE_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
)
def test_leaf_value_fast_paths_equal_rfc8785(value: Any) -> None:
    assert cm._scalar_json(value, "/x") == rfc8785.dumps(value)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=20))
def test_string_encoder_equals_rfc8785_on_control_and_escape_characters(value: str) -> None:
    # Biased alphabet: control characters, quotes and backslashes are where
    # JSON encoders differ.
    assert cm._encode_json_string(value).encode() == rfc8785.dumps(value)


def test_canonical_json_is_rfc8785() -> None:
    assert canonical_json({"b": 1, "a": [1.0, "é", None]}) == b'{"a":[1,"\xc3\xa9",null],"b":1}'


# Keys where code-point order and RFC 8785's UTF-16 order differ (U+E000..U+FFFF
# against characters beyond the BMP), control characters, quotes and lone
# surrogates; values with floats, unsafe integers and tuples: all leave the
# C-encoder fast path of `canonical_json` for rfc8785, or must equal it there.
awkward_text = st.text(
    alphabet=st.sampled_from('aZ_/~"\\\x00\x1f\x7fé\ue000\uffff\U0001f600\U00010000\ud800'),
    max_size=6,
)
canonical_values = st.recursive(
    json_scalars | awkward_text | st.integers() | st.booleans(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6) | awkward_text, children, max_size=5)
    ),
    max_leaves=20,
)


@given(canonical_values)
def test_canonical_json_equals_rfc8785_or_refuses_what_it_refuses(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # a lone surrogate in a key
        with pytest.raises(DocumentValidationError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_canonical_json_sorts_keys_by_utf16_code_units_not_code_points() -> None:
    # U+E000 sorts after U+1F600 in UTF-16 (D83D DE00 < E000), before it by code point.
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == rfc8785.dumps(
        {"\U0001f600": 2, "\ue000": 1}
    )
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}).index(b"\xf0") == 2


def test_canonical_json_refuses_a_lone_surrogate_and_an_unsafe_integer() -> None:
    with pytest.raises(DocumentValidationError):
        canonical_json({"a": "\ud800"})
    with pytest.raises(DocumentValidationError):
        canonical_json({"\ud800": "a"})
    with pytest.raises(DocumentValidationError):
        canonical_json({"a": [2**53]})


# ------------------------------------------------------------ determinism


@given(documents)
def test_commit_is_deterministic_given_salts_and_fresh_otherwise(doc: dict[str, Any]) -> None:
    first = commit(doc, 1, "1.0")
    again = commit(doc, 1, "1.0", first.salts)
    fresh = commit(doc, 1, "1.0")
    assert again.root == first.root
    assert fresh.root != first.root
    assert set(fresh.salts) == set(first.salts)
    assert all(fresh.salts[p] != first.salts[p] for p in first.salts)
    assert all(len(s) == 32 for s in first.salts.values())


def reorder(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: reorder(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [reorder(v) for v in node]
    return node


@given(documents)
def test_key_order_does_not_matter(doc: dict[str, Any]) -> None:
    c = commit(doc, 1, "1.0")
    shuffled = reorder(doc)
    assert commit(shuffled, 1, "1.0", c.salts).root == c.root
    verify_full(shuffled, 1, "1.0", c.salts, c.root)


# ------------------------------------------------------- binding of every part


def set_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    node = doc
    for segment in path[:-1]:
        node = node[segment]
    node[path[-1]] = value
    return doc


@given(documents.filter(bool), st.data())
def test_changing_any_leaf_value_changes_the_root(doc: dict[str, Any], data: st.DataObject) -> None:
    c = commit(doc, 1, "1.0")
    path, old = data.draw(st.sampled_from(list(leaves_of(doc))))
    new: Any = data.draw(json_scalars | st.just({}) | st.just([]))
    assume(rfc8785.dumps(new) != rfc8785.dumps(old))
    changed = set_at(doc, path, new)
    assert commit(changed, 1, "1.0", c.salts).root != c.root
    with pytest.raises(VerificationError) as failure:
        verify_full(changed, 1, "1.0", c.salts, c.root)
    assert failure.value.check == "commitment"


@given(documents.filter(bool), st.data())
def test_moving_a_value_to_another_path_changes_the_root_even_with_its_salt(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    c = commit(doc, 1, "1.0")
    path, _ = data.draw(st.sampled_from([leaf for leaf in leaves_of(doc) if leaf[0]]))
    parent = doc
    for segment in path[:-1]:
        parent = parent[segment]
    assume(isinstance(parent, dict))
    new_key = data.draw(st.text(max_size=6).filter(lambda k: k not in parent))
    renamed = copy.deepcopy(doc)
    node = renamed
    for segment in path[:-1]:
        node = node[segment]
    node[new_key] = node.pop(path[-1])
    # Give every moved leaf the salt it had before, so only the path differs.
    old_prefix, new_prefix = pointer(path), pointer((*path[:-1], new_key))
    salts = {
        (
            new_prefix + p[len(old_prefix) :]
            if p == old_prefix or p.startswith(old_prefix + "/")
            else p
        ): s
        for p, s in c.salts.items()
    }
    assert commit(renamed, 1, "1.0", salts).root != c.root


def test_object_with_index_like_keys_differs_from_array() -> None:
    # Same JSON Pointers ("/a/0"), same salts: only the typed path tells them apart.
    as_object, as_array = {"a": {"0": 1}}, {"a": [1]}
    salts = {"/a/0": b"\x11" * 32}
    assert commit(as_object, 1, "1", salts).root != commit(as_array, 1, "1", salts).root


def test_empty_containers_are_committed() -> None:
    roots = set()
    doc: dict[str, Any]
    for doc in ({}, {"a": {}}, {"a": []}, {"a": None}, {"a": {"b": {}}}):
        roots.add(reference_root(doc, 1, "1", fixed_salts(doc)))
        assert commit(doc, 1, "1", fixed_salts(doc)).root == reference_root(
            doc, 1, "1", fixed_salts(doc)
        )
    assert len(roots) == 5


@given(documents, doc_types, doc_types, schema_versions, schema_versions)
def test_type_code_and_schema_version_are_bound(
    doc: dict[str, Any], type_a: int, type_b: int, version_a: str, version_b: str
) -> None:
    c = commit(doc, type_a, version_a)
    if type_a != type_b:
        assert commit(doc, type_b, version_a, c.salts).root != c.root
    if version_a != version_b:
        assert commit(doc, type_a, version_b, c.salts).root != c.root


def test_verify_full_names_fields_that_do_not_fit_the_salts() -> None:
    c = commit(MANIFEST, 1, "1.0")
    added = {**MANIFEST, "remarks": "late addition"}
    with pytest.raises(VerificationError, match="/remarks") as failure:
        verify_full(added, 1, "1.0", c.salts, c.root)
    assert failure.value.check == "commitment"
    removed = {k: v for k, v in MANIFEST.items() if k != "consignee"}
    with pytest.raises(VerificationError, match="/consignee/name"):
        verify_full(removed, 1, "1.0", c.salts, c.root)
    with pytest.raises(VerificationError, match="document type"):
        verify_full(MANIFEST, 2, "1.0", c.salts, c.root)
    assert verify_full(MANIFEST, 1, "1.0", c.salts, c.root).root == c.root


@pytest.mark.parametrize(
    "bad",
    [
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": 2**53},
        {"x": {1, 2}},
        {"x": {1: "non-string key"}},
        {"x": "\ud800"},
        {"\udc00": 1},
        {"x": b"bytes"},
        ["not", "an", "object"],
    ],
)
def test_non_json_input_is_rejected_with_a_validation_error(bad: Any) -> None:
    with pytest.raises(DocumentValidationError):
        commit(bad, 1, "1.0")


class _Code(enum.IntEnum):
    SEVEN = 7


@pytest.mark.parametrize(
    "value",
    [0, -0, 1, -1, SAFE_INT, -SAFE_INT, True, False, None, _Code.SEVEN, 1.0, -0.0, 0.5, "", {}, []],
)
def test_leaf_values_inlined_in_the_walk_commit_as_the_rule_says(value: Any) -> None:
    # The walk encodes the common scalars itself (not through _scalar_json);
    # at the boundaries and for int/bool subclasses it must still follow the rule.
    doc = {"x": value, "nested": [{"y": value}]}
    salts = fixed_salts(doc)
    assert commit(doc, 1, "1.0", salts).root == reference_root(doc, 1, "1.0", salts)


@pytest.mark.parametrize("value", [SAFE_INT + 1, -SAFE_INT - 1, 2**64])
def test_unsafe_integers_are_refused_with_the_field_named(value: int) -> None:
    with pytest.raises(DocumentValidationError, match=rf"field /a/0 holds integer {value} beyond"):
        commit({"a": [value]}, 1, "1.0")


def test_header_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        commit({"a": 1}, -1, "1.0")
    with pytest.raises(ValueError):
        commit({"a": 1}, 1, "")
    with pytest.raises(TypeError):
        commit({"a": 1}, True, "1.0")


def test_salts_survive_their_wire_form_and_bad_ones_are_rejected() -> None:
    c = commit(MANIFEST, 1, "1.0")
    wire = json.loads(json.dumps(encode_salts(c.salts)))
    assert decode_salts(wire) == c.salts
    for broken in ({"/a": "00"}, {"/a": "G" * 64}, {"/a": 5}, ["not", "a", "mapping"]):
        with pytest.raises(VerificationError):
            decode_salts(broken)  # type: ignore[arg-type]


def test_salts_never_appear_in_repr() -> None:
    c = commit(MANIFEST, 1, "1.0")
    text = repr(c)
    assert all(salt.hex() not in text for salt in c.salts.values())
    redacted = redact(MANIFEST, c, [])
    assert all(salt.hex() not in repr(redacted) for salt in c.salts.values())


# ------------------------------------------------------------------- redaction


@given(documents, st.data())
def test_any_subset_of_hidden_fields_verifies_and_tampering_fails(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    c = commit(doc, 3, "2.1")
    pointers = list(c.salts)
    hide = data.draw(st.lists(st.sampled_from(pointers), unique=True))
    redacted = RedactedDocument.from_json(redact(doc, c, hide).to_json())
    verify_redacted(redacted, c.root)
    assert len(redacted.disclosed) + len(redacted.hidden_leaf_hashes) == len(pointers)
    assert set(redacted.disclosed_fields) == set(pointers) - set(hide)
    for leaf in redacted.disclosed:
        assert leaf.pointer not in hide

    if redacted.disclosed:
        index = data.draw(st.integers(0, len(redacted.disclosed) - 1))
        leaf = redacted.disclosed[index]
        new_value: Any = data.draw(json_scalars | st.just({}) | st.just([]))
        if rfc8785.dumps(new_value) != rfc8785.dumps(leaf.value):
            altered = list(redacted.disclosed)
            altered[index] = cm.DisclosedLeaf(leaf.path, leaf.salt, new_value)
            forged = RedactedDocument(3, "2.1", tuple(altered), redacted.hidden_leaf_hashes)
            with pytest.raises(VerificationError):
                verify_redacted(forged, c.root)
        reseeded = list(redacted.disclosed)
        reseeded[index] = cm.DisclosedLeaf(leaf.path, bytes(32), leaf.value)
        with pytest.raises(VerificationError):
            verify_redacted(
                RedactedDocument(3, "2.1", tuple(reseeded), redacted.hidden_leaf_hashes), c.root
            )
    if redacted.hidden_leaf_hashes:
        index = data.draw(st.integers(0, len(redacted.hidden_leaf_hashes) - 1))
        bit = data.draw(st.integers(0, 255))
        hashes = list(redacted.hidden_leaf_hashes)
        flipped = bytearray(hashes[index])
        flipped[bit // 8] ^= 1 << (bit % 8)
        hashes[index] = bytes(flipped)
        with pytest.raises(VerificationError):
            verify_redacted(RedactedDocument(3, "2.1", redacted.disclosed, tuple(hashes)), c.root)
        with pytest.raises(VerificationError):
            verify_redacted(
                RedactedDocument(3, "2.1", redacted.disclosed, redacted.hidden_leaf_hashes[1:]),
                c.root,
            )
    with pytest.raises(VerificationError):
        verify_redacted(
            RedactedDocument(4, "2.1", redacted.disclosed, redacted.hidden_leaf_hashes), c.root
        )


def test_hiding_a_prefix_hides_everything_below_it_and_nothing_else() -> None:
    c = commit(MANIFEST, 1, "1.0")
    redacted = redact(MANIFEST, c, ["/consignee", "/items/1"])
    visible = redacted.disclosed_fields
    assert not any(p.startswith(("/consignee/", "/items/1/")) for p in visible)
    assert visible["/items/0/hsCode"] == "850440"
    assert visible["/issuer/name"] == "Singapore Customs"
    assert visible["/a~1b~0c"] == "escaped key"
    assert visible["/items/0/marks"] == [] and visible["/items/0/extra"] == {}
    # "/items/1" must not swallow "/items/10..." style siblings: prefix is per segment.
    many = {"items": list(range(12))}
    cm_many = commit(many, 1, "1")
    assert set(redact(many, cm_many, ["/items/1"]).disclosed_fields) == {
        f"/items/{i}" for i in range(12) if i != 1
    }
    everything = redact(MANIFEST, c, [""])
    assert not everything.disclosed
    verify_redacted(everything, c.root)
    verify_redacted(redacted, c.root)


def test_hiding_an_unknown_pointer_is_refused() -> None:
    c = commit(MANIFEST, 1, "1.0")
    with pytest.raises(RedactionError, match="/consigne"):
        redact(MANIFEST, c, ["/consigne"])
    with pytest.raises(RedactionError):
        redact(MANIFEST, c, ["consignee"])


def test_redact_refuses_a_document_that_does_not_match_the_commitment() -> None:
    c = commit(MANIFEST, 1, "1.0")
    changed = set_at(MANIFEST, ("issuer", "name"), "Other")
    with pytest.raises(VerificationError):
        redact(changed, c, ["/consignee"])


def test_hidden_hashes_cannot_stand_in_for_a_subtree() -> None:
    # Collapsing two hidden leaves into their parent node keeps the Merkle
    # root; only the leaf count bound into the root exposes the forgery.
    doc = {"a": 1, "b": 2, "c": 3}
    for _ in range(200):
        c = commit(doc, 1, "1")
        hidden = redact(doc, c, [""]).hidden_leaf_hashes
        parent = hashlib.sha256(b"\x01" + hidden[0] + hidden[1]).digest()
        if parent < hidden[2]:  # then the forged pair sorts like the real tree
            break
    forged = RedactedDocument(1, "1", (), (parent, hidden[2]))
    assert cm._tree_root(list(forged.hidden_leaf_hashes)) == cm._tree_root(list(hidden))
    with pytest.raises(VerificationError):
        verify_redacted(forged, c.root)


def test_disclosure_file_is_deterministic_json_and_malformed_files_are_rejected() -> None:
    c = commit(MANIFEST, 1, "1.0")
    blob = redact(MANIFEST, c, ["/consignee"]).to_json()
    parsed = json.loads(blob)
    assert parsed["format"] == "cie-ledger/disclosure/v1"
    assert RedactedDocument.from_json(blob).to_json() == blob
    bad_files = [
        b"not json",
        b"[]",
        blob.replace(b"cie-ledger/disclosure/v1", b"cie-ledger/disclosure/v9"),
        blob.replace(b'"docType":1', b'"docType":1,"docType":2'),
        blob.replace(b'"docType":1', b'"docType":-1'),
        blob.replace(b'"docType":1', b'"docType":NaN'),
        json.dumps({**parsed, "extra": 1}).encode(),
        json.dumps({**parsed, "disclosed": [{"path": ["a"], "salt": "00", "value": 1}]}).encode(),
        json.dumps(
            {**parsed, "disclosed": [{"path": ["a"], "salt": "0" * 64, "value": {"x": 1}}]}
        ).encode(),
        json.dumps(
            {**parsed, "disclosed": [{"path": [True], "salt": "0" * 64, "value": 1}]}
        ).encode(),
        json.dumps({**parsed, "hiddenLeafHashes": ["zz"]}).encode(),
    ]
    for bad in bad_files:
        with pytest.raises(VerificationError) as failure:
            RedactedDocument.from_json(bad)
        assert failure.value.check == "commitment"


@given(st.data())
def test_any_byte_change_of_a_disclosure_file_is_rejected(data: st.DataObject) -> None:
    c = commit(MANIFEST, 1, "1.0")
    blob = bytearray(redact(MANIFEST, c, ["/consignee", "/items/0/grossKg"]).to_json())
    position = data.draw(st.integers(0, len(blob) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    blob[position] = replacement
    with pytest.raises((VerificationError, DocumentValidationError)):
        verify_redacted(RedactedDocument.from_json(bytes(blob)), c.root)


def test_large_numbers_round_trip_and_only_their_canonical_literal_is_accepted() -> None:
    # 2.0**53 is written as the integer literal 9007199254740992; 9007199254740993
    # would parse to the same double, so accepting it would let two different
    # files verify as the same disclosure.
    doc = {"weight": 2.0**53, "big": 2.345558144663831e16}
    c = commit(doc, 1, "1")
    blob = redact(doc, c, []).to_json()
    assert b"9007199254740992" in blob
    verify_redacted(RedactedDocument.from_json(blob), c.root)
    with pytest.raises(VerificationError, match="canonical"):
        RedactedDocument.from_json(blob.replace(b"9007199254740992", b"9007199254740993"))


def test_duplicate_disclosed_field_is_rejected() -> None:
    c = commit(MANIFEST, 1, "1.0")
    r = redact(MANIFEST, c, ["/consignee"])
    doubled = RedactedDocument(1, "1.0", (*r.disclosed, r.disclosed[0]), r.hidden_leaf_hashes)
    with pytest.raises(VerificationError, match="twice"):
        verify_redacted(doubled, c.root)


# ----------------------------------------------------------- dictionary attack

TEMPLATE: dict[str, Any] = {
    "type": "certificate-of-origin",
    "exporter": "ACME Pte Ltd",
    "hsCode": "850440",
    "originCriterion": "WO",
    "quantity": None,  # the only unknown: 1..1000
}


def candidates() -> Iterator[dict[str, Any]]:
    for quantity in range(1, 1001):
        yield {**TEMPLATE, "quantity": quantity}


def dictionary_attack(root: bytes, hash_candidate: Any) -> list[dict[str, Any]]:
    return [doc for doc in candidates() if hash_candidate(doc) == root]


def test_dictionary_attack_fails_against_the_salted_root_but_works_without_salts() -> None:
    secret = {**TEMPLATE, "quantity": 637}

    # The attack harness works: against a plain (unsalted) hash of the
    # canonical document it finds the secret quantity.
    unsalted_root = hashlib.sha256(canonical_json(secret)).digest()
    found = dictionary_attack(unsalted_root, lambda d: hashlib.sha256(canonical_json(d)).digest())
    assert found == [secret]

    # It also works against our commitment if the salts leak (they must not).
    c = commit(secret, 1, "1.0")
    leaked = dictionary_attack(c.root, lambda d: commit(d, 1, "1.0", c.salts).root)
    assert leaked == [secret]

    # Without the salts, no guess (attacker-chosen zero salts or fresh ones) matches.
    zero_salts = {p: bytes(32) for p in c.salts}
    assert dictionary_attack(c.root, lambda d: commit(d, 1, "1.0", zero_salts).root) == []
    assert dictionary_attack(c.root, lambda d: commit(d, 1, "1.0").root) == []

    # A redacted copy hiding the quantity leaks no more than the root does.
    hidden_hash = redact(secret, c, ["/quantity"]).hidden_leaf_hashes[0]
    path = rfc8785.dumps(["quantity"])
    guesses = [
        hashlib.sha256(
            b"\x00cie-ledger/commitment/v1/leaf"
            + bytes(32)
            + len(path).to_bytes(4, "big")
            + path
            + rfc8785.dumps(q)
        ).digest()
        for q in range(1, 1001)
    ]
    assert hidden_hash not in guesses


def test_commitment_dataclass_shape() -> None:
    c = commit(MANIFEST, 5, "1.0")
    assert isinstance(c, DocumentCommitment)
    assert len(c.root) == 32 and c.doc_type == 5 and c.schema_version == "1.0"
    assert root_of_redacted(redact(MANIFEST, c, ["/items"])) == c.root
