"""RELIABILITY.md cannot rot: every test it cites exists, every bad-input case cites
a test, and the case count in its summary is the number of rows.

Fast on purpose: the Python tests are found by parsing their files (AST), the
Foundry ones by their `contract` and `function` declarations; nothing is collected.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "RELIABILITY.md"

PY_REF = re.compile(r"`(tests/[\w/.-]+\.py)::([\w:]+)(\[[^`]*\])?`")
SOL_REF = re.compile(r"`(contracts/[\w/.-]+\.sol)::(\w+)\.(\w+)`")


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"RELIABILITY.md has no '## {title}' section"
    return match.group(1)


def _python_names(path: Path) -> set[str]:
    """`name` for module-level functions and classes, `Class::method` for methods."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            )
    return names


def test_every_cited_test_exists() -> None:
    text = DOC.read_text()
    python_refs = PY_REF.findall(text)
    solidity_refs = SOL_REF.findall(text)
    assert len(python_refs) > 50, "no test references found: did the format change?"
    missing = []
    cache: dict[str, set[str]] = {}
    for file, name, _params in python_refs:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
            continue
        names = cache.setdefault(file, _python_names(path))
        if name not in names:
            missing.append(f"{file}::{name}")
    for file, contract, function in solidity_refs:
        path = ROOT / file
        source = path.read_text() if path.is_file() else ""
        if not re.search(rf"\bcontract {contract}\b", source) or not re.search(
            rf"\bfunction {function}\(", source
        ):
            missing.append(f"{file}::{contract}.{function}")
    assert not missing, "RELIABILITY.md cites tests that do not exist:\n" + "\n".join(missing)


def _case_rows(section: str) -> list[str]:
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [row for row in rows if not row.startswith("| case ")]


def test_each_bad_input_case_cites_a_test_and_the_count_is_right() -> None:
    text = DOC.read_text()
    rows = _case_rows(_section(text, "Bad input"))
    without = [row for row in rows if not (PY_REF.search(row) or SOL_REF.search(row))]
    assert not without, "bad-input cases without a test:\n" + "\n".join(without)
    count = re.search(r"\*\*(\d+) bad-input cases\*\*", _section(text, "Summary"))
    assert count, "the Summary must state '**N bad-input cases**'"
    assert int(count.group(1)) == len(rows), (
        f"the Summary says {count.group(1)} bad-input cases, the tables have {len(rows)} rows"
    )
