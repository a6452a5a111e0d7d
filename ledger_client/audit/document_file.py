"""The document file: what an auditor is handed for one anchored document version.

Format ``cie-ledger/document-file/v1``: one JSON object (written as RFC 8785
canonical JSON, so equal contents are equal bytes) with exactly these members:

================  ==========================================================
``format``        ``"cie-ledger/document-file/v1"``
``chainId``       EIP-155 chain id of the ledger the document is anchored on
``registry``      address of the DocumentRegistry (0x + 40 hex, any case)
``documentId``    the 32-byte structured id, ``0x`` + 64 lowercase hex
``version``       the document version this file holds (1 = as anchored)
``docType``       1 manifest, 2 transit declaration, 3 certificate of origin
``schemaVersion`` the document's schema version (bound into the commitment)
``disclosure``    ``"full"`` or ``"redacted"``
``document``      (full only) the committed document JSON
``salts``         (full only) JSON Pointer -> 64 hex salt, one per leaf
``redacted``      (redacted only) the disclosure object of
                  `ledger_client.commitment.RedactedDocument.to_json`: visible
                  leaves with their salts, hidden leaves as leaf hashes
================  ==========================================================

The verifier recomputes the commitment root from ``document`` + ``salts`` (or
from ``redacted``) and compares it with the root the registry anchored for
``documentId`` at ``version``. Salts are secrets of the issuer: a full file
discloses the whole document to whoever holds it, a redacted one only the
visible fields (hidden ones cannot be guessed, their salts stay out).
"""

from __future__ import annotations

import functools
import io
import json
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

import jiter

from ledger_client.commitment import (
    SALT_BYTES,
    RedactedDocument,
    canonical_json,
    encode_salts,
    reject_duplicate_keys,
)
from ledger_client.deployment import Deployment
from ledger_client.errors import LedgerClientError, VerificationError
from ledger_client.provenance import VerifiedDocument

__all__ = [
    "DOCUMENT_FILE_FORMAT",
    "MAX_BATCH_FILES",
    "MAX_DOCUMENT_FILE_BYTES",
    "DocumentFile",
    "DocumentFileError",
    "document_files_in_json_array",
    "document_files_in_zip",
    "export_document_file",
    "parse_document_file",
]

DOCUMENT_FILE_FORMAT: Final = "cie-ledger/document-file/v1"
MAX_DOCUMENT_FILE_BYTES: Final = 16 * 1024 * 1024
MAX_BATCH_FILES: Final = 100_000

_ID_RE: Final = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS_RE: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_COMMON_KEYS: Final = frozenset(
    {
        "format",
        "chainId",
        "registry",
        "documentId",
        "version",
        "docType",
        "schemaVersion",
        "disclosure",
    }
)


class _Header(NamedTuple):
    chain_id: int
    registry: str
    document_id: bytes
    version: int
    doc_type: int
    schema_version: str


class DocumentFileError(LedgerClientError, ValueError):
    """The bytes are not a readable document file (not JSON, wrong format, missing members)."""


@dataclass(frozen=True, eq=False)
class DocumentFile:
    """A parsed document file; exactly one of `document`+`salts` or `redacted` is set."""

    chain_id: int
    registry: str
    document_id: bytes
    version: int
    doc_type: int
    schema_version: str
    disclosure: Literal["full", "redacted"]
    document: Mapping[str, Any] | None = None
    salts: Mapping[str, bytes] | None = field(default=None, repr=False)
    redacted: RedactedDocument | None = None

    @property
    def document_id_hex(self) -> str:
        return "0x" + self.document_id.hex()

    @property
    def visible_fields(self) -> dict[str, Any]:
        """The values the file discloses, keyed by JSON Pointer."""
        if self.redacted is not None:
            return self.redacted.disclosed_fields
        out: dict[str, Any] = {}

        def walk(node: Any, pointer: str) -> None:
            if isinstance(node, dict) and node:
                for key, child in node.items():
                    token = str(key).replace("~", "~0").replace("/", "~1")
                    walk(child, f"{pointer}/{token}")
            elif isinstance(node, list) and node:
                for index, child in enumerate(node):
                    walk(child, f"{pointer}/{index}")
            else:
                out[pointer] = node

        walk(self.document, "")
        return out

    @property
    def disclosed_field_count(self) -> int:
        if self.redacted is not None:
            return len(self.redacted.disclosed)
        return len(self.salts or {})

    def routing_fields(self) -> tuple[object | None, dict[int, object]]:
        """(issuer_economy, destinations by index) as far as the file discloses them."""
        if self.document is not None:
            destinations = self.document.get("destinations")
            listed = destinations if isinstance(destinations, list) else []
            return self.document.get("issuer_economy"), dict(enumerate(listed))
        assert self.redacted is not None
        issuer = None
        named: dict[int, object] = {}
        for leaf in self.redacted.disclosed:
            if leaf.path == ("issuer_economy",):
                issuer = leaf.value
            elif len(leaf.path) == 2 and leaf.path[0] == "destinations":
                named[int(leaf.path[1])] = leaf.value
        return issuer, named

    @property
    def hidden_field_count(self) -> int:
        return len(self.redacted.hidden_leaf_hashes) if self.redacted is not None else 0


