"""`python -m bench [--quick|--full]`: run the benchmark suite, rewrite BENCHMARKS.md.

Every figure in BENCHMARKS.md comes from this command, on this machine, in one
run; ratios are against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path

from bench import audit_bench, gas, ipfs_bench, latency, pipeline_bench

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


def sections(profile: str) -> list[tuple[str, Callable[[], str]]]:
    def gas_section() -> str:
        result = gas.run()
        return (
            "Command: `python -m bench` (section `gas`), fresh anvil chain, "
            f"{result['fork']}. Random commitments and payload digests, one destination "
            "unless stated. Single-operation figures are medians over a few transactions.\n\n"
            + gas.markdown(result)
        )

    found: list[tuple[str, Callable[[], str]]] = [("Gas per operation", gas_section)]
    found.append(("IPFS add/cat", lambda: ipfs_bench.markdown_section(profile)))
    found.append(("Document pipeline", lambda: pipeline_bench.markdown_section(profile)))
    found.append(("Auditor verification", lambda: audit_bench.markdown_section(profile)))
    found.append(("End-to-end latency", lambda: latency.markdown_section(profile)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="full profile (slow)")
    args = parser.parse_args()
    profile = "full" if args.full else "quick"
    parts = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`python -m bench{' --full' if args.full else ''}`) on "
        f"{dt.date.today().isoformat()}, profile `{profile}`.",
        f"Machine: {machine()}.",
        "",
    ]
    for title, render in sections(profile):
        print(f"running: {title}", flush=True)
        parts += [f"## {title}", "", render(), ""]
    TARGET.write_text("\n".join(parts))
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
