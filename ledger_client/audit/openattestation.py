"""OpenAttestation v2 wrapped documents: export e-COs for OA tooling, verify OA v2 files.

OpenAttestation (OA, the TradeTrust / GovTech Singapore framework) v2 wraps a
JSON document as follows (``@govtechsg/open-attestation`` ``src/2.0``):

1. **Salting.** Every primitive value ``v`` becomes the string
   ``"<uuid v4>:<typeof v>:<String(v)>"`` (``null`` -> ``"<uuid>:null:null"``);
   empty objects and arrays stay as they are.
2. **Target hash.** The salted ``data`` is flattened (``flat``: keys joined by
   ``.``, array indices as keys); each pair hashes to
   ``keccak256(JSON.stringify({key: value}))`` (hex, no 0x). Hashes of obfuscated
   fields (``privacy.obfuscatedData``) join them; the sorted list hashes to
   ``targetHash = keccak256(JSON.stringify(sortedHashes))``.
3. **Batch.** The target hashes of a batch, sorted and de-duplicated, are the
   leaves of a Merkle tree whose nodes are ``keccak256(sort(a, b))`` (an odd
   last node moves up). Each document carries its ``proof`` and the
   ``merkleRoot``; the issuer records the root in a DocumentStore contract
   (``issue(bytes32)``), which answers ``isIssued`` / ``isRevoked``.

Obfuscating a field replaces it by the hashes of its flattened pairs in
``privacy.obfuscatedData``; the target hash does not change.

`wrap_documents` exports e-COs (or any JSON) this way, `verify_wrapped` checks
integrity (target hash incl. obfuscated fields, proof to the Merkle root) and,
given a contract, issuance status (`document_store_status`).

**Issuing on the CIE registry.** The DocumentRegistry records OA roots per
issuing economy (`issueOaRoot`, `revokeOa`), and each economy has its own
DocumentStore facade (`OaDocumentStore`, listed in the deployment file) that
answers ``isIssued`` / ``isRevoked`` from that economy's records only. OA
identity is a DNS-TXT record naming the documentStore address, so one address
per economy keeps a member from issuing under another's identity.
`issue_oa_batch` wraps anchored documents of the sender's economy with that
economy's facade as ``documentStore`` and issues the root; `revoke_oa_document`
revokes one document (its target hash) or its whole batch (the root).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from eth_utils.crypto import keccak

from ledger_client.errors import ConfigurationError, LedgerClientError

if TYPE_CHECKING:
    from web3.types import TxReceipt

    from ledger_client.ledger import Ledger
    from ledger_client.provenance import VerifiedDocument

__all__ = [
    "DOCUMENT_STORE_ABI",
    "OA_V2_SCHEMA",
    "OaDocumentError",
    "OaIntegrity",
    "OaIssuedBatch",
    "OaLedgerDocument",
    "cie_oa_data",
    "document_store_of",
    "document_store_status",
    "issue_oa_batch",
    "oa_revocation_path",
    "obfuscate",
    "revoke_oa_document",
    "target_hash",
    "unsalt",
    "verify_wrapped",
    "wrap_documents",
    "wrap_ledger_documents",
    "wrap_verified_documents",
]

OA_V2_SCHEMA: Final = "https://schema.openattestation.com/2.0/schema.json"
OA_PROOF_TYPE: Final = "SHA3MerkleProof"
# The DocumentStore views OA verifiers call (answered per economy by OaDocumentStore).
DOCUMENT_STORE_ABI: Final = [
    {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [{"name": "document", "type": "bytes32"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
    for name in ("isIssued", "isRevoked")
]


class OaDocumentError(LedgerClientError, ValueError):
    """Not an OpenAttestation v2 wrapped document, or a value OA cannot salt."""


# ------------------------------------------------------------------- JS semantics


def _js_string(value: Any) -> str:
    """`${typeof v}:${String(v)}` as JavaScript writes it."""
    if value is None:
        return "null:null"
    if isinstance(value, bool):
        return "boolean:" + ("true" if value else "false")
    if isinstance(value, int | float):
        # ECMAScript Number::toString is what RFC 8785 serialises numbers with.
        return "number:" + rfc8785.dumps(value).decode()
    if isinstance(value, str):
        return "string:" + value
    raise OaDocumentError(f"{type(value).__name__} is not a JSON primitive")


def _js_json(value: Any) -> str:
    """JSON.stringify: no spaces, non-ASCII kept, same escapes as Python's encoder."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _keccak_hex(text: str) -> str:
    return keccak(text.encode("utf-8")).hex()


