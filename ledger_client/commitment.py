"""Canonical form of documents, their salted per-field commitment, and selective disclosure.

This module owns the 32-byte value the registry anchors for a document (its
*commitment*), the salts that make it unguessable, and the redacted copies
("disclosure files") an auditor can verify against the chain without seeing the
hidden fields. It knows nothing of the document models: documents arrive as
JSON-compatible dicts (pydantic ``model_dump(mode="json")``).

Commitment rule, version 1 (enough to recompute it elsewhere)
-------------------------------------------------------------
``H`` is SHA-256, ``u32(n)`` is ``n`` as 4 bytes big-endian, ``JCS(x)`` is the
RFC 8785 canonical JSON of ``x`` as UTF-8 bytes, ``||`` is concatenation.

1. **Leaves.** Walk the document (a JSON object). Every scalar (null, boolean,
   number, string) is a leaf, and so is every *empty* object or array (so that
   ``{"a": {}}`` and ``{}`` differ). A non-empty object or array is never a leaf
   itself; its members are. Each leaf has

   * a *pointer*: its RFC 6901 JSON Pointer (``/consignment/items/0/hsCode``;
     ``""`` for an empty top-level document). Salts are keyed by pointer.
   * a *typed path*: the JSON array of its path segments, object member names as
     strings and array indices as integers (``["consignment","items",0,"hsCode"]``).
     The leaf hash uses the typed path, not the pointer, because a pointer cannot
     tell ``{"a": {"0": 1}}`` from ``{"a": [1]}``.
   * a *salt*: 32 random bytes, independent per leaf, fresh per commitment.

   ``leaf = H(0x00 || "cie-ledger/commitment/v1/leaf" || salt || u32(len(P)) || P || V)``
   with ``P = JCS(typed path)`` and ``V = JCS(value)``. The tag and salt have fixed
   lengths, ``P`` is length-prefixed and ``V`` runs to the end, so the encoding is
   injective: no two (salt, path, value) triples hash the same input.

   Numbers follow JSON semantics: ``1`` and ``1.0`` are the same value; integers
   beyond +-(2**53 - 1) are rejected (send them as strings).

2. **Tree.** Sort the leaf hashes bytewise ascending (so member order never
   matters). While more than one node remains, replace each consecutive pair
   ``(l, r)`` by ``H(0x01 || l || r)``; an odd last node moves up unchanged.
   The single node left is the tree root.

3. **Root** (the anchored commitment), binding the header so a root cannot be
   replayed as another document type or schema version, and binding the leaf
   count so a presented hash cannot stand in for a whole subtree:

   ``root = H(0x02 || "cie-ledger/commitment/v1/root" || u32(doc_type)
   || u32(len(S)) || S || u32(leaf_count) || tree_root)`` with ``S`` the UTF-8
   schema version string.

Why salts: the chain sees only the root. Many documents follow a known template
with a handful of unknowns; without salts anyone could hash candidates until one
matches. Salts travel only inside the encrypted payload (see `encode_salts`).

Selective disclosure: a redacted copy keeps the visible leaves with their salts
and replaces every hidden leaf by its leaf hash. Anyone can recompute the root
from it; hidden values stay unguessable because their salts stay hidden. A
redacted copy reveals how many leaves were hidden and, through the visible
pointers, some of the document's shape (e.g. array indices).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import rfc8785

from ledger_client import _commitment
from ledger_client.errors import DocumentValidationError, LedgerClientError, VerificationError

__all__ = [
    "DisclosedLeaf",
    "DocumentCommitment",
    "RedactedDocument",
    "RedactionError",
    "canonical_json",
    "commit",
    "decode_salts",
    "encode_salts",
    "redact",
    "reject_duplicate_keys",
    "root_of_redacted",
    "verify_full",
    "verify_redacted",
]

JsonValue: TypeAlias = Any
"""A JSON-compatible value (None, bool, int, float, str, list, dict with str keys)."""

PathSegment: TypeAlias = str | int

SALT_BYTES: Final = 32
MAX_DOC_TYPE: Final = 2**32 - 1
MAX_SCHEMA_VERSION_BYTES: Final = 64
# JSON numbers are IEEE doubles; larger integers would not survive a round trip
# through other JSON implementations, and RFC 8785 refuses them.
MAX_SAFE_INTEGER: Final = 2**53 - 1
DISCLOSURE_FORMAT: Final = "cie-ledger/disclosure/v1"
# Disclosure files come from outside; bound what we are willing to parse.
MAX_DISCLOSURE_BYTES: Final = 16 * 1024 * 1024
MAX_DISCLOSURE_LEAVES: Final = 100_000

_LEAF_PREFIX: Final = b"\x00" + b"cie-ledger/commitment/v1/leaf"
_NODE_PREFIX: Final = b"\x01"
_ROOT_PREFIX: Final = b"\x02" + b"cie-ledger/commitment/v1/root"
_HEX_32: Final = re.compile(r"[0-9a-f]{64}")

_sha256 = hashlib.sha256
_u32: Callable[[int], bytes] = struct.Struct(">I").pack
_PLAIN_SCALAR_TYPES: Final = frozenset({int, float, bool, type(None)})
# The C string encoder behind json.dumps(ensure_ascii=False): escapes exactly
# '"', '\\', and U+0000..U+001F (short forms for \\b \\t \\n \\f \\r, else \\u00xx
# lowercase), as RFC 8785 section 3.2.2.2 requires; tests check it against rfc8785.
_encode_json_string: Callable[[str], str] = json.encoder.encode_basestring


class RedactionError(LedgerClientError, ValueError):
    """A hide pointer names no field of the document (a typo would disclose data)."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class DocumentCommitment:
    """The anchored root of one document plus what is needed to recompute it.

    `salts` maps each leaf's JSON Pointer to its 32-byte salt. They are secret
    (they unlock dictionary attacks on the root), hence kept out of the repr.
    """

    root: bytes
    salts: Mapping[str, bytes] = field(repr=False)
    doc_type: int
    schema_version: str


