"""Schemathesis against the node's OpenAPI description, in process (ASGI), over the
real chain, IPFS and SQLite of the package's network.

Every generated request is sent with no key, with a key of another node
(foreign) and with a key of each role: no answer is a 5xx, and no protected
operation answers 2xx without a valid key. Bounded in `make test`
(`FUZZ_EXAMPLES` per operation); the slow variant runs more examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

from node.main import create_app
from node.services.api_keys import Role
from tests.node.test_api import ZERO_ID, NodeClient
from tests.reliability.test_api_authorization import PUBLIC

FUZZ_EXAMPLES = 10
SLOW_EXAMPLES = 150


@pytest.fixture(scope="module")
def fuzz_app(nodes: dict[str, NodeClient]) -> Iterator[Any]:
    """KZ's node app, separate from the other tests' (its own rate-limit buckets)."""
    app = create_app(runtime=nodes["KZ"].runtime)
    with TestClient(app):
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def _check(case: Any, nodes: dict[str, NodeClient]) -> None:
    kz, uz = nodes["KZ"], nodes["UZ"]
    public = (case.method.upper(), case.path) in PUBLIC
    base = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    outsiders = {"none": None, "foreign": uz.keys[Role.NODE_ADMIN], "made up": "cie_" + "x" * 43}
    for label, key in outsiders.items():
        case.headers = dict(base) if key is None else {**base, "X-API-Key": key}
        response = case.call(allow_redirects=False)
        assert response.status_code < 500, (label, case.method, case.path, response.text[:500])
        if not public:
            assert not 200 <= response.status_code < 300, (label, case.method, case.path)
    for role in Role:
        case.headers = {**base, "X-API-Key": kz.keys[role]}
        response = case.call(allow_redirects=False)
        assert response.status_code < 500, (role, case.method, case.path, response.text[:500])


def fuzz(api_schema: Any, nodes: dict[str, NodeClient], examples: int) -> int:
    """Run `examples` generated cases per operation (hypothesis, derandomized); return the
    number of operations. (Schemathesis' pytest loader is driven by hand: its lazy
    fixture loader does not work with pytest 9.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            _check(case, nodes)

        run()
    return len(operations)


def test_no_operation_answers_5xx_or_serves_anyone_without_a_key(
    api_schema: Any, nodes: dict[str, NodeClient]
) -> None:
    assert fuzz(api_schema, nodes, FUZZ_EXAMPLES) >= 20


@pytest.mark.slow
def test_longer_fuzzing_finds_no_5xx_and_no_auth_bypass(
    api_schema: Any, nodes: dict[str, NodeClient]
) -> None:
    assert fuzz(api_schema, nodes, SLOW_EXAMPLES) >= 20


# Found by the fuzzing above: the dead-letter id and the inbox offset answered 500 (SQLite
# integer overflow), an audit block range beyond the chain head 503 (eth_getLogs refused it).
# Versions and AEO times are bounded to their on-chain widths (uint32, uint64) so the error
# names the field instead of failing later as an unknown version or an ABI error.
OUT_OF_RANGE = [
    ("POST", f"/admin/webhooks/dead-letters/{2**63}/replay", Role.NODE_ADMIN, None, "delivery_id"),
    ("GET", f"/inbox?offset={2**63}", Role.AUDITOR, None, "offset"),
    ("GET", f"/documents/{ZERO_ID}?version={2**32}", Role.AUDITOR, None, "version"),
    (
        "POST",
        f"/documents/{ZERO_ID}/acknowledge",
        Role.RISK_OFFICER,
        {"version": 2**32, "lane": "GREEN", "reason": "x"},
        "version",
    ),
    ("GET", f"/audit/report?from_block={2**40}", Role.AUDITOR, None, "from_block"),
    ("GET", f"/audit/report?to_block={2**40}", Role.AUDITOR, None, "to_block"),
    ("GET", "/audit/report?overdue_hours=inf", Role.AUDITOR, None, "overdue_hours"),
    (
        "POST",
        "/aeo",
        Role.NODE_ADMIN,
        {"aeo_id": "KZAEO9", "tier": 1, "valid_from": 0, "valid_until": 2**64},
        "valid_until",
    ),
]


@pytest.mark.parametrize(("method", "path", "role", "body", "field"), OUT_OF_RANGE)
def test_integers_beyond_storage_or_abi_range_are_422_naming_the_field(
    nodes: dict[str, NodeClient],
    method: str,
    path: str,
    role: Role,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = nodes["KZ"].call(method, path, role, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
