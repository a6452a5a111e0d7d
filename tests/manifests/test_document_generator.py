"""The seeded sample generator: deterministic, valid, realistic, consistent when linked."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from pydantic import BaseModel

from manifests import (
    CertificateOfOrigin,
    DocumentType,
    FormAK,
    FormD,
    GeneratorConfigError,
    GenericCertificate,
    PreArrivalManifest,
    TransitDeclaration,
    check_linked_consistency,
    parse_document,
)
from manifests.check_digits import is_valid_awb, is_valid_container_number, is_valid_imo
from manifests.generate import (
    DocumentGenerator,
    Inconsistency,
    generate_certificate_of_origin,
    generate_documents,
    generate_linked_co,
    generate_manifest,
)
from manifests.sample_catalog import COMMODITIES, ECONOMY_PROFILES, TRANSIT_LINKS


def _dumps(documents: Sequence[BaseModel]) -> str:
    return json.dumps([d.model_dump(mode="json") for d in documents])


def test_same_seed_same_documents() -> None:
    assert _dumps(generate_documents(42, 30)) == _dumps(generate_documents(42, 30))
    assert generate_manifest("demo").model_dump() == generate_manifest("demo").model_dump()


def test_different_seeds_different_documents() -> None:
    first, second = generate_documents(1, 9), generate_documents(2, 9)
    assert all(a != b for a, b in zip(first, second, strict=True))


_DIGEST_SCRIPT = """
import hashlib, json
from manifests.generate import generate_documents
dump = json.dumps([d.model_dump(mode="json") for d in generate_documents(0, 30)])
print(hashlib.sha256(dump.encode()).hexdigest())
"""


def test_documents_do_not_depend_on_the_process_hash_seed() -> None:
    # Set iteration order changes with PYTHONHASHSEED; the generator must not depend on it.
    digests = set()
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        digests.add(result.stdout.strip())
    local = hashlib.sha256(_dumps(generate_documents(0, 30)).encode()).hexdigest()
    assert digests == {local}


def test_every_type_and_form_is_produced_and_validates() -> None:
    documents = generate_documents(3, 300)
    kinds = Counter(type(document).__name__ for document in documents)
    assert set(kinds) == {
        "PreArrivalManifest",
        "TransitDeclaration",
        "FormD",
        "FormAK",
        "GenericCertificate",
    }
    for document in documents:
        again = parse_document(document.document_type, json.dumps(document.model_dump(mode="json")))
        assert again == document


def test_references_are_unique_per_generator() -> None:
    documents = DocumentGenerator(5).documents(600)
    keys = [(d.document_type, d.issuer_economy, d.reference) for d in documents]
    assert len(set(keys)) == len(keys)


def test_manifest_identifiers_have_valid_check_digits() -> None:
    generator = DocumentGenerator(9)
    for _ in range(50):
        sea = generator.manifest(mode="SEA")
        assert sea.transport_means.imo_number and is_valid_imo(sea.transport_means.imo_number)
        assert sea.containers
        assert all(is_valid_container_number(c.number) for c in sea.containers)
        air = generator.manifest(mode="AIR")
        assert is_valid_awb(air.transport_documents.master)
        assert air.containers == []


def test_manifests_use_the_economies_own_places_and_goods() -> None:
    generator = DocumentGenerator(10)
    for _ in range(50):
        manifest = generator.manifest()
        origin, destination = manifest.issuer_economy, manifest.destinations[0]
        places = ECONOMY_PROFILES[origin]
        assert manifest.place_of_loading in (places.seaports + places.airports)
        assert manifest.place_of_unloading[:2] == destination
        assert manifest.consignor.address.country == origin
        assert manifest.consignee.address.country == destination
        known = {commodity.hs6 for commodity in COMMODITIES}
        assert all(item.hs_code[:6] in known for item in manifest.goods_items)


def test_uzbekistan_has_no_sea_route() -> None:
    generator = DocumentGenerator(1, economies=("UZ", "KZ"))
    assert {generator.manifest().mode for _ in range(20)} == {"AIR"}
    with pytest.raises(GeneratorConfigError, match="no SEA route"):
        generator.manifest(mode="SEA", origin="UZ")


def test_caspian_sea_route_stays_on_the_caspian() -> None:
    generator = DocumentGenerator(2, economies=("KZ", "AZ", "KR"))
    for _ in range(20):
        manifest = generator.manifest(mode="SEA")
        assert {manifest.issuer_economy, manifest.destinations[0]} == {"KZ", "AZ"}


def test_transit_itineraries_follow_known_corridors() -> None:
    links = {frozenset(pair) for pair in TRANSIT_LINKS}
    generator = DocumentGenerator(4)
    lengths = set()
    for _ in range(80):
        declaration = generator.transit_declaration()
        route = declaration.itinerary
        lengths.add(len(route))
        assert declaration.destinations == route
        assert all(frozenset(step) in links for step in pairwise(route))
        assert len(declaration.offices_of_transit) == len(route) - 2
    assert len(lengths) > 1


def test_transit_with_given_itinerary_and_procedures() -> None:
    generator = DocumentGenerator(6)
    eu = generator.transit_declaration(itinerary=["DE", "NL"])
    assert (eu.procedure, eu.guarantee.type) == ("T1", "COMPREHENSIVE")
    corridor = generator.transit_declaration(itinerary=["CN", "KZ", "AZ", "GE", "TR"])
    assert (corridor.procedure, corridor.guarantee.type) == ("TIR", "TIR_CARNET")
    assert [office[:2] for office in corridor.offices_of_transit] == ["KZ", "AZ", "GE"]


def test_certificate_form_follows_the_economies() -> None:
    generator = DocumentGenerator(8)
    for _ in range(60):
        certificate = generator.certificate_of_origin()
        pair = {certificate.issuer_economy, certificate.declaration.importing_country}
        if isinstance(certificate, FormD):
            assert pair <= {"VN", "TH", "MY", "SG", "ID"}
        elif isinstance(certificate, FormAK):
            assert "KR" in pair
        else:
            assert isinstance(certificate, GenericCertificate)


@pytest.mark.parametrize("form", ["FORM_D", "FORM_AK", "GENERIC"])
def test_certificate_of_a_requested_form(form: str) -> None:
    certificate = generate_certificate_of_origin(3, form=form)
    assert certificate.form == form


def test_form_d_needs_two_asean_economies() -> None:
    with pytest.raises(GeneratorConfigError, match="FORM_D"):
        DocumentGenerator(0, economies=("KZ", "UZ", "VN")).certificate_of_origin(form="FORM_D")


@pytest.mark.parametrize(
    ("economies", "match"),
    [(("KZ", "FR"), "no sample data"), (("KZ",), "at least two"), (("KZ", "KZ"), "at least two")],
)
def test_generator_configuration_errors(economies: tuple[str, ...], match: str) -> None:
    with pytest.raises(GeneratorConfigError, match=match):
        DocumentGenerator(0, economies=economies)


def test_linked_certificate_is_consistent_and_deterministic() -> None:
    generator = DocumentGenerator(21)
    for _ in range(40):
        manifest = generator.manifest()
        certificate = generate_linked_co(manifest)
        assert check_linked_consistency(certificate, manifest) == []
        assert certificate.links[0].reference == manifest.reference
        assert certificate.exporter == manifest.consignor
        assert generate_linked_co(manifest) == certificate


EXPECTED_RULE = {
    Inconsistency.HS_CODE: "linked.hs_code_not_in_manifest",
    Inconsistency.CONSIGNEE_NAME: "linked.consignee_name_mismatch",
    Inconsistency.CONSIGNEE_COUNTRY: "linked.consignee_country_mismatch",
    Inconsistency.PORT_OF_DISCHARGE: "linked.port_of_discharge_mismatch",
    Inconsistency.DEPARTURE_DATE: "linked.departure_date_mismatch",
    Inconsistency.MISSING_LINK: "linked.not_referenced",
}


@pytest.mark.parametrize("knob", list(Inconsistency))
def test_each_inconsistency_knob_trips_exactly_its_rule(knob: Inconsistency) -> None:
    generator = DocumentGenerator(33)
    for seed in range(10):
        manifest = generator.manifest()
        certificate = generate_linked_co(manifest, seed=seed, inconsistencies=[knob])
        assert isinstance(certificate, CertificateOfOrigin)  # still a valid document
        rules = [issue.rule for issue in check_linked_consistency(certificate, manifest)]
        assert rules == [EXPECTED_RULE[knob]]


def test_knobs_combine() -> None:
    manifest = generate_manifest(5)
    certificate = generate_linked_co(
        manifest, inconsistencies=[Inconsistency.HS_CODE, Inconsistency.CONSIGNEE_NAME]
    )
    rules = {issue.rule for issue in check_linked_consistency(certificate, manifest)}
    assert rules == {"linked.hs_code_not_in_manifest", "linked.consignee_name_mismatch"}


def test_document_dispatch_and_types() -> None:
    generator = DocumentGenerator(1)
    assert isinstance(generator.document(DocumentType.PRE_ARRIVAL_MANIFEST), PreArrivalManifest)
    assert isinstance(generator.document("TRANSIT_DECLARATION"), TransitDeclaration)
    assert isinstance(generator.document(3), CertificateOfOrigin)
    documents = generator.documents(6, [DocumentType.TRANSIT_DECLARATION])
    assert {type(d) for d in documents} == {TransitDeclaration}
