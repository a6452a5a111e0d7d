"""Multi-recipient envelopes (ledger_client.envelope).

`build_envelope` re-implements the documented format from the module docstring,
so the tests check the documentation as well as the code, and can assemble the
envelopes an attacker would (moved keys, per-recipient content keys).
"""

from __future__ import annotations

import hashlib
import os
import struct
from functools import cache

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from hypothesis import given
from hypothesis import strategies as st

from ledger_client.encryption_keys import InvalidPublicKeyError, MemberEncryptionKey
from ledger_client.envelope import (
    DecryptionError,
    EnvelopeContext,
    MalformedEnvelopeError,
    RecipientKey,
    open_envelope,
    read_header,
    recipients_of,
    seal,
)

SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
ECONOMIES = ("SG", "MY", "TH", "VN", "ID")


@cache
def member_key(economy: str) -> MemberEncryptionKey:
    return MemberEncryptionKey.generate()


def recipients(*economies: str, key_version: int = 1) -> dict[str, RecipientKey]:
    return {e: RecipientKey(member_key(e).public_key_bytes, key_version) for e in economies}


CONTEXT = EnvelopeContext(bytes(range(32)), 3)
OTHER_DOCUMENT = EnvelopeContext(bytes(range(1, 33)), 3)


# ------------------------------------------------- independent format builder


def wrap_info(context: EnvelopeContext, economy: str, key_version: int) -> bytes:
    code = economy.encode()
    return (
        b"cie-ledger/envelope/v1/wrap\x01"
        + context.document_id
        + struct.pack(">I", context.version)
        + bytes([len(code)])
        + code
        + struct.pack(">I", key_version)
    )


def build_envelope(
    context: EnvelopeContext,
    payload: bytes,
    content_key: bytes,
    wrapped: dict[str, tuple[int, bytes]],
) -> bytes:
    """An envelope per the documented layout, from already wrapped keys."""
    header = (
        b"CIEE\x01"
        + context.document_id
        + struct.pack(">I", context.version)
        + hashlib.sha256(b"cie-ledger/envelope/v1/key-commitment" + content_key).digest()
        + bytes([len(wrapped)])
    )
    for economy in sorted(wrapped):
        key_version, wrapped_key = wrapped[economy]
        header += bytes([len(economy)]) + economy.encode() + struct.pack(">I", key_version)
        header += wrapped_key
    nonce = os.urandom(12)
    header += nonce
    return header + AESGCM(content_key).encrypt(nonce, payload, header)


def wrap_for(
    economy: str, content_key: bytes, context: EnvelopeContext, key_version: int = 1
) -> bytes:
    public_key = X25519PublicKey.from_public_bytes(member_key(economy).public_key_bytes)
    return SUITE.encrypt(content_key, public_key, info=wrap_info(context, economy, key_version))


# ------------------------------------------------------------------ round trip


@given(
    payload=st.binary(max_size=5000),
    chosen=st.sets(st.sampled_from(ECONOMIES), min_size=1),
    key_version=st.integers(0, 2**32 - 1),
)
def test_every_recipient_opens_the_same_payload(
    payload: bytes, chosen: set[str], key_version: int
) -> None:
    blob = seal(payload, recipients(*chosen, key_version=key_version), CONTEXT)
    assert recipients_of(blob) == sorted(chosen)
    header = read_header(blob)
    assert header.context == CONTEXT
    assert {entry.key_version for entry in header.recipients} == {key_version}
    for economy in chosen:
        opened = open_envelope(
            blob, economy, member_key(economy), key_version, expected_context=CONTEXT
        )
        assert opened == payload
    for outsider in set(ECONOMIES) - chosen:
        with pytest.raises(DecryptionError, match=f"economy {outsider} is not a recipient"):
            open_envelope(blob, outsider, member_key(outsider), key_version)


def test_documented_format_matches_the_implementation() -> None:
    content_key = os.urandom(32)
    wrapped = {e: (7, wrap_for(e, content_key, CONTEXT, 7)) for e in ("SG", "MY")}
    built = build_envelope(CONTEXT, b"payload", content_key, wrapped)
    assert open_envelope(built, "MY", member_key("MY"), 7) == b"payload"
    sealed = seal(b"payload", recipients("SG", "MY", key_version=7), CONTEXT)
    assert len(sealed) == len(built)
    assert sealed[:41] == built[:41]  # magic, version, document id, version