def export_document_file(
    verified: VerifiedDocument,
    deployment: Deployment,
    hide: Iterable[str] | None = None,
) -> bytes:
    """The document file of a verified version: full, or redacted when `hide` is given.

    `hide` lists JSON Pointers (``/consignee``, ``/goods_items/0/value``) whose
    fields are replaced by their salted leaf hashes; a pointer naming no field
    raises `ledger_client.commitment.RedactionError` (a typo must not disclose).
    """
    provenance = verified.provenance
    header: dict[str, Any] = {
        "format": DOCUMENT_FILE_FORMAT,
        "chainId": deployment.chain_id,
        "registry": deployment.contracts["DocumentRegistry"].address,
        "documentId": provenance.document_id_hex,
        "version": provenance.version,
        "docType": verified.commitment.doc_type,
        "schemaVersion": verified.commitment.schema_version,
    }
    hide_list = list(hide) if hide is not None else None
    if hide_list is None:
        header["disclosure"] = "full"
        header["document"] = dict(verified.document_json)
        header["salts"] = encode_salts(verified.commitment.salts)
    else:
        header["disclosure"] = "redacted"
        header["redacted"] = json.loads(verified.redact(hide_list).to_json())
    return canonical_json(header)


def _int(data: Mapping[str, Any], key: str, minimum: int) -> int:
    value: object = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DocumentFileError(f"document file member {key!r} must be an integer >= {minimum}")
    return value


def _load_json(raw: bytes | str, what: str) -> Any:
    """JSON with duplicate member names refused (they make a file mean two things).

    jiter reads a document file in about two thirds of the time `json.loads`
    takes with a duplicate-key hook (a tenth of verifying a file). What jiter
    refuses (malformed JSON, but also lone surrogates, UTF-16 and deep nesting,
    which `json` reads) goes to `json.loads`, so every input gets the answer and
    error message it always got (tests/audit/test_document_file_json.py).
    """
    if type(raw) is bytes:
        try:
            # Caching every string (values too) reads a file ~13% faster than keys
            # only, with duplicate keys caught (a document's values repeat).
            return jiter.from_json(raw, catch_duplicate_keys=True, cache_mode="all")
        except Exception:  # json.loads below gives the answer, or the error
            pass
    try:
        return json.loads(raw, object_pairs_hook=reject_duplicate_keys)
    except (ValueError, RecursionError) as exc:
        raise DocumentFileError(f"not {what}: {exc}") from None


def _salts(salts: dict[str, Any]) -> dict[str, bytes]:
    """Pointer -> 32-byte salt from pointer -> 64 hex characters (any case)."""
    encoded = list(salts.values())
    # All at once: every salt is 64 characters and the whole decodes (fromhex skips
    # whitespace, so a decoded length of 32 per salt means none had any), so each
    # salt is exactly the 32 bytes at its offset, cut out by one struct unpack.
    try:
        joined = bytes.fromhex("".join(encoded))
    except (TypeError, ValueError):
        joined = b""
    if len(joined) == SALT_BYTES * len(encoded) and (not encoded or set(map(len, encoded)) == {64}):
        return dict(zip(salts, _salt_splitter(len(encoded))(joined), strict=True))
    for pointer, salt in salts.items():  # name the first bad one
        try:
            value = bytes.fromhex(salt)
        except (TypeError, ValueError):
            value = b""
        if len(value) != SALT_BYTES or len(salt) != 64:
            raise DocumentFileError(f"salt of {pointer!r} is not 64 hex characters")
    raise AssertionError("unreachable: the salts decoded one by one but not together")


@functools.lru_cache(maxsize=256)
def _salt_splitter(count: int) -> Callable[[bytes], tuple[bytes, ...]]:
    """Cuts `count` salts out of their concatenation (documents of a type have a few
    field counts; a third faster than slicing each)."""
    return struct.Struct(f"{SALT_BYTES}s" * count).unpack


