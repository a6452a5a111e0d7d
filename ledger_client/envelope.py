"""Encryption of one payload for several recipient members (the "envelope").

This module owns the envelope format: the payload is encrypted once with
AES-256-GCM under a fresh random content key, and that key is wrapped for each
recipient's published X25519 key with HPKE (RFC 9180, base mode,
DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, via `cryptography`).
The issuer seals to itself as one more recipient so it can read its own
documents back.

Envelope format, version 1 (integers big-endian)
------------------------------------------------
::

    magic            4   b"CIEE"
    format version   1   0x01
    document id     32   bytes32 of the registry
    document version 4   u32
    key commitment  32   SHA-256("cie-ledger/envelope/v1/key-commitment" || content key)
    recipient count  1   1..255
    recipient count times, sorted strictly ascending by economy code:
      code length    1   2..16
      economy code   n   ASCII [A-Z0-9]
      key version    4   u32
      wrapped key   80   HPKE enc (32) || HPKE ciphertext of the 32-byte content key (48)
    nonce           12
    ciphertext      rest AES-256-GCM(content key, nonce, payload, aad = every byte above);
                         16..MAX_PAYLOAD_BYTES + 16 bytes

Each wrapped key's HPKE ``info`` is ``"cie-ledger/envelope/v1/wrap" || 0x01 ||
document id || u32(version) || u8(len(code)) || code || u32(key version)``, so a
wrapped key moved to another document, version, recipient or key version no
longer opens. The payload's associated data is the whole header, so changing any
header byte (another recipient's entry included) fails every recipient. The key
commitment stops a malicious sender from wrapping different content keys that
open the same ciphertext to different plaintexts (AES-GCM alone is not
key-committing).

What the envelope does not do: authenticate the sender. HPKE base mode lets
anyone holding the recipients' public keys seal an envelope. Authenticity comes
from the document's commitment, anchored on-chain by the issuer's account; a
receiver must check the opened payload against it (`ledger_client.commitment`).

Post-quantum
------------
Records are kept for many years, so "harvest now, decrypt later" matters: an
adversary storing envelopes today could unwrap X25519-wrapped keys once a large
quantum computer exists. `cryptography` already offers the hybrid KEM
MLKEM768X25519 (X-Wing style) for HPKE. Switching is not a drop-in change:

* its public key is 1,216 bytes, so the on-chain key registry could no longer
  hold it in a bytes32: it would store a hash of the key (bytes32) and publish
  the key itself elsewhere (IPFS or calldata), and senders would check the hash;
* each wrapped key grows from 80 to ~1,170 bytes (1,120-byte encapsulation),
  about 1 KB more per recipient per envelope;
* a format version 2 (KEM id in the header) and key files holding both an
  ML-KEM-768 seed and an X25519 key; version 1 envelopes stay readable.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from ledger_client.encryption_keys import (
    PUBLIC_KEY_BYTES,
    InvalidPublicKeyError,
    MemberEncryptionKey,
)
from ledger_client.errors import VerificationError

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_RECIPIENTS",
    "DecryptionError",
    "EnvelopeContext",
    "EnvelopeHeader",
    "MalformedEnvelopeError",
    "RecipientEntry",
    "RecipientKey",
    "open_envelope",
    "read_header",
    "recipients_of",
    "seal",
]

MAGIC: Final = b"CIEE"
FORMAT_VERSION: Final = 1
MAX_RECIPIENTS: Final = 255
MAX_PAYLOAD_BYTES: Final = 32 * 1024 * 1024
ECONOMY_CODE: Final = re.compile(r"[A-Z0-9]{2,16}")
MAX_U32: Final = 2**32 - 1

_CONTENT_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
# HPKE output: the KEM encapsulation, then the content key sealed with the
# suite's AES-128-GCM (16-byte tag).
_WRAPPED_KEY_BYTES: Final = KEM.X25519.enc_length() + _CONTENT_KEY_BYTES + _TAG_BYTES
_WRAP_INFO_TAG: Final = b"cie-ledger/envelope/v1/wrap"
_KEY_COMMITMENT_TAG: Final = b"cie-ledger/envelope/v1/key-commitment"
_FIXED_HEADER: Final = struct.Struct(">4sB32sI32sB")  # magic .. recipient count
_U32: Final = struct.Struct(">I")
_SUITE: Final = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
_SMALLEST_ENVELOPE: Final = (
    _FIXED_HEADER.size + 1 + 2 + 4 + _WRAPPED_KEY_BYTES + _NONCE_BYTES + _TAG_BYTES
)
_LARGEST_ENVELOPE: Final = (
    _FIXED_HEADER.size
    + MAX_RECIPIENTS * (1 + 16 + 4 + _WRAPPED_KEY_BYTES)
    + _NONCE_BYTES
    + MAX_PAYLOAD_BYTES
    + _TAG_BYTES
)


class DecryptionError(VerificationError):
    """An envelope could not be opened (not a recipient, wrong key, tampered)."""

    def __init__(self, message: str) -> None:
        super().__init__("decrypt", message)


class MalformedEnvelopeError(DecryptionError):
    """The bytes are not a well-formed envelope of a format this code reads."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class EnvelopeContext:
    """Which document version an envelope belongs to; bound into every key and the payload."""

    document_id: bytes
    version: int

    def __post_init__(self) -> None:
        if not isinstance(self.document_id, bytes) or len(self.document_id) != 32:
            raise ValueError("document_id must be 32 bytes (the registry's bytes32)")
        if isinstance(self.version, bool) or not 0 <= self.version <= MAX_U32:
            raise ValueError(f"version must be an integer in 0..{MAX_U32}")

    @classmethod
    def from_hex(cls, document_id: str, version: int) -> EnvelopeContext:
        """Build from a bytes32 hex string (with or without 0x)."""
        digits = document_id.removeprefix("0x").removeprefix("0X")
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise ValueError(f"document id {document_id!r} is not hex") from None
        return cls(raw, version)


