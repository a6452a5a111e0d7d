"""The exchange folders of a simple-mode node and the file operations on them.

Owns `ExchangeFolders`: the layout under one root directory (a local directory
or a mounted share), which files in a drop folder are ready to pick up, and
crash-safe writes and moves (write to a hidden temporary name, fsync, rename;
renames stay inside the root, so they are atomic on one file system).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

# Names a producer uses while it is still writing; never picked up.
IN_PROGRESS_SUFFIXES: Final = (".part", ".partial", ".tmp", ".crdownload", "~")
TMP_DIRECTORY: Final = ".tmp"


def is_ready(path: Path) -> bool:
    """A regular file that the producer has finished (write-then-rename convention)."""
    name = path.name
    return (
        not name.startswith(".")
        and not name.lower().endswith(IN_PROGRESS_SUFFIXES)
        and path.is_file()
    )


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some shares do not allow opening directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader sees either nothing or the whole file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def write_json(path: Path, value: Any) -> None:
    write_atomically(
        path, (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    )


def move(source: Path, target: Path) -> None:
    os.replace(source, target)
    _fsync_directory(target.parent)
    _fsync_directory(source.parent)


@dataclass(frozen=True)
class ExchangeFolders:
    """``inbox/`` (+ ``inbox/.tmp/``), ``done/``, ``rejected/``, ``received/``,
    ``decisions/`` (+ ``done/``, ``rejected/``, ``.tmp/``) under `root`."""

    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def done(self) -> Path:
        return self.root / "done"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def received(self) -> Path:
        return self.root / "received"

    @property
    def decisions(self) -> Path:
        return self.root / "decisions"

    @property
    def decisions_done(self) -> Path:
        return self.decisions / "done"

    @property
    def decisions_rejected(self) -> Path:
        return self.decisions / "rejected"

    def create(self) -> ExchangeFolders:
        for directory in (
            self.inbox / TMP_DIRECTORY,
            self.done,
            self.rejected,
            self.received,
            self.decisions / TMP_DIRECTORY,
            self.decisions_done,
            self.decisions_rejected,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        return self

    @staticmethod
    def ready_files(directory: Path) -> list[Path]:
        """Finished files directly in `directory`, oldest name first (sorted by name)."""
        if not directory.is_dir():
            return []
        return sorted((p for p in directory.iterdir() if is_ready(p)), key=lambda p: p.name)
