"""Fixtures for the auditor side: the pipeline network (real anvil, real embedded IPFS)
with a scenario of anchored, amended, revoked, acknowledged and transit documents.

The pipeline fixtures are reused by loading tests/pipeline/conftest.py under its
own module name (importing it as `conftest` would clash with this file).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PIPELINE_TESTS = Path(__file__).resolve().parent.parent / "pipeline"
sys.path.insert(0, str(_PIPELINE_TESTS))

_spec = importlib.util.spec_from_file_location(
    "pipeline_test_fixtures", _PIPELINE_TESTS / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_pipeline_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pipeline_fixtures)
ipfs_nodes = _pipeline_fixtures.ipfs_nodes
network = _pipeline_fixtures.network

from audit_helpers import Scenario, build_scenario  # noqa: E402
from pipeline_helpers import Network  # noqa: E402

from devnet.anvil import AnvilChain  # noqa: E402


@pytest.fixture(scope="module")
def scenario(
    network: Network, anvil: AnvilChain, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    return build_scenario(network, anvil.rpc_url, tmp_path_factory.mktemp("audit"))
