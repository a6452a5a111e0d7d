"""The officers' dashboard: HTML pages under `/dashboard/`, served by the node itself.

Authentication reuses the node's API keys: an officer signs in on
`/dashboard/login` with a key of role risk_officer, auditor or node_admin
(submitter keys are for systems, not people). The key is checked once
(`node.services.api_keys.authenticate`); the browser then holds only a random
session token in an HttpOnly, SameSite=Strict cookie scoped to `/dashboard`.
Sessions live in the node's memory for 8 hours (a node restart signs everyone
out) and the key is re-checked on every request, so revoking the key ends the
session. Static files (CSS, the chart script) ship with the package; no CDN.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from node import db as tables
from node.api.deps import RuntimeDep
from node.dashboard import service
from node.services.api_keys import Role, hash_key

HERE = Path(__file__).parent
COOKIE = "cie_dashboard"
SESSION_SECONDS = 8 * 3600
OFFICER_ROLES = (Role.RISK_OFFICER, Role.AUDITOR, Role.NODE_ADMIN)
PAGE_SIZE = 50

templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)


@dataclass(frozen=True)
class Officer:
    name: str
    role: str
    key_hash: str
    expires: float


class LoginRequiredError(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def _sessions(request: Request) -> dict[str, Officer]:
    state = request.app.state
    if not hasattr(state, "dashboard_sessions"):
        state.dashboard_sessions = {}
    sessions: dict[str, Officer] = state.dashboard_sessions
    return sessions


def _key_still_valid(runtime: Any, key_hash: str) -> bool:
    with runtime.db.sessions() as session:
        row = session.scalars(
            select(tables.ApiKey).where(
                tables.ApiKey.key_hash == key_hash, tables.ApiKey.revoked.is_(False)
            )
        ).first()
    return row is not None


def current_officer(request: Request, runtime: RuntimeDep) -> Officer:
    token = request.cookies.get(COOKIE, "")
    officer = _sessions(request).get(token)
    if officer is None or officer.expires < time.time():
        _sessions(request).pop(token, None)
        raise LoginRequiredError(request.url.path)
    if not _key_still_valid(runtime, officer.key_hash):
        _sessions(request).pop(token, None)
        raise LoginRequiredError(request.url.path)
    return officer


OfficerDep = Annotated[Officer, Depends(current_officer)]


def _render(
    request: Request,
    name: str,
    officer: Officer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    runtime = request.app.state.runtime
    return templates.TemplateResponse(
        request,
        name,
        {"economy": runtime.economy, "officer": officer, "page": name.split(".")[0], **context},
        status_code=status_code,
    )


def install_dashboard(app: FastAPI) -> None:
    """Mount the dashboard's pages and static files on the node app."""
    app.include_router(router)
    app.mount(
        "/dashboard/static", StaticFiles(directory=str(HERE / "static")), name="dashboard-static"
    )

    @app.exception_handler(LoginRequiredError)
    async def login_required(_: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse(f"/dashboard/login?next={quote(exc.next_path)}", status_code=303)


# -- sign in / out ---------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/dashboard/", error: str = "") -> HTMLResponse:
    return _render(request, "login.html", None, next=next, error=error)


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("api_key") or [""])[0].strip()
    target = (form.get("next") or ["/dashboard/"])[0]
    if not target.startswith("/dashboard"):
        target = "/dashboard/"
    runtime = request.app.state.runtime
    from node.services.api_keys import authenticate

    principal = authenticate(runtime.db, key) if key else None
    if principal is None or principal.role not in OFFICER_ROLES:
        message = (
            "unknown or revoked API key"
            if principal is None
            else f"role {principal.role} cannot use the dashboard; use an officer's key"
        )
        return _render(request, "login.html", None, next=target, error=message)
    token = secrets.token_urlsafe(32)
    _sessions(request)[token] = Officer(
        principal.name, str(principal.role), hash_key(key), time.time() + SESSION_SECONDS
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        path="/dashboard",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    _sessions(request).pop(request.cookies.get(COOKIE, ""), None)
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


# -- pages -------------------------------------------------------------------------------------
@router.get("/")
def overview(request: Request, runtime: RuntimeDep, officer: OfficerDep) -> HTMLResponse:
    data = service.chart_data(runtime)
    return _render(request, "overview.html", officer, data=data)


@router.get("/inbox")
def inbox(
    request: Request,
    runtime: RuntimeDep,
    officer: OfficerDep,
    state: str = "",
    lane: Annotated[str, Query(pattern=r"^(|GREEN|YELLOW|RED)$")] = "",
    doc_type: Annotated[int, Query(ge=0, le=3)] = 0,
    page: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    total, rows = service.inbox(
        runtime,
        state=state or None,
        lane=lane or None,
        doc_type=doc_type or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return _render(
        request,
        "inbox.html",
        officer,
        rows=rows,
        total=total,
        page_number=page,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        filters={"state": state, "lane": lane, "doc_type": doc_type},
    )


@router.get("/documents/{document_id}")
def document(
    request: Request,
    runtime: RuntimeDep,
    officer: OfficerDep,
    document_id: Annotated[str, PathParam(pattern=r"^(0x)?[0-9a-fA-F]{64}$")],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    doc_id = bytes.fromhex(document_id.removeprefix("0x"))
    try:
        detail = service.document_detail(runtime, doc_id, version)
    except Exception as exc:  # not anchored, unknown version, IPFS down: say so on the page
        return _render(request, "error.html", officer, 404, message=f"{type(exc).__name__}: {exc}")
    return _render(request, "document.html", officer, d=detail, when=service.when)


@router.get("/transit")
def transit(request: Request, runtime: RuntimeDep, officer: OfficerDep) -> HTMLResponse:
    return _render(request, "transit.html", officer, movements=service.transit_movements(runtime))


@router.get("/aeo")
def aeo(request: Request, runtime: RuntimeDep, officer: OfficerDep) -> HTMLResponse:
    operators, mras = service.aeo_and_mras(runtime)
    return _render(request, "aeo.html", officer, operators=operators, mras=mras, when=service.when)