@dataclass(frozen=True)
class RecipientKey:
    """A recipient's published encryption key (bytes32 on-chain) and its version."""

    public_key_bytes: bytes
    key_version: int

    def __post_init__(self) -> None:
        if not isinstance(self.public_key_bytes, bytes) or len(self.public_key_bytes) != 32:
            raise ValueError(f"public_key_bytes must be {PUBLIC_KEY_BYTES} raw bytes")
        if isinstance(self.key_version, bool) or not 0 <= self.key_version <= MAX_U32:
            raise ValueError(f"key_version must be an integer in 0..{MAX_U32}")


@dataclass(frozen=True)
class RecipientEntry:
    """One recipient as recorded in an envelope header."""

    economy: str
    key_version: int


@dataclass(frozen=True)
class EnvelopeHeader:
    """The readable part of an envelope: what it is for and who can open it."""

    context: EnvelopeContext
    recipients: tuple[RecipientEntry, ...]


@dataclass(frozen=True)
class _ParsedEnvelope:
    header: EnvelopeHeader
    key_commitment: bytes
    wrapped_keys: dict[str, bytes]
    associated_data: memoryview
    nonce: bytes
    ciphertext: memoryview


# ------------------------------------------------------------------- encoding


def _check_economy(economy: str) -> bytes:
    if not isinstance(economy, str) or not ECONOMY_CODE.fullmatch(economy):
        raise ValueError(f"economy code {economy!r} must be 2-16 characters of A-Z and 0-9")
    return economy.encode("ascii")


def _wrap_info(context: EnvelopeContext, code: bytes, key_version: int) -> bytes:
    return b"".join(
        (
            _WRAP_INFO_TAG,
            bytes((FORMAT_VERSION,)),
            context.document_id,
            _U32.pack(context.version),
            bytes((len(code),)),
            code,
            _U32.pack(key_version),
        )
    )


def _key_commitment(content_key: bytes) -> bytes:
    return hashlib.sha256(_KEY_COMMITMENT_TAG + content_key).digest()


def seal(
    plaintext: bytes, recipients: Mapping[str, RecipientKey], context: EnvelopeContext
) -> bytes:
    """Encrypt `plaintext` once, readable by each economy in `recipients`.

    Include the issuer's own economy among the recipients to read it back.
    A recipient key that is a low-order point raises InvalidPublicKeyError.
    """
    if len(plaintext) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(plaintext)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise ValueError(f"an envelope needs 1..{MAX_RECIPIENTS} recipients")
    content_key = AESGCM.generate_key(bit_length=256)
    parts = [
        _FIXED_HEADER.pack(
            MAGIC,
            FORMAT_VERSION,
            context.document_id,
            context.version,
            _key_commitment(content_key),
            len(recipients),
        )
    ]
    # Sorted so the same recipients always give the same layout, and so a
    # parser can reject duplicates by requiring strict order.
    for economy in sorted(recipients):
        code = _check_economy(economy)
        recipient = recipients[economy]
        public_key = X25519PublicKey.from_public_bytes(recipient.public_key_bytes)
        try:
            wrapped = _SUITE.encrypt(
                content_key, public_key, info=_wrap_info(context, code, recipient.key_version)
            )
        except ValueError:
            # HPKE refuses a DH result of all zeroes, i.e. a low-order point.
            raise InvalidPublicKeyError(
                f"the published encryption key of economy {economy} (key version "
                f"{recipient.key_version}) is a low-order X25519 point; it cannot be used"
            ) from None
        parts += (bytes((len(code),)), code, _U32.pack(recipient.key_version), wrapped)
    nonce = os.urandom(_NONCE_BYTES)
    parts.append(nonce)
    header = b"".join(parts)
    return header + AESGCM(content_key).encrypt(nonce, plaintext, header)


# ------------------------------------------------------------------- decoding


