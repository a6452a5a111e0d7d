"""Reading the risk reasons an importing member shared with this (issuing) economy.

An acknowledgement carries a salted commitment to its reasons and, when the
acknowledging member's policy allows, the IPFS digest of the reasons sealed for
the issuer (`RegistryListener._share_reasons`, same format as
`ledger_client.pipeline.DocumentPipeline.acknowledge`). `open_shared_reasons`
fetches, decrypts and checks them against the on-chain commitment.
"""

from __future__ import annotations

from typing import Any

from ledger_client.commitment import verify_full
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import EnvelopeContext, open_envelope, read_header
from ledger_client.errors import VerificationError
from ledger_client.ipfs import IpfsStore, digest_to_cid
from ledger_client.provenance import DocumentPayload, unixfs_digest
from node.listener import REASONS_DOC_TYPE, REASONS_SCHEMA_VERSION

ZERO32 = b"\x00" * 32


def open_shared_reasons(
    ipfs: IpfsStore,
    economy: str,
    key: MemberEncryptionKey,
    doc_id: bytes,
    version: int,
    reasons_commitment: bytes,
    reasons_digest: bytes,
) -> dict[str, Any] | None:
    """The verified reasons, or None when they were not shared (digest 0)."""
    if reasons_digest == ZERO32:
        return None
    blob = ipfs.cat(digest_to_cid(reasons_digest))
    if unixfs_digest(blob) != reasons_digest:
        raise VerificationError(
            "payload_digest", "the reasons IPFS returned do not match the chain"
        )
    entry = next((r for r in read_header(blob).recipients if r.economy == economy), None)
    if entry is None:
        raise VerificationError("not_recipient", f"the reasons are not sealed for {economy}")
    plaintext = open_envelope(
        blob, economy, key, entry.key_version, expected_context=EnvelopeContext(doc_id, version)
    )
    payload = DocumentPayload.from_bytes(plaintext)
    verify_full(
        payload.document,
        REASONS_DOC_TYPE,
        REASONS_SCHEMA_VERSION,
        payload.salts,
        reasons_commitment,
    )
    return dict(payload.document)
