"""API keys: random tokens shown once, stored as SHA-256 hashes, each with one role.

SHA-256 (not a slow password hash) is enough here: keys are 256-bit random
tokens, so there is nothing to brute-force, and every request checks one.
"""

from __future__ import annotations

import hashlib
import secrets
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


def create_api_key(db: Database, name: str, role: Role) -> str:
    """Create a key and return it; only its hash is stored, so show it to the user now."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.add(ApiKey(name=name, key_hash=hash_key(key), role=Role(role).value))
    return key


def authenticate(db: Database, key: str) -> Principal | None:
    with db.sessions() as session:
        row = session.scalars(
            select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked.is_(False))
        ).first()
    return Principal(row.id, row.name, Role(row.role)) if row else None


def revoke_api_key(db: Database, key_id: int) -> bool:
    with db.transaction() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return False
        row.revoked = True
        return True
