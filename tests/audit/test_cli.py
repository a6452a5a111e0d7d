"""`cie audit` through Typer's CliRunner against the real chain: verdicts, exit codes, batch."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from audit_helpers import Scenario
from typer.testing import CliRunner

from ledger_client.audit.cli import app

EXIT_BY_FILE = {
    "valid": 0,
    "redacted_valid": 0,
    "tampered": 1,
    "redacted_tampered": 1,
    "unknown": 1,
    "wrong_chain": 1,
    "revoked": 2,
    "superseded": 3,
}
VERDICT_BY_FILE = {
    "valid": "VALID",
    "redacted_valid": "REDACTED_VALID",
    "tampered": "TAMPERED",
    "redacted_tampered": "TAMPERED",
    "unknown": "UNKNOWN",
    "wrong_chain": "WRONG_CHAIN",
    "revoked": "REVOKED",
    "superseded": "SUPERSEDED",
}


def chain_options(scenario: Scenario) -> list[str]:
    return ["--rpc-url", scenario.rpc_url, "--deployment", str(scenario.deployment_file)]


@pytest.mark.parametrize("name", sorted(EXIT_BY_FILE))
def test_verify_prints_the_json_report_and_exits_with_the_verdict_status(
    scenario: Scenario, tmp_path: Path, name: str
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_bytes(scenario.files[name])
    html = tmp_path / f"{name}.html"
    result = CliRunner().invoke(
        app, ["verify", str(path), "--json", "--html", str(html), *chain_options(scenario)]
    )
    assert result.exit_code == EXIT_BY_FILE[name], result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "cie-ledger/audit-report/v1"
    assert report["verdict"] == VERDICT_BY_FILE[name]
    assert report["exit_code"] == EXIT_BY_FILE[name]
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and VERDICT_BY_FILE[name] in page


def test_verify_without_json_prints_a_summary(scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "valid.json"
    path.write_bytes(scenario.files["valid"])
    result = CliRunner().invoke(app, ["verify", str(path), *chain_options(scenario)])
    assert result.exit_code == 0
    assert "VALID" in result.output and scenario.ids["manifest"] in result.output


def test_usage_and_io_errors_exit_4(scenario: Scenario, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["verify", str(tmp_path / "nope.json"), *chain_options(scenario)])
    assert missing.exit_code == 4
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert runner.invoke(app, ["verify", str(garbage), *chain_options(scenario)]).exit_code == 4
    path = tmp_path / "valid.json"
    path.write_bytes(scenario.files["valid"])
    no_chain = runner.invoke(
        app,
        [
            "verify",
            str(path),
            "--rpc-url",
            "http://127.0.0.1:1",
            "--deployment",
            str(scenario.deployment_file),
        ],
    )
    assert no_chain.exit_code == 4
    assert runner.invoke(app, ["verify"]).exit_code != 0


def _write_folder(scenario: Scenario, folder: Path, names: list[str]) -> None:
    folder.mkdir()
    for name in names:
        (folder / f"{name}.json").write_bytes(scenario.files[name])


def test_verify_batch_on_a_folder_and_a_zip(scenario: Scenario, tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good"
    _write_folder(scenario, good, ["valid", "redacted_valid", "latest", "certificate"])
    result = runner.invoke(app, ["verify-batch", str(good), *chain_options(scenario)])
    assert result.exit_code == 0, result.output
    assert "4 document file(s)" in result.stdout

    mixed = tmp_path / "mixed"
    _write_folder(scenario, mixed, sorted(EXIT_BY_FILE))
    (mixed / "broken.json").write_text("[]")
    out = tmp_path / "reports.json"
    result = runner.invoke(
        app, ["verify-batch", str(mixed), "--json", str(out), *chain_options(scenario)]
    )
    assert result.exit_code == 1
    reports = {r.get("source"): r for r in json.loads(out.read_text())}
    assert reports["broken.json"]["error"]
    for name, verdict in VERDICT_BY_FILE.items():
        assert reports[f"{name}.json"]["verdict"] == verdict

    archive = tmp_path / "files.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("valid", "superseded"):
            zipped.writestr(f"{name}.json", scenario.files[name])
    result = runner.invoke(app, ["verify-batch", str(archive), *chain_options(scenario)])
    assert result.exit_code == 3  # worst of VALID (0) and SUPERSEDED (3)
    revoked_too = tmp_path / "revoked"
    _write_folder(scenario, revoked_too, ["valid", "superseded", "revoked"])
    result = runner.invoke(app, ["verify-batch", str(revoked_too), *chain_options(scenario)])
    assert result.exit_code == 2
    assert (
        runner.invoke(
            app, ["verify-batch", str(tmp_path / "absent"), *chain_options(scenario)]
        ).exit_code
        == 4
    )


def test_schema_prints_the_report_json_schema() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "verdict" in schema["properties"] and "schema" in schema["properties"]
