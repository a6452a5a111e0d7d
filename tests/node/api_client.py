"""The node API in process for tests: a TestClient with one API key per role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from node.main import create_app
from node.runtime import NodeRuntime
from node.services.api_keys import Role, create_api_key

ROLES = tuple(Role)


class NodeClient:
    def __init__(self, runtime: NodeRuntime) -> None:
        self.runtime = runtime
        self.client = TestClient(create_app(runtime=runtime))
        self.keys = {role: create_api_key(runtime.db, f"test-{role}", role) for role in ROLES}

    def call(self, method: str, path: str, role: Role | None = None, **kw):  # type: ignore[no-untyped-def]
        headers = dict(kw.pop("headers", {}))
        if role is not None:
            headers["X-API-Key"] = self.keys[role]
        return self.client.request(method, path, headers=headers, **kw)
