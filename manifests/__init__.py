"""Document models, schemas, sample data and importers of CIE Ledger.

The documents exchanged on the ledger, as pydantic v2 models with a
``schema_version`` each: `PreArrivalManifest` (sea and air), `TransitDeclaration`
and the certificates of origin (`FormD`, `FormAK`, `GenericCertificate`, all
`CertificateOfOrigin`). `parse_document` is the single validating entry point
(raw JSON or a mapping in, a model or `DocumentInvalidError` with field-level
`FieldError` records out). Documents serialise deterministically with
``model_dump(mode="json")``.

Modules: `document_type` (type names/codes, schema versions), `registry`
(type -> model), `parsing` (entry point, error translation), `datatypes` and
`codelists` (field formats, code lists), `check_digits`, `common`,
`pre_arrival`, `transit`, `origin` (the models), `consistency` (cross-document
checks), `schemas` (JSON Schema export), `importers` (JSON, CSV), `generate`
and `sample_catalog` (seeded sample data), `strategies` (hypothesis; tests only).
"""

from manifests.common import (
    Address,
    DocumentBase,
    Link,
    Money,
    Packages,
    Party,
    PartyIdentifier,
    RoutingMetadata,
)
from manifests.consistency import Issue, check_linked_consistency
from manifests.document_type import (
    MANIFEST_SCHEMA_VERSION,
    ORIGIN_SCHEMA_VERSION,
    SCHEMA_VERSIONS,
    TRANSIT_SCHEMA_VERSION,
    DocumentType,
)
from manifests.errors import (
    DocumentInvalidError,
    ExportError,
    FieldError,
    FileError,
    GeneratorConfigError,
    ImportFileError,
    ManifestError,
    PayloadError,
    UnknownDocumentTypeError,
)
from manifests.origin import (
    CertificateOfOrigin,
    FormAK,
    FormD,
    GenericCertificate,
)
from manifests.parsing import DEFAULT_MAX_PAYLOAD_BYTES, parse_document
from manifests.pre_arrival import PreArrivalManifest
from manifests.registry import DOCUMENT_MODELS, Document, document_type_of, model_for
from manifests.transit import TransitDeclaration

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DOCUMENT_MODELS",
    "MANIFEST_SCHEMA_VERSION",
    "ORIGIN_SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "TRANSIT_SCHEMA_VERSION",
    "Address",
    "CertificateOfOrigin",
    "Document",
    "DocumentBase",
    "DocumentInvalidError",
    "DocumentType",
    "ExportError",
    "FieldError",
    "FileError",
    "FormAK",
    "FormD",
    "GeneratorConfigError",
    "GenericCertificate",
    "ImportFileError",
    "Issue",
    "Link",
    "ManifestError",
    "Money",
    "Packages",
    "Party",
    "PartyIdentifier",
    "PayloadError",
    "PreArrivalManifest",
    "RoutingMetadata",
    "TransitDeclaration",
    "UnknownDocumentTypeError",
    "check_linked_consistency",
    "document_type_of",
    "model_for",
    "parse_document",
]
