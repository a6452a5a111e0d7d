"""`python -m bench` plumbing: --only keeps the other sections; mining modes replace the
devnet's anvil flags. (The benchmarks themselves run under `make bench`, not here.)"""

from __future__ import annotations

import importlib
from pathlib import Path

from bench.onchain_bench import MODES, _ModeChain

bench_main = importlib.import_module("bench.__main__")


def test_existing_sections_are_kept_verbatim_by_title() -> None:
    text = (
        "# Benchmarks\n\nProduced by ...\n\n## Gas per operation\n\nCommand: gas\n\n| a |\n"
        "\n## IPFS add/cat\n\nCommand: ipfs\n\n**Note** with ## inside a line\n"
    )
    sections = bench_main.existing_sections(text)
    assert list(sections) == ["Gas per operation", "IPFS add/cat"]
    assert sections["Gas per operation"] == "Command: gas\n\n| a |"
    assert sections["IPFS add/cat"] == "Command: ipfs\n\n**Note** with ## inside a line"


def test_every_section_has_a_key_for_only() -> None:
    keys = [key for key, _, _ in bench_main.sections("quick")]
    assert tuple(keys) == bench_main.SECTION_KEYS


def test_each_mining_mode_replaces_the_devnets_mining_flags(tmp_path: Path) -> None:
    for label, (flags, _) in MODES.items():
        chain = _ModeChain(port=1, log_file=tmp_path / "anvil.log")
        chain.mining = flags
        argv = chain.argv()
        assert argv.count("--block-time") == flags.count("--block-time"), label
        assert argv.count("--mixed-mining") == flags.count("--mixed-mining"), label
        assert argv[-len(flags) :] == flags if flags else "--block-time" not in argv
        assert "--no-request-size-limit" in argv  # the devnet's other flags stay
