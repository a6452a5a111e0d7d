"""Expired, revoked and foreign credentials.

API keys expire at their `expires_at` (set when created, optional) and can be
revoked (the key row is kept, marked revoked); the API refuses either at once,
an expired key with its own rule. Dashboard sessions expire after
`SESSION_SECONDS` and die with their key. (Foreign keys, those of another node,
are refused on every route by `test_api_authorization`.)
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from node.dashboard.routes import COOKIE
from node.db import ApiKey
from node.main import create_app
from node.services.api_keys import Role, authenticate, create_api_key, revoke_api_key
from tests.node.test_api import NodeClient


def test_a_revoked_key_is_refused_from_the_next_request_on(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    key = create_api_key(kz.runtime.db, "leaving-auditor", Role.AUDITOR)
    assert kz.call("GET", "/inbox", headers={"X-API-Key": key}).status_code == 200
    principal = authenticate(kz.runtime.db, key)
    assert principal is not None and revoke_api_key(kz.runtime.db, principal.key_id)
    refused = kz.call("GET", "/inbox", headers={"X-API-Key": key})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["rule"] == "auth.invalid_key"
    assert refused.headers["WWW-Authenticate"] == "ApiKey"
    assert not revoke_api_key(kz.runtime.db, 10**9)  # unknown key id: nothing to revoke


def test_an_expired_key_is_refused_with_its_own_rule(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    admin = {"X-API-Key": kz.keys[Role.NODE_ADMIN]}
    created = kz.call(
        "POST",
        "/admin/api-keys",
        headers=admin,
        json={"name": "visiting-auditor", "role": "auditor", "expires_in_days": 1},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["expires_at"] == pytest.approx(time.time() + 86400, abs=60)
    key = {"X-API-Key": body["key"]}
    assert kz.call("GET", "/inbox", headers=key).status_code == 200

    principal = authenticate(kz.runtime.db, body["key"])
    assert principal is not None
    assert authenticate(kz.runtime.db, body["key"], now=body["expires_at"] + 1) is None
    with kz.runtime.db.transaction() as session:  # the day has passed
        session.execute(
            update(ApiKey).where(ApiKey.id == principal.key_id).values(expires_at=time.time() - 1)
        )
    refused = kz.call("GET", "/inbox", headers=key)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["rule"] == "auth.expired_key"

    for days in (0, 1e-300):  # 1e-300 days adds nothing to the clock: expired at birth
        bad = kz.call(
            "POST",
            "/admin/api-keys",
            headers=admin,
            json={"name": "x", "role": "auditor", "expires_in_days": days},
        )
        assert bad.status_code == 422, (days, bad.text)
        assert bad.json()["errors"][0]["field"].endswith("expires_in_days")
    with pytest.raises(ValueError, match="past"):
        create_api_key(kz.runtime.db, "late", Role.AUDITOR, expires_at=time.time() - 5)


def test_dashboard_sessions_expire_and_die_with_their_key(nodes: dict[str, NodeClient]) -> None:
    kz = nodes["KZ"]
    browser = TestClient(create_app(runtime=kz.runtime), follow_redirects=False)
    key = create_api_key(kz.runtime.db, "night-officer", Role.RISK_OFFICER)

    def sign_in() -> None:
        response = browser.post(
            "/dashboard/login",
            content=f"api_key={key}&next=/dashboard/inbox",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303 and COOKIE in response.cookies

    sign_in()
    assert browser.get("/dashboard/inbox").status_code == 200
    sessions = browser.app.state.dashboard_sessions  # type: ignore[attr-defined]
    for token, officer in list(sessions.items()):  # the session's end has passed
        sessions[token] = dataclasses.replace(officer, expires=0.0)
    expired = browser.get("/dashboard/inbox")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/dashboard/login")
    assert not sessions  # the expired session is dropped, not kept around

    sign_in()
    assert browser.get("/dashboard/inbox").status_code == 200
    principal = authenticate(kz.runtime.db, key)
    assert principal is not None and revoke_api_key(kz.runtime.db, principal.key_id)
    assert browser.get("/dashboard/inbox").status_code == 303  # the key died: so did the session

    # A submitter's key opens no dashboard session at all.
    submitter = browser.post(
        "/dashboard/login",
        content=f"api_key={kz.keys[Role.SUBMITTER]}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert submitter.status_code == 200 and "cannot use the dashboard" in submitter.text
