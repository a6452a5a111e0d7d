"""JSON Schema export: one valid 2020-12 schema per type that accepts generated documents."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from manifests import SCHEMA_VERSIONS, DocumentType
from manifests.generate import DocumentGenerator
from manifests.schemas import all_schemas, export_all, json_schema, main, schema_file_name


def test_export_all_writes_one_valid_schema_per_type(tmp_path: Path) -> None:
    written = export_all(tmp_path / "schemas")
    assert sorted(path.name for path in written) == [
        "certificate_of_origin.v1.schema.json",
        "pre_arrival_manifest.v1.schema.json",
        "transit_declaration.v1.schema.json",
    ]
    for kind in DocumentType:
        on_disk = json.loads((tmp_path / "schemas" / schema_file_name(kind)).read_text("utf-8"))
        assert on_disk == json_schema(kind)
        jsonschema.Draft202012Validator.check_schema(on_disk)
        assert on_disk["$id"] == f"urn:cie-ledger:schema:{SCHEMA_VERSIONS[kind]}"


def test_export_is_byte_for_byte_stable(tmp_path: Path) -> None:
    first = [path.read_bytes() for path in export_all(tmp_path / "a")]
    second = [path.read_bytes() for path in export_all(tmp_path / "b")]
    assert first == second


def test_schemas_in_code() -> None:
    schemas = all_schemas()
    assert set(schemas) == set(DocumentType)
    manifest = schemas[DocumentType.PRE_ARRIVAL_MANIFEST]
    assert manifest["properties"]["schema_version"]["const"] == "cie.manifest/1"
    assert "WCO DM" in manifest["properties"]["consignor"]["description"]
    assert manifest["additionalProperties"] is False
    origin = schemas[DocumentType.CERTIFICATE_OF_ORIGIN]
    assert set(origin["discriminator"]["mapping"]) == {"FORM_D", "FORM_AK", "GENERIC"}


@pytest.mark.parametrize("kind", list(DocumentType))
def test_generated_documents_validate_against_the_schema(kind: DocumentType) -> None:
    validator = jsonschema.Draft202012Validator(json_schema(kind))
    for document in DocumentGenerator(17).documents(40, [kind]):
        errors = list(validator.iter_errors(document.model_dump(mode="json")))
        assert errors == [], errors[0].message if errors else ""


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.pop("reference"), "reference"),
        (lambda d: d.update(mode="RAIL"), "mode"),
        (lambda d: d["goods_items"][0].update(hs_code="12.34"), "hs_code"),
        (lambda d: d.update(place_of_loading="kzala"), "place_of_loading"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["goods_items"][0].update(gross_mass_kg=0), "gross_mass_kg"),
    ],
)
def test_schema_rejects_what_the_model_rejects(edit: object, path: str) -> None:
    data = DocumentGenerator(18).manifest().model_dump(mode="json")
    assert callable(edit)
    edit(data)
    validator = jsonschema.Draft202012Validator(json_schema(DocumentType.PRE_ARRIVAL_MANIFEST))
    messages = [error.message for error in validator.iter_errors(data)]
    assert messages, f"schema accepted an invalid {path}"


def test_origin_schema_encodes_criteria_per_form() -> None:
    validator = jsonschema.Draft202012Validator(json_schema(DocumentType.CERTIFICATE_OF_ORIGIN))
    form_d = DocumentGenerator(19).certificate_of_origin(form="FORM_D").model_dump(mode="json")
    form_d["items"][0]["origin_criterion"] = "SP"  # allowed on Form AK, not on Form D
    assert list(validator.iter_errors(form_d))
    form_d["items"][0]["origin_criterion"] = "PSR"
    assert not list(validator.iter_errors(form_d))


def test_command_line_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(Path(line).name for line in printed) == sorted(
        schema_file_name(kind) for kind in DocumentType
    )
    assert main([]) == 2
