"""Dependencies of the routes, as `Annotated` aliases.

Authentication: header ``X-API-Key``. No key or an unknown/revoked/expired key -> 401;
a valid key whose role the endpoint does not allow -> 403. Endpoints that write
to the chain (`SubmitterDep`, `RiskOfficerDep`) also take a token from the key's
bucket (node/api/limits.py): none left -> 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from node.api.limits import RULE_RATE, TokenBuckets, retry_after_header
from node.runtime import NodeRuntime
from node.services.api_keys import Principal, Role, authenticate, rejection_rule

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
        rule = rejection_rule(runtime.db, key)
        message = "API key expired" if rule == "auth.expired_key" else "unknown or revoked API key"
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"rule": rule, "message": message},
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return principal


def _take_token(request: Request, principal: Principal) -> None:
    buckets: TokenBuckets = request.app.state.submit_buckets
    wait = buckets.take(str(principal.key_id))
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail={
                "rule": RULE_RATE,
                "message": f"more than {buckets.burst} requests at once or "
                f"{buckets.rate:g}/s for this API key; retry after {wait:.2f} s",
                "retry_after": round(wait, 3),
            },
            headers={"Retry-After": retry_after_header(wait)},
        )


def require(*roles: Role, rate_limited: bool = False) -> Callable[..., Principal]:
    """The caller's principal if its role is one of `roles` (403 otherwise); with
    `rate_limited`, it also takes a token from the key's submission bucket (429)."""

    def check(request: Request, principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={
                    "rule": "auth.role",
                    "message": f"role {principal.role} may not do this; needs one of "
                    f"{[r.value for r in roles]}",
                },
            )
        if rate_limited:
            _take_token(request, principal)
        return principal

    return check


SubmitterDep = Annotated[Principal, Depends(require(Role.SUBMITTER, rate_limited=True))]
RiskOfficerDep = Annotated[Principal, Depends(require(Role.RISK_OFFICER, rate_limited=True))]
ReaderDep = Annotated[Principal, Depends(require(Role.SUBMITTER, Role.RISK_OFFICER, Role.AUDITOR))]
InboxReaderDep = Annotated[Principal, Depends(require(Role.RISK_OFFICER, Role.AUDITOR))]
AdminDep = Annotated[Principal, Depends(require(Role.NODE_ADMIN))]