@dataclass(frozen=True)
class DisclosedLeaf:
    """One visible field of a redacted document."""

    path: tuple[PathSegment, ...]
    salt: bytes = field(repr=False)
    value: JsonValue

    @property
    def pointer(self) -> str:
        return _pointer_of(self.path)


@dataclass(frozen=True)
class RedactedDocument:
    """A document with some fields replaced by their leaf hashes.

    Verifies against the same root as the full document (`verify_redacted`).
    `to_json` gives the disclosure file handed to an auditor.
    """

    doc_type: int
    schema_version: str
    disclosed: tuple[DisclosedLeaf, ...]
    hidden_leaf_hashes: tuple[bytes, ...]

    @property
    def disclosed_fields(self) -> dict[str, JsonValue]:
        """Visible values keyed by JSON Pointer."""
        return {leaf.pointer: leaf.value for leaf in self.disclosed}

    def to_json(self) -> bytes:
        """The disclosure file: canonical JSON, so equal contents give equal bytes."""
        return canonical_json(
            {
                "format": DISCLOSURE_FORMAT,
                "docType": self.doc_type,
                "schemaVersion": self.schema_version,
                "disclosed": [
                    {"path": list(leaf.path), "salt": leaf.salt.hex(), "value": leaf.value}
                    for leaf in self.disclosed
                ],
                "hiddenLeafHashes": [digest.hex() for digest in self.hidden_leaf_hashes],
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> RedactedDocument:
        """Parse a disclosure file; anything malformed raises VerificationError."""
        return _parse_disclosure(data)


# ----------------------------------------------------------------- canonical form


def canonical_json(doc: JsonValue) -> bytes:
    """RFC 8785 canonical JSON of a document (UTF-8 bytes).

    Values `_is_plain` accepts (every document and payload the pipeline makes) go
    through the C JSON encoder, 4-5x faster than the pure-Python rfc8785 package
    and byte-identical to it there (property-tested in tests/crypto); anything
    else, floats above all, through rfc8785.
    """
    if _is_plain(doc):
        try:
            return _plain_json(doc).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate in a string: rfc8785 below refuses it by name
    try:
        return rfc8785.dumps(doc)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise DocumentValidationError(f"document is not canonicalizable JSON: {exc}") from None


# RFC 8785 sorts object keys by UTF-16 code units and the C encoder by code points:
# the same order for ASCII keys. Its strings are `_encode_json_string`'s, its
# integers decimal; only floats (ECMAScript number formatting) differ.
_plain_json: Callable[[object], str] = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
).encode


def _is_plain(value: object) -> bool:
    """True if `value` is built only of dicts with ASCII string keys, lists, strings,
    booleans, None and integers within +-2**53-1 (exact types: a subclass such as an
    IntEnum, a tuple or a float takes rfc8785's path)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and not _is_plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) is str or _is_plain(item) for item in value)  # type: ignore[attr-defined]
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[operator]
    return False


def _scalar_json(value: JsonValue, pointer: str) -> bytes:
    """JCS bytes of one leaf value.

    Fast paths for the common scalars; each is byte-identical to rfc8785.dumps
    (property-tested in tests/crypto), which calling per leaf would make commit
    several times slower.
    """
    if value is None:
        return b"null"
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, str):
        try:
            return _encode_json_string(value).encode()
        except UnicodeEncodeError:
            raise DocumentValidationError(
                f"field {pointer or '/'} holds a string that is not valid Unicode (lone surrogate)"
            ) from None
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return str(int(value)).encode()
        raise DocumentValidationError(
            f"field {pointer or '/'} holds integer {value} beyond +-2**53-1; send it as a string"
        )
    if isinstance(value, float):
        if math.isfinite(value):
            return rfc8785.dumps(value)
        raise DocumentValidationError(f"field {pointer or '/'} holds {value}, which JSON cannot")
    if isinstance(value, Mapping) and not value:
        return b"{}"
    if isinstance(value, list | tuple) and not value:
        return b"[]"
    raise DocumentValidationError(
        f"field {pointer or '/'} holds a {type(value).__name__}, which is not a JSON value"
    )


def _segment_json(segment: PathSegment) -> str:
    if isinstance(segment, str):
        return _encode_json_string(segment)
    return str(segment)


def _escape_pointer_token(token: str) -> str:
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def _pointer_of(path: Iterable[PathSegment]) -> str:
    return "".join("/" + (_escape_pointer_token(s) if isinstance(s, str) else str(s)) for s in path)


@dataclass
class _Leaves:
    """Flattened document as parallel lists (cheaper than one object per leaf).

    `tails[i]` is the part of leaf i's hash input after the salt:
    ``u32(len(P)) || P || V``.
    """

    pointers: list[str]
    tails: list[bytes]


# The Python walk (documents the C walk leaves to it, and the reference the C walk is
# tested against). Documents of one schema share their paths, so the encodings of a
# leaf's path (its pointer, and ``u32(len(P)) || P``) are kept in a trie that outlives
# the document: a member name or array index seen before at the same place costs one
# dict lookup instead of string building and encoding per leaf. A trie node is a list
# [pointer, header, typed, object members, array indices] (objects and arrays have
# separate children: ``{"0": x}`` and ``[x]`` are different paths). Bounded because
# some objects are keyed by data (e.g. item ids): past the limit the trie starts over
# (threads still walking the old one finish with it).
_POINTER, _HEADER, _TYPED, _MEMBERS, _INDICES = range(5)
_PATH_TRIE_LIMIT: Final = 50_000  # about 25 MB at ~500 bytes a node
_path_trie: list[Any] = ["", b"", "", {}, {}]
_path_trie_size = 0


def _child_entry(parent: list[Any], key: Any, is_object: bool) -> list[Any]:
    """Create (and remember) the trie node of `key` below `parent`."""
    global _path_trie, _path_trie_size
    if is_object:
        if not isinstance(key, str):
            raise DocumentValidationError(
                f"object at {parent[_POINTER] or '/'} has a non-string key {key!r}"
            )
        token, segment = _escape_pointer_token(key), _encode_json_string(key)
    else:
        token = segment = str(key)
    pointer = parent[_POINTER] + "/" + token
    typed = parent[_TYPED] + "," + segment if parent[_TYPED] else segment
    try:
        path_json = ("[" + typed + "]").encode()
    except UnicodeEncodeError:
        raise DocumentValidationError(
            f"field {pointer} (its name or value) is not valid Unicode (lone surrogate)"
        ) from None
    entry = [pointer, _u32(len(path_json)) + path_json, typed, {}, {}]
    if _path_trie_size >= _PATH_TRIE_LIMIT:
        _path_trie, _path_trie_size = ["", b"", "", {}, {}], 0
    else:
        parent[_MEMBERS if is_object else _INDICES][key] = entry
        _path_trie_size += 1
    return entry


def _flatten(doc: Mapping[str, JsonValue]) -> _Leaves:
    """The document's leaves: in C (`_commitment.flatten`) for documents of plain
    JSON types, else (a tuple, a Mapping that is not a dict, a non-string key, a
    lone surrogate, deep nesting) by the Python walk, which also names what it
    refuses. Both give the same leaves (tests/crypto/test_commitment_native.py)."""
    leaves = _commitment.flatten(doc, _scalar_json)
    if leaves is not None:
        return _Leaves(*leaves)
    return _flatten_in_python(doc)


def _flatten_in_python(doc: Mapping[str, JsonValue]) -> _Leaves:
    if not isinstance(doc, Mapping):
        raise DocumentValidationError(f"a document must be a JSON object, not {type(doc).__name__}")
    pointers: list[str] = []
    tails: list[bytes] = []
    if not doc:
        pointers.append("")
        tails.append(b"\x00\x00\x00\x02[]{}")
        return _Leaves(pointers, tails)

    # Recursion only into non-empty containers; scalars are handled inline.
    append_pointer = pointers.append
    append_tail = tails.append
    encode_string = _encode_json_string

    def walk(node: Any, entry: list[Any]) -> None:
        is_object = type(node) is dict or isinstance(node, Mapping)
        if is_object:
            items: Iterable[tuple[Any, Any]] = node.items()
            children = entry[_MEMBERS]
        else:
            items = enumerate(node)
            children = entry[_INDICES]
        for key, child in items:
            child_entry = children.get(key) or _child_entry(entry, key, is_object)
            child_type = type(child)
            # Ordered by frequency in real documents; anything unusual falls
            # through to the general checks at the end.
            if child_type is str:
                try:
                    value_json = encode_string(child).encode()
                except UnicodeEncodeError:
                    raise DocumentValidationError(
                        f"field {child_entry[_POINTER]} (its name or value) is not valid "
                        "Unicode (lone surrogate)"
                    ) from None
            elif child_type is dict or child_type is list:
                if child:
                    walk(child, child_entry)
                    continue
                value_json = b"{}" if child_type is dict else b"[]"
            elif child is None:
                value_json = b"null"
            elif child_type is bool:
                value_json = b"true" if child else b"false"
            elif child_type is int and -MAX_SAFE_INTEGER <= child <= MAX_SAFE_INTEGER:
                value_json = b"%d" % child
            elif child_type in _PLAIN_SCALAR_TYPES:
                value_json = _scalar_json(child, child_entry[_POINTER])
            elif isinstance(child, Mapping | list | tuple) and child:
                walk(child, child_entry)
                continue
            else:
                value_json = _scalar_json(child, child_entry[_POINTER])
            append_pointer(child_entry[_POINTER])
            append_tail(child_entry[_HEADER] + value_json)

    try:
        walk(doc, _path_trie)
    except RecursionError:
        raise DocumentValidationError("document is nested too deeply to commit to") from None
    return _Leaves(pointers, tails)


# -------------------------------------------------------------------- hashing


def _leaf_tail(typed_path: bytes, value_json: bytes) -> bytes:
    return _u32(len(typed_path)) + typed_path + value_json


def _leaf_hash(salt: bytes, tail: bytes) -> bytes:
    return _sha256(_LEAF_PREFIX + salt + tail).digest()


# A document costs one SHA-256 per leaf and about as many per tree node, each on
# 100-odd bytes: with a few Python calls per hash (copying a seeded hashlib
# context, two updates, the digest) that was most of `commit`'s time, so the two
# loops run in C (`ledger_client._commitment`, OpenSSL's SHA-256 like hashlib's).
# The values are those of `_leaf_hash` and of the tree rule in the module
# docstring; tests/crypto/test_commitment_native.py checks both against hashlib.


def _hash_leaves(salts: Iterable[bytes], tails: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of (salt, tail) pairs; the same values as `_leaf_hash` each."""
    return _commitment.leaf_hashes(_LEAF_PREFIX, salts, tails)


def _tree_root(leaf_hashes: list[bytes]) -> bytes:
    """Merkle root: sorted leaf hashes paired level by level, an odd last one carried up."""
    return _commitment.tree_root(_NODE_PREFIX, leaf_hashes)


def _check_header(doc_type: int, schema_version: str) -> bytes:
    if isinstance(doc_type, bool) or not isinstance(doc_type, int):
        raise TypeError(f"doc_type must be an int, not {type(doc_type).__name__}")
    if not 0 <= doc_type <= MAX_DOC_TYPE:
        raise ValueError(f"doc_type {doc_type} is outside 0..{MAX_DOC_TYPE}")
    if not isinstance(schema_version, str) or not schema_version:
        raise ValueError("schema_version must be a non-empty string")
    encoded = schema_version.encode()
    if len(encoded) > MAX_SCHEMA_VERSION_BYTES:
        raise ValueError(f"schema_version is longer than {MAX_SCHEMA_VERSION_BYTES} bytes")
    return encoded


def _final_root(doc_type: int, schema_version: str, leaf_hashes: list[bytes]) -> bytes:
    version = _check_header(doc_type, schema_version)
    return _sha256(
        _ROOT_PREFIX
        + doc_type.to_bytes(4, "big")
        + len(version).to_bytes(4, "big")
        + version
        + len(leaf_hashes).to_bytes(4, "big")
        + _tree_root(leaf_hashes)
    ).digest()


def _leaf_hashes(leaves: _Leaves, salts: Mapping[str, bytes]) -> list[bytes]:
    return _hash_leaves(map(salts.__getitem__, leaves.pointers), leaves.tails)


def _salt_mismatch(leaves: _Leaves, salts: Mapping[str, bytes]) -> str | None:
    """Describe how the salts and the document's fields disagree, or None."""
    # The common case first, in C: one salt per field (a document's pointers are
    # distinct, so equal counts and all pointers salted mean the same sets), all
    # of the right length.
    if (
        len(salts) == len(leaves.pointers)
        and all(map(salts.__contains__, leaves.pointers))
        and set(map(len, salts.values())) <= {SALT_BYTES}
    ):
        return None
    document_fields = set(leaves.pointers)
    unsalted = sorted(document_fields - salts.keys())
    stale = sorted(salts.keys() - document_fields)
    problems = []
    if unsalted:
        problems.append(f"fields without a salt (added after commitment?): {_sample(unsalted)}")
    if stale:
        problems.append(f"committed fields missing from the document: {_sample(stale)}")
    bad = sorted(p for p in document_fields & salts.keys() if len(salts[p]) != SALT_BYTES)
    if bad:
        problems.append(f"salts that are not {SALT_BYTES} bytes: {_sample(bad)}")
    return "; ".join(problems) or None


def _sample(pointers: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(p) for p in pointers[:limit])
    return shown + (f" and {len(pointers) - limit} more" if len(pointers) > limit else "")


# ------------------------------------------------------------------ public API


def commit(
    doc: Mapping[str, JsonValue],
    doc_type: int,
    schema_version: str,
    salts: Mapping[str, bytes] | None = None,
) -> DocumentCommitment:
    """Commit to a document; fresh salts unless `salts` (from an earlier commit) are given.

    Given salts must cover exactly the document's fields, else VerificationError
    (check "commitment") names the fields that differ.
    """
    _check_header(doc_type, schema_version)
    leaves = _flatten(doc)
    if salts is None:
        # One urandom call sliced into 32-byte salts: the slices are as
        # independent as separate secrets.token_bytes(32) calls, at a fraction
        # of the syscall cost.
        pool = secrets.token_bytes(SALT_BYTES * len(leaves.pointers))
        in_order = [pool[i : i + SALT_BYTES] for i in range(0, len(pool), SALT_BYTES)]
        salts = dict(zip(leaves.pointers, in_order, strict=True))
    else:
        mismatch = _salt_mismatch(leaves, salts)
        if mismatch:
            raise VerificationError("commitment", f"salts do not fit the document: {mismatch}")
        salts = dict(salts)
        in_order = list(map(salts.__getitem__, leaves.pointers))
    root = _final_root(doc_type, schema_version, _hash_leaves(in_order, leaves.tails))
    return DocumentCommitment(
        root=root, salts=salts, doc_type=doc_type, schema_version=schema_version
    )


def verify_full(
    doc: Mapping[str, JsonValue],
    doc_type: int,
    schema_version: str,
    salts: Mapping[str, bytes],
    expected_root: bytes,
) -> DocumentCommitment:
    """Check a full document against an anchored root; return its commitment.

    Raises VerificationError(check="commitment") saying what did not match.
    """
    recomputed = commit(doc, doc_type, schema_version, salts)
    if not secrets.compare_digest(recomputed.root, bytes(expected_root)):
        raise VerificationError(
            "commitment",
            f"document hashes to root {recomputed.root.hex()} but {bytes(expected_root).hex()} "
            f"was expected: a field value, the document type ({doc_type}) or the schema "
            f"version ({schema_version!r}) differs from what was committed",
        )
    return recomputed


def _is_hidden(pointer: str, hide: list[str]) -> bool:
    return any(pointer == h or pointer.startswith(h + "/") or h == "" for h in hide)


def redact(
    doc: Mapping[str, JsonValue], commitment: DocumentCommitment, hide: Iterable[str]
) -> RedactedDocument:
    """A copy of `doc` with the fields under each pointer of `hide` replaced by hashes.

    A pointer hides its own leaf and every leaf below it (``/consignee`` hides
    ``/consignee/name``; ``""`` hides everything). A pointer that matches no
    field raises RedactionError rather than silently disclosing what was meant
    to be hidden. The document must match `commitment` (VerificationError).
    """
    hide_list = list(hide)
    for pointer in hide_list:
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise RedactionError(f"{pointer!r} is not a JSON Pointer (they start with '/')")
    leaves = _flatten(doc)
    mismatch = _salt_mismatch(leaves, commitment.salts)
    if mismatch:
        raise VerificationError("commitment", f"document does not fit its commitment: {mismatch}")
    unmatched = [h for h in hide_list if not any(_is_hidden(p, [h]) for p in leaves.pointers)]
    if unmatched:
        raise RedactionError(f"no field of the document is at {_sample(unmatched)}")

    hashes = _leaf_hashes(leaves, commitment.salts)
    root = _final_root(commitment.doc_type, commitment.schema_version, hashes)
    if not secrets.compare_digest(root, commitment.root):
        raise VerificationError("commitment", "document does not match the given commitment root")

    paths = _typed_paths_of(doc)
    disclosed: list[DisclosedLeaf] = []
    hidden: list[bytes] = []
    for index, pointer in enumerate(leaves.pointers):
        if _is_hidden(pointer, hide_list):
            hidden.append(hashes[index])
        else:
            path, value = paths[pointer]
            disclosed.append(DisclosedLeaf(path, commitment.salts[pointer], value))
    disclosed.sort(key=lambda leaf: leaf.pointer)
    hidden.sort()
    return RedactedDocument(
        doc_type=commitment.doc_type,
        schema_version=commitment.schema_version,
        disclosed=tuple(disclosed),
        hidden_leaf_hashes=tuple(hidden),
    )


def _typed_paths_of(
    doc: Mapping[str, JsonValue],
) -> dict[str, tuple[tuple[PathSegment, ...], JsonValue]]:
    """Pointer -> (segments, value) for every leaf; only redaction needs the objects."""
    found: dict[str, tuple[tuple[PathSegment, ...], JsonValue]] = {}

    def walk(node: JsonValue, path: tuple[PathSegment, ...]) -> None:
        if isinstance(node, Mapping) and node:
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list | tuple) and node:
            for index, child in enumerate(node):
                walk(child, (*path, index))
        else:
            # Empty containers are leaves; normalise them to what JSON parsing gives back.
            value = (
                {} if isinstance(node, Mapping) else [] if isinstance(node, list | tuple) else node
            )
            found[_pointer_of(path)] = (path, value)

    walk(doc, ())
    return found


