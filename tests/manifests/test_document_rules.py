"""Every validation rule: one failing example each, with the exact field path and rule.

Each case takes a valid generated document, applies edits given as
(JSON path, new value) pairs, and asserts the complete list of (field, rule)
errors `parse_document` reports, so an edit that trips an unexpected rule
fails the test as well.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from manifests import DocumentType

Data = dict[str, Any]
RulesOf = Callable[[DocumentType, Data], list[tuple[str, str]]]

MANIFEST = DocumentType.PRE_ARRIVAL_MANIFEST
TRANSIT = DocumentType.TRANSIT_DECLARATION
ORIGIN = DocumentType.CERTIFICATE_OF_ORIGIN

DELETE = object()
"""Edit value that removes the key."""


def _keys(path: str) -> list[str | int]:
    keys: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(-?[0-9]+)\]", path):
        keys.append(name if name else int(index))
    return keys


def _get(data: Any, path: str) -> Any:
    for key in _keys(path):
        data = data[key]
    return data


def _apply(data: Data, edits: list[tuple[str, Any]]) -> Data:
    for path, value in edits:
        *parents, last = _keys(path)
        target: Any = data
        for key in parents:
            target = target[key]
        if callable(value):
            value = value(data)
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


def _shift(path: str, days: int) -> Any:
    """Edit value: the date or date-time at `path`, moved by `days`."""

    def compute(data: Data) -> str:
        text = _get(data, path)
        if "T" in text:
            return (datetime.fromisoformat(text) + timedelta(days=days)).isoformat()
        return (date.fromisoformat(text) + timedelta(days=days)).isoformat()

    return compute


def _same_as(path: str) -> Any:
    return lambda data: copy.deepcopy(_get(data, path))


# (id, fixture, document type, edits, expected [(field, rule)])
FIELD_RULES: list[tuple[str, str, DocumentType, list[tuple[str, Any]], list[tuple[str, str]]]] = [
    # --- code lists and code shapes
    (
        "country",
        "sea_manifest",
        MANIFEST,
        [("issuer_economy", "XX")],
        [("issuer_economy", "country.code")],
    ),
    (
        "country-lower",
        "sea_manifest",
        MANIFEST,
        [("consignee.address.country", "kr")],
        [("consignee.address.country", "country.code")],
    ),
    (
        "currency",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].value.currency", "USX")],
        [("goods_items[0].value.currency", "currency.code")],
    ),
    (
        "locode-format",
        "sea_manifest",
        MANIFEST,
        [("place_of_loading", "KR PUS")],
        [("place_of_loading", "locode.format")],
    ),
    (
        "locode-digit-1",
        "sea_manifest",
        MANIFEST,
        [("place_of_loading", "KRPU1")],
        [("place_of_loading", "locode.format")],
    ),
    (
        "locode-country",
        "sea_manifest",
        MANIFEST,
        [("place_of_unloading", "XXPUS")],
        [("place_of_unloading", "locode.country")],
    ),
    (
        "hs-format",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].hs_code", "1234567")],
        [("goods_items[0].hs_code", "hs_code.format")],
    ),
    (
        "hs-dots",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].hs_code", "5201.00")],
        [("goods_items[0].hs_code", "hs_code.format")],
    ),
    (
        "hs-chapter",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].hs_code", "770100")],
        [("goods_items[0].hs_code", "hs_code.chapter")],
    ),
    (
        "office-format",
        "transit",
        TRANSIT,
        [("office_of_departure", "CN-31010")],
        [("office_of_departure", "office.format")],
    ),
    (
        "office-country",
        "transit",
        TRANSIT,
        [("offices_of_transit[0]", "XX750100")],
        [("offices_of_transit[0]", "office.country")],
    ),
    (
        "imo-format",
        "sea_manifest",
        MANIFEST,
        [("transport_means.imo_number", "IMO-9074729")],
        [("transport_means.imo_number", "imo_number.format")],
    ),
    (
        "imo-check",
        "sea_manifest",
        MANIFEST,
        [("transport_means.imo_number", "9074728")],
        [("transport_means.imo_number", "imo_number.check_digit")],
    ),
    (
        "container-format",
        "sea_manifest",
        MANIFEST,
        [("containers[0].number", "CSQU305438")],
        [("containers[0].number", "container_number.format")],
    ),
    (
        "container-check",
        "sea_manifest",
        MANIFEST,
        [("containers[0].number", "CSQU3054384")],
        [("containers[0].number", "container_number.check_digit")],
    ),
    (
        "flight",
        "air_manifest",
        MANIFEST,
        [("transport_means.flight_number", "KC 931")],
        [("transport_means.flight_number", "flight_number.format")],
    ),
    (
        "flight-numeric-designator",
        "air_manifest",
        MANIFEST,
        [("transport_means.flight_number", "12345")],
        [("transport_means.flight_number", "flight_number.format")],
    ),
    (
        "reference",
        "sea_manifest",
        MANIFEST,
        [("reference", "-bad ref")],
        [("reference", "reference.format")],
    ),
    (
        "link-reference",
        "form_d",
        ORIGIN,
        [("links", [{"document_type": 1, "issuer_economy": "VN", "reference": "a b"}])],
        [("links[0].reference", "reference.format")],
    ),
    (
        "seal",
        "sea_manifest",
        MANIFEST,
        [("containers[0].seals[0]", "sl 123")],
        [("containers[0].seals[0]", "identifier.format")],
    ),
    (
        "eori",
        "sea_manifest",
        MANIFEST,
        [("consignee.identifiers", [{"scheme": "EORI", "value": "123456789"}])],
        [("consignee.identifiers[0].value", "identifier.eori_format")],
    ),
    (
        "aeo-id",
        "sea_manifest",
        MANIFEST,
        [("consignor.aeo_id", "XX12345")],
        [("consignor.aeo_id", "aeo_id.format")],
    ),
    (
        "package-kind",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].packages.kind", "CTN")],
        [("goods_items[0].packages.kind", "package_kind.format")],
    ),
    (
        "unit",
        "generic_co",
        ORIGIN,
        [("items[0].quantity", {"value": "10", "unit": "kilo"})],
        [("items[0].quantity.unit", "unit.format")],
    ),
    # --- text
    (
        "text-whitespace",
        "sea_manifest",
        MANIFEST,
        [("consignor.name", " Leading space")],
        [("consignor.name", "text.whitespace")],
    ),
    (
        "text-control",
        "sea_manifest",
        MANIFEST,
        [("consignor.name", "Bell\x07 Trading")],
        [("consignor.name", "text.control_character")],
    ),
    (
        "text-line-break-in-name",
        "sea_manifest",
        MANIFEST,
        [("consignor.name", "Two\nLines")],
        [("consignor.name", "text.control_character")],
    ),
    (
        "text-too-long",
        "sea_manifest",
        MANIFEST,
        [("consignor.name", "x" * 71)],
        [("consignor.name", "string.too_long")],
    ),
    (
        "text-empty",
        "sea_manifest",
        MANIFEST,
        [("consignee.address.city", "")],
        [("consignee.address.city", "string.too_short")],
    ),
    # --- origin criteria per form
    (
        "criterion-format",
        "form_d",
        ORIGIN,
        [("items[0].origin_criterion", "RVC40")],
        [("items[0].origin_criterion", "origin_criterion.format")],
    ),
    (
        "criterion-over-100",
        "generic_co",
        ORIGIN,
        [("items[0].origin_criterion", "RVC 140%")],
        [("items[0].origin_criterion", "origin_criterion.format")],
    ),
    (
        "criterion-sp-on-form-d",
        "form_d",
        ORIGIN,
        [("items[0].origin_criterion", "SP")],
        [("items[0].origin_criterion", "origin_criterion.not_allowed")],
    ),
    (
        "criterion-psr-on-form-ak",
        "form_ak",
        ORIGIN,
        [("items[0].origin_criterion", "PSR")],
        [("items[0].origin_criterion", "origin_criterion.not_allowed")],
    ),
    (
        "criterion-rvc-below-40-d",
        "form_d",
        ORIGIN,
        [("items[0].origin_criterion", "RVC 35%")],
        [("items[0].origin_criterion", "origin_criterion.rvc_below_minimum")],
    ),
    (
        "criterion-rvc-below-40-ak",
        "form_ak",
        ORIGIN,
        [("items[0].origin_criterion", "RVC 39%")],
        [("items[0].origin_criterion", "origin_criterion.rvc_below_minimum")],
    ),
    # --- generic pydantic rules
    (
        "required",
        "sea_manifest",
        MANIFEST,
        [("consignee", DELETE)],
        [("consignee", "field.required")],
    ),
    (
        "required-nested",
        "transit",
        TRANSIT,
        [("guarantee.reference", DELETE)],
        [("guarantee.reference", "field.required")],
    ),
    (
        "unknown",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].colour", "red")],
        [("goods_items[0].colour", "field.unknown")],
    ),
    ("type-string", "sea_manifest", MANIFEST, [("reference", 123)], [("reference", "type.string")]),
    (
        "type-integer",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].packages.count", "many")],
        [("goods_items[0].packages.count", "type.integer")],
    ),
    (
        "type-number",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].gross_mass_kg", "heavy")],
        [("goods_items[0].gross_mass_kg", "type.number")],
    ),
    (
        "type-boolean",
        "form_d",
        ORIGIN,
        [("flags.exhibition", "maybe")],
        [("flags.exhibition", "type.boolean")],
    ),
    (
        "type-list",
        "sea_manifest",
        MANIFEST,
        [("destinations", "KR")],
        [("destinations", "type.list")],
    ),
    (
        "type-object",
        "sea_manifest",
        MANIFEST,
        [("consignor", "ACME Ltd")],
        [("consignor", "type.object")],
    ),
    (
        "type-date",
        "form_d",
        ORIGIN,
        [("departure_date", "2025-13-01")],
        [("departure_date", "type.date")],
    ),
    (
        "type-datetime",
        "sea_manifest",
        MANIFEST,
        [("departure", "yesterday")],
        [("departure", "type.datetime")],
    ),
    (
        "timezone",
        "sea_manifest",
        MANIFEST,
        [("departure", "2025-03-01T10:00:00")],
        [("departure", "datetime.timezone_required")],
    ),
    (
        "list-too-short",
        "sea_manifest",
        MANIFEST,
        [("goods_items", [])],
        [("goods_items", "list.too_short")],
    ),
    (
        "list-too-long",
        "sea_manifest",
        MANIFEST,
        [("destinations", ["KR"] * 51)],
        [("destinations", "list.too_long")],
    ),
    (
        "not-positive-mass",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].gross_mass_kg", "0")],
        [("goods_items[0].gross_mass_kg", "number.not_positive")],
    ),
    (
        "not-positive-value",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].value.amount", "-5")],
        [("goods_items[0].value.amount", "number.not_positive")],
    ),
    (
        "not-positive-count",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].packages.count", 0)],
        [("goods_items[0].packages.count", "number.not_positive")],
    ),
    (
        "too-large-count",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].packages.count", 100_000_000)],
        [("goods_items[0].packages.count", "number.too_large")],
    ),
    (
        "too-many-decimals",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].value.amount", "10.0001")],
        [("goods_items[0].value.amount", "number.too_many_decimals")],
    ),
    (
        "too-many-digits",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].value.amount", "1" * 19)],
        [("goods_items[0].value.amount", "number.too_many_digits")],
    ),
    (
        "not-finite",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].value.amount", "NaN")],
        [("goods_items[0].value.amount", "number.not_finite")],
    ),
    ("enum", "sea_manifest", MANIFEST, [("mode", "RAIL")], [("mode", "value.not_allowed")]),
    (
        "link-type",
        "form_d",
        ORIGIN,
        [("links", [{"document_type": "INVOICE", "issuer_economy": "VN", "reference": "X1"}])],
        [("links[0].document_type", "value.not_allowed")],
    ),
    (
        "schema-version",
        "sea_manifest",
        MANIFEST,
        [("schema_version", "cie.manifest/2")],
        [("schema_version", "schema_version.unsupported")],
    ),
    ("form-unknown", "form_d", ORIGIN, [("form", "FORM_E")], [("form", "form.unknown")]),
    ("form-missing", "form_d", ORIGIN, [("form", DELETE)], [("form", "field.required")]),
    (
        "form-d-flag-on-form-ak",
        "form_ak",
        ORIGIN,
        [("flags.accumulation", True)],
        [("flags.accumulation", "field.unknown")],
    ),
]

CROSS_FIELD_RULES: list[
    tuple[str, str, DocumentType, list[tuple[str, Any]], list[tuple[str, str]]]
] = [
    # --- every document
    (
        "destinations-duplicate",
        "sea_manifest",
        MANIFEST,
        [("destinations", ["CN", "CN"])],
        [("destinations[1]", "destinations.duplicate")],
    ),
    (
        "links-duplicate",
        "form_d",
        ORIGIN,
        [
            (
                "links",
                [
                    {
                        "document_type": "PRE_ARRIVAL_MANIFEST",
                        "issuer_economy": "VN",
                        "reference": "VN-1",
                    }
                ]
                * 2,
            )
        ],
        [("links[1]", "links.duplicate")],
    ),
    (
        "links-self",
        "form_d",
        ORIGIN,
        [
            (
                "links",
                lambda d: [
                    {
                        "document_type": 3,
                        "issuer_economy": d["issuer_economy"],
                        "reference": d["reference"],
                    }
                ],
            )
        ],
        [("links[0]", "links.self_reference")],
    ),
    # --- pre-arrival manifest
    (
        "imo-required",
        "sea_manifest",
        MANIFEST,
        [("transport_means.imo_number", None)],
        [("transport_means.imo_number", "transport_means.imo_required")],
    ),
    (
        "sea-with-flight",
        "sea_manifest",
        MANIFEST,
        [("transport_means.flight_number", "KE291")],
        [("transport_means.flight_number", "transport_means.mode_mismatch")],
    ),
    (
        "flight-required",
        "air_manifest",
        MANIFEST,
        [("transport_means.flight_number", None)],
        [("transport_means.flight_number", "transport_means.flight_number_required")],
    ),
    (
        "air-with-imo",
        "air_manifest",
        MANIFEST,
        [("transport_means.imo_number", "9074729")],
        [("transport_means.imo_number", "transport_means.mode_mismatch")],
    ),
    (
        "awb-format",
        "air_manifest",
        MANIFEST,
        [("transport_documents.master", "MSCU123456789")],
        [("transport_documents.master", "awb.format")],
    ),
    (
        "awb-check",
        "air_manifest",
        MANIFEST,
        [("transport_documents.master", "176-12345676")],
        [("transport_documents.master", "awb.check_digit")],
    ),
    (
        "air-containers",
        "air_manifest",
        MANIFEST,
        [("containers", [{"number": "CSQU3054383", "seals": []}])],
        [("containers", "containers.not_allowed_for_air")],
    ),
    (
        "container-duplicate",
        "sea_manifest",
        MANIFEST,
        [("containers", lambda d: [*d["containers"], copy.deepcopy(d["containers"][0])])],
        [("containers[4].number", "containers.duplicate")],
    ),
    (
        "house-duplicate",
        "sea_manifest",
        MANIFEST,
        [("transport_documents.house", ["KRHB1234567", "KRHB1234567"])],
        [("transport_documents.house[1]", "transport_documents.house_duplicate")],
    ),
    (
        "sequence",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].sequence_number", 5)],
        [("goods_items[0].sequence_number", "sequence_number.order")],
    ),
    (
        "unknown-container",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].container_numbers", ["CSQU3054383"])],
        [("goods_items[0].container_numbers[0]", "goods_items.unknown_container")],
    ),
    (
        "routing-start",
        "sea_manifest",
        MANIFEST,
        [("countries_of_routing", ["FR", "CN"])],
        [("countries_of_routing[0]", "countries_of_routing.start")],
    ),
    (
        "routing-end",
        "sea_manifest",
        MANIFEST,
        [("countries_of_routing", ["VN", "SG", "FR"])],
        [("countries_of_routing[2]", "countries_of_routing.end")],
    ),
    (
        "arrival-before-departure",
        "sea_manifest",
        MANIFEST,
        [("expected_arrival", _shift("departure", -1))],
        [("expected_arrival", "expected_arrival.not_after_departure")],
    ),
    (
        "arrival-equals-departure",
        "air_manifest",
        MANIFEST,
        [("expected_arrival", _same_as("departure"))],
        [("expected_arrival", "expected_arrival.not_after_departure")],
    ),
    (
        "unloading-not-destination",
        "sea_manifest",
        MANIFEST,
        [("destinations", ["FR"])],
        [("destinations", "destinations.missing_unloading_country")],
    ),
    # --- transit declaration (fixture itinerary CN, KZ, AZ, GE)
    (
        "itinerary-start",
        "transit",
        TRANSIT,
        [("itinerary", ["UZ", "KZ", "AZ", "GE"]), ("destinations", ["UZ", "KZ", "AZ", "GE"])],
        [("itinerary[0]", "itinerary.start")],
    ),
    (
        "itinerary-end",
        "transit",
        TRANSIT,
        [("itinerary", ["CN", "KZ", "AZ", "TR"]), ("destinations", ["CN", "KZ", "AZ", "TR"])],
        [("itinerary[3]", "itinerary.end")],
    ),
    (
        "itinerary-repeat",
        "transit",
        TRANSIT,
        [
            ("itinerary", ["CN", "KZ", "KZ", "AZ", "GE"]),
            ("destinations", ["CN", "KZ", "KZ", "AZ", "GE"]),
        ],
        [
            ("destinations[2]", "destinations.duplicate"),
            ("itinerary[2]", "itinerary.repeated_economy"),
        ],
    ),
    (
        "transit-office-off-route",
        "transit",
        TRANSIT,
        [("offices_of_transit[1]", "UZ260100")],
        [("offices_of_transit[1]", "offices_of_transit.outside_itinerary")],
    ),
    (
        "transit-office-order",
        "transit",
        TRANSIT,
        [("offices_of_transit", lambda d: list(reversed(d["offices_of_transit"])))],
        [("offices_of_transit[1]", "offices_of_transit.order")],
    ),
    (
        "destination-is-departure",
        "transit",
        TRANSIT,
        [("office_of_destination", _same_as("office_of_departure"))],
        [
            ("itinerary[3]", "itinerary.end"),
            ("office_of_destination", "office_of_destination.same_as_departure"),
        ],
    ),
    (
        "destinations-not-itinerary",
        "transit",
        TRANSIT,
        [("destinations", ["GE"])],
        [("destinations", "destinations.itinerary_mismatch")],
    ),
    (
        "destinations-out-of-order",
        "transit",
        TRANSIT,
        [("destinations", ["CN", "AZ", "KZ", "GE"])],
        [("destinations", "destinations.itinerary_mismatch")],
    ),
    (
        "issuer-not-departure",
        "transit",
        TRANSIT,
        [("issuer_economy", "KZ")],
        [("issuer_economy", "issuer_economy.not_departure_office")],
    ),
    (
        "time-limit",
        "transit",
        TRANSIT,
        [("arrival_time_limit", _shift("departure", -2))],
        [("arrival_time_limit", "arrival_time_limit.not_after_departure")],
    ),
    (
        "guarantee-amount",
        "transit",
        TRANSIT,
        [("guarantee.amount", None)],
        [("guarantee.amount", "guarantee.amount_required")],
    ),
    (
        "seal-duplicate",
        "transit",
        TRANSIT,
        [("seals", ["CN1234567", "CN1234567"])],
        [("seals[1]", "seals.duplicate")],
    ),
    (
        "transit-sequence",
        "transit",
        TRANSIT,
        [("goods_items[0].sequence_number", 2)],
        [("goods_items[0].sequence_number", "sequence_number.order")],
    ),
    # --- certificates of origin
    (
        "authority-economy",
        "form_d",
        ORIGIN,
        [("issuing_authority.economy", "TH")],
        [("issuing_authority.economy", "issuing_authority.economy")],
    ),
    (
        "form-d-exporter",
        "form_d",
        ORIGIN,
        [("issuer_economy", "KR"), ("issuing_authority.economy", "KR")],
        [("issuer_economy", "form.exporting_economy")],
    ),
    (
        "form-d-importer",
        "form_d",
        ORIGIN,
        [("declaration.importing_country", "KR"), ("destinations", ["KR"])],
        [("declaration.importing_country", "form.importing_economy")],
    ),
    (
        "form-ak-importer",
        "form_ak",
        ORIGIN,
        [("declaration.importing_country", "CN"), ("destinations", ["CN"])],
        [("declaration.importing_country", "form.importing_economy")],
    ),
    (
        "same-economy",
        "generic_co",
        ORIGIN,
        [("declaration.importing_country", "DE"), ("destinations", ["DE"])],
        [("declaration.importing_country", "declaration.same_economy")],
    ),
    (
        "importer-not-destination",
        "generic_co",
        ORIGIN,
        [("destinations", ["FR"])],
        [("destinations", "destinations.missing_importing_country")],
    ),
    (
        "co-sequence",
        "form_d",
        ORIGIN,
        [("items[1].sequence_number", 7)],
        [("items[1].sequence_number", "sequence_number.order")],
    ),
    (
        "weight-or-quantity",
        "form_d",
        ORIGIN,
        [("items[0].gross_weight_kg", None)],
        [("items[0].gross_weight_kg", "item.weight_or_quantity_required")],
    ),
    (
        "fob-for-rvc",
        "form_d",
        ORIGIN,
        [("items[0].origin_criterion", "RVC 45%"), ("items[0].fob_value", None)],
        [("items[0].fob_value", "fob_value.required_for_rvc")],
    ),
    (
        "invoicing-party",
        "form_d",
        ORIGIN,
        [("flags.third_country_invoicing", True), ("invoicing_party", None)],
        [("invoicing_party", "invoicing_party.required")],
    ),
    (
        "certified-before-declared",
        "generic_co",
        ORIGIN,
        [("certification.date", _shift("declaration.date", -1))],
        [("certification.date", "certification.before_declaration")],
    ),
    (
        "retroactive-unmarked",
        "form_d",
        ORIGIN,
        [
            ("certification.date", _shift("departure_date", 10)),
            ("flags.issued_retroactively", False),
        ],
        [("flags.issued_retroactively", "flags.issued_retroactively_required")],
    ),
    (
        "retroactive-ak",
        "form_ak",
        ORIGIN,
        [
            ("certification.date", _shift("departure_date", 4)),
            ("flags.issued_retroactively", False),
        ],
        [("flags.issued_retroactively", "flags.issued_retroactively_required")],
    ),
    (
        "certified-too-late",
        "form_d",
        ORIGIN,
        [
            ("certification.date", _shift("departure_date", 400)),
            ("flags.issued_retroactively", True),
        ],
        [("certification.date", "certification.too_late")],
    ),
]


def _run(
    request: pytest.FixtureRequest,
    rules_of: RulesOf,
    fixture: str,
    doc_type: DocumentType,
    edits: list[tuple[str, Any]],
) -> list[tuple[str, str]]:
    data = request.getfixturevalue(fixture)
    assert rules_of(doc_type, data) == [], "the fixture itself must be valid"
    return rules_of(doc_type, _apply(data, edits))


@pytest.mark.parametrize(
    ("fixture", "doc_type", "edits", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in FIELD_RULES],
)
def test_field_rule(
    request: pytest.FixtureRequest,
    rules_of: RulesOf,
    fixture: str,
    doc_type: DocumentType,
    edits: list[tuple[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    assert _run(request, rules_of, fixture, doc_type, edits) == expected


@pytest.mark.parametrize(
    ("fixture", "doc_type", "edits", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CROSS_FIELD_RULES],
)
def test_cross_field_rule(
    request: pytest.FixtureRequest,
    rules_of: RulesOf,
    fixture: str,
    doc_type: DocumentType,
    edits: list[tuple[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    assert _run(request, rules_of, fixture, doc_type, edits) == expected


# Edits the rules must accept: the boundaries and the lenient spellings.
ACCEPTED: list[tuple[str, str, DocumentType, list[tuple[str, Any]]]] = [
    ("hs-8-digits", "sea_manifest", MANIFEST, [("goods_items[0].hs_code", "52010000")]),
    ("hs-10-digits", "sea_manifest", MANIFEST, [("goods_items[0].hs_code", "5201000010")]),
    ("name-70", "sea_manifest", MANIFEST, [("consignor.name", "x" * 70)]),
    (
        "name-unicode",
        "sea_manifest",
        MANIFEST,
        [("consignor.name", "ТОО «Алтын Дала» 株式会社 🚢")],  # noqa: RUF001
    ),
    (
        "description-multiline",
        "sea_manifest",
        MANIFEST,
        [("goods_items[0].description", "Cotton\nin bales")],
    ),
    ("imo-prefixed", "sea_manifest", MANIFEST, [("transport_means.imo_number", "IMO 9074729")]),
    ("locode-digits", "sea_manifest", MANIFEST, [("place_of_loading", "VN2X9")]),
    (
        "waiver-without-amount",
        "transit",
        TRANSIT,
        [("guarantee", {"type": "WAIVER", "reference": "WAIVER-1"})],
    ),
    (
        "generic-rvc-35",
        "generic_co",
        ORIGIN,
        [
            ("items[0].origin_criterion", "RVC 35%"),
            ("items[0].fob_value", {"amount": "100", "currency": "EUR"}),
        ],
    ),
    (
        "generic-late-certificate",
        "generic_co",
        ORIGIN,
        [("certification.date", _shift("departure_date", 400))],
    ),
    (
        "form-d-retroactive-marked",
        "form_d",
        ORIGIN,
        [
            ("certification.date", _shift("departure_date", 30)),
            ("flags.issued_retroactively", True),
        ],
    ),
    (
        "form-d-three-days",
        "form_d",
        ORIGIN,
        [
            ("certification.date", _shift("departure_date", 3)),
            ("flags.issued_retroactively", False),
        ],
    ),
    (
        "quantity-instead-of-weight",
        "form_d",
        ORIGIN,
        [
            ("items[0].gross_weight_kg", None),
            ("items[0].quantity", {"value": "12.5", "unit": "MTQ"}),
        ],
    ),
    (
        "link-by-code",
        "form_d",
        ORIGIN,
        [("links", [{"document_type": 1, "issuer_economy": "VN", "reference": "VN-MAN-1"}])],
    ),
]


@pytest.mark.parametrize(
    ("fixture", "doc_type", "edits"), [pytest.param(*case[1:], id=case[0]) for case in ACCEPTED]
)
def test_accepted_edit(
    request: pytest.FixtureRequest,
    rules_of: RulesOf,
    fixture: str,
    doc_type: DocumentType,
    edits: list[tuple[str, Any]],
) -> None:
    assert _run(request, rules_of, fixture, doc_type, edits) == []


def test_cross_field_errors_are_all_reported_together(
    sea_manifest: Data, rules_of: RulesOf
) -> None:
    _apply(
        sea_manifest,
        [
            ("transport_means.imo_number", None),
            ("goods_items[0].sequence_number", 9),
            ("destinations", ["FR"]),
        ],
    )
    assert sorted(rules_of(MANIFEST, sea_manifest)) == [
        ("destinations", "destinations.missing_unloading_country"),
        ("goods_items[0].sequence_number", "sequence_number.order"),
        ("transport_means.imo_number", "transport_means.imo_required"),
    ]


def test_error_paths_index_deep_items(sea_manifest: Data, rules_of: RulesOf) -> None:
    items = sea_manifest["goods_items"]
    while len(items) < 3:
        extra = copy.deepcopy(items[0])
        extra["sequence_number"] = len(items) + 1
        items.append(extra)
    items[2]["hs_code"] = "12"
    assert rules_of(MANIFEST, sea_manifest) == [("goods_items[2].hs_code", "hs_code.format")]