def _parse(blob: bytes) -> _ParsedEnvelope:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise MalformedEnvelopeError(f"an envelope is bytes, not {type(blob).__name__}")
    view = memoryview(blob).cast("B")
    if len(view) < _SMALLEST_ENVELOPE:
        raise MalformedEnvelopeError(f"{len(view)} bytes is too short to be an envelope")
    if len(view) > _LARGEST_ENVELOPE:
        raise MalformedEnvelopeError(f"{len(view)} bytes exceeds the largest possible envelope")
    magic, version, document_id, doc_version, key_commitment, count = _FIXED_HEADER.unpack_from(
        view
    )
    if magic != MAGIC:
        raise MalformedEnvelopeError("not a CIE Ledger envelope (bad magic bytes)")
    if version != FORMAT_VERSION:
        raise MalformedEnvelopeError(
            f"envelope format version {version}; this code reads version {FORMAT_VERSION}"
        )
    if count == 0:
        raise MalformedEnvelopeError("envelope lists no recipients")
    offset = _FIXED_HEADER.size
    entries: list[RecipientEntry] = []
    wrapped_keys: dict[str, bytes] = {}
    previous = b""
    for _ in range(count):
        # Every read below is bounds-checked against the envelope's length, and
        # the trailing nonce and tag must still fit after the last entry.
        if offset + 1 > len(view):
            raise MalformedEnvelopeError("envelope ends inside the recipient list")
        code_length = view[offset]
        end = offset + 1 + code_length + 4 + _WRAPPED_KEY_BYTES
        if not 2 <= code_length <= 16 or end + _NONCE_BYTES + _TAG_BYTES > len(view):
            raise MalformedEnvelopeError("envelope has a malformed recipient entry")
        code = bytes(view[offset + 1 : offset + 1 + code_length])
        if not ECONOMY_CODE.fullmatch(code.decode("latin-1")):
            raise MalformedEnvelopeError(f"recipient economy code {code!r} is not valid")
        if code <= previous:
            raise MalformedEnvelopeError("recipients are not in strictly ascending order")
        previous = code
        (key_version,) = _U32.unpack_from(view, offset + 1 + code_length)
        economy = code.decode("ascii")
        entries.append(RecipientEntry(economy, key_version))
        wrapped_keys[economy] = bytes(view[end - _WRAPPED_KEY_BYTES : end])
        offset = end
    nonce = bytes(view[offset : offset + _NONCE_BYTES])
    offset += _NONCE_BYTES
    header = EnvelopeHeader(EnvelopeContext(document_id, doc_version), tuple(entries))
    return _ParsedEnvelope(
        header=header,
        key_commitment=key_commitment,
        wrapped_keys=wrapped_keys,
        associated_data=view[:offset],
        nonce=nonce,
        ciphertext=view[offset:],
    )


def read_header(blob: bytes) -> EnvelopeHeader:
    """Document id, version and recipients of an envelope, without decrypting it.

    Unauthenticated until `open_envelope` succeeds: use it for routing only.
    """
    return _parse(blob).header


def recipients_of(blob: bytes) -> list[str]:
    """Economy codes that can open the envelope (unauthenticated, see `read_header`)."""
    return [entry.economy for entry in _parse(blob).header.recipients]


def open_envelope(
    blob: bytes,
    economy: str,
    private_key: X25519PrivateKey | MemberEncryptionKey,
    key_version: int,
    *,
    expected_context: EnvelopeContext | None = None,
) -> bytes:
    """Decrypt an envelope as recipient `economy` holding `private_key` (`key_version`).

    Pass `expected_context` (the document id and version the chain event named)
    so an envelope of another document cannot be substituted. Every failure
    raises DecryptionError (check "decrypt"), MalformedEnvelopeError for bytes
    that are not an envelope.
    """
    parsed = _parse(blob)
    context = parsed.header.context
    if expected_context is not None and expected_context != context:
        raise DecryptionError(
            f"envelope is for document 0x{context.document_id.hex()} version {context.version}, "
            f"expected 0x{expected_context.document_id.hex()} version {expected_context.version}"
        )
    wrapped = parsed.wrapped_keys.get(economy)
    if wrapped is None:
        listed = ", ".join(entry.economy for entry in parsed.header.recipients)
        raise DecryptionError(
            f"economy {economy} is not a recipient of this envelope (recipients: {listed})"
        )
    sealed_version = next(e.key_version for e in parsed.header.recipients if e.economy == economy)
    if sealed_version != key_version:
        raise DecryptionError(
            f"envelope was sealed to economy {economy}'s key version {sealed_version}, "
            f"but key version {key_version} was given; use that version's private key"
        )
    if isinstance(private_key, MemberEncryptionKey):
        private_key = private_key.private_key
    info = _wrap_info(context, economy.encode("ascii"), key_version)
    try:
        content_key = _SUITE.decrypt(wrapped, private_key, info=info)
    except (InvalidTag, ValueError):
        raise DecryptionError(
            f"the content key wrapped for economy {economy} does not open with this private "
            "key: wrong key, or the envelope was altered or moved from another document"
        ) from None
    if len(content_key) != _CONTENT_KEY_BYTES or not secrets.compare_digest(
        _key_commitment(content_key), parsed.key_commitment
    ):
        raise DecryptionError(
            "content key does not match the envelope's key commitment: the sender wrapped "
            "different keys for different recipients"
        )
    try:
        return AESGCM(content_key).decrypt(parsed.nonce, parsed.ciphertext, parsed.associated_data)
    except InvalidTag:
        raise DecryptionError(
            "payload failed authentication: the envelope was altered after sealing"
        ) from None
