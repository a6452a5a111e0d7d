"""Typed access to the DocumentRegistry contract.

Anchoring sends packed records (see `ledger_client.records`). Later operations
(amend, revoke, acknowledge, transit checkpoints) must prove the document
against its batch root; `document_proof` rebuilds that proof from the batch's
own events (one `eth_getLogs` by id plus one receipt), so nobody has to keep
proofs around, and caches it per batch.

OpenAttestation issuance (`issue_oa_root`, `revoke_oa`, `oa_issued_at`,
`oa_revoked_at`) is recorded per issuing economy; the wrapping and the OA file
side live in `ledger_client.audit.openattestation`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from ledger_client.chain import RawReceipt, TransactionSender, raw_receipt
from ledger_client.contract_client import ContractClient
from ledger_client.errors import LedgerClientError
from ledger_client.raw_logs import RawLog, raw_logs
from ledger_client.records import (
    CheckpointKind,
    DocStatus,
    DocType,
    Lane,
    Record,
    economy_bytes,
    leaf,
    merkle_levels,
    parse_document_id,
    proof_from_levels,
)

NO_AUTHORITY = b"\x00" * 32
ZERO32 = b"\x00" * 32


class DocumentNotAnchoredError(LedgerClientError, LookupError):
    """No anchoring of this document id was found on the chain."""


@dataclass(frozen=True)
class BatchReceipt:
    batch_key: bytes
    ids: tuple[bytes, ...]
    root: bytes
    tx_hash: bytes
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class DocumentProof:
    batch_key: bytes
    record: bytes
    proof: tuple[bytes, ...]

    def as_tuple(self) -> tuple[bytes, bytes, list[bytes]]:
        return (self.batch_key, self.record, list(self.proof))


@dataclass(frozen=True)
class AcknowledgementItem:
    """One acknowledgement of `RegistryClient.send_acknowledgements` (the arguments of
    `send_acknowledgement`; the proof is built when sending)."""

    doc_id: bytes
    version: int
    lane: Lane
    reasons_commitment: bytes
    reasons_digest: bytes = ZERO32
    #: The transaction that anchored the document, if known (see `anchored_batch_of`).
    anchored_in: bytes | None = None


@dataclass(frozen=True)
class DocumentState:
    materialized: bool
    doc_type: int
    status: DocStatus
    version: int
    checkpoint_position: int
    revocation_reason: int
    updated_at: int
    revoked_at: int


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch as reconstructed from its events."""

    batch_key: bytes
    issuer: str
    submitter: str
    authority_id: bytes
    first_serial: int
    root: bytes
    ids: tuple[bytes, ...]
    records: tuple[Record, ...]
    tx_hash: bytes
    block_number: int


PROOF_CACHE_DOCUMENTS = 16_384
"""Documents whose anchored batch (records, Merkle levels) a `RegistryClient` keeps.

Bounded by documents, not batches: a batch holds up to thousands of records, and the
former bound of 256 batches let an importer hold 128,000 records at 500 a batch (about
550 bytes each with their Merkle levels), so its memory grew through a 100k catch-up.
"""

_Cached = TypeVar("_Cached")


def _trim(cache: OrderedDict[bytes, _Cached], size: Callable[[_Cached], int], limit: int) -> None:
    """Drop the oldest entries of `cache` until their sizes add up to `limit` at most
    (the newest entry stays, however large)."""
    total = sum(size(entry) for entry in cache.values())
    while total > limit and len(cache) > 1:
        _, dropped = cache.popitem(last=False)
        total -= size(dropped)


def _recorded_state(state: Sequence[Any]) -> tuple[int, bool, int]:
    """(latest version, revoked, checkpoint progress) of a `documentState` answer."""
    materialized, _, status, version, progress, *_ = state
    if not materialized:
        return 1, False, 0
    return int(version), DocStatus(status) is DocStatus.REVOKED, int(progress)


