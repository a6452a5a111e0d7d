"""What the ledger says about one document, and the payload format inside its envelope.

This module owns three things the document pipeline needs on the reading side:

* `DocumentHistory`: everything the registry's events say about a document id
  (anchoring batch and submitter, every version's commitment and payload digest,
  revocation, acknowledgements, transit checkpoints, block timestamps), read with
  one ``eth_getLogs`` over the id topic plus one for its batch (`read_history`);
* `Provenance` and `VerifiedDocument`: the result of `fetch_and_verify`, a typed
  document model plus where it came from;
* `DocumentPayload`: the plaintext sealed in an envelope (document, salts, type,
  schema version as canonical JSON), and `unixfs_digest`, the sha2-256 digest
  IPFS gives a payload under Kubo's default import settings, so a fetched payload
  is checked against the digest anchored on-chain without trusting the IPFS node.

Reorgs and confirmations are not handled here: the history is read at "latest".
Subscribers that act on events (the node's listener) wait for confirmations first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ledger_client.commitment import (
    DocumentCommitment,
    JsonValue,
    RedactedDocument,
    canonical_json,
    decode_salts,
    encode_salts,
    redact,
)
from ledger_client.errors import VerificationError
from ledger_client.ipfs import digest_to_cid
from ledger_client.records import CheckpointKind, DocType, Lane
from ledger_client.registry import DocumentNotAnchoredError, RegistryClient
from manifests import Document

__all__ = [
    "PAYLOAD_FORMAT",
    "AcknowledgementRecord",
    "CheckpointRecord",
    "DocumentHistory",
    "DocumentPayload",
    "HistoryReader",
    "Provenance",
    "RevocationRecord",
    "VerifiedDocument",
    "VersionNotFoundError",
    "VersionRecord",
    "read_history",
    "unixfs_digest",
]

PAYLOAD_FORMAT: Final = "cie-ledger/payload/v1"

# Kubo's default import: 256 KiB chunks, dag-pb leaves (no raw leaves), balanced
# layout of at most 174 links per node, CIDv0. `ledger_client.ipfs` asks for
# exactly these options on every add, and devnet/ipfs/unixfs_layout.py documents
# the same layout for sizes; tests check digests against a real node.
_CHUNK_BYTES: Final = 256 * 1024
_LINKS_PER_NODE: Final = 174
_UNIXFS_FILE: Final = 2
_SHA2_256_PREFIX: Final = b"\x12\x20"


class VersionNotFoundError(VerificationError, LookupError):
    """The requested version of a document was never anchored (check "version")."""

    def __init__(self, message: str) -> None:
        super().__init__("version", message)


# ----------------------------------------------------------------- payload digest


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _leaf_block(chunk: bytes) -> bytes:
    # PBNode{Data: UnixFS{Type: File, Data: chunk (absent when empty), filesize}}
    unixfs = _int_field(1, _UNIXFS_FILE)
    if chunk:
        unixfs += _bytes_field(2, chunk)
    unixfs += _int_field(3, len(chunk))
    return _bytes_field(1, unixfs)


def unixfs_digest(content: bytes) -> bytes:
    """The sha2-256 digest inside the CIDv0 `ipfs add` gives `content` (Kubo defaults).

    Recomputing it from fetched bytes proves they are the bytes the chain
    anchored, whatever node or gateway served them.
    """
    chunks = [content[i : i + _CHUNK_BYTES] for i in range(0, len(content), _CHUNK_BYTES)]
    # (block digest, cumulative DAG size, file bytes) per node of the current level
    level: list[tuple[bytes, int, int]] = []
    for chunk in chunks or [b""]:
        block = _leaf_block(chunk)
        level.append((hashlib.sha256(block).digest(), len(block), len(chunk)))
    while len(level) > 1:
        parents = []
        for start in range(0, len(level), _LINKS_PER_NODE):
            children = level[start : start + _LINKS_PER_NODE]
            # dag-pb writes Links (field 2) before Data (field 1); Kubo writes Name "".
            links = b"".join(
                _bytes_field(
                    2,
                    _bytes_field(1, _SHA2_256_PREFIX + digest)
                    + _bytes_field(2, b"")
                    + _int_field(3, size),
                )
                for digest, size, _ in children
            )
            file_bytes = sum(length for _, _, length in children)
            unixfs = _int_field(1, _UNIXFS_FILE) + _int_field(3, file_bytes)
            unixfs += b"".join(_int_field(4, length) for _, _, length in children)
            block = links + _bytes_field(1, unixfs)
            cumulative = len(block) + sum(size for _, size, _ in children)
            parents.append((hashlib.sha256(block).digest(), cumulative, file_bytes))
        level = parents
    return level[0][0]


# ------------------------------------------------------------------------ payload


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


@dataclass(frozen=True, eq=False)
class DocumentPayload:
    """The plaintext inside an envelope: the document and what recomputes its commitment.

    Serialised as RFC 8785 canonical JSON, so equal payloads are equal bytes:
    ``{"docType", "document", "format", "salts", "schemaVersion"}``.
    """

    doc_type: int
    schema_version: str
    document: Mapping[str, JsonValue]
    salts: Mapping[str, bytes] = field(repr=False)

    def to_bytes(self, canonical_document: bytes | None = None) -> bytes:
        """Canonical bytes; pass the document's canonical JSON if already computed."""
        if canonical_document is None:
            canonical_document = canonical_json(self.document)
        # Keys in RFC 8785 order (docType < document < format < salts < schemaVersion),
        # assembled around the already-canonical document instead of re-encoding it.
        return b"".join(
            (
                b'{"docType":',
                canonical_json(self.doc_type),
                b',"document":',
                canonical_document,
                b',"format":',
                canonical_json(PAYLOAD_FORMAT),
                b',"salts":',
                canonical_json(encode_salts(self.salts)),
                b',"schemaVersion":',
                canonical_json(self.schema_version),
                b"}",
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> DocumentPayload:
        """Parse a decrypted payload; anything malformed raises check "payload_format"."""
        try:
            data = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
        except (UnicodeDecodeError, ValueError) as exc:
            raise VerificationError("payload_format", f"payload is not JSON: {exc}") from None
        expected = {"docType", "document", "format", "salts", "schemaVersion"}
        if not isinstance(data, dict) or set(data) != expected:
            raise VerificationError(
                "payload_format", f"payload must be an object with exactly the keys {expected}"
            )
        if data["format"] != PAYLOAD_FORMAT:
            raise VerificationError(
                "payload_format",
                f"payload format {data['format']!r}; this client reads {PAYLOAD_FORMAT!r}",
            )
        doc_type, schema_version, document = (
            data["docType"],
            data["schemaVersion"],
            data["document"],
        )
        if isinstance(doc_type, bool) or not isinstance(doc_type, int):
            raise VerificationError("payload_format", "docType must be an integer")
        if not isinstance(schema_version, str) or not isinstance(document, dict):
            raise VerificationError(
                "payload_format", "schemaVersion must be a string and document an object"
            )
        return cls(doc_type, schema_version, document, decode_salts(data["salts"]))


# ------------------------------------------------------------------------ history


@dataclass(frozen=True)
class VersionRecord:
    """One anchored version: version 1 is the anchoring, later ones amendments."""

    version: int
    commitment: bytes
    payload_digest: bytes
    block_number: int
    timestamp: int
    tx_hash: bytes

    @property
    def cid(self) -> str:
        return digest_to_cid(self.payload_digest)


@dataclass(frozen=True)
class RevocationRecord:
    reason_code: int
    block_number: int
    timestamp: int
    tx_hash: bytes


@dataclass(frozen=True)
class AcknowledgementRecord:
    """A destination's risk outcome for one version (lane plus a commitment to its reasons)."""

    economy: str
    version: int
    lane: Lane
    reasons_commitment: bytes
    reasons_digest: bytes
    block_number: int
    timestamp: int
    tx_hash: bytes


@dataclass(frozen=True)
class CheckpointRecord:
    economy: str
    kind: CheckpointKind
    position: int
    block_number: int
    timestamp: int
    tx_hash: bytes


@dataclass(frozen=True)
class DocumentHistory:
    """Everything the registry's events say about one document id."""

    document_id: bytes
    doc_type: DocType
    issuer_economy: str
    serial: int
    submitter: str
    authority_id: bytes
    batch_key: bytes
    destinations: tuple[str, ...]
    links: tuple[bytes, ...]
    versions: tuple[VersionRecord, ...]
    revocation: RevocationRecord | None
    acknowledgements: tuple[AcknowledgementRecord, ...]
    checkpoints: tuple[CheckpointRecord, ...]

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    def version(self, number: int | None = None) -> VersionRecord:
        """Version `number` (the latest when None); VersionNotFoundError if never anchored."""
        if number is None:
            return self.versions[-1]
        if not 1 <= number <= len(self.versions):
            raise VersionNotFoundError(
                f"document 0x{self.document_id.hex()} has versions 1..{len(self.versions)}, "
                f"not {number}"
            )
        return self.versions[number - 1]

    def provenance(self, number: int | None = None) -> Provenance:
        chosen = self.version(number)
        anchored = self.versions[0]
        return Provenance(
            document_id=self.document_id,
            doc_type=self.doc_type,
            issuer_economy=self.issuer_economy,
            submitter=self.submitter,
            authority_id=self.authority_id,
            batch_key=self.batch_key,
            version=chosen.version,
            latest_version=self.latest_version,
            commitment=chosen.commitment,
            payload_digest=chosen.payload_digest,
            block_number=chosen.block_number,
            timestamp=chosen.timestamp,
            tx_hash=chosen.tx_hash,
            anchored_block=anchored.block_number,
            anchored_at=anchored.timestamp,
            revoked=self.revocation is not None,
            revocation=self.revocation,
            destinations=self.destinations,
            links=self.links,
            versions=self.versions,
            acknowledgements=self.acknowledgements,
            checkpoints=self.checkpoints,
        )


@dataclass(frozen=True)
class Provenance:
    """Where a verified document version came from, per the chain.

    `block_number`/`timestamp`/`tx_hash` are those of the chosen version;
    `anchored_block`/`anchored_at` those of version 1. Acknowledgements cover
    every version (each record names its own).
    """

    document_id: bytes
    doc_type: DocType
    issuer_economy: str
    submitter: str
    authority_id: bytes
    batch_key: bytes
    version: int
    latest_version: int
    commitment: bytes
    payload_digest: bytes
    block_number: int
    timestamp: int
    tx_hash: bytes
    anchored_block: int
    anchored_at: int
    revoked: bool
    revocation: RevocationRecord | None
    destinations: tuple[str, ...]
    links: tuple[bytes, ...]
    versions: tuple[VersionRecord, ...]
    acknowledgements: tuple[AcknowledgementRecord, ...]
    checkpoints: tuple[CheckpointRecord, ...]

    @property
    def document_id_hex(self) -> str:
        return "0x" + self.document_id.hex()

    @property
    def cid(self) -> str:
        return digest_to_cid(self.payload_digest)

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version

    @property
    def revocation_reason(self) -> int | None:
        return self.revocation.reason_code if self.revocation else None


@dataclass(frozen=True, eq=False)
class VerifiedDocument:
    """A fetched document version that passed every check, with its provenance.

    `document_json` is exactly the committed JSON; `commitment` holds its salts
    (secret: they let anyone holding them disclose fields), so `redact` can
    produce a disclosure file an auditor verifies against the chain.
    """

    document: Document
    document_json: Mapping[str, JsonValue]
    commitment: DocumentCommitment
    provenance: Provenance

    def redact(self, hide: Iterable[str]) -> RedactedDocument:
        """A copy with the fields under the JSON Pointers in `hide` replaced by hashes."""
        return redact(self.document_json, self.commitment, hide)


# ------------------------------------------------------------------------ reading


class HistoryReader:
    """Reads `DocumentHistory` from one registry, caching block timestamps.

    The reads are `ChainIndex`'s (the auditors' batched reader) for one id: raw
    ``eth_getLogs`` over the id topic, one for the anchoring batch's ``BatchAnchored``
    event and a batch of ``eth_getBlockByNumber`` for the block times, decoded by
    slicing. web3's log formatting, event decoding and block formatting cost more
    than the requests (about 4% of a member node's CPU at low load went to
    reading its own manifests' histories that way).
    """

    def __init__(self, registry: RegistryClient) -> None:
        # imported here: chain_index builds on this module's records
        from ledger_client.audit.chain_index import ChainIndex

        self.registry = registry
        self.index = ChainIndex(registry, max_cached_blocks=4096)

    def read(self, doc_id: bytes, *, from_block: int | None = None) -> DocumentHistory:
        """The document's history (DocumentNotAnchoredError if none).

        Every registry event about a document carries its id as the first indexed
        argument, so one log query over that topic finds all of them. The query
        starts at the registry's first block, or at `from_block` when the caller
        knows the block of the anchoring (no event about a document precedes it; a
        listener knows it from its scan), which keeps the query short on a long
        chain. A hint past the anchoring (e.g. one taken before a reorganisation
        moved it) finds no anchoring, and the whole range is read instead.
        """
        if from_block is not None and from_block > self.registry.from_block:
            history = self.index.histories([doc_id], from_block).get(doc_id)
            if history is not None:
                return history
        history = self.index.histories([doc_id]).get(doc_id)
        if history is None:
            raise DocumentNotAnchoredError(
                f"document 0x{doc_id.hex()} is not anchored (no anchoring batch records it)"
            )
        return history


def read_history(
    registry: RegistryClient, doc_id: bytes, *, from_block: int | None = None
) -> DocumentHistory:
    """The document's history from the registry's events (see `HistoryReader.read`)."""
    return HistoryReader(registry).read(doc_id, from_block=from_block)
