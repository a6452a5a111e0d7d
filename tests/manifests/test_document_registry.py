"""Document types, the registry, routing metadata and the certificate-form dispatch."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from manifests import (
    DOCUMENT_MODELS,
    SCHEMA_VERSIONS,
    CertificateOfOrigin,
    DocumentType,
    FormAK,
    FormD,
    GenericCertificate,
    PreArrivalManifest,
    TransitDeclaration,
    UnknownDocumentTypeError,
    document_type_of,
    model_for,
)
from manifests.generate import DocumentGenerator


def test_type_codes_shared_with_the_chain() -> None:
    assert [(kind.name, int(kind)) for kind in DocumentType] == [
        ("PRE_ARRIVAL_MANIFEST", 1),
        ("TRANSIT_DECLARATION", 2),
        ("CERTIFICATE_OF_ORIGIN", 3),
    ]


def test_registry_and_schema_versions() -> None:
    assert dict(DOCUMENT_MODELS) == {
        DocumentType.PRE_ARRIVAL_MANIFEST: PreArrivalManifest,
        DocumentType.TRANSIT_DECLARATION: TransitDeclaration,
        DocumentType.CERTIFICATE_OF_ORIGIN: CertificateOfOrigin,
    }
    assert SCHEMA_VERSIONS == {
        DocumentType.PRE_ARRIVAL_MANIFEST: "cie.manifest/1",
        DocumentType.TRANSIT_DECLARATION: "cie.transit/1",
        DocumentType.CERTIFICATE_OF_ORIGIN: "cie.origin/1",
    }
    for kind, model in DOCUMENT_MODELS.items():
        assert model.document_type is kind
        assert model_for(kind.name) is model
        assert document_type_of(SCHEMA_VERSIONS[kind]) is kind
    with pytest.raises(UnknownDocumentTypeError, match=r"cie\.manifest/1"):
        document_type_of("cie.invoice/1")
    with pytest.raises(TypeError):
        DOCUMENT_MODELS[DocumentType.PRE_ARRIVAL_MANIFEST] = TransitDeclaration  # type: ignore


@pytest.mark.parametrize(
    ("form", "cls"), [("FORM_D", FormD), ("FORM_AK", FormAK), ("GENERIC", GenericCertificate)]
)
def test_base_class_validation_dispatches_on_form(form: str, cls: type) -> None:
    certificate = DocumentGenerator(1).certificate_of_origin(form=form)  # type: ignore[arg-type]
    again = CertificateOfOrigin.model_validate(certificate.model_dump(mode="json"))
    assert type(again) is cls
    assert again == certificate


def test_routing_metadata() -> None:
    generator = DocumentGenerator(2)
    manifest = generator.manifest()
    certificate = generator.linked_certificate(manifest)
    transit = generator.transit_declaration()
    routing = certificate.routing_metadata()
    assert routing.document_type is DocumentType.CERTIFICATE_OF_ORIGIN
    assert routing.schema_version == "cie.origin/1"
    assert routing.reference == certificate.reference
    assert routing.issuer_economy == manifest.issuer_economy
    assert routing.destinations == (manifest.destinations[0],)
    assert [(link.type, link.reference) for link in routing.links] == [
        (DocumentType.PRE_ARRIVAL_MANIFEST, manifest.reference)
    ]
    assert routing.trader_aeo_id == manifest.consignor.aeo_id
    assert manifest.routing_metadata().trader_aeo_id == manifest.consignor.aeo_id
    assert transit.routing_metadata().trader_aeo_id == transit.holder.aeo_id
    assert transit.routing_metadata().destinations == tuple(transit.itinerary)


def test_base_class_dispatch_accepts_any_mapping() -> None:
    certificate = DocumentGenerator(3).certificate_of_origin(form="FORM_AK")
    frozen = MappingProxyType(certificate.model_dump(mode="json"))
    assert type(CertificateOfOrigin.model_validate(frozen)) is FormAK
