"""Which model class validates which document type.

Owns `DOCUMENT_MODELS` (DocumentType -> model class), the `Document` union the
package's entry points return, and `document_type_of` for finding a document's
type from its ``schema_version``. For certificates of origin the registered
class is the `CertificateOfOrigin` base, whose validation dispatches on the
``form`` field to `FormD`, `FormAK` or `GenericCertificate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, cast

from manifests.common import DocumentBase
from manifests.document_type import SCHEMA_VERSIONS, DocumentType
from manifests.errors import UnknownDocumentTypeError
from manifests.origin import CertificateOfOrigin
from manifests.pre_arrival import PreArrivalManifest
from manifests.transit import TransitDeclaration

Document = PreArrivalManifest | TransitDeclaration | CertificateOfOrigin
"""Any ledger document model instance."""

DOCUMENT_MODELS: Final[Mapping[DocumentType, type[DocumentBase]]] = MappingProxyType(
    {
        DocumentType.PRE_ARRIVAL_MANIFEST: PreArrivalManifest,
        DocumentType.TRANSIT_DECLARATION: TransitDeclaration,
        DocumentType.CERTIFICATE_OF_ORIGIN: CertificateOfOrigin,
    }
)
"""The model class of each document type; ``model_validate`` on it validates a document."""


def validate_document(document_type: DocumentType | int | str, data: Any) -> Document:
    """Validate decoded data with the registered model class of `document_type`.

    Raises pydantic's `ValidationError`; `manifests.parsing.parse_document` is the
    entry point that turns it into field-level `DocumentInvalidError`.
    """
    model = DOCUMENT_MODELS[DocumentType.parse(document_type)]
    # DOCUMENT_MODELS holds exactly the classes that make up the Document union.
    return cast(Document, model.model_validate(data))


def model_for(document_type: DocumentType | int | str) -> type[DocumentBase]:
    """The model class of a document type given as member, code or name."""
    return DOCUMENT_MODELS[DocumentType.parse(document_type)]


def document_type_of(schema_version: str) -> DocumentType:
    """The document type a ``schema_version`` value belongs to."""
    for document_type, version in SCHEMA_VERSIONS.items():
        if version == schema_version:
            return document_type
    known = ", ".join(SCHEMA_VERSIONS.values())
    raise UnknownDocumentTypeError(
        f"schema_version {schema_version!r} is not supported; use one of {known}"
    )
