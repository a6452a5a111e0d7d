"""Build reproducibility: committed artifacts and generated errors match a fresh
compile, and the compiler pins agree with the Foundry configuration."""

from __future__ import annotations

import re
import tomllib

from ledger_client import compiler, contract_errors_codegen


def test_committed_artifacts_match_a_fresh_compile() -> None:
    fresh = compiler.compile_contracts()
    assert compiler.stale_artifacts(fresh) == [], "run `make artifacts` and commit the result"
    assert contract_errors_codegen.TARGET.read_text() == contract_errors_codegen.render(
        fresh.values()
    ), "ledger_client/contract_errors.py is stale; run `make artifacts`"


def test_compiler_pins_agree_with_foundry() -> None:
    config = tomllib.loads((compiler.CONTRACTS_DIR / "foundry.toml").read_text())["profile"]
    default = config["default"]
    assert default["evm_version"] == compiler.EVM_VERSION
    assert default["optimizer_runs"] == compiler.OPTIMIZER_RUNS
    assert default["optimizer"] is True
    for source in (compiler.CONTRACTS_DIR / "src").rglob("*.sol"):
        pragma = re.search(r"pragma solidity ([^;]+);", source.read_text())
        assert pragma is not None and pragma.group(1) == compiler.SOLC_VERSION, source


def test_shim_reports_the_pinned_version() -> None:
    import subprocess

    out = subprocess.run(
        [str(compiler.SOLC_SHIM), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Version: {compiler.SOLC_VERSION}+" in out
