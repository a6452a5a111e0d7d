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
given a contract, issuance status (`document_store_status`). Recording the
root on the CIE registry needs the DocumentStore view functions described in
the audit report's hand-over (not in the registry yet).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import rfc8785
from eth_utils.crypto import keccak

from ledger_client.errors import LedgerClientError

__all__ = [
    "DOCUMENT_STORE_ABI",
    "OA_V2_SCHEMA",
    "OaDocumentError",
    "OaIntegrity",
    "cie_oa_data",
    "document_store_status",
    "obfuscate",
    "target_hash",
    "unsalt",
    "verify_wrapped",
    "wrap_documents",
    "wrap_verified_documents",
]

OA_V2_SCHEMA: Final = "https://schema.openattestation.com/2.0/schema.json"
OA_PROOF_TYPE: Final = "SHA3MerkleProof"
# The DocumentStore views OA verifiers call (and that the CIE registry would need to answer).
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
    layers = _merkle_layers(leaves)
    root = layers[-1][0].hex()
    for document, target in zip(wrapped, targets, strict=True):
        index = leaves.index(bytes.fromhex(target))
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
    issuing the returned batch's ``signature.merkleRoot`` there is the caller's step.
    """
    return wrap_documents(
        [
            cie_oa_data(
                v.document_json,
                document_id=v.provenance.document_id_hex,
                version=v.provenance.version,
                commitment="0x" + v.commitment.root.hex(),
                chain_id=deployment.chain_id,
                issuer_name=issuer_name,
                document_store=document_store,
                identity_location=identity_location,
            )
            for v in verified
        ]
    )