def test_seal_is_randomised() -> None:
    first = seal(b"same", recipients("SG"), CONTEXT)
    assert first != seal(b"same", recipients("SG"), CONTEXT)


def test_private_key_object_or_member_key_both_open() -> None:
    blob = seal(b"x", recipients("SG"), CONTEXT)
    assert open_envelope(blob, "SG", member_key("SG").private_key, 1) == b"x"


# ------------------------------------------------------------ who can open it


def test_non_recipient_error_is_a_decrypt_verification_error() -> None:
    blob = seal(b"secret", recipients("SG", "MY"), CONTEXT)
    with pytest.raises(DecryptionError) as failure:
        open_envelope(blob, "TH", member_key("TH"), 1)
    assert failure.value.check == "decrypt"
    assert "economy TH is not a recipient" in str(failure.value)


def test_a_listed_economy_with_the_wrong_private_key_cannot_open() -> None:
    blob = seal(b"secret", recipients("SG", "MY"), CONTEXT)
    with pytest.raises(DecryptionError, match="does not open"):
        open_envelope(blob, "SG", member_key("TH"), 1)
    with pytest.raises(DecryptionError, match="does not open"):
        open_envelope(blob, "SG", MemberEncryptionKey.generate(), 1)


def test_wrong_key_version_is_named() -> None:
    blob = seal(b"secret", recipients("SG", key_version=2), CONTEXT)
    with pytest.raises(DecryptionError, match="key version 2"):
        open_envelope(blob, "SG", member_key("SG"), 1)


def test_expected_context_rejects_an_envelope_of_another_document() -> None:
    blob = seal(b"secret", recipients("SG"), OTHER_DOCUMENT)
    with pytest.raises(DecryptionError, match="expected"):
        open_envelope(blob, "SG", member_key("SG"), 1, expected_context=CONTEXT)
    assert open_envelope(blob, "SG", member_key("SG"), 1, expected_context=OTHER_DOCUMENT)


# -------------------------------------------------------------------- tampering


def test_flipping_any_bit_of_any_byte_is_detected_by_every_recipient() -> None:
    blob = seal(b"manifest payload " * 4, recipients("SG", "MY"), CONTEXT)
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            for economy in ("SG", "MY"):
                with pytest.raises(DecryptionError) as failure:
                    open_envelope(bytes(tampered), economy, member_key(economy), 1)
                assert failure.value.check == "decrypt"


def test_a_wrapped_key_moved_to_another_document_does_not_open() -> None:
    # An insider (recipient MY) knows the content key of an envelope for
    # CONTEXT and re-uses SG's wrapped key in an envelope claiming OTHER_DOCUMENT.
    content_key = os.urandom(32)
    stolen = wrap_for("SG", content_key, CONTEXT)
    moved = build_envelope(OTHER_DOCUMENT, b"forged", content_key, {"SG": (1, stolen)})
    with pytest.raises(DecryptionError, match="does not open"):
        open_envelope(moved, "SG", member_key("SG"), 1)
    # Control: the same construction with a key wrapped for that document opens,
    # so the failure above is the binding at work, not a broken builder.
    honest = build_envelope(
        OTHER_DOCUMENT,
        b"forged",
        content_key,
        {"SG": (1, wrap_for("SG", content_key, OTHER_DOCUMENT))},
    )
    assert open_envelope(honest, "SG", member_key("SG"), 1) == b"forged"


def test_a_wrapped_key_moved_to_another_recipient_or_version_does_not_open() -> None:
    content_key = os.urandom(32)
    for_sg = wrap_for("SG", content_key, CONTEXT)
    # SG's wrapped key relabelled as key version 2 of SG.
    relabelled = build_envelope(CONTEXT, b"x", content_key, {"SG": (2, for_sg)})
    with pytest.raises(DecryptionError):
        open_envelope(relabelled, "SG", member_key("SG"), 2)
    # Wrapped for SG's key but with MY's label: MY's key cannot open it, and
    # SG's key with MY's label fails too because the info names the economy.
    relabelled = build_envelope(CONTEXT, b"x", content_key, {"MY": (1, for_sg)})
    with pytest.raises(DecryptionError):
        open_envelope(relabelled, "MY", member_key("MY"), 1)
    with pytest.raises(DecryptionError):
        open_envelope(relabelled, "MY", member_key("SG"), 1)


