"""Member encryption key files (ledger_client.encryption_keys)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger_client.encryption_keys import (
    InvalidPublicKeyError,
    KeyFileError,
    KeyFilePasswordError,
    MemberEncryptionKey,
    public_key_from_bytes,
)
from ledger_client.errors import ConfigurationError

PASSWORD = "correct horse battery staple 42"


def raw_private_bytes(key: MemberEncryptionKey) -> bytes:
    return key.private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )


def test_key_file_round_trip_is_encrypted_at_rest_with_mode_0600(tmp_path: Path) -> None:
    key = MemberEncryptionKey.generate()
    path = tmp_path / "keys" / "sg.key"
    key.save(path, PASSWORD)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    raw = raw_private_bytes(key)
    unencrypted_der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    der = base64.b64decode(b"".join(content.splitlines()[1:-1]))
    for secret in (raw, raw.hex().encode(), base64.b64encode(raw)):
        assert secret not in content
    assert raw not in der and unencrypted_der not in der

    loaded = MemberEncryptionKey.load(path, PASSWORD)
    assert loaded.public_key_bytes == key.public_key_bytes
    assert raw_private_bytes(loaded) == raw
    assert len(key.public_key_bytes) == 32
    assert not list(tmp_path.joinpath("keys").glob(".sg.key.*"))  # no temp files left


def test_wrong_password_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "sg.key"
    MemberEncryptionKey.generate().save(path, PASSWORD)
    with pytest.raises(KeyFilePasswordError) as failure:
        MemberEncryptionKey.load(path, PASSWORD + "x")
    error = failure.value
    assert isinstance(error, ConfigurationError)
    assert "wrong password" in str(error) and str(path) in str(error)
    assert PASSWORD not in str(error)
    # No chained traceback from the PEM parser.
    assert error.__cause__ is None and error.__suppress_context__


def test_repr_shows_no_key_material() -> None:
    key = MemberEncryptionKey.generate()
    text = repr(key) + str(key) + f"{key}"
    assert raw_private_bytes(key).hex() not in text
    assert raw_private_bytes(key).hex()[:8] not in text
    assert key.public_key_bytes.hex() not in text  # only a short prefix
    assert key.public_key_bytes.hex()[:16] in text


def test_short_password_and_overwrite_are_refused(tmp_path: Path) -> None:
    key = MemberEncryptionKey.generate()
    with pytest.raises(KeyFileError, match="shorter than"):
        key.save(tmp_path / "a.key", "password")
    assert not (tmp_path / "a.key").exists()
    key.save(tmp_path / "a.key", PASSWORD)
    with pytest.raises(KeyFileError, match="already exists"):
        MemberEncryptionKey.generate().save(tmp_path / "a.key", PASSWORD)
    assert MemberEncryptionKey.load(tmp_path / "a.key", PASSWORD).public_key_bytes == (
        key.public_key_bytes
    )
    replacement = MemberEncryptionKey.generate()
    replacement.save(tmp_path / "a.key", PASSWORD, overwrite=True)
    assert MemberEncryptionKey.load(tmp_path / "a.key", PASSWORD).public_key_bytes == (
        replacement.public_key_bytes
    )


def test_unusable_files_give_key_file_errors(tmp_path: Path) -> None:
    key = MemberEncryptionKey.generate()
    plain = tmp_path / "plain.key"
    plain.write_bytes(
        key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyFileError, match="unencrypted"):
        MemberEncryptionKey.load(plain, PASSWORD)

    signing = tmp_path / "ed25519.key"
    signing.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    with pytest.raises(KeyFileError, match="not an X25519"):
        MemberEncryptionKey.load(signing, PASSWORD)

    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a key")
    with pytest.raises(KeyFileError):
        MemberEncryptionKey.load(garbage, PASSWORD)
    with pytest.raises(KeyFileError, match="cannot be read"):
        MemberEncryptionKey.load(tmp_path / "missing.key", PASSWORD)


def test_unsupported_key_types_give_key_file_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # No portable file triggers cryptography's UnsupportedAlgorithm (it depends on
    # the OpenSSL build), so simulate the loader raising it.
    def unsupported(*_: object) -> None:
        raise UnsupportedAlgorithm("no such cipher")

    monkeypatch.setattr(serialization, "load_pem_private_key", unsupported)
    with pytest.raises(KeyFileError, match="cannot read"):
        MemberEncryptionKey.from_encrypted_pem(b"-----BEGIN", PASSWORD)


# Low-order points of Curve25519 (the libsodium blocklist, little-endian).
LOW_ORDER_POINTS = [
    bytes(32),
    bytes([1]) + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]


@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8])
def test_low_order_public_keys_are_refused(point: bytes) -> None:
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(point)


def test_public_key_from_bytes_round_trips_and_checks_length() -> None:
    key = MemberEncryptionKey.generate()
    parsed = public_key_from_bytes(key.public_key_bytes)
    assert parsed.public_bytes_raw() == key.public_key_bytes
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(key.public_key_bytes[:31])
