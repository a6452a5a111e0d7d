"""Privacy: what an outsider learns from the chain and from IPFS about a document.

1. Nothing readable: every registry event of an anchored document (topics and
   data), the transaction's calldata and the IPFS payload (public to anyone who
   knows the CID) contain none of the document's values (names, addresses, HS
   codes, values, references), in UTF-8 or as hex.
2. No dictionary attack: a low-entropy certificate of origin whose only unknowns
   are one HS code and a package count 1..1000 is enumerated against its on-chain
   commitment. Without the per-field salts no candidate matches; with the salts
   (as a recipient holds them) the same enumeration finds it, so the test can fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import rfc8785
from web3 import Web3

from ledger_client import commitment as c
from manifests import CertificateOfOrigin
from manifests.generate import DocumentGenerator
from manifests.sample_catalog import COMMODITIES
from tests.node.network import Network
from tests.reliability.conftest import registry_logs

SECRET_HS, SECRET_COUNT = "090240", 637  # black tea, 637 cases


def _values(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _values(value)
    elif isinstance(node, str) and len(node) >= 4:
        yield node


@pytest.fixture(scope="module")
def certificate(network: Network) -> tuple[dict[str, Any], Any]:
    """A KZ -> UZ certificate with one item, anchored by KZ; (its JSON, its receipt)."""
    data = DocumentGenerator(139).certificate_of_origin().model_dump(mode="json")
    assert (data["issuer_economy"], data["destinations"]) == ("KZ", ["UZ"])
    item = dict(data["items"][1], sequence_number=1, hs_code=SECRET_HS)
    item["packages"] = dict(item["packages"], count=SECRET_COUNT)
    data["items"] = [item]
    data["reference"] = f"KZ-CO-PRIV-{time.time_ns() % 10**9}"
    document = CertificateOfOrigin.model_validate(data)
    receipt = network["KZ"].pipeline.submit(document)
    return document.model_dump(mode="json"), receipt


def test_events_calldata_and_the_ipfs_payload_carry_no_document_value(
    network: Network, certificate: tuple[dict[str, Any], Any]
) -> None:
    data, receipt = certificate
    secrets = sorted(set(_values(data)) - {"cie.origin/1"})
    assert SECRET_HS in secrets and data["reference"] in secrets and len(secrets) > 15
    numbers = [str(SECRET_COUNT), data["items"][0]["gross_weight_kg"]]

    w3: Web3 = network.w3
    logs = [
        log for log in registry_logs(network) if log["transactionHash"].hex() in receipt.tx_hash
    ]
    assert logs, "the anchoring transaction emitted no registry event"
    tx = w3.eth.get_transaction(receipt.tx_hash)
    public = [bytes(tx["input"])]
    for log in logs:
        public += [bytes(topic) for topic in log["topics"]] + [bytes(log["data"])]
    public.append(network["UZ"].ipfs.cat(receipt.cid))  # anyone with the CID can fetch it
    blob = b"".join(public)
    hex_blob = blob.hex().encode()
    for secret in secrets + numbers:
        raw = secret.encode()
        assert raw not in blob, f"{secret!r} is readable on chain or IPFS"
        assert raw.hex().encode() not in hex_blob, f"{secret!r} appears hex-encoded"
    # The economy codes are public on purpose (issuer and destination route the document).
    assert b"KZ" in blob and b"UZ" in blob


def _candidates() -> list[tuple[str, int]]:
    hs6 = sorted({commodity.hs6 for commodity in COMMODITIES} | {SECRET_HS})
    return [(hs, count) for hs in hs6 for count in range(1, 1001)]


def _enumerate(
    template: dict[str, Any], salts: dict[str, bytes], on_chain_root: bytes
) -> list[tuple[str, int]]:
    """Root of every candidate document under `salts`, compared with the on-chain root.

    The fixed fields' leaf hashes are computed once, each candidate only adds its two
    leaves (exactly `commitment.commit`, see test below, at a fraction of the cost)."""
    hs_pointer, count_pointer = "/items/0/hs_code", "/items/0/packages/count"
    fixed = {k: v for k, v in salts.items() if k not in (hs_pointer, count_pointer)}
    leaves = c._flatten(template)
    base = [
        c._leaf_hash(fixed[p], tail)
        for p, tail in zip(leaves.pointers, leaves.tails, strict=True)
        if p in fixed
    ]
    hs_path = rfc8785.dumps(["items", 0, "hs_code"])
    count_path = rfc8785.dumps(["items", 0, "packages", "count"])
    hs_leaf = {
        hs: c._leaf_hash(salts[hs_pointer], c._leaf_tail(hs_path, rfc8785.dumps(hs)))
        for hs in {hs for hs, _ in _candidates()}
    }
    count_leaf = {
        n: c._leaf_hash(salts[count_pointer], c._leaf_tail(count_path, rfc8785.dumps(n)))
        for n in range(1, 1001)
    }
    doc_type, version = int(CertificateOfOrigin.document_type), template["schema_version"]
    return [
        (hs, n)
        for hs, n in _candidates()
        if c._final_root(doc_type, version, [*base, hs_leaf[hs], count_leaf[n]]) == on_chain_root
    ]


def test_dictionary_attack_on_the_on_chain_commitment_fails_without_the_salts(
    network: Network, certificate: tuple[dict[str, Any], Any]
) -> None:
    data, receipt = certificate
    # What the attacker reads: the commitment anchored on chain for this document.
    on_chain_root = network["AZ"].pipeline.history(receipt.document_id).provenance().commitment
    assert on_chain_root.hex() == receipt.commitment.removeprefix("0x")

    template = dict(data)  # the attacker knows every other field and the schema
    salts = network["UZ"].pipeline.fetch_and_verify(receipt.document_id).commitment.salts
    # The shortcut in `_enumerate` is the real commitment rule.
    assert (
        c.commit(
            template, int(CertificateOfOrigin.document_type), data["schema_version"], salts
        ).root
        == on_chain_root
    )
    assert len(_candidates()) >= 25_000

    # With the salts (a recipient, or a leak) the enumeration finds the secret ...
    assert _enumerate(template, dict(salts), on_chain_root) == [(SECRET_HS, SECRET_COUNT)]
    # ... without them, the attacker's best guesses (zero salts, fresh random ones) find nothing.
    zero = {pointer: bytes(32) for pointer in salts}
    assert _enumerate(template, zero, on_chain_root) == []
    fresh = c.commit(template, int(CertificateOfOrigin.document_type), data["schema_version"])
    assert _enumerate(template, dict(fresh.salts), on_chain_root) == []
