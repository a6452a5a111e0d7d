"""Registry logs read raw: unformatted JSON-RPC answers turned into topics and
data words as bytes.

web3's log formatting and event decoding cost about a millisecond a log (its
formatters and ABI checks), more than anything the readers do with a log; the
node's scan, the batch rebuilt for a proof and the auditors' index read logs
by the thousand, so they decode the few words they need here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["RawLog", "decode_log_word", "raw_logs"]


@dataclass(frozen=True, slots=True)
class RawLog:
    """One registry log, still raw: topics and data words as bytes."""

    event: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    log_index: int
    tx_hash: bytes
    block_hash: bytes

    def word(self, index: int) -> bytes:
        return self.data[32 * index : 32 * index + 32]

    def uint(self, index: int) -> int:
        return int.from_bytes(self.word(index), "big")


def raw_logs(result: Iterable[dict[str, Any]], names: dict[bytes, str]) -> list[RawLog]:
    """The logs of an unformatted ``eth_getLogs`` result whose first topic is in `names`
    (signature topic -> event name); removed (reorged) logs are left out."""
    out = []
    for log in result:
        topics = tuple(bytes.fromhex(t[2:]) for t in log["topics"])
        name = names.get(topics[0]) if topics else None
        if name is None or log.get("removed"):
            continue
        out.append(
            RawLog(
                name,
                topics,
                bytes.fromhex(log["data"][2:]),
                int(log["blockNumber"], 16),
                int(log["logIndex"], 16),
                bytes.fromhex(log["transactionHash"][2:]),
                bytes.fromhex(log["blockHash"][2:]),
            )
        )
    return out


def decode_log_word(topic: bytes) -> str:
    """A bytes2 economy from an indexed topic (left-aligned)."""
    return topic[:2].decode("ascii", "replace")
