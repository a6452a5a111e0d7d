"""Liveness, readiness and Prometheus metrics (no API key: for probes and scrapers on loopback)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from node.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(runtime: RuntimeDep, response: Response) -> dict[str, object]:
    checks: dict[str, str] = {}
    try:
        with runtime.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["chain"] = f"ok (block {runtime.ledger.w3.eth.block_number})"
    except Exception as exc:
        checks["chain"] = f"error: {type(exc).__name__}"
    try:
        runtime.ipfs.node_id()
        checks["ipfs"] = "ok"
    except Exception as exc:
        checks["ipfs"] = f"error: {type(exc).__name__}"
    cursor = runtime.listener.cursor()
    ok = all(v.startswith("ok") for v in checks.values())
    response.status_code = 200 if ok else 503
    return {"ready": ok, "checks": checks, "cursor_block": cursor[0] if cursor else None}


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
