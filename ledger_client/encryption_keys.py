"""Members' X25519 encryption keys: generation, on-chain public form, encrypted key files.

This module owns a member's document-encryption key pair (not its signing
account, which lives in `ledger_client.keystore`). The public key is published
on-chain as 32 raw bytes (bytes32); `public_key_from_bytes` turns such a value
back into a key and refuses ones no honest member could have published. The
private key exists on disk only as encrypted PKCS#8 PEM (file mode 0600), which
OpenSSL can also read (``openssl pkey -in member.key``).

The PEM is encrypted with cryptography's `BestAvailableEncryption`, which today
means PBES2 with AES-256-CBC and PBKDF2-HMAC-SHA256 at only 2048 iterations, and
cryptography offers no way to raise that for PKCS#8. A stolen file therefore
resists brute force only as well as its password does: passwords must be long
random strings (e.g. ``secrets.token_urlsafe(24)`` kept in a secret store), not
something a person chose. Writing a key file refuses passwords shorter than
`MIN_PASSWORD_LENGTH` characters.

Neither keys nor passwords appear in any repr, message or log line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ledger_client.errors import ConfigurationError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PUBLIC_KEY_BYTES",
    "InvalidPublicKeyError",
    "KeyFileError",
    "KeyFilePasswordError",
    "MemberEncryptionKey",
    "public_key_from_bytes",
]

PUBLIC_KEY_BYTES: Final = 32
MIN_PASSWORD_LENGTH: Final = 16
# Refuse to read anything larger: an encrypted X25519 PKCS#8 PEM is ~250 bytes.
_MAX_KEY_FILE_BYTES: Final = 16 * 1024
# Any fixed scalar works to probe a public key: the product with a low-order
# point is the identity (all-zero shared secret) whatever the scalar.
_PROBE_KEY: Final = X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


class KeyFileError(ConfigurationError):
    """An encryption key file is missing, unreadable, malformed or not an X25519 key."""


class KeyFilePasswordError(KeyFileError):
    """The password does not open the encryption key file."""


class InvalidPublicKeyError(ConfigurationError):
    """A published encryption key is not a usable X25519 public key."""


def public_key_from_bytes(raw: bytes) -> X25519PublicKey:
    """The X25519 key behind 32 published bytes; low-order points are refused.

    A low-order point would make every shared secret all-zero, so anything
    "encrypted" to it would be readable by anyone.
    """
    raw = bytes(raw)
    if len(raw) != PUBLIC_KEY_BYTES:
        raise InvalidPublicKeyError(
            f"an X25519 public key is {PUBLIC_KEY_BYTES} bytes, got {len(raw)}"
        )
    public_key = X25519PublicKey.from_public_bytes(raw)
    try:
        _PROBE_KEY.exchange(public_key)
    except ValueError:
        raise InvalidPublicKeyError(
            f"public key {raw.hex()} is a low-order X25519 point; it cannot protect anything"
        ) from None
    return public_key


def _password_bytes(password: str | bytes) -> bytes:
    return password.encode() if isinstance(password, str) else bytes(password)


@dataclass(frozen=True, eq=False, repr=False)
class MemberEncryptionKey:
    """A member's X25519 key pair. Its repr shows only a public-key prefix."""

    private_key: X25519PrivateKey

    @classmethod
    def generate(cls) -> MemberEncryptionKey:
        return cls(X25519PrivateKey.generate())

    @property
    def public_key(self) -> X25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_key_bytes(self) -> bytes:
        """The 32 raw bytes published on-chain (bytes32)."""
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def __repr__(self) -> str:
        return f"MemberEncryptionKey(public_key={self.public_key_bytes.hex()[:16]}...)"

    def to_encrypted_pem(self, password: str | bytes) -> bytes:
        """The private key as password-encrypted PKCS#8 PEM."""
        secret = _password_bytes(password)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise KeyFileError(
                f"refusing to encrypt a key file with a password shorter than "
                f"{MIN_PASSWORD_LENGTH} characters (the file's KDF is weak; use a long random "
                "password, e.g. secrets.token_urlsafe(24))"
            )
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret),
        )

    @classmethod
    def from_encrypted_pem(
        cls, pem: bytes, password: str | bytes, *, source: str = "key file"
    ) -> MemberEncryptionKey:
        """Decrypt an encrypted PKCS#8 PEM; `source` names it in error messages."""
        try:
            key = serialization.load_pem_private_key(pem, _password_bytes(password))
        except TypeError:
            # Raised both for "not encrypted" and "encrypted but no password";
            # we always pass a password, so the file is unencrypted.
            raise KeyFileError(
                f"{source} holds an unencrypted private key; re-save it encrypted"
            ) from None
        except ValueError as exc:
            if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
                raise KeyFilePasswordError(
                    f"{source}: wrong password (or the file is corrupted)"
                ) from None
            raise KeyFileError(f"{source} is not a PEM private key") from None
        except UnsupportedAlgorithm:
            raise KeyFileError(
                f"{source} holds a key type or cipher this build cannot read"
            ) from None
        if not isinstance(key, X25519PrivateKey):
            raise KeyFileError(
                f"{source} holds a {type(key).__name__}, not an X25519 encryption key"
            )
        return cls(key)

    def save(self, path: Path, password: str | bytes, *, overwrite: bool = False) -> None:
        """Write the encrypted key to `path` with mode 0600 (atomically).

        Refuses to replace an existing file unless `overwrite`: losing a key
        loses every document encrypted to it.
        """
        pem = self.to_encrypted_pem(password)
        path = Path(path)
        if path.exists() and not overwrite:
            raise KeyFileError(f"{path} already exists; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a 0600 temporary file beside the target, then rename: readers
        # never see a partial file and the key is never world-readable.
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @classmethod
    def load(cls, path: Path, password: str | bytes) -> MemberEncryptionKey:
        """Read and decrypt a key file written by `save`."""
        path = Path(path)
        try:
            if path.stat().st_size > _MAX_KEY_FILE_BYTES:
                raise KeyFileError(f"{path} is too large to be an encryption key file")
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(
                f"encryption key file {path} cannot be read: {exc.strerror}"
            ) from None
        return cls.from_encrypted_pem(pem, password, source=f"encryption key file {path}")
