"""Every endpoint of the node app is checked for authorization, found by walking
`app.routes` (not a hand-kept list), so a new endpoint without a role check fails here.

API routes: no key -> 401 ``auth.missing_key``; a key of another node (foreign)
-> 401 ``auth.invalid_key``; a revoked key -> 401; each role the endpoint does
not allow -> 403 ``auth.role``; at least one role is allowed. Dashboard pages
redirect to the login form without a session cookie. Only the probes below are
public, on purpose.
"""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from node.services.api_keys import Role, authenticate, create_api_key, revoke_api_key
from tests.node.test_api import ZERO_ID, NodeClient

# Public on purpose: liveness/readiness probes and the Prometheus scrape (loopback only),
# the OpenAPI description and its viewers, and the dashboard's own sign-in/out.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/dashboard/login"),
    ("POST", "/dashboard/login"),
    ("POST", "/dashboard/logout"),
}

# A well-formed value for each path parameter (the role check must come before lookups).
PATH_VALUES = {
    "doc_type": "PRE_ARRIVAL_MANIFEST",
    "document_id": ZERO_ID,
    "aeo_id": "KZAEO1",
    "action": "suspend",
    "delivery_id": "1",
}


def _concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in PATH_VALUES, f"add a sample value for path parameter {name!r} of {path}"
        return PATH_VALUES[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def app_endpoints(node: NodeClient) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, through included routers; mounts
    (static files) excluded."""
    found = []
    for context in iter_route_contexts(node.client.app.routes):  # type: ignore[attr-defined]
        if isinstance(context.route, Mount) or not context.methods:
            continue
        found += [(m, context.path) for m in sorted(context.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_route_of_the_app_rejects_missing_foreign_revoked_and_wrong_role_keys(
    nodes: dict[str, NodeClient],
) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    revoked = create_api_key(kz.runtime.db, "revoked-admin", Role.NODE_ADMIN)
    principal = authenticate(kz.runtime.db, revoked)
    assert principal is not None
    assert revoke_api_key(kz.runtime.db, principal.key_id)

    endpoints = app_endpoints(kz)
    checked_api = checked_pages = 0
    for method, template in endpoints:
        if (method, template) in PUBLIC:
            continue
        path = _concrete(template)
        if template.startswith("/dashboard"):
            response = kz.client.request(method, path, follow_redirects=False)
            assert response.status_code == 303, (method, template, response.status_code)
            assert response.headers["location"].startswith("/dashboard/login")
            checked_pages += 1
            continue
        none = kz.call(method, path, json={})
        assert none.status_code == 401, (method, template, none.status_code, none.text)
        assert none.json()["errors"][0]["rule"] == "auth.missing_key"
        for bad in (uz.keys[Role.NODE_ADMIN], revoked, "cie_" + "A" * 43, "x" * 5000):
            response = kz.call(method, path, json={}, headers={"X-API-Key": bad})
            assert response.status_code == 401, (method, template, response.text)
            assert response.json()["errors"][0]["rule"] == "auth.invalid_key"
        refused, allowed = [], []
        for role in Role:
            status = kz.call(method, path, role, json={}).status_code
            assert status < 500, (method, template, role, status)
            (refused if status == 403 else allowed).append(role)
        assert allowed, f"{method} {template}: no role may call it"
        assert refused, f"{method} {template}: every role may call it (no role check?)"
        checked_api += 1
    assert checked_api >= 14 and checked_pages >= 1, (checked_api, checked_pages)
