"""Building blocks shared by all document models.

Owns the model configuration every document uses (`DocumentModel`: frozen,
unknown fields rejected), the parties, addresses, money, packages and links
that several documents carry, the ledger routing metadata (`DocumentBase`,
`RoutingMetadata`) and `RuleViolations`, the collector through which models
report cross-field rules with exact field paths.

WCO DM references in field descriptions name the WCO Data Model (version 3.x)
class and attribute the field corresponds to; numeric WCO IDs are not given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from manifests import codelists
from manifests.datatypes import (
    AeoId,
    CountryCode,
    CurrencyCode,
    DocumentReference,
    FreeText,
    Identifier,
    Name,
    PackageCount,
    PackageKind,
    PositiveAmount,
    ShortText,
)
from manifests.document_type import DocumentType, DocumentTypeName

Loc = tuple[str | int, ...]


class RuleViolations:
    """Collects cross-field rule violations of one model and raises them together.

    Raising a pydantic `ValidationError` from a model validator lets pydantic
    prefix each location with the model's own position in the document, so a
    violation recorded at ``("hs_code",)`` inside item 2 surfaces as
    ``goods_items[2].hs_code``.
    """

    def __init__(self, title: str) -> None:
        self._title = title
        self._details: list[InitErrorDetails] = []

    def add(self, loc: Loc, rule: str, message: str, value: Any = None) -> None:
        """Record that `rule` fails at `loc` (relative to the model), with a human `message`."""
        self._details.append(
            InitErrorDetails(type=PydanticCustomError(rule, message), loc=loc, input=value)
        )

    def __bool__(self) -> bool:
        return bool(self._details)

    def raise_if_any(self) -> None:
        """Raise one `ValidationError` holding every recorded violation, if there are any."""
        if self._details:
            raise ValidationError.from_exception_data(self._title, self._details)


def check_unique(
    violations: RuleViolations,
    prefix: Loc,
    values: Iterable[object],
    rule: str,
    what: str,
    suffix: Loc = (),
) -> None:
    """Record `rule` at ``prefix[i]suffix`` for every value that repeats an earlier one."""
    seen: set[object] = set()
    for index, value in enumerate(values):
        if value in seen:
            violations.add(
                (*prefix, index, *suffix),
                rule,
                f"{what} {value} is listed more than once; list it once",
            )
        seen.add(value)


def check_sequence_numbers(violations: RuleViolations, field: str, numbers: list[int]) -> None:
    """Record ``sequence_number.order`` where item i does not carry number i + 1."""
    for index, number in enumerate(numbers):
        if number != index + 1:
            violations.add(
                (field, index, "sequence_number"),
                "sequence_number.order",
                f"item at position {index + 1} has sequence number {number}; number the "
                "items 1, 2, 3, ... in the order they are listed",
                number,
            )


class DocumentModel(BaseModel):
    """Base of every model in this package: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Address(DocumentModel):
    """A postal address (WCO DM: Address)."""

    street: Name = Field(description="Street and number or P.O. box (WCO DM: Address.Line).")
    city: ShortText = Field(description="City name (WCO DM: Address.CityName).")
    postcode: ShortText | None = Field(
        default=None, description="Postcode (WCO DM: Address.PostcodeID)."
    )
    country: CountryCode = Field(
        description="ISO 3166-1 alpha-2 country code (WCO DM: Address.CountryCode)."
    )


_EORI_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{1,15}")


class PartyIdentifier(DocumentModel):
    """An identification number of a party, with the scheme that issued it."""

    scheme: Literal["TIN", "EORI", "BIN", "OTHER"] = Field(
        description="TIN: taxpayer identification number; EORI: EU Economic Operators "
        "Registration and Identification number; BIN: business identification number "
        "(e.g. Kazakhstan); OTHER: any other national scheme."
    )
    value: Identifier = Field(description="The identification number (WCO DM: Party.ID).")

    @model_validator(mode="after")
    def _check_scheme_format(self) -> Self:
        if self.scheme == "EORI" and (
            not _EORI_RE.fullmatch(self.value) or self.value[:2] not in codelists.COUNTRY_CODES
        ):
            violations = RuleViolations(type(self).__name__)
            violations.add(
                ("value",),
                "identifier.eori_format",
                f"{self.value!r} is not an EORI number; give the issuing country code "
                "followed by up to 15 letters or digits, e.g. 'DE123456789012345'",
                self.value,
            )
            violations.raise_if_any()
        return self


