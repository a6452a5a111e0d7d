"""Benchmarks; `python -m bench` runs them and rewrites BENCHMARKS.md."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def standalone(
    doc: str | None,
    run: Callable[[str], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
    full_help: str,
) -> None:
    """`python -m bench.<module> [--full]`: run one benchmark module, print its table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--full", action="store_true", help=full_help)
    args = parser.parse_args()
    result = run("full" if args.full else "quick")
    print(markdown(result))
    print(f"\nmeasured in {result['seconds']:.1f} s")
