"""Wheel build hook: compiles ledger_client/_commitment.c, the commitment's hot loops.

The extension is built next to its source (an editable install then finds it
there) and copied into a regular wheel. It links OpenSSL's libcrypto: building
needs a C compiler, the Python headers and OpenSSL's (Debian: gcc, python3-dev,
libssl-dev).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSION = "ledger_client._commitment"
SOURCE = "ledger_client/_commitment.c"


class CommitmentExtensionHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext

        root = Path(self.root).resolve()
        extension = Extension(EXTENSION, [SOURCE], libraries=["crypto"])
        distribution = Distribution({"name": "cie-ledger-commitment", "ext_modules": [extension]})
        distribution.script_name = "hatch_build.py"
        command = build_ext(distribution)
        command.inplace = True
        with tempfile.TemporaryDirectory(prefix="cie-commitment-build-") as scratch:
            command.build_temp = scratch
            command.ensure_finalized()
            # build_ext resolves sources and the in-place target against the cwd.
            with contextlib.chdir(root):
                command.run()
                built = Path(command.get_ext_fullpath(EXTENSION)).resolve()
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(built)] = str(built.relative_to(root))
