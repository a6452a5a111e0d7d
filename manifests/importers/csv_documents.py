"""CSV import and export of documents: one row per goods item.

Owns `import_csv_text`, `import_csv_file` and `export_csv` and the table
layout they share:

* The header names each column by its JSON path in the document. Document-level
  columns: ``reference``, ``issuer_economy``, ``consignor.name``,
  ``consignor.address.country``; list elements take a 0-based index:
  ``destinations[0]``, ``containers[1].seals[0]``, ``links[0].reference``.
* Item columns start with the document's item list, without an index; each
  row is one item: ``goods_items.hs_code``, ``goods_items.packages.count``,
  ``goods_items.container_numbers[0]`` (manifests and transit declarations),
  ``items.origin_criterion`` (certificates of origin).
* Rows are grouped into documents by the ``reference`` column (required), in
  order of first appearance. Document-level cells are repeated on every row of
  a document and must be identical there (csv.inconsistent_document_column).
* An empty cell means the field is absent. Values are written as in the JSON
  form: ``1200.5``, ``true``/``false``, ``2025-03-01``,
  ``2025-03-01T08:00:00Z``. Without an item ``sequence_number`` column, items
  are numbered in row order.
* UTF-8 (a BOM is ignored), comma-separated unless told otherwise, RFC 4180
  quoting. `export_csv` writes exactly this layout, so export then import
  gives back equal documents.

Import rules: payload.too_large, payload.encoding, csv.empty, csv.malformed,
csv.bad_column, csv.duplicate_column, csv.missing_column, csv.row_length,
csv.missing_reference, csv.inconsistent_document_column, csv.list_index_gap,
csv.no_records, plus every document rule, located by row (the record's first
physical line; the header is line 1) and column (header name, when one column
holds the failing value).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from manifests.document_type import DocumentType
from manifests.errors import ExportError, FileError, ImportFileError
from manifests.importers.file_input import (
    DEFAULT_MAX_IMPORT_BYTES,
    file_error_from,
    read_limited,
    too_large,
)
from manifests.parsing import located_field_errors
from manifests.registry import Document, validate_document

ITEM_FIELDS: Final[dict[DocumentType, str]] = {
    DocumentType.PRE_ARRIVAL_MANIFEST: "goods_items",
    DocumentType.TRANSIT_DECLARATION: "goods_items",
    DocumentType.CERTIFICATE_OF_ORIGIN: "items",
}
"""The item list of each document type; its columns repeat per row."""

Key = str | int
Loc = tuple[Key, ...]

_SEGMENT_RE: Final = re.compile(r"([a-z_][a-z0-9_]*)((?:\[(?:0|[1-9][0-9]{0,5})\])*)")
_INDEX_RE: Final = re.compile(r"\[([0-9]+)\]")


def parse_column(name: str) -> Loc | None:
    """The path a column name denotes (``containers[1].seals[0]`` ->
    ``("containers", 1, "seals", 0)``), or None if the name is not a path."""
    keys: list[Key] = []
    for segment in name.split("."):
        match = _SEGMENT_RE.fullmatch(segment)
        if match is None:
            return None
        keys.append(match.group(1))
        keys.extend(int(index) for index in _INDEX_RE.findall(match.group(2)))
    return tuple(keys)


def format_column(path: Loc) -> str:
    """The column name of a path (inverse of `parse_column`)."""
    parts: list[str] = []
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(f".{key}" if parts else key)
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    name: str
    path: Loc  # document-level path, or path inside one item for item columns
    is_item: bool


class _IndexGapError(Exception):
    def __init__(self, at: Loc, missing: int) -> None:
        super().__init__(at, missing)
        self.at = at
        self.missing = missing


def _header_conflicts(columns: list[_Column]) -> list[tuple[_Column, str]]:
    """Columns whose paths cannot coexist: one inside another's value, or index and
    name siblings under the same parent."""
    problems: list[tuple[_Column, str]] = []
    leaves = {(column.is_item, column.path): column for column in columns}
    child_kinds: dict[tuple[bool, Loc], set[type]] = {}
    for column in columns:
        for length in range(1, len(column.path)):
            prefix = column.path[:length]
            if (column.is_item, prefix) in leaves:
                owner = leaves[(column.is_item, prefix)]
                problems.append(
                    (
                        column,
                        f"column {column.name!r} lies inside {owner.name!r}, which is a "
                        "column of its own; keep only one of them",
                    )
                )
                break
            child_kinds.setdefault((column.is_item, prefix), set()).add(type(column.path[length]))
    for column in columns:
        for length in range(1, len(column.path)):
            if len(child_kinds.get((column.is_item, column.path[:length]), set())) > 1:
                problems.append(
                    (
                        column,
                        f"column {column.name!r} uses {format_column(column.path[:length])!r} "
                        "both as a list (with [index]) and as an object (with .name)",
                    )
                )
                break
    return problems


def _read_header(
    header: list[str], item_field: str, source: str
) -> tuple[list[_Column], list[FileError]]:
    columns: list[_Column] = []
    problems: list[FileError] = []
    seen: set[str] = set()
    for index, name in enumerate(header):

        def bad(rule: str, message: str, name: str = name) -> None:
            problems.append(FileError(source, rule, message, row=1, column=name))

        if name in seen:
            bad("csv.duplicate_column", f"column {name!r} appears more than once; keep one")
            continue
        seen.add(name)
        path = parse_column(name)
        if path is None:
            bad(
                "csv.bad_column",
                f"column name {name!r} is not a field path; use names such as 'consignor.name', "
                "'destinations[0]' or f'{item_field}.hs_code' (lower case, 0-based indexes)",
            )
            continue
        if path[0] == item_field:
            if len(path) < 2 or isinstance(path[1], int):
                bad(
                    "csv.bad_column",
                    f"item column {name!r} must name a field of the item without an index, "
                    f"e.g. '{item_field}.hs_code': each row is one item",
                )
                continue
            columns.append(_Column(index, name, path[1:], is_item=True))
        else:
            columns.append(_Column(index, name, path, is_item=False))
    for column, message in _header_conflicts(columns):
        problems.append(FileError(source, "csv.bad_column", message, row=1, column=column.name))
    if "reference" not in seen:
        problems.append(
            FileError(
                source,
                "csv.missing_column",
                "the header has no 'reference' column; rows are grouped into documents by it",
                row=1,
            )
        )
    return columns, problems


def _build(pairs: list[tuple[Loc, str]]) -> dict[str, Any]:
    root: dict[Key, Any] = {}
    for path, value in pairs:
        node = root
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    # Every path starts with a field name, so the root is always an object.
    return {str(key): _as_lists(value, (key,)) for key, value in root.items()}


def _as_lists(node: Any, at: Loc) -> Any:
    if not isinstance(node, dict):
        return node
    keys = list(node)
    if keys and all(isinstance(key, int) for key in keys):
        missing = sorted(set(range(max(keys) + 1)) - set(keys))
        if missing:
            raise _IndexGapError(at, missing[0])
        return [_as_lists(node[index], (*at, index)) for index in range(len(keys))]
    return {key: _as_lists(value, (*at, key)) for key, value in node.items()}


def _decode(raw: bytes | str, source: str, max_bytes: int) -> str:
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise too_large(source, len(data), max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            source,
            [
                FileError(
                    source,
                    "payload.encoding",
                    f"the file is not valid UTF-8 (byte {error.start}: {error.reason}); "
                    "re-save it as UTF-8",
                )
            ],
        ) from None


def _records(
    text: str, source: str, delimiter: str
) -> tuple[list[str], list[tuple[int, list[str]]], list[FileError]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[FileError] = []
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        if header is None or not any(header):
            raise ImportFileError(
                source,
                [FileError(source, "csv.empty", "the file has no header row; nothing to import")],
            )
        previous_line = reader.line_num
        for cells in reader:
            start = previous_line + 1
            previous_line = reader.line_num
            if not any(cells):  # blank line, or a row of empty cells
                continue
            if len(cells) != len(header):
                problems.append(
                    FileError(
                        source,
                        "csv.row_length",
                        f"the row has {len(cells)} cells but the header has {len(header)} "
                        "columns; check for missing or extra delimiters or unbalanced quotes",
                        row=start,
                    )
                )
                continue
            records.append((start, cells))
    except csv.Error as error:
        problems.append(
            FileError(
                source,
                "csv.malformed",
                f"malformed CSV at line {reader.line_num}: {error}; fix the quoting",
                row=reader.line_num,
            )
        )
        return [], [], problems
    return header, records, problems


def import_csv_text(
    raw: bytes | str,
    doc_type: DocumentType | int | str,
    *,
    source: str = "<input>",
    delimiter: str = ",",
    max_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
) -> list[Document]:
    """Validate every document of type `doc_type` in CSV text laid out as the module
    describes; all-or-nothing (`ImportFileError` lists every problem)."""
    kind = DocumentType.parse(doc_type)
    item_field = ITEM_FIELDS[kind]
    text = _decode(raw, source, max_bytes)
    header, records, problems = _records(text, source, delimiter)
    if not header:
        raise ImportFileError(source, problems)
    columns, header_problems = _read_header(header, item_field, source)
    if header_problems:
        raise ImportFileError(source, header_problems + problems)
    reference_index = header.index("reference")
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for row, cells in records:
        reference = cells[reference_index]
        if reference == "":
            problems.append(
                FileError(
                    source,
                    "csv.missing_reference",
                    "the row has no reference, so it belongs to no document; fill in the "
                    "reference column",
                    row=row,
                    column="reference",
                )
            )
            continue
        groups.setdefault(reference, []).append((row, cells))
    if problems:
        # Rows that could not be read or placed would make their documents look
        # incomplete; report the table's structure first.
        raise ImportFileError(source, problems)
    if not groups:
        raise ImportFileError(
            source,
            [FileError(source, "csv.no_records", "the file has a header but no rows to import")],
        )
    documents: list[Document] = []
    for reference, rows in groups.items():
        document = _document_from_rows(kind, item_field, reference, rows, columns, source, problems)
        if document is not None:
            documents.append(document)
    if problems:
        raise ImportFileError(source, problems)
    return documents


def _document_from_rows(
    kind: DocumentType,
    item_field: str,
    reference: str,
    rows: list[tuple[int, list[str]]],
    columns: list[_Column],
    source: str,
    problems: list[FileError],
) -> Document | None:
    document_columns = [column for column in columns if not column.is_item]
    item_columns = [column for column in columns if column.is_item]
    first_row, first_cells = rows[0]
    consistent = True
    for row, cells in rows[1:]:
        for column in document_columns:
            if cells[column.index] != first_cells[column.index]:
                consistent = False
                problems.append(
                    FileError(
                        source,
                        "csv.inconsistent_document_column",
                        f"{cells[column.index]!r} differs from {first_cells[column.index]!r} on "
                        f"row {first_row}, another row of document {reference!r}; repeat the "
                        "same document-level value on every row of a document",
                        row=row,
                        column=column.name,
                    )
                )
    if not consistent:
        return None
    try:
        data = _build(
            [
                (column.path, first_cells[column.index])
                for column in document_columns
                if first_cells[column.index] != ""
            ]
        )
        items = []
        numbered = any(column.path == ("sequence_number",) for column in item_columns)
        for position, (_, cells) in enumerate(rows):
            item = _build(
                [
                    (column.path, cells[column.index])
                    for column in item_columns
                    if cells[column.index] != ""
                ]
            )
            if not numbered:
                item["sequence_number"] = str(position + 1)
            items.append(item)
    except _IndexGapError as gap:
        problems.append(
            FileError(
                source,
                "csv.list_index_gap",
                f"{format_column(gap.at)} has later elements but no element [{gap.missing}]; "
                "number list columns 0, 1, 2, ... without gaps",
                row=first_row,
            )
        )
        return None
    data[item_field] = items
    try:
        return validate_document(kind, data)
    except ValidationError as error:
        document_names = {column.path: column.name for column in document_columns}
        item_names = {column.path: column.name for column in item_columns}
        for loc, record in located_field_errors(error):
            if (
                len(loc) >= 2
                and loc[0] == item_field
                and isinstance(loc[1], int)
                and loc[1] < len(rows)
            ):
                row, column_name = rows[loc[1]][0], item_names.get(loc[2:])
            else:
                row, column_name = first_row, document_names.get(loc)
            problems.append(file_error_from(source, record, row=row, column=column_name))
        return None


def import_csv_file(
    path: str | Path,
    doc_type: DocumentType | int | str,
    *,
    delimiter: str = ",",
    max_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
) -> list[Document]:
    """Validate every document in a CSV file (see `import_csv_text`)."""
    file_path = Path(path)
    return import_csv_text(
        read_limited(file_path, max_bytes),
        doc_type,
        source=str(file_path),
        delimiter=delimiter,
        max_bytes=max_bytes,
    )


# --- export -------------------------------------------------------------------------------------


def _flatten(value: Any, at: Loc) -> Iterator[tuple[Loc, str]]:
    if value is None:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _flatten(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _flatten(child, (*at, index))
    elif isinstance(value, bool):
        yield at, "true" if value else "false"
    else:
        yield at, str(value)


class _ColumnOrder:
    """Orders paths as a tree in first-seen order, list indexes ascending, so the
    columns of one object or list element stay together."""

    def __init__(self) -> None:
        self._root: dict[Key, Any] = {}

    def add(self, path: Loc) -> None:
        node = self._root
        for key in path:
            node = node.setdefault(key, {})

    def paths(self) -> list[Loc]:
        result: list[Loc] = []

        def walk(node: dict[Key, Any], at: Loc) -> None:
            if not node:
                result.append(at)
                return
            keys = list(node)
            if all(isinstance(key, int) for key in keys):
                keys.sort()
            for key in keys:
                walk(node[key], (*at, key))

        walk(self._root, ())
        return [path for path in result if path]


def export_csv(documents: Sequence[Document], *, delimiter: str = ",") -> str:
    """Write documents of one type as CSV in the module's layout (one row per item)."""
    if not documents:
        raise ExportError("there are no documents to export; pass at least one")
    kinds = {document.document_type for document in documents}
    if len(kinds) > 1:
        names = ", ".join(sorted(kind.name for kind in kinds))
        raise ExportError(
            f"one CSV table holds one document type, got {names}; export each separately"
        )
    item_field = ITEM_FIELDS[kinds.pop()]
    document_order, item_order = _ColumnOrder(), _ColumnOrder()
    rows: list[tuple[dict[Loc, str], dict[Loc, str]]] = []
    for document in documents:
        dump = document.model_dump(mode="json")
        items = dump.pop(item_field)
        document_cells = dict(_flatten(dump, ()))
        for path in document_cells:
            document_order.add(path)
        for item in items:
            item_cells = dict(_flatten(item, ()))
            for path in item_cells:
                item_order.add(path)
            rows.append((document_cells, item_cells))
    document_paths, item_paths = document_order.paths(), item_order.paths()
    output = io.StringIO()
    writer = csv.writer(output, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        [format_column(path) for path in document_paths]
        + [format_column((item_field, *path)) for path in item_paths]
    )
    for document_cells, item_cells in rows:
        writer.writerow(
            [document_cells.get(path, "") for path in document_paths]
            + [item_cells.get(path, "") for path in item_paths]
        )
    return output.getvalue()
