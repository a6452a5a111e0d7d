"""Helpers shared by the pipeline tests (documents, crafted records, fault injection)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from devnet.ipfs import EmbeddedIpfsNode
from ledger_client.chain import TransactionSender
from ledger_client.commitment import DocumentCommitment
from ledger_client.deployment import Deployment, FoundingMember, deploy_all
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import EnvelopeContext, RecipientKey, seal
from ledger_client.ipfs import IpfsStore, cid_to_digest
from ledger_client.ledger import Ledger
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from ledger_client.provenance import DocumentPayload
from ledger_client.records import DocType, Record, document_id
from manifests import Document, DocumentType
from manifests.generate import DocumentGenerator
from manifests.sample_catalog import DEFAULT_ECONOMIES

_references = itertools.count(1)


class SimulatedCrash(BaseException):
    """Stands for the process dying: no `except Exception` in the pipeline catches it."""


def with_unique_reference(document: Document, tag: str = "T") -> Document:
    """The same document under a reference no other test uses (references are per issuer)."""
    reference = f"{document.issuer_economy}-{tag}-{next(_references):08d}"
    return document.model_copy(update={"reference": reference})


def document_of(kind: DocumentType, issuer: str, seed: int = 0) -> Document:
    """A generated valid document of `kind` issued by `issuer` (first seed from `seed` on)."""
    for candidate_seed in range(seed, seed + 5000):
        document = DocumentGenerator(candidate_seed).document(kind)
        if document.issuer_economy == issuer:
            return with_unique_reference(document)
    raise AssertionError(f"no {kind.name} issued by {issuer} among 5000 seeds")


def recipients_for(pipeline: DocumentPipeline, economies: set[str]) -> dict[str, RecipientKey]:
    consortium = pipeline.ledger.consortium
    out = {}
    for economy in economies:
        key, version = consortium.encryption_key(economy)
        out[economy] = RecipientKey(key, version)
    return out


def anchor_crafted(
    issuer: DocumentPipeline,
    doc_type: DocType,
    destinations: tuple[str, ...],
    commitment_root: bytes,
    make_envelope: Callable[[bytes], bytes],
) -> bytes:
    """Anchor a hand-made record at a fresh serial of `issuer`'s economy; returns the id.

    `make_envelope(doc_id)` builds the payload stored for it (possibly tampered).
    The serial comes from the issuer's own outbox counter, so the pipeline never
    collides with it.
    """
    with issuer.outbox.transaction() as work:
        serial = work.reserve_serials(issuer.economy, 1, issuer.serial_floor)
    doc_id = document_id(issuer.economy, int(doc_type), serial)
    envelope = make_envelope(doc_id)
    cid = issuer.ipfs.add_bytes(envelope)
    issuer.registry.anchor(
        serial, Record(doc_type, commitment_root, cid_to_digest(cid), destinations)
    )
    return doc_id


def sealed_payload(
    issuer: DocumentPipeline,
    doc_type: int,
    schema_version: str,
    document: dict[str, Any],
    commitment: DocumentCommitment,
    recipients: set[str],
    doc_id: bytes,
    version: int = 1,
) -> bytes:
    payload = DocumentPayload(doc_type, schema_version, document, commitment.salts)
    return seal(
        payload.to_bytes(),
        recipients_for(issuer, recipients),
        EnvelopeContext(doc_id, version),
    )


def pointer_tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def with_value_changed(document: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A deep copy of `document` with the leaf at `pointer` set to a different value."""
    changed = copy.deepcopy(document)
    node: Any = changed
    tokens = pointer_tokens(pointer)
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    last: Any = int(tokens[-1]) if isinstance(node, list) else tokens[-1]
    value = node[last]
    if isinstance(value, bool):
        node[last] = not value
    elif isinstance(value, int | float):
        node[last] = value + 1
    elif isinstance(value, str):
        node[last] = value + "X"
    else:  # None, {} or []
        node[last] = "X"
    return changed


class TamperingStore(IpfsStore):
    """An IPFS client whose `cat` flips one byte of what the node returned (a bad link)."""

    flip_at: int = 0
    mask: int = 0x01

    def cat(self, cid: str, timeout: float | None = None) -> bytes:
        data = bytearray(super().cat(cid, timeout))
        data[self.flip_at % len(data)] ^= self.mask
        return bytes(data)


class CountingStore(IpfsStore):
    """An IPFS client that counts add requests (to show a batch uses one)."""

    add_requests: int = 0

    def add_many(self, payloads: Any) -> list[str]:
        self.add_requests += 1
        return super().add_many(payloads)


@dataclass
class Member:
    economy: str
    account: LocalAccount
    key: MemberEncryptionKey
    ledger: Ledger


@dataclass
class Network:
    """A consortium of every economy the sample generator uses, with real X25519 keys."""

    w3: Web3
    deployment: Deployment
    members: dict[str, Member]
    exporter_store: IpfsStore
    importer_store: IpfsStore
    tmp: Path
    pipelines: list[DocumentPipeline] = field(default_factory=list)

    def __getitem__(self, economy: str) -> Member:
        return self.members[economy]

    def pipeline(
        self,
        economy: str,
        *,
        side: str = "exporter",
        outbox: Outbox | None = None,
        store: IpfsStore | None = None,
        encryption_key: MemberEncryptionKey | None = None,
        **options: object,
    ) -> DocumentPipeline:
        """A pipeline for `economy` on the exporting (default) or importing IPFS node."""
        member = self.members[economy]
        if store is None:
            store = self.exporter_store if side == "exporter" else self.importer_store
        pipeline = DocumentPipeline(
            member.ledger,
            store,
            encryption_key or member.key,
            outbox or Outbox.in_memory(),
            fetch_timeout=10.0,
            **options,  # type: ignore[arg-type]
        )
        self.pipelines.append(pipeline)
        return pipeline

    def outbox_url(self, name: str) -> str:
        return f"sqlite:///{self.tmp / name}.db"


def deploy_network(
    w3: Web3,
    nodes: tuple[EmbeddedIpfsNode, EmbeddedIpfsNode],
    tmp: Path,
    economies: tuple[str, ...] = DEFAULT_ECONOMIES,
) -> Network:
    faucet = w3.eth.accounts[0]

    def fund(address: str) -> None:
        tx = w3.eth.send_transaction({"from": faucet, "to": address, "value": 10**20})
        w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.05)

    deployer: LocalAccount = Account.create()
    fund(deployer.address)
    accounts = {economy: Account.create() for economy in economies}
    keys = {economy: MemberEncryptionKey.generate() for economy in economies}
    for account in accounts.values():
        fund(account.address)
    deployment = deploy_all(
        TransactionSender(w3, deployer),
        [FoundingMember(e, keys[e].public_key_bytes, (accounts[e].address,)) for e in economies],
    )
    members = {
        e: Member(
            e,
            accounts[e],
            keys[e],
            Ledger.open(w3, deployment, TransactionSender(w3, accounts[e])),
        )
        for e in economies
    }
    return Network(
        w3,
        deployment,
        members,
        IpfsStore(nodes[0].api_address, timeout=10.0),
        IpfsStore(nodes[1].api_address, timeout=10.0),
        tmp,
    )


def registry_event_count(network: Network) -> int:
    """How many logs the registry has emitted so far (any event)."""
    registry = network.deployment.contracts["DocumentRegistry"]
    return len(
        network.w3.eth.get_logs(
            {"address": registry.address, "fromBlock": registry.block, "toBlock": "latest"}
        )
    )
