"""The FastAPI application of a customs node: `create_app(settings)`.

Errors leave as ``{"errors": [{"field", "rule", "message"}]}`` (the same records
as `manifests.FieldError`): 401/403 for authentication and roles, 404 for an
unknown document, 409 for conflicts and contract rules, 422 for bad input
(nothing is stored or anchored then), 413 for a body over `max_request_bytes`,
429 when an API key exceeds its submission rate (node/api/limits.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ledger_client.errors import (
    ContractRuleError,
    DocumentValidationError,
    IpfsError,
    LedgerClientError,
    VerificationError,
)
from ledger_client.pipeline import (
    BatchRejectedError,
    DocumentConflictError,
    SubmissionPendingError,
)
from ledger_client.registry import DocumentNotAnchoredError
from node.api.limits import BodySizeLimit, TokenBuckets
from node.api.routes import admin, aeo, audit, documents, health, inbox, transit
from node.dashboard import install_dashboard
from node.runtime import NodeRuntime, NodeWorker
from node.services.documents import ManualAcknowledgementError, UnknownReferenceError
from node.settings import NodeSettings, get_settings

log = structlog.get_logger(__name__)


def _errors(status: int, items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"errors": items})


def _one(status: int, field: str, rule: str, message: str) -> JSONResponse:
    return _errors(status, [{"field": field, "rule": rule, "message": message}])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail
        if isinstance(detail, dict):
            item = {"field": "", **detail}
        else:
            item = {"field": "", "rule": f"http.{exc.status_code}", "message": str(detail)}
        response = _errors(exc.status_code, [item])
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        for error in exc.errors():
            loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
            items.append(
                {
                    "field": ".".join(loc),
                    "rule": f"request.{error.get('type', 'invalid')}",
                    "message": str(error.get("msg", "invalid")),
                }
            )
        return _errors(422, items)

    @app.exception_handler(DocumentValidationError)
    async def invalid_document(_: Request, exc: DocumentValidationError) -> JSONResponse:
        items: list[dict[str, Any]] = []
        if isinstance(exc, BatchRejectedError):
            for index, field_errors in sorted(exc.item_errors.items()):
                items.extend(
                    {"field": e.field, "rule": e.rule, "message": e.message, "item": index}
                    for e in field_errors
                )
            for f in exc.file_errors:
                item: dict[str, Any] = {"field": f.field, "rule": f.rule, "message": f.message}
                if f.document_index is not None:
                    item["item"] = f.document_index
                if f.row is not None:
                    item["row"] = f.row
                if f.column is not None:
                    item["column"] = f.column
                items.append(item)
        else:
            items = [dict(e) for e in exc.errors]
        if not items:
            items = [{"field": "", "rule": "document.invalid", "message": str(exc)}]
        return _errors(422, items)

    @app.exception_handler(DocumentConflictError)
    async def conflict(_: Request, exc: DocumentConflictError) -> JSONResponse:
        return _one(409, "reference", "reference.conflict", str(exc))

    @app.exception_handler(SubmissionPendingError)
    async def pending(_: Request, exc: SubmissionPendingError) -> JSONResponse:
        return _one(409, "reference", "reference.pending", str(exc))

    @app.exception_handler(ContractRuleError)
    async def contract_rule(_: Request, exc: ContractRuleError) -> JSONResponse:
        return _one(409, "", exc.rule, str(exc))

    @app.exception_handler(DocumentNotAnchoredError)
    async def not_anchored(_: Request, exc: DocumentNotAnchoredError) -> JSONResponse:
        return _one(404, "document_id", "document.not_anchored", str(exc))

    @app.exception_handler(VerificationError)
    async def unverified(_: Request, exc: VerificationError) -> JSONResponse:
        check = getattr(exc, "check", "") or str(exc).split(":", 1)[0]
        status = 404 if check == "version" else 502
        return _one(status, "", f"verification.{check}", str(exc))

    @app.exception_handler(UnknownReferenceError)
    async def unknown_reference(_: Request, exc: UnknownReferenceError) -> JSONResponse:
        return _one(404, "reference", "reference.unknown", str(exc))

    @app.exception_handler(ManualAcknowledgementError)
    async def manual_ack(_: Request, exc: ManualAcknowledgementError) -> JSONResponse:
        return _one(409, "", "acknowledge.not_allowed", str(exc))

    @app.exception_handler(IpfsError)
    async def ipfs_down(_: Request, exc: IpfsError) -> JSONResponse:
        return _one(503, "", "ipfs.unavailable", str(exc))

    @app.exception_handler(LedgerClientError)
    async def ledger_error(_: Request, exc: LedgerClientError) -> JSONResponse:
        return _one(503, "", "ledger.error", str(exc))


def create_app(
    settings: NodeSettings | None = None,
    *,
    runtime: NodeRuntime | None = None,
    runtime_factory: Callable[[NodeSettings], NodeRuntime] = NodeRuntime.from_settings,
) -> FastAPI:
    """The node's API. Pass `runtime` (tests) or let the lifespan build it from `settings`."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or runtime_factory(settings)
        app.state.runtime = rt
        worker = NodeWorker(rt) if settings.run_listener else None
        if worker:
            worker.start()
        log.info("node.started", economy=settings.economy, listener=bool(worker))
        try:
            yield
        finally:
            if worker:
                worker.stop()
            if owned:
                rt.close()

    app = FastAPI(title=f"CIE Ledger node ({settings.economy})", lifespan=lifespan)
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    app.state.submit_buckets = TokenBuckets(settings.submit_rate, settings.submit_burst)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    for router in (
        health.router,
        documents.router,
        inbox.router,
        transit.router,
        aeo.router,
        audit.router,
        admin.router,
    ):
        app.include_router(router)
    install_dashboard(app)  # officers' HTML pages under /dashboard/ (node/dashboard/)
    return app