def root_of_redacted(redacted: RedactedDocument) -> bytes:
    """Recompute the commitment root from a redacted document."""
    hashes = list(redacted.hidden_leaf_hashes)
    seen: set[str] = set()
    for leaf in redacted.disclosed:
        pointer = leaf.pointer
        if pointer in seen:
            raise VerificationError("commitment", f"field {pointer!r} is disclosed twice")
        seen.add(pointer)
        if len(leaf.salt) != SALT_BYTES:
            raise VerificationError("commitment", f"salt of field {pointer!r} is not 32 bytes")
        typed_path = ("[" + ",".join(_segment_json(s) for s in leaf.path) + "]").encode()
        tail = _leaf_tail(typed_path, _scalar_json(leaf.value, pointer))
        hashes.append(_leaf_hash(leaf.salt, tail))
    if not hashes:
        raise VerificationError("commitment", "redacted document has no leaves at all")
    return _final_root(redacted.doc_type, redacted.schema_version, hashes)


def verify_redacted(redacted: RedactedDocument, expected_root: bytes) -> None:
    """Check a redacted document against an anchored root (VerificationError if not)."""
    try:
        root = root_of_redacted(redacted)
    except DocumentValidationError as exc:
        raise VerificationError("commitment", f"malformed disclosed value: {exc}") from None
    if not secrets.compare_digest(root, bytes(expected_root)):
        raise VerificationError(
            "commitment",
            f"redacted document hashes to root {root.hex()} but {bytes(expected_root).hex()} was "
            "expected: a disclosed value or salt, a hidden-field hash, the document type "
            f"({redacted.doc_type}) or the schema version ({redacted.schema_version!r}) "
            "was altered",
        )


