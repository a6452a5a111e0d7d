"""Exceptions and error records of the `manifests` package.

One base, `ManifestError`; each specific error also inherits the builtin it
resembles (ValueError for bad input), so callers can catch either. Validation
failures carry structured, field-level records (`FieldError` for one document,
`FileError` for an imported file) whose `rule` is a stable machine name (for
example ``hs_code.format``) that callers and tests may rely on; `message` is for
people and says what was wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# How many records an exception message spells out before summarising the rest.
_MESSAGE_RECORD_LIMIT = 5


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure of one document.

    `field` is a JSON path into the document such as ``goods_items[2].hs_code``;
    the empty string means the document (or payload) as a whole.
    """

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.field or '<document>'}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class FileError:
    """One failure found while importing a file.

    `row` is the 1-based physical line of the CSV record (the header is line 1)
    or the line of a JSON syntax error; `column` is the CSV header name;
    `document_index` is the 0-based position of the document in a JSON array;
    `field` is the JSON path inside that document. Unknown parts are None/"".
    """

    source: str
    rule: str
    message: str
    field: str = ""
    row: int | None = None
    column: str | None = None
    document_index: int | None = None

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.document_index is not None:
            where.append(f"document {self.document_index}")
        if self.field:
            where.append(self.field)
        return f"{', '.join(where)}: {self.message} [{self.rule}]"


def _summarise(header: str, records: Sequence[object]) -> str:
    lines = [header]
    lines.extend(f"  - {record}" for record in records[:_MESSAGE_RECORD_LIMIT])
    if len(records) > _MESSAGE_RECORD_LIMIT:
        lines.append(f"  ... and {len(records) - _MESSAGE_RECORD_LIMIT} more")
    return "\n".join(lines)


class ManifestError(Exception):
    """Base of every error raised by the `manifests` package."""


class UnknownDocumentTypeError(ManifestError, ValueError):
    """A document type name or code is not one of `DocumentType`."""


class GeneratorConfigError(ManifestError, ValueError):
    """The sample generator was asked for something its configuration cannot produce
    (e.g. a Form D with fewer than two ASEAN economies configured)."""


class ExportError(ManifestError, ValueError):
    """Documents could not be exported as asked (e.g. mixed types in one CSV table)."""


class DocumentInvalidError(ManifestError, ValueError):
    """A document failed validation; `errors` lists every field-level failure found."""

    def __init__(self, document_type: str, errors: Sequence[FieldError]) -> None:
        self.document_type = document_type
        self.errors: list[FieldError] = list(errors)
        super().__init__(
            _summarise(
                f"{document_type} is invalid ({len(self.errors)} error(s)); "
                "fix the fields below and submit again:",
                self.errors,
            )
        )

    @property
    def rules(self) -> list[str]:
        """The rule names of `errors`, in order (handy for logs and tests)."""
        return [error.rule for error in self.errors]


class PayloadError(DocumentInvalidError):
    """The raw payload could not be read as JSON: too large, not UTF-8, or malformed.

    `errors` holds exactly one record (rule ``payload.too_large``,
    ``payload.encoding``, ``json.malformed`` or ``json.duplicate_key``); `line`
    and `column` locate a syntax error (1-based) when known.
    """

    def __init__(
        self,
        document_type: str,
        error: FieldError,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(document_type, [error])
        self.line = line
        self.column = column


class ImportFileError(ManifestError, ValueError):
    """An imported file (JSON or CSV) held malformed or invalid records.

    Imports are all-or-nothing: `errors` lists every problem found in the file.
    """

    def __init__(self, source: str, errors: Sequence[FileError]) -> None:
        self.source = source
        self.errors: list[FileError] = list(errors)
        super().__init__(
            _summarise(
                f"{source}: {len(self.errors)} problem(s); nothing was imported, "
                "fix them and import the file again:",
                self.errors,
            )
        )

    @property
    def rules(self) -> list[str]:
        """The rule names of `errors`, in order."""
        return [error.rule for error in self.errors]
