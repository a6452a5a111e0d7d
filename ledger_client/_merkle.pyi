"""The commitment's hashing loops, compiled from _merkle.c (see ledger_client.commitment)."""

from collections.abc import Iterable

def leaf_hashes(prefix: bytes, salts: Iterable[bytes], tails: Iterable[bytes]) -> list[bytes]:
    """SHA-256(prefix || salt || tail) for each (salt, tail) pair."""

def tree_root(prefix: bytes, leaf_hashes: Iterable[bytes]) -> bytes:
    """Merkle root over the sorted 32-byte hashes (an odd last one carried up a level)."""