class Party(DocumentModel):
    """A trader or other party named on a document (WCO DM: Party)."""

    name: Name = Field(description="Name of the party (WCO DM: Party.Name).")
    address: Address = Field(description="Address of the party (WCO DM: Party.Address).")
    identifiers: list[PartyIdentifier] = Field(
        default_factory=list,
        max_length=5,
        description="Identification numbers (TIN, EORI, ...) (WCO DM: Party.ID).",
    )
    aeo_id: AeoId | None = Field(
        default=None,
        description="Authorised Economic Operator authorisation identifier, read by risk "
        "engines for AEO/MRA treatment (WCO DM: AEOMutualRecognitionParty.ID).",
    )


def _link_type_name(value: object) -> object:
    # Accept DocumentType members and codes as well as names; store the name.
    if isinstance(value, DocumentType):
        return value.name
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return DocumentType(value).name
        except ValueError:
            return value
    return value


class Link(DocumentModel):
    """A reference from one ledger document to another (e.g. an e-CO to its manifest)."""

    document_type: Annotated[DocumentTypeName, BeforeValidator(_link_type_name)] = Field(
        description="Type of the linked document."
    )
    issuer_economy: CountryCode = Field(description="Economy that issued the linked document.")
    reference: DocumentReference = Field(description="The linked document's reference.")

    @property
    def type(self) -> DocumentType:
        """The linked document's type as a `DocumentType`."""
        return DocumentType[self.document_type]


class Money(DocumentModel):
    """An amount in a currency (WCO DM: ...Amount with currencyID)."""

    amount: PositiveAmount = Field(description="Positive amount, at most 3 decimal places.")
    currency: CurrencyCode = Field(description="ISO 4217 currency code.")


class Packages(DocumentModel):
    """Number and kind of packages of a goods item (WCO DM: Packaging)."""

    count: PackageCount = Field(
        description="Number of packages (WCO DM: Packaging.QuantityQuantity)."
    )
    kind: PackageKind = Field(
        description="Kind of packages, UN/ECE Rec. 21 code (WCO DM: Packaging.TypeCode)."
    )
    marks: FreeText | None = Field(
        default=None, description="Shipping marks (WCO DM: Packaging.MarksNumbersID)."
    )


@dataclass(frozen=True, slots=True)
class RoutingMetadata:
    """What the ledger needs to route and anchor a document, independent of its type."""

    document_type: DocumentType
    schema_version: str
    reference: str
    issuer_economy: str
    destinations: tuple[str, ...]
    links: tuple[Link, ...]
    trader_aeo_id: str | None


class DocumentBase(DocumentModel):
    """Fields and rules every ledger document has.

    Subclasses pin `schema_version` to a Literal, set the `document_type` class
    variable and extend `check_rules` (calling super) with their cross-field rules.
    Cross-field rules run only once every field is individually valid.
    """

    document_type: ClassVar[DocumentType]

    schema_version: str = Field(description="Version of this document's JSON shape.")
    reference: DocumentReference = Field(
        description="The issuer's reference number of the document, unique per issuer "
        "economy and document type (WCO DM: Declaration.FunctionalReferenceID)."
    )
    issuer_economy: CountryCode = Field(
        description="ISO 3166-1 alpha-2 code of the economy whose customs node issues "
        "the document on the ledger."
    )
    destinations: list[CountryCode] = Field(
        min_length=1,
        max_length=50,
        description="Economies the document is sent to (ISO 3166-1 alpha-2), each once.",
    )
    links: list[Link] = Field(
        default_factory=list,
        max_length=50,
        description="Ledger documents this one refers to.",
    )

    @property
    def trader_aeo_id(self) -> str | None:
        """AEO identifier of the trader the risk engines assess (consignor, holder, exporter)."""
        return None

    def routing_metadata(self) -> RoutingMetadata:
        """The routing metadata the ledger anchors alongside the document."""
        return RoutingMetadata(
            document_type=self.document_type,
            schema_version=self.schema_version,
            reference=self.reference,
            issuer_economy=self.issuer_economy,
            destinations=tuple(self.destinations),
            links=tuple(self.links),
            trader_aeo_id=self.trader_aeo_id,
        )

    def check_rules(self, violations: RuleViolations) -> None:
        """Record violations of cross-field rules; subclasses extend and call super."""
        check_unique(
            violations, ("destinations",), self.destinations, "destinations.duplicate", "economy"
        )
        link_keys = [
            (link.document_type, link.issuer_economy, link.reference) for link in self.links
        ]
        check_unique(
            violations,
            ("links",),
            ["/".join(key) for key in link_keys],
            "links.duplicate",
            "link",
        )
        own_key = (self.document_type.name, self.issuer_economy, self.reference)
        for index, key in enumerate(link_keys):
            if key == own_key:
                violations.add(
                    ("links", index),
                    "links.self_reference",
                    "the document links to itself; remove the link",
                )

    @model_validator(mode="after")
    def _check_cross_field_rules(self) -> Self:
        violations = RuleViolations(type(self).__name__)
        self.check_rules(violations)
        violations.raise_if_any()
        return self
