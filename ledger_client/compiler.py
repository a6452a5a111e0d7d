"""Compiling the contracts and keeping their build artifacts.

The compiler (solc-js from npm, through the standard-JSON shim in
`contracts/tools/solc`) and its settings are pinned here, in one place; a test
checks that `contracts/foundry.toml` agrees. Artifacts (ABI + bytecode) are
committed under `ledger_client/artifacts/` so that an installed client needs no
compiler; `python -m ledger_client.compiler --check` (and a test) fail when they
differ from a fresh compile, `--write` refreshes them together with the typed
contract errors in `ledger_client/contract_errors.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ledger_client.errors import ConfigurationError

SOLC_VERSION = "0.8.37"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

#: The deployable contracts, in deployment order.
CONTRACT_NAMES = ("Consortium", "DocumentRegistry", "AeoRegistry")
#: Contracts deployed once per member economy (its OpenAttestation DocumentStore facade).
MEMBER_CONTRACT_NAMES = ("OaDocumentStore",)
#: Every packaged artifact.
ARTIFACT_NAMES = CONTRACT_NAMES + MEMBER_CONTRACT_NAMES

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
REPO_ROOT = PACKAGE_DIR.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
SOLC_SHIM = CONTRACTS_DIR / "tools" / "solc"


@dataclass(frozen=True)
class ContractArtifact:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    @property
    def abi_hash(self) -> str:
        """SHA-256 of the canonical ABI JSON; deployments record it to detect drift."""
        return hashlib.sha256(_canonical(self.abi)).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "contractName": self.name,
            "compiler": {
                "solc": SOLC_VERSION,
                "evmVersion": EVM_VERSION,
                "optimizerRuns": OPTIMIZER_RUNS,
            },
            "abi": self.abi,
            "bytecode": self.bytecode,
            "deployedBytecode": self.deployed_bytecode,
        }


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def standard_json_input(src: Path | None = None) -> dict[str, Any]:
    """The solc standard-JSON input for every source under `src` (default contracts/src)."""
    src = src or CONTRACTS_DIR / "src"
    sources = {
        path.relative_to(src.parent).as_posix(): {"content": path.read_text()}
        for path in sorted(src.rglob("*.sol"))
    }
    if not sources:
        raise ConfigurationError(f"no Solidity sources found under {src}")
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def compile_contracts(
    src: Path | None = None, names: tuple[str, ...] = ARTIFACT_NAMES
) -> dict[str, ContractArtifact]:
    """Compile with the pinned solc-js and return the named contracts' artifacts.

    Default: the deployable contracts of contracts/src. Benchmarks compile their
    own comparison contracts through the same pinned compiler.
    """
    import solcx  # imported here: only needed in a source checkout

    if not SOLC_SHIM.exists():
        raise ConfigurationError(f"solc shim not found at {SOLC_SHIM}; run `make setup`")
    try:
        output = solcx.compile_standard(
            standard_json_input(src), solc_binary=str(SOLC_SHIM), base_path=str(CONTRACTS_DIR)
        )
    except solcx.exceptions.SolcError as exc:  # compile errors: show solc's own message
        raise ConfigurationError(f"contract compilation failed:\n{exc}") from exc
    found: dict[str, ContractArtifact] = {}
    for contracts in output["contracts"].values():
        for name, data in contracts.items():
            if name in names:
                found[name] = ContractArtifact(
                    name=name,
                    abi=data["abi"],
                    bytecode="0x" + data["evm"]["bytecode"]["object"],
                    deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
                )
    missing = set(names) - found.keys()
    if missing:
        raise ConfigurationError(f"contracts missing from compiler output: {sorted(missing)}")
    return found


@cache
def load_artifact(name: str) -> ContractArtifact:
    """Load a committed artifact (no compiler needed)."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        raise ConfigurationError(
            f"artifact {path} is missing; run `make artifacts` in a source checkout"
        )
    data = json.loads(path.read_text())
    return ContractArtifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
    )


def artifact_text(artifact: ContractArtifact) -> str:
    return json.dumps(artifact.to_json(), indent=1, sort_keys=True) + "\n"


def stale_artifacts(fresh: dict[str, ContractArtifact]) -> list[str]:
    """Names whose committed artifact differs from the fresh compile."""
    stale = []
    for name, artifact in fresh.items():
        path = ARTIFACTS_DIR / f"{name}.json"
        if not path.exists() or path.read_text() != artifact_text(artifact):
            stale.append(name)
    return stale


def write_artifacts(fresh: dict[str, ContractArtifact]) -> None:
    from ledger_client import contract_errors_codegen

    ARTIFACTS_DIR.mkdir(exist_ok=True)
    for name, artifact in fresh.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(artifact_text(artifact))
    contract_errors_codegen.write(fresh.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="refresh committed artifacts")
    group.add_argument("--check", action="store_true", help="fail if artifacts are stale")
    args = parser.parse_args(argv)
    fresh = compile_contracts()
    if args.write:
        write_artifacts(fresh)
        print(f"wrote {len(fresh)} artifacts to {ARTIFACTS_DIR}")
        return 0
    stale = stale_artifacts(fresh)
    if stale:
        print(f"stale artifacts: {stale}; run `make artifacts`", file=sys.stderr)
        return 1
    print("artifacts match a fresh compile")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
