"""Dependencies of the routes, as `Annotated` aliases.

Authentication: header ``X-API-Key``. No key or an unknown/revoked key -> 401;
a valid key whose role the endpoint does not allow -> 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from node.runtime import NodeRuntime
from node.services.api_keys import Principal, Role, authenticate

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_runtime(request: Request) -> NodeRuntime:
    runtime: NodeRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[NodeRuntime, Depends(get_runtime)]


def _principal(
    runtime: RuntimeDep, key: Annotated[str | None, Security(api_key_header)]
) -> Principal:
    if not key:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"rule": "auth.missing_key", "message": "send an API key in X-API-Key"},
            headers={"WWW-Authenticate": "ApiKey"},
        )
    principal = authenticate(runtime.db, key)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"rule": "auth.invalid_key", "message": "unknown or revoked API key"},
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return principal


def require(*roles: Role) -> Callable[..., Principal]:
    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={
                    "rule": "auth.role",
                    "message": f"role {principal.role} may not do this; needs one of "
                    f"{[r.value for r in roles]}",
                },
            )
        return principal

    return check


SubmitterDep = Annotated[Principal, Depends(require(Role.SUBMITTER))]
RiskOfficerDep = Annotated[Principal, Depends(require(Role.RISK_OFFICER))]
ReaderDep = Annotated[Principal, Depends(require(Role.SUBMITTER, Role.RISK_OFFICER, Role.AUDITOR))]
InboxReaderDep = Annotated[Principal, Depends(require(Role.RISK_OFFICER, Role.AUDITOR))]
AdminDep = Annotated[Principal, Depends(require(Role.NODE_ADMIN))]