def parse_document_file(raw: bytes | str) -> DocumentFile:
    """Parse a document file; `DocumentFileError` says what is malformed.

    Only the structure is checked here; whether the content matches the chain
    is the verifier's job (a salt that is not 64 hex characters is structure).
    """
    if len(raw) > MAX_DOCUMENT_FILE_BYTES:
        raise DocumentFileError(f"a document file is at most {MAX_DOCUMENT_FILE_BYTES} bytes")
    data = _load_json(raw, "a JSON document file")
    if not isinstance(data, dict):
        raise DocumentFileError("a document file is a JSON object")
    if data.get("format") != DOCUMENT_FILE_FORMAT:
        raise DocumentFileError(
            f"format is {data.get('format')!r}; this verifier reads {DOCUMENT_FILE_FORMAT!r}"
        )
    disclosure = data.get("disclosure")
    body = {"full": {"document", "salts"}, "redacted": {"redacted"}}.get(str(disclosure))
    if body is None:
        raise DocumentFileError("disclosure must be 'full' or 'redacted'")
    if set(data) != _COMMON_KEYS | body:
        raise DocumentFileError(
            f"a {disclosure} document file has exactly the members "
            f"{sorted(_COMMON_KEYS | body)}; got {sorted(data)}"
        )
    document_id, registry = data["documentId"], data["registry"]
    if not isinstance(document_id, str) or not _ID_RE.fullmatch(document_id):
        raise DocumentFileError("documentId must be 0x followed by 64 lowercase hex characters")
    if not isinstance(registry, str) or not _ADDRESS_RE.fullmatch(registry):
        raise DocumentFileError("registry must be an address (0x followed by 40 hex characters)")
    schema_version = data["schemaVersion"]
    if not isinstance(schema_version, str) or not schema_version:
        raise DocumentFileError("schemaVersion must be a non-empty string")
    header = _Header(
        chain_id=_int(data, "chainId", 0),
        registry=registry,
        document_id=bytes.fromhex(document_id[2:]),
        version=_int(data, "version", 1),
        doc_type=_int(data, "docType", 0),
        schema_version=schema_version,
    )
    if disclosure == "full":
        document, salts = data["document"], data["salts"]
        if not isinstance(document, dict) or not isinstance(salts, dict):
            raise DocumentFileError("document and salts must be JSON objects")
        return DocumentFile(*header, disclosure="full", document=document, salts=_salts(salts))
    try:
        redacted = RedactedDocument.from_json(canonical_json(data["redacted"]))
    except (VerificationError, LedgerClientError) as exc:
        raise DocumentFileError(f"the redacted copy is malformed: {exc}") from None
    return DocumentFile(*header, disclosure="redacted", redacted=redacted)


# ------------------------------------------------------------------ many files


def document_files_in_zip(
    archive: bytes | str | Path,
    *,
    max_files: int = MAX_BATCH_FILES,
    max_total_bytes: int | None = None,
) -> list[tuple[str, bytes]]:
    """(member name, bytes) of every ``*.json`` member of a zip archive, by name.

    The sizes the archive declares are checked before anything is inflated (a
    small archive can declare gigabytes): more than `max_files` members, one
    member over `MAX_DOCUMENT_FILE_BYTES` or, with `max_total_bytes`, a larger
    sum raise `DocumentFileError`, as does an archive that is not a zip.
    """
    source = io.BytesIO(archive) if isinstance(archive, bytes) else archive
    try:
        with zipfile.ZipFile(source) as zipped:
            members = sorted(
                (i for i in zipped.infolist() if i.filename.endswith(".json") and not i.is_dir()),
                key=lambda i: i.filename,
            )
            if len(members) > max_files:
                raise DocumentFileError(
                    f"the archive holds {len(members)} document files; at most {max_files} "
                    "per batch"
                )
            for info in members:
                if info.file_size > MAX_DOCUMENT_FILE_BYTES:
                    raise DocumentFileError(
                        f"{info.filename} is {info.file_size} bytes; a document file is at "
                        f"most {MAX_DOCUMENT_FILE_BYTES}"
                    )
            total = sum(i.file_size for i in members)
            if max_total_bytes is not None and total > max_total_bytes:
                raise DocumentFileError(
                    f"the archive inflates to {total} bytes; at most {max_total_bytes} per batch"
                )
            # zipfile stops inflating a member at its declared size (and then fails
            # its CRC check), so the checks above bound what is read.
            return [(info.filename, zipped.read(info)) for info in members]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise DocumentFileError(f"not a readable zip archive: {exc}") from None


def document_files_in_json_array(raw: bytes | str) -> list[tuple[str, bytes]]:
    """(``[index]``, bytes) of each document file in a JSON array of document files.

    Each element is re-serialised on its own, so it is checked exactly as if it
    came as a separate file (an element that is not a document file is reported
    by the verifier for that element only). A body that is not a JSON array, or
    has more than `MAX_BATCH_FILES` elements, raises `DocumentFileError`.
    """
    data = _load_json(raw, "a JSON array of document files")
    if not isinstance(data, list):
        raise DocumentFileError("a batch is a JSON array of document files")
    if len(data) > MAX_BATCH_FILES:
        raise DocumentFileError(
            f"the batch holds {len(data)} document files; at most {MAX_BATCH_FILES}"
        )
    # ASCII output: a lone surrogate in a string survives the round trip (and is
    # then refused by the commitment, as it would be in a separate file).
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    return [(f"[{i}]", dumps(item).encode()) for i, item in enumerate(data)]
