"""Static analysis of the contracts: slither leaves no high or medium finding unexplained.

slither-analyzer pins its own web3/eth packages, so it lives in a separate
virtualenv (see RELIABILITY.md, "Security"); this test runs it when it is
found (``$SLITHER`` or ``slither`` on PATH) and is marked slow (``make soak``).
The run uses contracts/slither.config.json (dependencies under node_modules
filtered, informational detectors off) and compares every high/medium finding
with contracts/slither.triage.json, where each accepted finding has its reason.
Findings are keyed by detector, function and expression, not line numbers, so
unrelated edits do not invalidate the review, and a new finding fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
TRIAGE = CONTRACTS / "slither.triage.json"


def finding_key(result: dict[str, Any]) -> str:
    """``<detector> <Contract>.<function signature>[:<variable>] <first expression>``."""
    where = ""
    for element in result["elements"]:
        fields = element.get("type_specific_fields", {})
        if element["type"] == "function":
            where = f"{fields['parent']['name']}.{fields['signature']}"
            break
        if element["type"] == "variable" and fields.get("parent", {}).get("type") == "function":
            function = fields["parent"]
            contract = function["type_specific_fields"]["parent"]["name"]
            where = f"{contract}.{function['name']}:{element['name']}"
            break
    expressions = [e["name"] for e in result["elements"] if e["type"] == "node"]
    return " ".join(filter(None, [result["check"], where, expressions[0] if expressions else ""]))


def test_the_triage_file_gives_a_reason_for_every_accepted_finding() -> None:
    entries = json.loads(TRIAGE.read_text())
    assert entries, "empty triage file"
    for entry in entries:
        assert set(entry) == {"key", "impact", "reason"}, entry
        assert entry["impact"] in ("High", "Medium") and len(entry["reason"]) > 40, entry
    keys = [e["key"] for e in entries]
    assert len(keys) == len(set(keys))


@pytest.mark.slow
def test_slither_finds_no_high_or_medium_issue_outside_the_triage(tmp_path: Path) -> None:
    slither = os.environ.get("SLITHER") or shutil.which("slither")
    if not slither:
        pytest.skip("slither not installed: see RELIABILITY.md (Security) for the command")
    node_bin = ROOT / "node_modules" / ".bin"
    env = {
        **os.environ,
        "PATH": f"{node_bin}{os.pathsep}{os.environ['PATH']}",
        "FOUNDRY_SOLC": str(CONTRACTS / "tools" / "solc"),
    }
    report = tmp_path / "slither.json"
    run = subprocess.run(
        [slither, ".", "--json", str(report)],
        cwd=CONTRACTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.exists(), run.stderr[-2000:]
    results = json.loads(report.read_text())["results"].get("detectors", [])
    accepted = {e["key"] for e in json.loads(TRIAGE.read_text())}
    serious = [r for r in results if r["impact"] in ("High", "Medium")]
    unexplained = [
        f"{finding_key(r)}\n  {r['description']}" for r in serious if finding_key(r) not in accepted
    ]
    assert not unexplained, "\n".join(unexplained)
    stale = accepted - {finding_key(r) for r in serious}
    assert not stale, f"triage entries that slither no longer reports: {sorted(stale)}"
