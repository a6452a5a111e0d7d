"""API keys: random tokens shown once, stored as SHA-256 hashes, each with one role
and an optional expiry time.

SHA-256 (not a slow password hash) is enough here: keys are 256-bit random
tokens, so there is nothing to brute-force, and every request checks one.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from node.db import ApiKey, Database

KEY_PREFIX = "cie_"


class Role(StrEnum):
    SUBMITTER = "submitter"
    RISK_OFFICER = "risk_officer"
    AUDITOR = "auditor"
    NODE_ADMIN = "node_admin"


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: Role


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, name: str, role: Role, *, expires_at: float | None = None) -> str:
    """Create a key and return it; only its hash is stored, so show it to the user now.

    `expires_at` (Unix time) ends the key's validity; None keeps it until revoked."""
    if expires_at is not None and expires_at <= time.time():
        raise ValueError("expires_at is in the past")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.add(
            ApiKey(name=name, key_hash=hash_key(key), role=Role(role).value, expires_at=expires_at)
        )
    return key


def authenticate(db: Database, key: str, *, now: float | None = None) -> Principal | None:
    """The key's principal, or None if it is unknown, revoked or expired."""
    with db.sessions() as session:
        row = session.scalars(
            select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked.is_(False))
        ).first()
    if row is None or _expired(row, now):
        return None
    return Principal(row.id, row.name, Role(row.role))


def rejection_rule(db: Database, key: str, *, now: float | None = None) -> str:
    """Why `authenticate` refused `key`: ``auth.expired_key`` or ``auth.invalid_key``
    (unknown or revoked; the two are not told apart)."""
    with db.sessions() as session:
        row = session.scalars(
            select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked.is_(False))
        ).first()
    return "auth.expired_key" if row is not None and _expired(row, now) else "auth.invalid_key"


def _expired(row: ApiKey, now: float | None) -> bool:
    return row.expires_at is not None and row.expires_at <= (time.time() if now is None else now)


def revoke_api_key(db: Database, key_id: int) -> bool:
    with db.transaction() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return False
        row.revoked = True
        return True
