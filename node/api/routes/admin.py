"""Node administration: API keys and webhook dead letters."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from node.api.deps import AdminDep, RuntimeDep
from node.api.schemas import ApiKeyIn, ApiKeyOut, DeadLetterOut
from node.services.api_keys import create_api_key

SQL_INTEGER_MAX = 2**63 - 1  # row ids are signed 64-bit in SQLite and PostgreSQL

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
def create_key(runtime: RuntimeDep, _: AdminDep, body: ApiKeyIn) -> ApiKeyOut:
    """Create an API key; the answer is the only time the key is shown."""
    expires_at = (
        None if body.expires_in_days is None else time.time() + body.expires_in_days * 86400
    )
    key = create_api_key(runtime.db, body.name, body.role, expires_at=expires_at)
    return ApiKeyOut(name=body.name, role=body.role, key=key, expires_at=expires_at)


@router.get("/webhooks/dead-letters")
def dead_letters(runtime: RuntimeDep, _: AdminDep) -> list[DeadLetterOut]:
    return [
        DeadLetterOut(
            id=d.id,
            idempotency_key=d.idempotency_key,
            target=d.target,
            attempts=d.attempts,
            last_error=d.last_error,
        )
        for d in runtime.dispatcher.dead_letters()
    ]


@router.post("/webhooks/dead-letters/{delivery_id}/replay", status_code=status.HTTP_202_ACCEPTED)
def replay_dead_letter(
    runtime: RuntimeDep,
    _: AdminDep,
    delivery_id: Annotated[int, Path(ge=1, le=SQL_INTEGER_MAX)],
) -> dict[str, int]:
    if not runtime.dispatcher.replay(delivery_id):
        raise HTTPException(
            404,
            detail={
                "field": "delivery_id",
                "rule": "webhook.not_dead",
                "message": "no such dead letter",
            },
        )
    return {"replayed": delivery_id}
