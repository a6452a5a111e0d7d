"""The on-chain record format, mirrored from contracts/src/DocumentRegistry.sol.

A document id is structured, not hashed: economy (2 bytes) | type (1 byte) |
zero padding | serial (uint64), so the issuer and type can be read off the id
and the contract can derive it from the sender's own economy.

A batch is the concatenation of packed records (see `pack_record`); the
contract stores one Merkle root per batch over leaves keccak256(id ‖ record),
hashing pairs in sorted order (OpenZeppelin `Hashes.commutativeKeccak256`) and
carrying an odd last node up unchanged. Later operations on a document present
its record and a proof against that root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from eth_utils.crypto import keccak

from ledger_client.errors import DocumentValidationError


class DocType(IntEnum):
    PRE_ARRIVAL_MANIFEST = 1
    TRANSIT_DECLARATION = 2
    CERTIFICATE_OF_ORIGIN = 3


class Lane(IntEnum):
    GREEN = 1
    YELLOW = 2
    RED = 3


class CheckpointKind(IntEnum):
    DEPARTURE = 1
    TRANSIT_PASSED = 2
    ARRIVAL = 3
    INCIDENT = 4


class DocStatus(IntEnum):
    ACTIVE = 1
    REVOKED = 2


MAX_SERIAL = 2**64 - 1


def economy_bytes(economy: str) -> bytes:
    """ISO 3166-1 alpha-2 code as the contracts' bytes2."""
    if len(economy) != 2 or not economy.isascii() or not economy.isalpha() or not economy.isupper():
        raise DocumentValidationError(
            f"economy {economy!r} is not an ISO 3166-1 alpha-2 code (two capital letters)",
            [{"field": "economy", "rule": "economy.format", "message": "two capital letters"}],
        )
    return economy.encode()


def document_id(economy: str, doc_type: int, serial: int) -> bytes:
    """The 32-byte id the registry assigns to (issuer economy, type, serial)."""
    if not 0 <= serial <= MAX_SERIAL:
        raise DocumentValidationError(f"serial {serial} is outside uint64")
    DocType(doc_type)
    value = int.from_bytes(economy_bytes(economy), "big") << 240 | int(doc_type) << 232 | serial
    return value.to_bytes(32, "big")


@dataclass(frozen=True)
class ParsedId:
    economy: str
    doc_type: DocType
    serial: int


def parse_document_id(doc_id: bytes) -> ParsedId:
    value = int.from_bytes(doc_id, "big")
    return ParsedId(
        economy=(value >> 240).to_bytes(2, "big").decode("ascii"),
        doc_type=DocType((value >> 232) & 0xFF),
        serial=value & MAX_SERIAL,
    )


@dataclass(frozen=True)
class Record:
    """One document as anchored: what the packed calldata and the Merkle leaf cover."""

    doc_type: DocType
    commitment: bytes
    payload_digest: bytes
    destinations: tuple[str, ...]
    links: tuple[bytes, ...] = ()

    def pack(self) -> bytes:
        if len(self.commitment) != 32 or len(self.payload_digest) != 32:
            raise DocumentValidationError("commitment and payload digest must be 32 bytes")
        if not 1 <= len(self.destinations) <= 255:
            raise DocumentValidationError("a document needs between 1 and 255 destinations")
        if len(self.links) > 255 or any(len(link) != 32 for link in self.links):
            raise DocumentValidationError("at most 255 links of 32 bytes each")
        return b"".join(
            [
                bytes([int(self.doc_type)]),
                self.commitment,
                self.payload_digest,
                bytes([len(self.destinations)]),
                *(economy_bytes(d) for d in self.destinations),
                bytes([len(self.links)]),
                *self.links,
            ]
        )


def leaf(doc_id: bytes, packed_record: bytes) -> bytes:
    return keccak(doc_id + packed_record)


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels bottom-up, as the contract builds them (odd node carried up)."""
    if not leaves:
        raise DocumentValidationError("an empty batch has no Merkle root")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [_hash_pair(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return merkle_levels(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Sibling hashes from leaf `index` up to the root (skipping carried levels)."""
    return proof_from_levels(merkle_levels(leaves), index)


def proof_from_levels(levels: Sequence[Sequence[bytes]], index: int) -> list[bytes]:
    """`merkle_proof` from levels already built by `merkle_levels` (no hashing)."""
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify_proof(proof: Sequence[bytes], root: bytes, leaf_hash: bytes) -> bool:
    """OpenZeppelin MerkleProof.verify semantics (sorted pairs)."""
    node = leaf_hash
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node == root
