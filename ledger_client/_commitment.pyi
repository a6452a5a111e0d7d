"""The commitment's hot loops, compiled from _commitment.c (see ledger_client.commitment)."""

from collections.abc import Callable, Iterable
from typing import Any

def flatten(
    doc: object, scalar_json: Callable[[Any, str], bytes]
) -> tuple[list[str], list[bytes]] | None:
    """(pointers, tails) of a dict document's leaves, or None for the Python walk."""

def leaf_hashes(prefix: bytes, salts: Iterable[bytes], tails: Iterable[bytes]) -> list[bytes]:
    """SHA-256(prefix || salt || tail) for each (salt, tail) pair."""

def tree_root(prefix: bytes, leaf_hashes: Iterable[bytes]) -> bytes:
    """Merkle root over the sorted 32-byte hashes (an odd last one carried up a level)."""
