"""The checks of a fetched document version's payload against what the chain anchored.

`PayloadChecker.check` is the part of `DocumentPipeline.fetch_and_verify` that needs
no chain: fetch the envelope from IPFS, compare its digest with the anchored one,
open it with this member's key, compare the payload's salted commitment with the
anchored root, validate the document and match its type, issuer and destinations
with the anchoring. Apart from the IPFS request it is CPU work, so a pipeline with
worker processes runs it there (`check_in_worker`; the listener's catch-up fetches
many versions at once and would otherwise spend it on the node's one GIL). A worker
builds its checker once from a `CheckerSpec`: the IPFS node's address and the
member's private keys as raw bytes, which cross to the worker through its pipe only
(the spec's repr leaves them out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger_client.commitment import DocumentCommitment, JsonValue, verify_full
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import DecryptionError, EnvelopeContext, open_envelope, read_header
from ledger_client.errors import VerificationError
from ledger_client.ipfs import IpfsStore
from ledger_client.provenance import DocumentPayload, Provenance, unixfs_digest
from manifests import Document, DocumentInvalidError, parse_document


@dataclass(frozen=True)
class CheckerSpec:
    """What a worker process needs to build a `PayloadChecker` like its parent's."""

    economy: str
    ipfs_address: str
    ipfs_timeout: float
    fetch_timeout: float | None
    private_keys: tuple[tuple[int, bytes], ...] = field(repr=False)


@dataclass(frozen=True)
class CheckedPayload:
    """A payload that passed `PayloadChecker.check`: its document and commitment."""

    document: Document
    document_json: Mapping[str, JsonValue]
    commitment: DocumentCommitment


class PayloadChecker:
    """Fetches, opens and checks payloads sealed for `economy` (thread-safe)."""

    def __init__(
        self,
        ipfs: IpfsStore,
        economy: str,
        private_keys: Mapping[int, MemberEncryptionKey],
        fetch_timeout: float | None = None,
    ) -> None:
        self.ipfs = ipfs
        self.economy = economy
        self.private_keys = dict(private_keys)
        self.fetch_timeout = fetch_timeout

    def spec(self) -> CheckerSpec:
        raw = serialization.Encoding.Raw, serialization.PrivateFormat.Raw
        return CheckerSpec(
            self.economy,
            self.ipfs.api_address,
            self.ipfs.timeout,
            self.fetch_timeout,
            tuple(
                (version, key.private_key.private_bytes(*raw, serialization.NoEncryption()))
                for version, key in sorted(self.private_keys.items())
            ),
        )

    @classmethod
    def from_spec(cls, spec: CheckerSpec) -> PayloadChecker:
        keys = {
            version: MemberEncryptionKey(X25519PrivateKey.from_private_bytes(raw))
            for version, raw in spec.private_keys
        }
        ipfs = IpfsStore(spec.ipfs_address, timeout=spec.ipfs_timeout)
        return cls(ipfs, spec.economy, keys, spec.fetch_timeout)

    def open(self, envelope: bytes, context: EnvelopeContext) -> bytes:
        """The plaintext of an envelope sealed for this member."""
        header = read_header(envelope)
        entry = next((r for r in header.recipients if r.economy == self.economy), None)
        if entry is None:
            raise VerificationError(
                "not_recipient",
                f"the envelope is sealed for {[r.economy for r in header.recipients]}, "
                f"not {self.economy}",
            )
        key = self.private_keys.get(entry.key_version)
        if key is None:
            raise DecryptionError(
                f"the envelope is sealed to {self.economy}'s key version {entry.key_version}; "
                f"this node holds versions {sorted(self.private_keys)}"
            )
        return open_envelope(
            envelope, self.economy, key, entry.key_version, expected_context=context
        )

    def check(self, provenance: Provenance, timeout: float | None = None) -> CheckedPayload:
        """Fetch the payload `provenance` anchors and check it; raises `VerificationError`
        naming the failed check, or an IPFS error if the payload cannot be had."""
        envelope = self.ipfs.cat(provenance.cid, timeout=timeout or self.fetch_timeout)
        if unixfs_digest(envelope) != provenance.payload_digest:
            raise VerificationError(
                "payload_digest",
                f"the bytes IPFS returned for {provenance.cid} do not hash to the digest "
                "anchored on-chain",
            )
        plaintext = self.open(envelope, EnvelopeContext(provenance.document_id, provenance.version))
        payload = DocumentPayload.from_bytes(plaintext)
        if payload.doc_type != int(provenance.doc_type):
            raise VerificationError(
                "payload_format",
                f"payload is document type {payload.doc_type}, "
                f"the id says {int(provenance.doc_type)}",
            )
        commitment = verify_full(
            payload.document,
            payload.doc_type,
            payload.schema_version,
            payload.salts,
            provenance.commitment,
        )
        try:
            model = parse_document(provenance.doc_type.value, payload.document)
        except DocumentInvalidError as exc:
            raise VerificationError(
                "schema", f"the committed document does not validate: {exc}"
            ) from None
        if model.model_dump(mode="json") != payload.document:
            raise VerificationError(
                "schema", "the committed document is not in its model's canonical JSON form"
            )
        if model.issuer_economy != provenance.issuer_economy:
            raise VerificationError(
                "issuer",
                f"the document names issuer {model.issuer_economy}, but "
                f"{provenance.issuer_economy} anchored it",
            )
        if tuple(model.destinations) != provenance.destinations:
            raise VerificationError(
                "destinations",
                f"the document's destinations {model.destinations} are not the anchored "
                f"{list(provenance.destinations)}",
            )
        return CheckedPayload(model, payload.document, commitment)


_checkers: dict[CheckerSpec, PayloadChecker] = {}
"""A worker process's checkers, one per spec it was sent (normally one)."""


def check_in_worker(
    spec: CheckerSpec, provenance: Provenance, timeout: float | None
) -> CheckedPayload:
    """`PayloadChecker.check` in a worker process, with the checker `spec` describes."""
    checker = _checkers.get(spec)
    if checker is None:
        checker = _checkers[spec] = PayloadChecker.from_spec(spec)
    return checker.check(provenance, timeout)