# ----------------------------------------------------------- salts on the wire


def encode_salts(salts: Mapping[str, bytes]) -> dict[str, str]:
    """Salts as a JSON object (pointer -> lowercase hex), for the encrypted payload."""
    return {pointer: salt.hex() for pointer, salt in salts.items()}


def decode_salts(encoded: Mapping[str, object]) -> dict[str, bytes]:
    """Inverse of `encode_salts`; malformed input raises VerificationError."""
    if not isinstance(encoded, Mapping):
        raise VerificationError("commitment", "salts must be a JSON object of pointer -> hex")
    salts: dict[str, bytes] = {}
    for pointer, value in encoded.items():
        if (
            not isinstance(pointer, str)
            or not isinstance(value, str)
            or not _HEX_32.fullmatch(value)
        ):
            raise VerificationError(
                "commitment", f"salt for {pointer!r} is not 64 lowercase hex characters"
            )
        salts[pointer] = bytes.fromhex(value)
    return salts


# --------------------------------------------------------- disclosure parsing


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads` object hook: a dict, or ValueError naming a key given twice."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_json_int(literal: str) -> int | float:
    """An integer literal as the number RFC 8785 means by it.

    A committed float such as 2.0**60 is written as an integer literal
    (``1152921504606846976``); read back as a Python int it would be refused
    as unsafe. Beyond the safe range a literal therefore means the nearest
    double, as in any JSON parser, and must be that double's canonical form,
    so no two different files stand for the same value.
    """
    value = int(literal)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    as_double = float(literal)
    if not math.isfinite(as_double) or rfc8785.dumps(as_double).decode() != literal:
        raise ValueError(f"{literal} is not a canonical JSON number")
    return as_double


def _malformed(reason: str) -> VerificationError:
    return VerificationError("commitment", f"malformed disclosure file: {reason}")


def _hex_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX_32.fullmatch(value):
        raise _malformed(f"{what} is not 64 lowercase hex characters")
    return bytes.fromhex(value)


def _parse_disclosure(data: bytes | str) -> RedactedDocument:
    if len(data) > MAX_DISCLOSURE_BYTES:
        raise _malformed(f"larger than {MAX_DISCLOSURE_BYTES} bytes")
    try:
        obj = json.loads(
            data,
            object_pairs_hook=reject_duplicate_keys,
            parse_constant=_reject_constant,
            parse_int=_parse_json_int,
        )
    except (ValueError, RecursionError) as exc:
        raise _malformed(f"not JSON ({exc})") from None
    expected_keys = {"format", "docType", "schemaVersion", "disclosed", "hiddenLeafHashes"}
    if not isinstance(obj, dict) or obj.keys() != expected_keys:
        raise _malformed(f"expected an object with exactly the keys {sorted(expected_keys)}")
    if obj["format"] != DISCLOSURE_FORMAT:
        raise _malformed(f"format is {obj['format']!r}, this verifier reads {DISCLOSURE_FORMAT!r}")
    doc_type, schema_version = obj["docType"], obj["schemaVersion"]
    try:
        _check_header(doc_type, schema_version)
    except (TypeError, ValueError) as exc:
        raise _malformed(str(exc)) from None
    disclosed_raw, hidden_raw = obj["disclosed"], obj["hiddenLeafHashes"]
    if not isinstance(disclosed_raw, list) or not isinstance(hidden_raw, list):
        raise _malformed("disclosed and hiddenLeafHashes must be arrays")
    if len(disclosed_raw) + len(hidden_raw) > MAX_DISCLOSURE_LEAVES:
        raise _malformed(f"more than {MAX_DISCLOSURE_LEAVES} leaves")

    disclosed: list[DisclosedLeaf] = []
    for entry in disclosed_raw:
        if not isinstance(entry, dict) or entry.keys() != {"path", "salt", "value"}:
            raise _malformed("each disclosed entry must have exactly path, salt and value")
        path = entry["path"]
        if not isinstance(path, list) or not all(
            isinstance(s, str) or (isinstance(s, int) and not isinstance(s, bool) and s >= 0)
            for s in path
        ):
            raise _malformed(f"path {path!r} must be an array of names and non-negative indices")
        value = entry["value"]
        if isinstance(value, dict | list) and value:
            raise _malformed(f"value at {_pointer_of(path)!r} is a non-empty container, not a leaf")
        disclosed.append(DisclosedLeaf(tuple(path), _hex_bytes(entry["salt"], "a salt"), value))
    hidden = tuple(_hex_bytes(h, "a hidden leaf hash") for h in hidden_raw)
    return RedactedDocument(doc_type, schema_version, tuple(disclosed), hidden)
