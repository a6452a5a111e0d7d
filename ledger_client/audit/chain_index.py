"""Registry events for many document ids at once, for batch verification and reports.

`provenance.read_history` reads one document with it (an ``eth_getLogs`` for the
id, one for its batch, a batch of block times). Verifying a year of one trader's
documents one by one is a few hundred documents per second; this module reads
`DocumentHistory` for thousands of ids at once with:

* one ``eth_getLogs`` per chunk of ids (the id is the first indexed argument of
  every per-document event, so the topic filter ``[eventTopics, ids]`` finds them
  all);
* one ``eth_getLogs`` for the ``BatchAnchored`` events of the issuers involved,
  over the block range of the anchorings (submitter and issuing authority);
* ``eth_getBlockByNumber`` for every new block, sent as JSON-RPC batches
  (`Web3.batch_requests`, read-only calls only), cached.

Logs are requested raw (``provider.make_request``) and decoded by slicing: every
non-indexed argument of these events is a static 32-byte word, and web3's
generic ABI decoding dominated the run time. Only standard JSON-RPC is used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final

from web3 import Web3
from web3.types import RPCEndpoint

from ledger_client.errors import ChainError
from ledger_client.provenance import (
    AcknowledgementRecord,
    CheckpointRecord,
    DocumentHistory,
    RevocationRecord,
    VersionRecord,
)
from ledger_client.raw_logs import RawLog, decode_log_word, raw_logs
from ledger_client.records import CheckpointKind, DocType, Lane, parse_document_id
from ledger_client.registry import RegistryClient

__all__ = ["ChainIndex"]

_DOCUMENT_EVENTS: Final = (
    "DocumentAnchored",
    "DocumentLinked",
    "DocumentAmended",
    "DocumentRevoked",
    "DocumentAcknowledged",
    "TransitCheckpointRecorded",
)
ID_CHUNK: Final = 1000
BLOCK_BATCH: Final = 500


class ChainIndex:
    """Reads `DocumentHistory` for many ids with few requests; caches block times."""

    def __init__(
        self,
        registry: RegistryClient,
        *,
        id_chunk: int = ID_CHUNK,
        block_chunk: int | None = None,
        settled_depth: int | None = None,
        max_cached_blocks: int = 1_000_000,
    ) -> None:
        """`block_chunk` splits every log query into block ranges of that size (Besu
        refuses ranges over ``--rpc-max-logs-range``, 5,000 blocks by default).

        Block times are cached for the life of the index. A long-lived index (a
        node's) passes `settled_depth`: then only blocks at least that deep below
        the head are kept (a reorg can re-mine the shallower ones with another
        time), at the cost of one ``eth_blockNumber`` per read of new blocks, and
        the cache is emptied when it reaches `max_cached_blocks`.
        """
        self.registry = registry
        self.id_chunk = id_chunk
        self.block_chunk = block_chunk
        self.settled_depth = settled_depth
        self.max_cached_blocks = max_cached_blocks
        contract = registry.contract
        self.address = contract.address
        self._topics = {
            name: str(contract.events[name]().topic).lower()
            for name in (*_DOCUMENT_EVENTS, "BatchAnchored")
        }
        self._names = {bytes.fromhex(t[2:]): name for name, t in self._topics.items()}
        self._times: dict[int, int] = {}
        self.requests = 0  # JSON-RPC round trips made (batches count once)

    @property
    def w3(self) -> Web3:
        return self.registry.w3

    # -- raw reads -------------------------------------------------------------

    def get_logs(
        self, topics: list[Any], from_block: int | None = None, to_block: int | str = "latest"
    ) -> list[RawLog]:
        """Raw ``eth_getLogs`` on the registry (standard JSON-RPC, no response formatting)."""
        first = self.registry.from_block if from_block is None else from_block
        if self.block_chunk is None:
            return self._get_logs(topics, hex(first), to_block if isinstance(to_block, str)
                                  else hex(to_block))  # fmt: skip
        last = self.w3.eth.block_number if isinstance(to_block, str) else to_block
        out: list[RawLog] = []
        for start in range(first, last + 1, self.block_chunk):
            end = min(last, start + self.block_chunk - 1)
            out.extend(self._get_logs(topics, hex(start), hex(end)))
        return out

    def _get_logs(self, topics: list[Any], from_block: str, to_block: str) -> list[RawLog]:
        params = {
            "address": self.address,
            "fromBlock": from_block,
            "toBlock": to_block,
            "topics": topics,
        }
        self.requests += 1
        response = self.w3.provider.make_request("eth_getLogs", [params])  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"eth_getLogs failed: {response['error']}")
        return raw_logs(response["result"], self._names)

    def document_logs(
        self, ids: Iterable[bytes], from_block: int | None = None
    ) -> dict[bytes, list[RawLog]]:
        """Every per-document registry log of each id (chain order), one query per chunk;
        from `from_block` if given (at or before every id's anchoring: no event about a
        document precedes it), else from the registry's first block."""
        unique = list(dict.fromkeys(ids))
        found: dict[bytes, list[RawLog]] = defaultdict(list)
        event_topics = [self._topics[name] for name in _DOCUMENT_EVENTS]
        for start in range(0, len(unique), self.id_chunk):
            chunk = ["0x" + i.hex() for i in unique[start : start + self.id_chunk]]
            for log in self.get_logs([event_topics, chunk], from_block):
                found[log.topics[1]].append(log)
        return dict(found)

    def all_document_logs(
        self, from_block: int | None = None, to_block: int | str = "latest"
    ) -> dict[bytes, list[RawLog]]:
        """Every per-document registry log in a block range, grouped by id."""
        found: dict[bytes, list[RawLog]] = defaultdict(list)
        event_topics = [self._topics[name] for name in _DOCUMENT_EVENTS]
        for log in self.get_logs([event_topics], from_block, to_block):
            found[log.topics[1]].append(log)
        return dict(found)

    def block_times(self, blocks: Iterable[int]) -> dict[int, int]:
        """Block number -> timestamp, fetched in JSON-RPC batches and cached.

        The batch goes through the provider unformatted (``eth_getBlockByNumber``
        without transactions): web3's block formatting cost about a millisecond a
        block, more than the request. Providers without batch support fall back
        to `Web3.batch_requests`. With `settled_depth`, the head (``eth_blockNumber``)
        is asked in the first batch, not a request of its own.
        """
        missing = sorted({b for b in blocks if b not in self._times})
        if not missing:
            return self._times
        if len(self._times) + len(missing) > self.max_cached_blocks:
            self._times.clear()
        fetched = self._times
        depth, settled = self.settled_depth, None
        if depth is not None:
            fetched = {}
        provider = self.w3.provider
        make_batch = getattr(provider, "make_batch_request", None)
        for start in range(0, len(missing), BLOCK_BATCH):
            chunk = missing[start : start + BLOCK_BATCH]
            self.requests += 1
            if make_batch is not None:
                calls = [(RPCEndpoint("eth_getBlockByNumber"), [hex(n), False]) for n in chunk]
                # the head, for what is settled, rides in the first batch
                ask_head = depth is not None and settled is None
                if ask_head:
                    calls.insert(0, (RPCEndpoint("eth_blockNumber"), []))
                responses = make_batch(calls)
                if not isinstance(responses, list):
                    raise ChainError(f"eth_getBlockByNumber batch failed: {responses}")
                if ask_head:
                    head = responses.pop(0)
                    if "error" in head or not head.get("result"):
                        raise ChainError(f"eth_blockNumber failed: {head}")
                    settled = int(head["result"], 16) - (depth or 0)
                for number, response in zip(chunk, responses, strict=True):
                    if "error" in response or not response.get("result"):
                        raise ChainError(f"block {number} could not be read: {response}")
                    fetched[number] = int(response["result"]["timestamp"], 16)
                continue
            if depth is not None and settled is None:
                self.requests += 1
                settled = self.w3.eth.block_number - depth
            with self.w3.batch_requests() as batch:
                for number in chunk:
                    batch.add(self.w3.eth.get_block(number))
                results = batch.execute()
            for number, block in zip(chunk, results, strict=True):
                fetched[number] = int(block["timestamp"])  # type: ignore[typeddict-item]
        if fetched is self._times:
            return self._times
        assert settled is not None  # the first request asked for the head
        self._times.update((n, t) for n, t in fetched.items() if n <= settled)
        return {**self._times, **fetched}

    def batch_events(
        self, issuers: Iterable[str], from_block: int, to_block: int
    ) -> dict[bytes, list[tuple[int, int, str, bytes, bytes]]]:
        """tx hash -> [(first serial, count, submitter, authority id, batch key)]."""
        topics = ["0x" + e.encode().hex() + "00" * 30 for e in sorted(set(issuers))]
        out: dict[bytes, list[tuple[int, int, str, bytes, bytes]]] = defaultdict(list)
        if not topics:
            return out
        for log in self.get_logs(
            [self._topics["BatchAnchored"], None, topics], from_block, to_block
        ):
            submitter = Web3.to_checksum_address(log.word(0)[12:])
            out[log.tx_hash].append(
                (log.uint(2), log.uint(3), submitter, log.word(1), log.topics[1])
            )
        return out

    # -- histories -------------------------------------------------------------

    def histories(
        self, ids: Iterable[bytes], from_block: int | None = None
    ) -> dict[bytes, DocumentHistory]:
        """`DocumentHistory` of each anchored id (ids never anchored, or anchored before
        `from_block`, are absent)."""
        return self.histories_from_logs(self.document_logs(ids, from_block))

    def histories_from_logs(
        self, logs_by_id: dict[bytes, list[RawLog]]
    ) -> dict[bytes, DocumentHistory]:
        anchors: dict[bytes, RawLog] = {}
        for doc_id, logs in logs_by_id.items():
            first = next((log for log in logs if log.event == "DocumentAnchored"), None)
            if first is not None:
                anchors[doc_id] = first
        if not anchors:
            return {}
        issuers = set()
        for doc_id in anchors:
            try:
                issuers.add(parse_document_id(doc_id).economy)
            except (ValueError, UnicodeDecodeError):
                continue
        blocks = [a.block_number for a in anchors.values()]
        batches = self.batch_events(issuers, min(blocks), max(blocks))
        times = self.block_times(
            log.block_number for doc_id in anchors for log in logs_by_id[doc_id]
        )
        out = {}
        for doc_id, first in anchors.items():
            history = _history(doc_id, first, logs_by_id[doc_id], batches, times)
            if history is not None:
                out[doc_id] = history
        return out


def _history(
    doc_id: bytes,
    first: RawLog,
    logs: Sequence[RawLog],
    batches: dict[bytes, list[tuple[int, int, str, bytes, bytes]]],
    times: dict[int, int],
) -> DocumentHistory | None:
    try:
        parsed = parse_document_id(doc_id)
    except (ValueError, UnicodeDecodeError):
        return None
    batch = next(
        (b for b in batches.get(first.tx_hash, ()) if b[0] <= parsed.serial < b[0] + b[1]), None
    )
    if batch is None:
        return None
    destinations: list[str] = []
    links: list[bytes] = []
    amendments: dict[int, RawLog] = {}
    revocation: RevocationRecord | None = None
    acknowledgements: list[AcknowledgementRecord] = []
    checkpoints: list[CheckpointRecord] = []
    for log in logs:
        event = log.event
        if event == "DocumentAnchored":
            if log.tx_hash == first.tx_hash:
                destinations.append(decode_log_word(log.topics[3]))
        elif event == "DocumentLinked":
            if log.tx_hash == first.tx_hash:
                links.append(log.topics[2])
        elif event == "DocumentAmended":
            amendments.setdefault(log.uint(0), log)
        elif event == "DocumentRevoked":
            if revocation is None:
                revocation = RevocationRecord(
                    log.uint(0), log.block_number, times[log.block_number], log.tx_hash
                )
        elif event == "DocumentAcknowledged":
            acknowledgements.append(
                AcknowledgementRecord(
                    economy=decode_log_word(log.topics[3]),
                    version=log.uint(0),
                    lane=Lane(log.uint(1)),
                    reasons_commitment=log.word(2),
                    reasons_digest=log.word(3),
                    block_number=log.block_number,
                    timestamp=times[log.block_number],
                    tx_hash=log.tx_hash,
                )
            )
        elif event == "TransitCheckpointRecorded":
            checkpoints.append(
                CheckpointRecord(
                    economy=decode_log_word(log.topics[2]),
                    kind=CheckpointKind(int.from_bytes(log.topics[3], "big")),
                    position=log.uint(0),
                    block_number=log.block_number,
                    timestamp=times[log.block_number],
                    tx_hash=log.tx_hash,
                )
            )
    versions = [
        VersionRecord(
            1,
            first.word(0),
            first.word(1),
            first.block_number,
            times[first.block_number],
            first.tx_hash,
        )
    ]
    for number in sorted(amendments):
        log = amendments[number]
        versions.append(
            VersionRecord(
                number,
                log.word(1),
                log.word(2),
                log.block_number,
                times[log.block_number],
                log.tx_hash,
            )
        )
    return DocumentHistory(
        document_id=doc_id,
        doc_type=DocType(parsed.doc_type),
        issuer_economy=parsed.economy,
        serial=parsed.serial,
        submitter=batch[2],
        authority_id=batch[3],
        batch_key=batch[4],
        destinations=tuple(destinations),
        links=tuple(links),
        versions=tuple(versions),
        revocation=revocation,
        acknowledgements=tuple(acknowledgements),
        checkpoints=tuple(checkpoints),
    )
