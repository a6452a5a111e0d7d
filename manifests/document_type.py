"""Document type names and codes shared with the chain, and the schema versions.

Owns `DocumentType` (the names and integer codes the registry contract and the
ledger client use) and the `schema_version` constant of each type. A schema
version names one JSON shape of one document type; a change that makes any
previously valid document invalid, or changes its canonical serialisation,
needs a new version.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Literal

from manifests.errors import UnknownDocumentTypeError

DocumentTypeName = Literal["PRE_ARRIVAL_MANIFEST", "TRANSIT_DECLARATION", "CERTIFICATE_OF_ORIGIN"]


class DocumentType(IntEnum):
    """The document types of the ledger; values are the on-chain type codes."""

    PRE_ARRIVAL_MANIFEST = 1
    TRANSIT_DECLARATION = 2
    CERTIFICATE_OF_ORIGIN = 3

    @classmethod
    def parse(cls, value: DocumentType | int | str) -> DocumentType:
        """Accept a member, its code (1) or its name ("PRE_ARRIVAL_MANIFEST", any case)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                pass
        elif isinstance(value, str):
            key = value.strip().upper()
            if key in cls.__members__:
                return cls[key]
            if key.isdigit() and int(key) in cls._value2member_map_:
                return cls(int(key))
        known = ", ".join(f"{member.name} ({member.value})" for member in cls)
        raise UnknownDocumentTypeError(f"{value!r} is not a document type; use one of {known}")


MANIFEST_SCHEMA_VERSION: Final = "cie.manifest/1"
TRANSIT_SCHEMA_VERSION: Final = "cie.transit/1"
ORIGIN_SCHEMA_VERSION: Final = "cie.origin/1"

SCHEMA_VERSIONS: Final[dict[DocumentType, str]] = {
    DocumentType.PRE_ARRIVAL_MANIFEST: MANIFEST_SCHEMA_VERSION,
    DocumentType.TRANSIT_DECLARATION: TRANSIT_SCHEMA_VERSION,
    DocumentType.CERTIFICATE_OF_ORIGIN: ORIGIN_SCHEMA_VERSION,
}
"""The current schema version of each document type."""
