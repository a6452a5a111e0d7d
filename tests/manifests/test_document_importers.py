"""JSON and CSV importers (and the CSV exporter): round trips and located errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from manifests import (
    DocumentType,
    ExportError,
    FileError,
    ImportFileError,
    PreArrivalManifest,
)
from manifests.generate import DocumentGenerator
from manifests.importers import (
    export_csv,
    import_csv_file,
    import_csv_text,
    import_json_file,
    import_json_text,
)

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST
TRANSIT = DocumentType.TRANSIT_DECLARATION
ORIGIN = DocumentType.CERTIFICATE_OF_ORIGIN


def _import_errors(function: Any, *args: Any, **kwargs: Any) -> list[FileError]:
    with pytest.raises(ImportFileError) as caught:
        function(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    return caught.value.errors


def _manifests_with_items(count: int, seed: int = 1) -> list[PreArrivalManifest]:
    """`count` manifests with at least two goods items each (rows 2.. of a CSV)."""
    generator = DocumentGenerator(seed, max_goods_items=4)
    found: list[PreArrivalManifest] = []
    while len(found) < count:
        manifest = generator.manifest()
        if len(manifest.goods_items) >= 2:
            found.append(manifest)
    return found


def _table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _text(rows: list[list[str]], delimiter: str = ",") -> str:
    output = io.StringIO()
    csv.writer(output, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return output.getvalue()


def _column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


# --- JSON ---------------------------------------------------------------------------------------


def test_json_single_document_and_array_of_mixed_types() -> None:
    documents = DocumentGenerator(2).documents(6)
    as_json = [d.model_dump(mode="json") for d in documents]
    assert import_json_text(json.dumps(as_json[0])) == documents[:1]
    assert import_json_text(json.dumps(as_json)) == documents
    assert import_json_text(json.dumps(as_json[:1]), MANIFEST) == documents[:1]


def test_json_file(tmp_path: Path) -> None:
    documents = DocumentGenerator(3).documents(3)
    path = tmp_path / "documents.json"
    path.write_text(json.dumps([d.model_dump(mode="json") for d in documents]), encoding="utf-8")
    assert import_json_file(path) == documents
    with pytest.raises(FileNotFoundError):
        import_json_file(tmp_path / "missing.json")


def test_json_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text("[" + " " * 200 + "]", encoding="utf-8")
    errors = _import_errors(import_json_file, path, max_bytes=100)
    assert [(e.source, e.rule) for e in errors] == [(str(path), "payload.too_large")]


def test_json_malformed_names_the_line() -> None:
    errors = _import_errors(import_json_text, '[\n {"a": 1},\n {"b": }\n]', source="x.json")
    assert [(e.source, e.rule, e.row) for e in errors] == [("x.json", "json.malformed", 3)]


@pytest.mark.parametrize(("raw", "index"), [("42", None), ('[{"schema_version": 1}, "x"]', 1)])
def test_json_not_a_document(raw: str, index: int | None) -> None:
    errors = _import_errors(import_json_text, raw, MANIFEST)
    assert ("json.not_a_document", index) in [(e.rule, e.document_index) for e in errors]


def test_json_type_inference_errors() -> None:
    manifest = DocumentGenerator(1).manifest().model_dump(mode="json")
    unversioned = {k: v for k, v in manifest.items() if k != "schema_version"}
    future = {**manifest, "schema_version": "cie.manifest/9"}
    errors = _import_errors(import_json_text, json.dumps([manifest, unversioned, future]))
    assert [(e.document_index, e.field, e.rule) for e in errors] == [
        (1, "schema_version", "schema_version.missing"),
        (2, "schema_version", "schema_version.unsupported"),
    ]
    # With an explicit type the missing version defaults to the current one.
    assert len(import_json_text(json.dumps(unversioned), MANIFEST)) == 1


def test_json_field_errors_name_document_and_field() -> None:
    documents = [d.model_dump(mode="json") for d in DocumentGenerator(4).documents(3, [MANIFEST])]
    documents[1]["goods_items"][0]["hs_code"] = "12"
    documents[2]["consignee"]["address"]["country"] = "XX"
    errors = _import_errors(import_json_text, json.dumps(documents), source="in.json")
    assert [(e.document_index, e.field, e.rule) for e in errors] == [
        (1, "goods_items[0].hs_code", "hs_code.format"),
        (2, "consignee.address.country", "country.code"),
    ]
    assert str(errors[0]).startswith("in.json, document 1, goods_items[0].hs_code:")


def test_json_duplicate_reference_in_one_file() -> None:
    manifest = DocumentGenerator(5).manifest().model_dump(mode="json")
    errors = _import_errors(import_json_text, json.dumps([manifest, manifest]))
    assert [(e.document_index, e.rule) for e in errors] == [(1, "import.duplicate_reference")]


# --- CSV: round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentType))
def test_csv_round_trip(kind: DocumentType) -> None:
    documents = DocumentGenerator(7).documents(8, [kind])
    text = export_csv(documents)
    assert import_csv_text(text, kind) == documents
    assert export_csv(import_csv_text(text, kind)) == text


def test_csv_layout_one_row_per_item_with_path_columns() -> None:
    documents = _manifests_with_items(2)
    rows = _table(export_csv(documents))
    header = rows[0]
    assert header[:3] == ["schema_version", "reference", "issuer_economy"]
    assert "consignor.address.country" in header and "destinations[0]" in header
    assert "goods_items.hs_code" in header and "goods_items.packages.count" in header
    assert len(rows) - 1 == sum(len(d.goods_items) for d in documents)
    item_columns = [name for name in header if name.startswith("goods_items.")]
    assert header[-len(item_columns) :] == item_columns  # item columns come last


def test_csv_file_bom_and_delimiter(tmp_path: Path) -> None:
    documents = DocumentGenerator(8).documents(2, [TRANSIT])
    rows = _table(export_csv(documents))
    path = tmp_path / "transit.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _text(rows, delimiter=";").encode("utf-8"))
    assert import_csv_file(path, TRANSIT, delimiter=";") == documents


def test_csv_without_sequence_numbers_numbers_rows() -> None:
    documents = _manifests_with_items(1)
    rows = _table(export_csv(documents))
    drop = _column(rows, "goods_items.sequence_number")
    trimmed = [row[:drop] + row[drop + 1 :] for row in rows]
    assert import_csv_text(_text(trimmed), MANIFEST) == documents


def test_csv_rows_of_a_document_need_not_be_adjacent() -> None:
    documents = _manifests_with_items(2)
    rows = _table(export_csv(documents))
    first_doc_rows = len(documents[0].goods_items)
    body = rows[1:]
    interleaved = [
        body[0],
        body[first_doc_rows],
        *body[1:first_doc_rows],
        *body[first_doc_rows + 1 :],
    ]
    assert import_csv_text(_text([rows[0], *interleaved]), MANIFEST) == documents


# --- CSV: located errors ------------------------------------------------------------------


def test_csv_inconsistent_document_column_names_row_and_column() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[2][_column(rows, "consignee.name")] = "Someone Else LLC"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST, source="m.csv")
    assert [(e.row, e.column, e.rule) for e in errors] == [
        (3, "consignee.name", "csv.inconsistent_document_column")
    ]
    assert "row 2" in errors[0].message


def test_csv_item_error_names_row_column_and_field() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[2][_column(rows, "goods_items.hs_code")] = "12"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST, source="m.csv")
    assert [(e.row, e.column, e.field, e.rule) for e in errors] == [
        (3, "goods_items.hs_code", "goods_items[1].hs_code", "hs_code.format")
    ]
    assert str(errors[0]).startswith("m.csv, row 3, column 'goods_items.hs_code', goods_items[1]")


def test_csv_document_error_names_first_row_of_that_document() -> None:
    documents = _manifests_with_items(2)
    rows = _table(export_csv(documents))
    start = 1 + len(documents[0].goods_items)  # table index of document 2's first row
    column = _column(rows, "issuer_economy")
    for row in rows[start:]:
        row[column] = "XX"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.column, e.field, e.rule) for e in errors] == [
        (start + 1, "issuer_economy", "issuer_economy", "country.code")
    ]


def test_csv_cross_field_error_without_single_column() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    column = _column(rows, "destinations[0]")
    for row in rows[1:]:
        row[column] = "FR"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.column, e.field, e.rule) for e in errors] == [
        (2, None, "destinations", "destinations.missing_unloading_country")
    ]


def test_csv_unknown_column_reported_with_its_name() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[0].append("consignor.colour")
    for row in rows[1:]:
        row.append("red")
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.column, e.rule) for e in errors] == [(2, "consignor.colour", "field.unknown")]


def test_csv_collects_errors_of_all_documents() -> None:
    rows = _table(export_csv(_manifests_with_items(2)))
    column = _column(rows, "goods_items.gross_mass_kg")
    rows[1][column] = "0"
    rows[-1][column] = "-1"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.rule) for e in errors] == [
        (2, "number.not_positive"),
        (len(rows), "number.not_positive"),
    ]


def test_csv_row_length() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[2] = rows[2][:-1]
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.rule) for e in errors] == [(3, "csv.row_length")]


def test_csv_malformed_quoting() -> None:
    text = 'reference,issuer_economy\n"KZ-1"x,KZ\n'
    errors = _import_errors(import_csv_text, text, MANIFEST)
    assert [(e.row, e.rule) for e in errors] == [(2, "csv.malformed")]


def test_csv_multiline_cell_row_numbers_count_physical_lines() -> None:
    documents = _manifests_with_items(1)
    rows = _table(export_csv(documents))
    rows[1][_column(rows, "goods_items.description")] = "Line one\nline two"
    rows[2][_column(rows, "goods_items.hs_code")] = "12"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    # Record 1 spans lines 2-3, so record 2 starts on line 4.
    assert [(e.row, e.column, e.rule) for e in errors] == [
        (4, "goods_items.hs_code", "hs_code.format")
    ]


@pytest.mark.parametrize(
    ("header", "bad"),
    [
        (["reference", "Consignor Name"], "Consignor Name"),
        (["reference", "goods_items[0].hs_code"], "goods_items[0].hs_code"),
        (["reference", "goods_items"], "goods_items"),
        (["reference", "consignor", "consignor.name"], "consignor.name"),
        (["reference", "destinations[0]", "destinations.first"], "destinations.first"),
        (["reference", "destinations[01]"], "destinations[01]"),
        (["reference", ""], ""),
    ],
)
def test_csv_bad_column(header: list[str], bad: str) -> None:
    text = _text([header, ["R1"] + ["x"] * (len(header) - 1)])
    errors = _import_errors(import_csv_text, text, MANIFEST)
    assert ("csv.bad_column", 1, bad) in [(e.rule, e.row, e.column) for e in errors]


def test_csv_duplicate_and_missing_columns() -> None:
    errors = _import_errors(import_csv_text, "reference,mode,mode\nR1,SEA,SEA\n", MANIFEST)
    assert [(e.rule, e.column) for e in errors] == [("csv.duplicate_column", "mode")]
    errors = _import_errors(import_csv_text, "mode\nSEA\n", MANIFEST)
    assert [e.rule for e in errors] == ["csv.missing_column"]


def test_csv_missing_reference_cell() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[2][_column(rows, "reference")] = ""
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.column, e.rule) for e in errors] == [
        (3, "reference", "csv.missing_reference")
    ]


def test_csv_list_index_gap() -> None:
    rows = _table(export_csv(_manifests_with_items(1)))
    rows[0][_column(rows, "destinations[0]")] = "destinations[1]"
    errors = _import_errors(import_csv_text, _text(rows), MANIFEST)
    assert [(e.row, e.rule) for e in errors] == [(2, "csv.list_index_gap")]
    assert "destinations" in errors[0].message and "[0]" in errors[0].message


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "csv.empty"),
        ("\n\n", "csv.empty"),
        ("reference,mode\n", "csv.no_records"),
        ("reference,mode\n,,\n", "csv.no_records"),
        (b"reference,mode\nR1,\xff\n", "payload.encoding"),
    ],
)
def test_csv_empty_and_undecodable(raw: str | bytes, rule: str) -> None:
    assert [e.rule for e in _import_errors(import_csv_text, raw, MANIFEST)] == [rule]


def test_csv_too_large() -> None:
    errors = _import_errors(import_csv_text, "reference\n" + "R\n" * 100, MANIFEST, max_bytes=50)
    assert [e.rule for e in errors] == ["payload.too_large"]


def test_csv_export_needs_one_type() -> None:
    generator = DocumentGenerator(1)
    with pytest.raises(ExportError, match="one document type"):
        export_csv([generator.manifest(), generator.transit_declaration()])
    with pytest.raises(ExportError, match="no documents"):
        export_csv([])


def test_csv_certificates_use_items_columns() -> None:
    documents = DocumentGenerator(9).documents(3, [ORIGIN])
    header = _table(export_csv(documents))[0]
    assert "items.origin_criterion" in header and "form" in header
    assert not any(name.startswith("goods_items") for name in header)
