"""Keys: rotation through the consortium, keystores at rest, and no key material in logs.

A network of its own (KZ, UZ): UZ rotates its encryption key here, which would
change what the package's shared network can decrypt.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from eth_account import Account
from web3 import Web3

from ledger_client.commitment import RedactedDocument, verify_redacted
from ledger_client.encryption_keys import MemberEncryptionKey
from ledger_client.envelope import DecryptionError, open_envelope, read_header
from ledger_client.errors import ConfigurationError, VerificationError
from ledger_client.keystore import create_account_keystore, load_account
from ledger_client.outbox import Outbox
from ledger_client.pipeline import DocumentPipeline
from manifests import PreArrivalManifest
from manifests.generate import DocumentGenerator
from node.db import Database
from node.services.api_keys import Role, create_api_key
from tests.node.network import Member, Network, make_listener, running_network


@pytest.fixture(scope="module")
def pair(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(w3, tmp_path_factory.mktemp("keys-net"), ("KZ", "UZ")) as net:
        yield net


def _manifest(seed: int) -> PreArrivalManifest:
    return DocumentGenerator(seed).manifest(origin="KZ", destination="UZ")


def _reader(member: Member, keys: object) -> DocumentPipeline:
    return DocumentPipeline(
        member.ledger,
        member.ipfs,
        keys,  # type: ignore[arg-type]
        Outbox.in_memory(),
        fetch_timeout=10.0,
    )


def test_rotation_keeps_old_documents_readable_and_verifiable_and_locks_out_the_old_key(
    pair: Network,
) -> None:
    kz, uz = pair["KZ"], pair["UZ"]
    issuer = DocumentPipeline(
        kz.ledger, kz.ipfs, kz.key, kz.pipeline.outbox, fetch_timeout=10.0, key_refresh_seconds=0
    )
    before = issuer.submit(_manifest(7001))
    old_key, new_key = uz.key, MemberEncryptionKey.generate()
    uz.ledger.consortium.rotate_encryption_key(new_key.public_key_bytes)
    assert uz.ledger.consortium.encryption_key("UZ")[1] == 2
    after = issuer.submit(_manifest(7002))

    # The old key alone is refused as UZ's configuration (it is no longer the member's key) ...
    with pytest.raises(ConfigurationError):
        _reader(uz, old_key)
    # ... and, held next to the new one, it still opens only what was sealed to it.
    both = _reader(uz, {1: old_key, 2: new_key})
    old_document = both.fetch_and_verify(before.document_id)
    assert old_document.document == _manifest(7001)
    assert both.fetch_and_verify(after.document_id).document == _manifest(7002)
    # The old private key cannot open what was sealed after the rotation, whichever key
    # version its holder claims (HPKE fails, not just a version check).
    sealed_after = uz.ipfs.cat(after.cid)
    sealed_to = {r.economy: r.key_version for r in read_header(sealed_after).recipients}
    assert sealed_to["UZ"] == 2
    for claimed_version in (1, 2):
        with pytest.raises(DecryptionError):
            open_envelope(sealed_after, "UZ", old_key, claimed_version)
    new_only = _reader(uz, new_key)
    with pytest.raises(VerificationError) as caught:
        new_only.fetch_and_verify(before.document_id)
    assert caught.value.check == "decrypt"

    # An auditor (no keys) verifies a disclosure of the old document against the chain
    # after the rotation: the commitment does not depend on the encryption key.
    disclosure = RedactedDocument.from_json(old_document.redact(["/consignee"]).to_json())
    on_chain = issuer.history(before.document_id).provenance().commitment
    verify_redacted(disclosure, on_chain)
    uz.key, uz.pipeline = new_key, both  # UZ from now on, for the other tests of this module


def test_account_keystore_holds_no_raw_key(tmp_path: Path) -> None:
    account = Account.create()
    path = tmp_path / "member.json"
    create_account_keystore(
        path, "a long test password", private_key=account.key, kdf="pbkdf2", iterations=2
    )
    text = path.read_bytes()
    raw = bytes(account.key)
    for secret in (raw, raw.hex().encode(), base64.b64encode(raw), account.key.hex().encode()):
        assert secret not in text
    assert load_account(path, "a long test password").address == account.address


def _secrets_of(member: Member, api_keys: list[str]) -> list[bytes]:
    raw = member.key.private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    pem = member.key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    account_key = bytes(member.ledger.sender.account.key)  # type: ignore[union-attr]
    found = [raw, raw.hex().encode(), base64.b64encode(raw), pem, b"PRIVATE KEY-----"]
    found += [account_key.hex().encode(), base64.b64encode(account_key)]
    return found + [k.encode() for k in api_keys]


def test_no_private_key_material_is_logged_during_submission_and_processing(
    pair: Network,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    kz, uz = pair["KZ"], pair["UZ"]
    caplog.set_level(logging.DEBUG)
    database = Database(f"sqlite:///{tmp_path / 'uz-node.db'}")
    try:
        api_key = create_api_key(database, "officer", Role.RISK_OFFICER)
        start = pair.w3.eth.block_number + 1
        receipt = kz.pipeline.submit(_manifest(7003))
        listener = make_listener(uz, database, start_block=start)
        listener.poll_once()
        assert uz.pipeline.fetch_and_verify(receipt.document_id).document == _manifest(7003)
    finally:
        database.close()
    captured = capfd.readouterr()
    logged = (captured.out + captured.err + caplog.text).encode()
    assert logged, "nothing was logged: the check would be vacuous"
    for member in (kz, uz):
        for secret in _secrets_of(member, [api_key]):
            assert secret not in logged, f"key material of {member.economy} in the logs"
