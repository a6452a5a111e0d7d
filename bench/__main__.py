"""`python -m bench [--full] [--only SECTION ...]`: run the benchmarks, rewrite BENCHMARKS.md.

Every figure in BENCHMARKS.md comes from this command, on this machine, in one
run; ratios are against baselines measured in the same run. `--only` (repeatable)
reruns just the named sections and keeps every other section of the existing
BENCHMARKS.md as it was; the header then says which sections this run refreshed.
Section keys: gas, onchain, ipfs, pipeline, scaling, audit, latency.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import (
    audit_bench,
    gas,
    history_bench,
    ipfs_bench,
    latency,
    onchain_bench,
    pipeline_bench,
    scaling_bench,
)

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "BENCHMARKS.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    anvil = subprocess.run(
        [str(ROOT / "node_modules/.bin/anvil"), "--version"], capture_output=True, text=True
    ).stdout.splitlines()
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {anvil[0] if anvil else 'anvil ?'}"
    )


def sections(profile: str) -> list[tuple[str, str, Callable[[], str]]]:
    """(key for --only, title, renderer) of every section, in BENCHMARKS.md order."""

    def gas_section() -> str:
        result = gas.run()
        return (
            "Command: `python -m bench` (section `gas`), fresh anvil chain, "
            f"{result['fork']}. Random commitments and payload digests, one destination "
            "unless stated. Single-operation figures are medians over a few transactions.\n\n"
            + gas.markdown(result)
        )

    return [
        ("gas", "Gas per operation", gas_section),
        ("onchain", "On-chain throughput", lambda: onchain_bench.markdown_section(profile)),
        ("ipfs", "IPFS add/cat", lambda: ipfs_bench.markdown_section(profile)),
        ("pipeline", "Document pipeline", lambda: pipeline_bench.markdown_section(profile)),
        (
            "scaling",
            "Scaling and listener catch-up",
            lambda: scaling_bench.markdown_section(profile),
        ),
        ("history", "Document history reads", lambda: history_bench.markdown_section(profile)),
        ("audit", "Auditor verification", lambda: audit_bench.markdown_section(profile)),
        ("latency", "End-to-end latency", lambda: latency.markdown_section(profile)),
    ]


SECTION_KEYS = (
    "gas",
    "onchain",
    "ipfs",
    "pipeline",
    "scaling",
    "history",
    "audit",
    "latency",
)


def existing_sections(text: str) -> dict[str, str]:
    """Title -> body of every `## ` section of an existing BENCHMARKS.md."""
    found: dict[str, str] = {}
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    for index in range(1, len(parts) - 1, 2):
        found[parts[index].strip()] = parts[index + 1].strip("\n")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="full profile (slow)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SECTION_KEYS,
        metavar="SECTION",
        help=f"run only this section (repeatable; one of {', '.join(SECTION_KEYS)}); the "
        "other sections of BENCHMARKS.md are kept as they are",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=TARGET,
        help="write here instead of BENCHMARKS.md (with --only, unrun sections are copied "
        "from the existing file at this path, else from BENCHMARKS.md)",
    )
    args = parser.parse_args()
    profile = "full" if args.full else "quick"
    only = set(args.only or ())
    output: Path = args.output
    command = "python -m bench" + (" --full" if args.full else "")
    command += "".join(f" --only {key}" for key in sorted(only))
    previous = output if output.exists() else TARGET
    kept = existing_sections(previous.read_text()) if only and previous.exists() else {}
    parts = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`{command}`) on "
        f"{dt.date.today().isoformat()}, profile `{profile}`.",
        f"Machine: {machine()}.",
        "",
    ]
    if only:
        parts[2] = (
            f"Sections refreshed by `{command}` on {dt.date.today().isoformat()}, profile "
            f"`{profile}`: {', '.join(sorted(only))}; the other sections are from an earlier "
            "run (their own lines say what produced them)."
        )
    for key, title, render in sections(profile):
        if only and key not in only:
            if title in kept:
                parts += [f"## {title}", "", kept[title], ""]
            continue
        print(f"running: {title}", flush=True)
        parts += [f"## {title}", "", render(), ""]
    output.write_text("\n".join(parts))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