def test_different_content_keys_per_recipient_are_caught_by_the_key_commitment() -> None:
    real_key, other_key = os.urandom(32), os.urandom(32)
    blob = build_envelope(
        CONTEXT,
        b"payload",
        real_key,
        {
            "SG": (1, wrap_for("SG", real_key, CONTEXT)),
            "MY": (1, wrap_for("MY", other_key, CONTEXT)),
        },
    )
    assert open_envelope(blob, "SG", member_key("SG"), 1) == b"payload"
    with pytest.raises(DecryptionError, match="key commitment"):
        open_envelope(blob, "MY", member_key("MY"), 1)


# --------------------------------------------------------------- malformed input


def test_every_truncation_is_a_typed_error() -> None:
    blob = seal(b"payload", recipients("SG", "MY"), CONTEXT)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_envelope(blob[:length], "SG", member_key("SG"), 1)
    with pytest.raises(DecryptionError):
        open_envelope(blob + b"\x00", "SG", member_key("SG"), 1)


@given(st.binary(max_size=600))
def test_random_bytes_are_rejected_as_malformed(garbage: bytes) -> None:
    with pytest.raises(MalformedEnvelopeError):
        recipients_of(garbage)


@given(st.sampled_from([b"", b"CIEE\x01"]), st.binary(max_size=600))
def test_parser_fails_only_with_the_typed_error(prefix: bytes, garbage: bytes) -> None:
    # Structure-only parsing may accept random bytes after a valid magic; what
    # must never happen is an untyped exception (IndexError, struct.error...).
    try:
        economies = recipients_of(prefix + garbage)
    except MalformedEnvelopeError:
        return
    assert economies == sorted(set(economies))


@given(st.binary(min_size=1, max_size=400))
def test_random_bytes_after_a_valid_prefix_never_open(tail: bytes) -> None:
    blob = seal(b"payload", recipients("SG"), CONTEXT)
    with pytest.raises(DecryptionError):
        open_envelope(blob[:69] + tail, "SG", member_key("SG"), 1)


def test_structural_errors_are_named() -> None:
    content_key = os.urandom(32)
    wrapped = {e: (1, wrap_for(e, content_key, CONTEXT)) for e in ("MY", "SG")}
    good = build_envelope(CONTEXT, b"p", content_key, wrapped)
    cases = {
        "magic": b"XXXX" + good[4:],
        "format version": good[:4] + b"\x02" + good[5:],
        "no recipients": good[:73] + b"\x00" + good[74:],
    }
    for reason, blob in cases.items():
        with pytest.raises(MalformedEnvelopeError, match=reason):
            recipients_of(blob)
    # Entries out of order (SG before MY) or duplicated are refused.
    entry_length = 1 + 2 + 4 + 80
    first, second = good[74 : 74 + entry_length], good[74 + entry_length : 74 + 2 * entry_length]
    swapped = good[:74] + second + first + good[74 + 2 * entry_length :]
    duplicated = good[:74] + first + first + good[74 + 2 * entry_length :]
    for blob in (swapped, duplicated):
        with pytest.raises(MalformedEnvelopeError, match="ascending"):
            recipients_of(blob)
    lowercase = good[:75] + b"my" + good[77:]
    with pytest.raises(MalformedEnvelopeError, match="economy code"):
        recipients_of(lowercase)
    with pytest.raises(MalformedEnvelopeError):
        recipients_of("not bytes")  # type: ignore[arg-type]


def test_sizes_are_bounded() -> None:
    with pytest.raises(ValueError):
        seal(b"x", {}, CONTEXT)
    with pytest.raises(ValueError):
        seal(b"x", {"sg": RecipientKey(member_key("SG").public_key_bytes, 1)}, CONTEXT)
    with pytest.raises(ValueError):
        RecipientKey(b"short", 1)
    with pytest.raises(ValueError):
        RecipientKey(member_key("SG").public_key_bytes, 2**32)
    with pytest.raises(ValueError):
        EnvelopeContext(b"\x00" * 31, 1)
    with pytest.raises(MalformedEnvelopeError, match="exceeds"):
        recipients_of(b"CIEE\x01" + bytes(40 * 1024 * 1024))


def test_low_order_recipient_key_is_refused() -> None:
    with pytest.raises(InvalidPublicKeyError, match="SG"):
        seal(b"x", {"SG": RecipientKey(bytes(32), 1)}, CONTEXT)


def test_context_from_hex() -> None:
    context = EnvelopeContext.from_hex("0x" + bytes(range(32)).hex(), 3)
    assert context == CONTEXT
    with pytest.raises(ValueError):
        EnvelopeContext.from_hex("0xzz", 1)
