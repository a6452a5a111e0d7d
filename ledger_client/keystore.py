"""Signing accounts kept in encrypted keystore files (Web3 Secret Storage, v3).

Private keys exist in memory only after `load_account`; on disk they are always
encrypted (scrypt by default, file mode 0600). Neither keys nor passwords are
ever logged or shown in a repr.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from ledger_client.errors import ConfigurationError


class KeystoreError(ConfigurationError):
    """A keystore file is missing, malformed, or the password does not open it."""


def create_account_keystore(
    path: Path,
    password: str,
    *,
    private_key: bytes | None = None,
    kdf: Literal["pbkdf2", "scrypt"] = "scrypt",
    iterations: int | None = None,
) -> str:
    """Write a new (or the given) account to an encrypted keystore; return its address.

    `iterations` lowers the KDF cost for throw-away test and devnet accounts;
    production keystores keep eth-account's defaults.
    """
    if not password:
        raise KeystoreError("refusing to write a keystore with an empty password")
    account = Account.from_key(private_key) if private_key else Account.create()
    keystore = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keystore, handle)
    return str(account.address)


def keystore_address(path: Path) -> str:
    """The account address recorded in a keystore, without decrypting it."""
    try:
        data = json.loads(path.read_text())
        return to_checksum_address("0x" + str(data["address"]))
    except (OSError, ValueError, KeyError) as exc:
        raise KeystoreError(f"keystore {path} is unreadable or malformed: {exc}") from exc


def load_account(path: Path, password: str) -> LocalAccount:
    """Decrypt a keystore file into a signing account."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise KeystoreError(f"keystore {path} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise KeystoreError(f"keystore {path} is not valid JSON") from None
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise KeystoreError(
            f"keystore {path}: wrong password (or corrupted file); check the password file"
        ) from None
    account: LocalAccount = Account.from_key(key)
    return account


def read_password_file(path: Path) -> str:
    """Read a keystore password from a file (first line, without the newline)."""
    try:
        password = path.read_text().splitlines()[0] if path.stat().st_size else ""
    except OSError as exc:
        raise KeystoreError(f"password file {path} cannot be read: {exc.strerror}") from None
    if not password:
        raise KeystoreError(f"password file {path} is empty")
    return password
