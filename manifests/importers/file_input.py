"""Reading import files: the size limit and the error records shared by the importers.

Owns `read_limited` (file bytes, refusing anything over the limit before
reading it whole), `DEFAULT_MAX_IMPORT_BYTES` and `file_error_from`, which turns
a document-level `FieldError` into a `FileError` located in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from manifests.errors import FieldError, FileError, ImportFileError

DEFAULT_MAX_IMPORT_BYTES: Final = 64 << 20
"""Default limit on one import file (64 MiB); larger files are refused (payload.too_large)."""


def too_large(source: str, size: int, max_bytes: int) -> ImportFileError:
    """The error for a file of `size` bytes over `max_bytes`."""
    return ImportFileError(
        source,
        [
            FileError(
                source,
                "payload.too_large",
                f"the file is {size} bytes, more than the limit of {max_bytes} bytes; split it "
                "or raise the limit deliberately",
            )
        ],
    )


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, or `ImportFileError` (payload.too_large) if it is over `max_bytes`.

    OSError (missing file, no permission) propagates unchanged.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise too_large(str(path), size, max_bytes)
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew while we read it
        raise too_large(str(path), len(data), max_bytes)
    return data


def file_error_from(
    source: str,
    error: FieldError,
    *,
    row: int | None = None,
    column: str | None = None,
    document_index: int | None = None,
) -> FileError:
    """Locate a document-level `FieldError` in an import file."""
    return FileError(
        source=source,
        rule=error.rule,
        message=error.message,
        field=error.field,
        row=row,
        column=column,
        document_index=document_index,
    )