class RegistryClient(ContractClient):
    def __init__(
        self,
        contract: Contract,
        sender: TransactionSender | None = None,
        *,
        from_block: int = 0,
        proof_cache_documents: int = PROOF_CACHE_DOCUMENTS,
    ) -> None:
        super().__init__(contract, sender)
        self.from_block = from_block
        self._batches: OrderedDict[bytes, AnchoredBatch] = OrderedDict()
        # batch key -> Merkle levels: proving every document of a batch hashes it once
        self._levels: OrderedDict[bytes, list[list[bytes]]] = OrderedDict()
        self._cache_documents = proof_cache_documents
        self._cache_lock = threading.Lock()
        self._batch_topics = {
            bytes(HexBytes(contract.events[name]().topic)): name
            for name in ("DocumentAnchored", "DocumentLinked", "BatchAnchored")
        }

    # -- anchoring --------------------------------------------------------------
    def anchor_batch(
        self,
        first_serial: int,
        records: Sequence[Record],
        *,
        authority_id: bytes = NO_AUTHORITY,
        gas: int | None = None,
    ) -> BatchReceipt:
        """Anchor documents with serials first_serial, first_serial+1, ... in one transaction."""
        call = self._anchor_batch_call(first_serial, records, authority_id)
        return self._batch_receipt(self._send().transact_raw(call, gas=gas))

    def _anchor_batch_call(
        self, first_serial: int, records: Sequence[Record], authority_id: bytes
    ) -> ContractFunction:
        packed = b"".join(r.pack() for r in records)
        return self.contract.functions.anchorBatch(first_serial, authority_id, packed)

    def anchor(
        self,
        serial: int,
        record: Record,
        *,
        authority_id: bytes = NO_AUTHORITY,
        gas: int | None = None,
    ) -> BatchReceipt:
        """Anchor one document (the registry's single-document path)."""
        call = self._anchor_call(serial, record, authority_id)
        return self._batch_receipt(self._send().transact_raw(call, gas=gas))

    def _anchor_call(self, serial: int, record: Record, authority_id: bytes) -> ContractFunction:
        return self.contract.functions.anchor(serial, authority_id, record.pack())

    def anchoring_gas(
        self, first_serial: int, records: Sequence[Record], *, authority_id: bytes = NO_AUTHORITY
    ) -> int:
        """The gas limit `anchor` (one record) or `anchor_batch` (several) needs for these
        arguments, estimated as their own transaction would be: a rule the contract
        would refuse raises its typed error here. The sender's fees are read too (they
        are cached), so the transaction given this gas makes no round trip before its
        send."""
        if len(records) == 1:
            call = self._anchor_call(first_serial, records[0], authority_id)
        else:
            call = self._anchor_batch_call(first_serial, records, authority_id)
        return int(self._send().build(call)["gas"])

    def _batch_receipt(self, receipt: RawReceipt) -> BatchReceipt:
        """The anchoring's batch from its receipt, read raw (one log per document)."""
        logs = self._batch_logs(receipt.logs)
        batch_log = next(log for log in logs if log.event == "BatchAnchored")
        ids = tuple(dict.fromkeys(log.topics[1] for log in logs if log.event == "DocumentAnchored"))
        return BatchReceipt(
            batch_key=batch_log.topics[1],
            ids=ids,
            root=batch_log.word(4),
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            gas_used=receipt.gas_used,
        )

    # -- proofs -----------------------------------------------------------------
    def anchored_batch_of(self, doc_id: bytes, anchored_in: bytes | None = None) -> AnchoredBatch:
        """The batch a document was anchored in, rebuilt from chain events.

        `anchored_in`: the hash of the transaction the caller saw anchor it (a
        scanned DocumentAnchored event); its receipt replaces the search by id,
        and the documents of one batch share one receipt. If the chain holds no
        such anchoring (reorganised away), the search by id decides."""
        if anchored_in is not None:
            batch = self._batch_anchored_in(doc_id, anchored_in)
            if batch is not None:
                return batch
        logs = self.contract.events.DocumentAnchored().get_logs(
            argument_filters={"id": doc_id}, from_block=self.from_block
        )
        if not logs:
            raise DocumentNotAnchoredError(f"document 0x{doc_id.hex()} is not anchored")
        batch = self._batch_anchored_in(doc_id, bytes(logs[0]["transactionHash"]))
        if batch is None:
            raise DocumentNotAnchoredError(f"no batch event covers document 0x{doc_id.hex()}")
        return batch

    def _batch_anchored_in(self, doc_id: bytes, tx_hash: bytes) -> AnchoredBatch | None:
        """The batch of `doc_id` anchored by transaction `tx_hash` (cached), or None if
        that transaction did not anchor it (unknown, reverted, another batch)."""
        with self._cache_lock:
            for batch in self._batches.values():
                if batch.tx_hash == tx_hash and doc_id in batch.ids:
                    return batch
        receipt = raw_receipt(self.w3, tx_hash)
        if receipt is None or int(receipt["status"], 16) != 1:
            return None
        logs = self._batch_logs(receipt["logs"])
        try:
            batch = self._rebuild_batch(logs, doc_id, tx_hash, int(receipt["blockNumber"], 16))
        except DocumentNotAnchoredError:
            return None
        if doc_id not in batch.ids:
            return None
        with self._cache_lock:
            self._batches[batch.batch_key] = batch
            _trim(self._batches, lambda cached: len(cached.ids), self._cache_documents)
        return batch

    def _batch_logs(self, receipt_logs: Iterable[dict[str, Any]]) -> list[RawLog]:
        """The registry's anchoring events among a raw receipt's logs."""
        address = self.contract.address.lower()
        return raw_logs(
            (log for log in receipt_logs if str(log["address"]).lower() == address),
            self._batch_topics,
        )

    def _rebuild_batch(
        self, logs: Sequence[RawLog], doc_id: bytes, tx_hash: bytes, block_number: int
    ) -> AnchoredBatch:
        """The batch covering `doc_id` among an anchoring transaction's registry logs."""
        parsed = parse_document_id(doc_id)
        for log in logs:
            if log.event != "BatchAnchored":
                continue
            first, count = log.uint(2), log.uint(3)
            issuer = log.topics[2][:2].decode()
            if issuer == parsed.economy and first <= parsed.serial < first + count:
                batch_log = log
                break
        else:
            raise DocumentNotAnchoredError(f"no batch event covers document 0x{doc_id.hex()}")
        destinations: dict[bytes, list[str]] = defaultdict(list)
        payload: dict[bytes, tuple[bytes, bytes]] = {}
        links: dict[bytes, list[bytes]] = defaultdict(list)
        for log in logs:
            if log.event == "DocumentAnchored":
                key = log.topics[1]
                destinations[key].append(log.topics[3][:2].decode())
                payload.setdefault(key, (log.word(0), log.word(1)))
            elif log.event == "DocumentLinked":
                links[log.topics[1]].append(log.topics[2])
        ids, records = [], []
        for key in destinations:  # log order = record order
            p = parse_document_id(key)
            if p.economy != issuer or not first <= p.serial < first + count:
                continue
            ids.append(key)
            commitment, digest = payload[key]
            records.append(
                Record(p.doc_type, commitment, digest, tuple(destinations[key]), tuple(links[key]))
            )
        return AnchoredBatch(
            batch_key=batch_log.topics[1],
            issuer=issuer,
            submitter=to_checksum_address(batch_log.word(0)[12:]),
            authority_id=batch_log.word(1),
            first_serial=first,
            root=batch_log.word(4),
            ids=tuple(ids),
            records=tuple(records),
            tx_hash=tx_hash,
            block_number=block_number,
        )

    def document_proof(self, doc_id: bytes, anchored_in: bytes | None = None) -> DocumentProof:
        """The document's Merkle proof against its batch root (see `anchored_batch_of`)."""
        batch = self.anchored_batch_of(doc_id, anchored_in)
        index = batch.ids.index(doc_id)
        with self._cache_lock:
            levels = self._levels.get(batch.batch_key)
        if levels is None:
            levels = merkle_levels(
                [leaf(i, r.pack()) for i, r in zip(batch.ids, batch.records, strict=True)]
            )
            with self._cache_lock:
                self._levels[batch.batch_key] = levels
                _trim(self._levels, lambda cached: len(cached[0]), self._cache_documents)
        return DocumentProof(
            batch.batch_key,
            batch.records[index].pack(),
            tuple(proof_from_levels(levels, index)),
        )

    # -- lifecycle ----------------------------------------------------------------
    def amend(self, doc_id: bytes, commitment: bytes, payload_digest: bytes) -> TxReceipt:
        proof = self.document_proof(doc_id)
        return self._transact(
            self.contract.functions.amend(doc_id, commitment, payload_digest, proof.as_tuple())
        )

    def revoke(self, doc_id: bytes, reason_code: int) -> TxReceipt:
        proof = self.document_proof(doc_id)
        return self._transact(self.contract.functions.revoke(doc_id, reason_code, proof.as_tuple()))

    def acknowledge(
        self,
        doc_id: bytes,
        version: int,
        lane: Lane,
        reasons_commitment: bytes,
        reasons_digest: bytes = ZERO32,
    ) -> RawReceipt:
        return self.confirm(
            self.send_acknowledgement(doc_id, version, lane, reasons_commitment, reasons_digest)
        )

    def send_acknowledgement(
        self,
        doc_id: bytes,
        version: int,
        lane: Lane,
        reasons_commitment: bytes,
        reasons_digest: bytes = ZERO32,
        *,
        anchored_in: bytes | None = None,
    ) -> HexBytes:
        """Send an acknowledgement without waiting for it to be mined; returns its hash.

        Gas is estimated first, so a rule the chain already enforces (already
        acknowledged, revoked) raises its typed error here; `confirm` raises one that
        only the mined transaction met. `anchored_in`: see `anchored_batch_of`."""
        proof = self.document_proof(doc_id, anchored_in)
        call = self.contract.functions.acknowledge(
            doc_id, version, int(lane), reasons_commitment, reasons_digest, proof.as_tuple()
        )
        sender = self._send()
        return sender.sign_and_send(sender.build(call))

    def send_acknowledgements(self, items: Sequence[AcknowledgementItem]) -> HexBytes:
        """Send several acknowledgements as ONE `acknowledgeBatch` transaction without
        waiting for it to be mined; returns its hash.

        The chain records and announces each item exactly as a single acknowledgement
        (one DocumentAcknowledged each), but the call is atomic: gas is estimated
        first, so an item that breaks a rule the chain already enforces raises that
        rule's typed error here (the first such item's; its `rule_args` name it) and
        nothing is sent; `confirm` raises one that only the mined transaction met
        (then none of the items was recorded)."""
        if not items:
            raise ValueError("send_acknowledgements needs at least one acknowledgement")
        # Encoded once, by eth_abi: web3 encodes a contract call's arguments again for the
        # estimate and for the transaction, and its encoding of 64 nested items cost more
        # than the rest of a listener's window.
        data = self._encode(
            "acknowledgeBatch",
            [
                [
                    (
                        item.doc_id,
                        item.version,
                        int(item.lane),
                        item.reasons_commitment,
                        item.reasons_digest,
                        self.document_proof(item.doc_id, item.anchored_in).as_tuple(),
                    )
                    for item in items
                ]
            ],
        )
        sender = self._send()
        return sender.sign_and_send(sender.build_call(self.contract.address, data))

    def acknowledge_batch(self, items: Sequence[AcknowledgementItem]) -> RawReceipt:
        """`send_acknowledgements`, then wait for the receipt."""
        return self.confirm(self.send_acknowledgements(items))

    def confirm(self, tx_hash: HexBytes) -> RawReceipt:
        """Wait for a sent transaction's successful receipt (a revert raises its rule error)."""
        return self._send().wait_raw(tx_hash)

    def record_checkpoint(self, doc_id: bytes, kind: CheckpointKind) -> TxReceipt:
        proof = self.document_proof(doc_id)
        return self._transact(
            self.contract.functions.recordCheckpoint(doc_id, int(kind), proof.as_tuple())
        )

    # -- reads ----------------------------------------------------------------------
    def recorded_state(self, doc_id: bytes) -> tuple[int, bool, int]:
        """(latest version, revoked, checkpoint progress) as the registry holds them now;
        one ``eth_call`` (`document_state` also reads logs, to tell an unanchored id from
        one nothing happened to since its anchoring: (1, False, 0) here)."""
        return _recorded_state(self._read("documentState", doc_id))

    def recorded_states(self, doc_ids: Sequence[bytes]) -> list[tuple[int, bool, int]]:
        """`recorded_state` of each id, in order, read in one JSON-RPC batch."""
        return [
            _recorded_state(state)
            for state in self._read_many("documentState", [(d,) for d in doc_ids])
        ]

    def document_state(self, doc_id: bytes) -> DocumentState:
        s = self._read("documentState", doc_id)
        materialized, doc_type, status, version, position, reason, _m_at, updated, revoked = s
        if not materialized:
            if not self.is_anchored(doc_id):
                raise DocumentNotAnchoredError(f"document 0x{doc_id.hex()} is not anchored")
            doc_type, status, version = int(parse_document_id(doc_id).doc_type), 1, 1
        return DocumentState(
            materialized, doc_type, DocStatus(status), version, position, reason, updated, revoked
        )

    def is_anchored(self, doc_id: bytes) -> bool:
        """Whether this exact id (economy, type and serial) was anchored.

        The serial bitmap is per economy, so a used serial may belong to another
        document type; the id's own anchoring event settles it.
        """
        p = parse_document_id(doc_id)
        if not self.contract.functions.isSerialUsed(economy_bytes(p.economy), p.serial).call():
            return False
        return bool(
            self.contract.events.DocumentAnchored().get_logs(
                argument_filters={"id": doc_id}, from_block=self.from_block
            )
        )

    # -- OpenAttestation issuance ---------------------------------------------------
    def issue_oa_root(self, root: bytes) -> TxReceipt:
        """Issue an OA batch (its Merkle root) under the sender's economy."""
        return self._transact(self.contract.functions.issueOaRoot(root))

    def revoke_oa(self, root: bytes, hash_: bytes, proof: Sequence[bytes] = ()) -> TxReceipt:
        """Revoke `hash_` (a target hash, an inner node or `root` itself) of an OA batch the
        sender's economy issued; `proof` leads from `hash_` to `root`."""
        return self._transact(self.contract.functions.revokeOa(root, hash_, list(proof)))

    def oa_issued_at(self, economy: str, root: bytes) -> int:
        """Unix time `economy` issued the OA root (0: not issued by it)."""
        return int(self._call(self.contract.functions.oaIssuedAt(economy_bytes(economy), root)))

    def oa_revoked_at(self, economy: str, hash_: bytes) -> int:
        """Unix time `economy` revoked the OA hash (0: not revoked by it)."""
        return int(self._call(self.contract.functions.oaRevokedAt(economy_bytes(economy), hash_)))

    def acknowledgement(self, doc_id: bytes, version: int, economy: str) -> tuple[Lane | None, int]:
        lane, at = self.contract.functions.acknowledgement(
            doc_id, version, economy_bytes(economy)
        ).call()
        return (Lane(lane) if lane else None), int(at)

    def acknowledged(self, economy: str, keys: Sequence[tuple[bytes, int]]) -> list[bool]:
        """Whether `economy` acknowledged each (document id, version) of `keys`, in order,
        read in one JSON-RPC batch of ``eth_call`` (`_read_many`)."""
        code = economy_bytes(economy)
        answers = self._read_many("acknowledgement", [(d, v, code) for d, v in keys])
        return [bool(lane) for lane, _ in answers]


__all__ = ["AcknowledgementItem", "BatchReceipt", "DocType", "DocumentProof", "RegistryClient"]