def _deep_map(node: Any, leaf: Callable[[Any], Any]) -> Any:
    if isinstance(node, Mapping):
        return {key: _deep_map(child, leaf) for key, child in node.items()}
    if isinstance(node, list | tuple):
        return [_deep_map(child, leaf) for child in node]
    return leaf(node)


def _salt(value: Any) -> str:
    return f"{uuid.uuid4()}:{_js_string(value)}"


def unsalt(data: Any) -> Any:
    """The plain values of salted OA data (``"<uuid>:number:5"`` -> 5)."""

    def leaf(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parts = value.split(":", 2)
        if len(parts) != 3:
            raise OaDocumentError(f"{value!r} is not a salted OA value")
        _, kind, text = parts
        if kind == "string":
            return text
        if kind == "number":
            number = float(text)
            return int(number) if number.is_integer() and "e" not in text else number
        if kind == "boolean":
            return text == "true"
        if kind in ("null", "undefined"):
            return None
        raise OaDocumentError(f"unknown OA value type {kind!r}")

    return _deep_map(data, leaf)


def _flatten(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """`flat` (delimiter "."): leaves and empty containers, keyed by their path."""
    if isinstance(node, Mapping) and node:
        items: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list) and node:
        items = enumerate(node)
    else:
        return [(prefix, node)]
    out = []
    for key, child in items:
        out.extend(_flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _pair_hashes(data: Any) -> list[str]:
    return [_keccak_hex(_js_json({key: value})) for key, value in _flatten(data)]


def target_hash(wrapped: Mapping[str, Any]) -> str:
    """The OA v2 target hash of a (possibly obfuscated) wrapped document (hex, no 0x)."""
    hidden = list(wrapped.get("privacy", {}).get("obfuscatedData", []))
    hashes = sorted(hidden + _pair_hashes(wrapped.get("data", {})))
    return _keccak_hex(_js_json(hashes))


def _combine(a: bytes, b: bytes) -> bytes:
    return keccak(b"".join(sorted((a, b))))


def _merkle_layers(leaves: Sequence[bytes]) -> list[list[bytes]]:
    layers = [list(leaves)]
    while len(layers[-1]) > 1:
        below = layers[-1]
        layers.append(
            [
                _combine(below[i], below[i + 1]) if i + 1 < len(below) else below[i]
                for i in range(0, len(below), 2)
            ]
        )
    return layers


# ------------------------------------------------------------------------- wrapping


def wrap_documents(documents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Wrap a batch of OA data objects; every result carries the batch's Merkle root."""
    if not documents:
        raise OaDocumentError("nothing to wrap")
    wrapped = []
    for document in documents:
        data = _deep_map(copy.deepcopy(dict(document)), _salt)
        wrapped.append({"version": OA_V2_SCHEMA, "data": data})
    targets = [target_hash(w) for w in wrapped]
    leaves = sorted({bytes.fromhex(t) for t in targets})
    position = {leaf: i for i, leaf in enumerate(leaves)}
    layers = _merkle_layers(leaves)
    root = layers[-1][0].hex()
    for document, target in zip(wrapped, targets, strict=True):
        index = position[bytes.fromhex(target)]
        proof = []
        for layer in layers[:-1]:
            sibling = index + 1 if index % 2 == 0 else index - 1
            if sibling < len(layer):
                proof.append(layer[sibling].hex())
            index //= 2
        document["signature"] = {
            "type": OA_PROOF_TYPE,
            "targetHash": target,
            "proof": proof,
            "merkleRoot": root,
        }
    return wrapped


def obfuscate(wrapped: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A copy with `fields` (dotted paths, e.g. ``"exporter.name"``) moved to obfuscatedData."""
    result = copy.deepcopy(dict(wrapped))
    data = result["data"]
    hidden = list(result.get("privacy", {}).get("obfuscatedData", []))
    for path in fields:
        tokens = path.split(".")
        parent: Any = data
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent.get(token)
            if parent is None:
                raise OaDocumentError(f"no field at {path!r}")
        last: Any = int(tokens[-1]) if isinstance(parent, list) else tokens[-1]
        if isinstance(parent, list) or last not in parent:
            raise OaDocumentError(f"no object member at {path!r} (array items cannot be removed)")
        hidden += [_keccak_hex(_js_json({k: v})) for k, v in _flatten(parent[last], path)]
        del parent[last]
    result["privacy"] = {"obfuscatedData": hidden}
    return result


# ------------------------------------------------------------------------ verifying


@dataclass(frozen=True)
class OaIntegrity:
    """Outcome of the OA v2 integrity check (OpenAttestationHash in oa-verify)."""

    valid: bool
    target_hash: str
    computed_target_hash: str
    merkle_root: str
    computed_merkle_root: str
    obfuscated_fields: int
    reason: str | None


def verify_wrapped(wrapped: Mapping[str, Any]) -> OaIntegrity:
    """Recompute the target hash (incl. obfuscated fields) and the proof to the root."""
    signature = wrapped.get("signature")
    if (
        not isinstance(wrapped.get("data"), Mapping)
        or not isinstance(signature, Mapping)
        or signature.get("type") != OA_PROOF_TYPE
    ):
        raise OaDocumentError("not an OpenAttestation v2 wrapped document (data, signature)")
    claimed, root = str(signature.get("targetHash")), str(signature.get("merkleRoot"))
    computed = target_hash(wrapped)
    node = bytes.fromhex(computed)
    for sibling in signature.get("proof") or []:
        node = _combine(node, bytes.fromhex(sibling))
    computed_root = node.hex()
    reason = None
    if computed != claimed:
        reason = "the data does not hash to the target hash: a value was changed"
    elif computed_root != root:
        reason = "the proof does not lead from the target hash to the Merkle root"
    return OaIntegrity(
        valid=reason is None,
        target_hash=claimed,
        computed_target_hash=computed,
        merkle_root=root,
        computed_merkle_root=computed_root,
        obfuscated_fields=len(wrapped.get("privacy", {}).get("obfuscatedData", [])),
        reason=reason,
    )


def document_store_of(wrapped: Mapping[str, Any]) -> str:
    """The ``documentStore`` address the (first) issuer of a wrapped document names."""
    issuers = wrapped.get("data", {}).get("issuers")
    if not isinstance(issuers, list) or not issuers or not isinstance(issuers[0], Mapping):
        raise OaDocumentError("the document names no issuer (data.issuers)")
    store = issuers[0].get("documentStore")
    if not isinstance(store, str):
        raise OaDocumentError("the issuer names no documentStore (it may be obfuscated)")
    address = unsalt(store)
    if not isinstance(address, str) or len(address) != 42 or not address.startswith("0x"):
        raise OaDocumentError(f"documentStore {address!r} is not an address")
    return address


def oa_revocation_path(wrapped: Mapping[str, Any]) -> tuple[bytes, bytes, list[bytes]]:
    """(merkle root, target hash, proof from the target hash to the root) of a wrapped
    document, checked to lead to the root: the arguments of the registry's `revokeOa`."""
    signature = wrapped.get("signature")
    if not isinstance(signature, Mapping) or signature.get("type") != OA_PROOF_TYPE:
        raise OaDocumentError("not an OpenAttestation v2 wrapped document (signature)")
    try:
        root = bytes.fromhex(str(signature["merkleRoot"]))
        target = bytes.fromhex(str(signature["targetHash"]))
        proof = [bytes.fromhex(str(h)) for h in signature.get("proof") or []]
    except (KeyError, ValueError) as exc:
        raise OaDocumentError(f"malformed OA signature: {exc}") from None
    node = target
    for sibling in proof:
        node = _combine(node, sibling)
    if node != root or len(root) != 32:
        raise OaDocumentError(
            "the signature's proof does not lead from the target hash to the root"
        )
    return root, target, proof


def document_store_status(contract: Any, wrapped: Mapping[str, Any]) -> tuple[bool, bool]:
    """(issued, revoked) of a wrapped document per a DocumentStore-compatible contract.

    As oa-verify does for v2: the Merkle root must be issued, and none of the
    target hash, the intermediate hashes of its proof and the root revoked.
    """
    signature = wrapped["signature"]
    root = bytes.fromhex(signature["merkleRoot"])
    node = bytes.fromhex(signature["targetHash"])
    path = [node]
    for sibling in signature.get("proof") or []:
        node = _combine(node, bytes.fromhex(sibling))
        path.append(node)
    if path[-1] != root:
        path.append(root)
    issued = bool(contract.functions.isIssued(root).call())
    revoked = any(bool(contract.functions.isRevoked(h).call()) for h in path)
    return issued, revoked


def cie_oa_data(
    document: Mapping[str, Any],
    *,
    document_id: str,
    version: int,
    commitment: str,
    chain_id: int,
    issuer_name: str,
    document_store: str,
    identity_location: str,
) -> dict[str, Any]:
    """The OA ``data`` of an anchored e-CO: the document plus OA and ledger references.

    ``issuers`` follows the OA v2 schema (DocumentStore issuance, DNS-TXT identity);
    ``cieLedger`` ties the OA file to the ledger's own record of the document.
    """
    return {
        "$template": {"name": "CIE_ECO", "type": "EMBEDDED_RENDERER", "url": ""},
        "issuers": [
            {
                "name": issuer_name,
                "documentStore": document_store,
                "identityProof": {"type": "DNS-TXT", "location": identity_location},
            }
        ],
        "cieLedger": {
            "chainId": chain_id,
            "documentId": document_id,
            "version": version,
            "commitment": commitment,
        },
        "certificate": dict(document),
    }


@dataclass(frozen=True)
class OaLedgerDocument:
    """An anchored document version to export as OA: its committed JSON and ledger reference.

    Built from a `VerifiedDocument` (fetched and decrypted by a member node) or from a
    full-disclosure document file that `cie audit verify` found VALID.
    """

    document: Mapping[str, Any]
    document_id: str  # 0x + 64 hex
    version: int
    commitment: str  # 0x + 64 hex: the commitment root anchored for this version

    @classmethod
    def from_verified(cls, verified: VerifiedDocument) -> OaLedgerDocument:
        return cls(
            document=verified.document_json,
            document_id=verified.provenance.document_id_hex,
            version=verified.provenance.version,
            commitment="0x" + verified.commitment.root.hex(),
        )

    @property
    def issuer_economy(self) -> str:
        """The economy in the id's two high bytes (the only one that may issue it)."""
        return bytes.fromhex(self.document_id[2:6]).decode("ascii", errors="replace")


def wrap_ledger_documents(
    documents: Sequence[OaLedgerDocument],
    *,
    chain_id: int,
    issuer_name: str,
    document_store: str,
    identity_location: str,
) -> list[dict[str, Any]]:
    """Wrap anchored ledger documents as one OA v2 batch naming `document_store`."""
    return wrap_documents(
        [
            cie_oa_data(
                d.document,
                document_id=d.document_id,
                version=d.version,
                commitment=d.commitment,
                chain_id=chain_id,
                issuer_name=issuer_name,
                document_store=document_store,
                identity_location=identity_location,
            )
            for d in documents
        ]
    )


def wrap_verified_documents(
    verified: Sequence[Any],
    deployment: Any,
    *,
    issuer_name: str,
    document_store: str,
    identity_location: str,
) -> list[dict[str, Any]]:
    """Wrap verified ledger documents (`VerifiedDocument`, e.g. e-COs) as one OA v2 batch.

    `document_store` is the contract OA verifiers will ask ``isIssued(merkleRoot)``;
    `issue_oa_batch` wraps with the exporting economy's facade and issues the root.
    """
    return wrap_ledger_documents(
        [OaLedgerDocument.from_verified(v) for v in verified],
        chain_id=deployment.chain_id,
        issuer_name=issuer_name,
        document_store=document_store,
        identity_location=identity_location,
    )


@dataclass(frozen=True)
class OaIssuedBatch:
    """A wrapped OA batch whose root the exporting economy issued on the registry."""

    economy: str
    document_store: str
    merkle_root: str  # hex, no 0x (as in the documents' signature)
    documents: list[dict[str, Any]]
    tx_hash: str
    block_number: int


def issue_oa_batch(
    ledger: Ledger,
    documents: Sequence[OaLedgerDocument | VerifiedDocument],
    *,
    identity_location: str,
    issuer_name: str | None = None,
    hide: Sequence[str] = (),
) -> OaIssuedBatch:
    """Wrap anchored documents of the sender's economy as one OA batch and issue its root.

    The documents name the economy's OaDocumentStore facade as ``documentStore``
    (from the deployment file), so OA verifiers see them issued there. `hide` lists
    OA data paths (``certificate.consignee``) to obfuscate in every returned
    document (the root does not change). Raises
    `OaDocumentError` if a document belongs to another economy (before any
    transaction), `ConfigurationError` if the ledger is read-only or the deployment
    lists no facade for the economy, and the registry's typed errors on a revert.
    """
    if not documents:
        raise OaDocumentError("nothing to export")
    if ledger.sender is None:
        raise ConfigurationError("issuing OA documents needs a signing account")
    economy = ledger.consortium.economy_of(ledger.sender.address)
    sources = [
        d if isinstance(d, OaLedgerDocument) else OaLedgerDocument.from_verified(d)
        for d in documents
    ]
    foreign = sorted({d.document_id for d in sources if d.issuer_economy != economy})
    if foreign:
        raise OaDocumentError(
            f"{economy} can only issue its own documents as OA; not issued by {economy}: "
            + ", ".join(foreign)
        )
    store = ledger.deployment.oa_document_store(ledger.w3, economy).address
    wrapped = wrap_ledger_documents(
        sources,
        chain_id=ledger.deployment.chain_id,
        issuer_name=issuer_name or f"{economy} customs (CIE Ledger)",
        document_store=str(store),
        identity_location=identity_location,
    )
    root = wrapped[0]["signature"]["merkleRoot"]
    if hide:
        wrapped = [obfuscate(w, hide) for w in wrapped]  # before the transaction: typos fail here
    receipt = ledger.registry.issue_oa_root(bytes.fromhex(root))
    return OaIssuedBatch(
        economy=economy,
        document_store=str(store),
        merkle_root=root,
        documents=wrapped,
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=int(receipt["blockNumber"]),
    )


def revoke_oa_document(
    ledger: Ledger, wrapped: Mapping[str, Any], *, whole_batch: bool = False
) -> TxReceipt:
    """Revoke an issued OA document (its target hash) or, with `whole_batch`, its batch
    (the root), under the sender's economy, which must be the one that issued the root."""
    root, target, proof = oa_revocation_path(wrapped)
    if whole_batch:
        return ledger.registry.revoke_oa(root, root, [])
    return ledger.registry.revoke_oa(root, target, proof)
