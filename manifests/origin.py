"""Electronic certificates of origin (e-COs): ATIGA Form D, ASEAN-Korea Form AK, generic.

Owns `CertificateOfOrigin` (the base every form shares; validating against it
dispatches on the ``form`` field) and the three forms `FormD`, `FormAK`,
`GenericCertificate`, with their items, exporter declaration, certification
and flags.

Origin criteria per form (field ``items[i].origin_criterion``), as encoded here:

==========  ==========================================================  =========
form        criteria                                                    RVC min.
==========  ==========================================================  =========
FORM_D      WO, PE, CTH, CTSH, CC, PSR, "RVC nn%"                        40 %
FORM_AK     WO, PE, CTH, CTSH, CC, SP, "RVC nn%"                         40 %
GENERIC     WO, PE, CTH, CTSH, CC, PSR, SP, "RVC nn%"                    none
==========  ==========================================================  =========

(WO wholly obtained, PE produced exclusively from originating materials, CTH /
CTSH / CC change of tariff heading / subheading / chapter, PSR product-specific
rule, SP specific process, RVC regional value content.) These follow the
forms' overleaf notes as summarised for this project; check them against the
Operational Certification Procedures in force before relying on them for
preferential treatment. Rules: origin_criterion.format,
origin_criterion.not_allowed, origin_criterion.rvc_below_minimum.

Cross-field rules: issuing authority in the issuer economy
[issuing_authority.economy]; Form D and Form AK only between parties to their
agreement [form.exporting_economy, form.importing_economy]; exporting and
importing economies differ [declaration.same_economy]; the importing economy is
a destination [destinations.missing_importing_country]; items numbered 1..n
[sequence_number.order], each with a gross weight or a quantity
[item.weight_or_quantity_required] and an FOB value when the criterion is RVC
[fob_value.required_for_rvc]; a third-country invoice names the invoicing party
[invoicing_party.required]; certification not before the exporter's declaration
[certification.before_declaration]; for Form D and Form AK a certificate
certified more than 3 days after departure is marked issued retroactively
[flags.issued_retroactively_required] and is certified within one year
[certification.too_late] (the agreements count 3 working days; calendar days
are used here).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from manifests import codelists
from manifests.common import (
    Address,
    DocumentBase,
    DocumentModel,
    Money,
    Packages,
    Party,
    RuleViolations,
    check_sequence_numbers,
)
from manifests.datatypes import (
    CountryCode,
    FreeText,
    HsCode,
    Identifier,
    MeasureUnit,
    Name,
    PositiveMass,
    PositiveQuantity,
    SequenceNumber,
    ShortText,
    UnLocode,
)
from manifests.document_type import ORIGIN_SCHEMA_VERSION, DocumentType

OriginForm = Literal["FORM_D", "FORM_AK", "GENERIC"]

RETROACTIVE_AFTER: Final = dt.timedelta(days=3)
"""Certified later than this after departure, a Form D/AK must be marked issued retroactively."""

RETROACTIVE_LIMIT: Final = dt.timedelta(days=365)
"""A Form D/AK cannot be certified later than this after departure."""

_CRITERION_RE: Final = re.compile(r"(WO|PE|CTH|CTSH|CC|PSR|SP)|RVC ([0-9]{1,3})%")


def _criterion_check(form: str, allowed: frozenset[str], rvc_minimum: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        match = _CRITERION_RE.fullmatch(value)
        if match is None or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 100):
            raise PydanticCustomError(
                "origin_criterion.format",
                f"{value!r} is not an origin criterion; use one of {', '.join(sorted(allowed))} "
                "or 'RVC nn%' with the regional value content in percent, e.g. 'RVC 40%'",
            )
        code = match.group(1) or "RVC"
        if code not in allowed:
            raise PydanticCustomError(
                "origin_criterion.not_allowed",
                f"origin criterion {code} is not used on {form}; use one of "
                f"{', '.join(sorted(allowed))}",
            )
        if code == "RVC" and int(match.group(2)) < rvc_minimum:
            raise PydanticCustomError(
                "origin_criterion.rvc_below_minimum",
                f"{form} needs a regional value content of at least {rvc_minimum}%, the "
                f"certificate states {match.group(2)}%; the goods do not qualify under RVC",
            )
        return value

    return check


def _criterion_pattern(allowed: frozenset[str]) -> str:
    codes = "|".join(sorted(allowed - {"RVC"}))
    return f"^({codes}|RVC [0-9]{{1,3}}%)$"


FORM_D_CRITERIA: Final = frozenset({"WO", "PE", "CTH", "CTSH", "CC", "PSR", "RVC"})
FORM_AK_CRITERIA: Final = frozenset({"WO", "PE", "CTH", "CTSH", "CC", "SP", "RVC"})
GENERIC_CRITERIA: Final = frozenset({"WO", "PE", "CTH", "CTSH", "CC", "PSR", "SP", "RVC"})
RVC_MINIMUM: Final[dict[str, int]] = {"FORM_D": 40, "FORM_AK": 40, "GENERIC": 1}

FormDCriterion = Annotated[
    str,
    AfterValidator(_criterion_check("FORM_D", FORM_D_CRITERIA, RVC_MINIMUM["FORM_D"])),
    WithJsonSchema({"type": "string", "pattern": _criterion_pattern(FORM_D_CRITERIA)}),
]
FormAKCriterion = Annotated[
    str,
    AfterValidator(_criterion_check("FORM_AK", FORM_AK_CRITERIA, RVC_MINIMUM["FORM_AK"])),
    WithJsonSchema({"type": "string", "pattern": _criterion_pattern(FORM_AK_CRITERIA)}),
]
GenericCriterion = Annotated[
    str,
    AfterValidator(_criterion_check("GENERIC", GENERIC_CRITERIA, RVC_MINIMUM["GENERIC"])),
    WithJsonSchema({"type": "string", "pattern": _criterion_pattern(GENERIC_CRITERIA)}),
]


class IssuingAuthority(DocumentModel):
    """The authority that certifies the origin (Box 'Issued in')."""

    name: Name = Field(
        description="Name of the issuing authority (WCO DM: Certificate.IssuingParty)."
    )
    economy: CountryCode = Field(description="Economy of the issuing authority.")
    address: Address | None = Field(default=None, description="Address of the authority.")


class Quantity(DocumentModel):
    """A quantity in a unit of measure (WCO DM: GoodsMeasure.TariffQuantity)."""

    value: PositiveQuantity = Field(description="Positive quantity, at most 3 decimal places.")
    unit: MeasureUnit = Field(description="UN/ECE Rec. 20 unit code, e.g. NAR, LTR, MTK.")


class OriginItem(DocumentModel):
    """One item of a certificate of origin (boxes 5-10 of the forms)."""

    sequence_number: SequenceNumber = Field(description="Item number, 1..n (box 5).")
    packages: Packages = Field(
        description="Marks and numbers, number and kind of packages (boxes 6-7) "
        "(WCO DM: Packaging)."
    )
    description: FreeText = Field(
        description="Description of the goods (box 7) (WCO DM: Commodity.Description)."
    )
    hs_code: HsCode = Field(
        description="HS code of the importing party, 6/8/10 digits (box 7) "
        "(WCO DM: Commodity.Classification.ID, scheme HS)."
    )
    origin_criterion: str = Field(description="Origin criterion (box 8); allowed values per form.")
    gross_weight_kg: PositiveMass | None = Field(
        default=None,
        description="Gross weight in kilograms (box 9); this or `quantity` is required "
        "(WCO DM: GoodsMeasure.GrossMassMeasure).",
    )
    quantity: Quantity | None = Field(
        default=None, description="Other quantity (box 9); this or `gross_weight_kg` is required."
    )
    fob_value: Money | None = Field(
        default=None,
        description="FOB value (box 9), required when the criterion is RVC "
        "(WCO DM: Commodity.ValueAmount).",
    )
    invoice_number: Identifier = Field(
        description="Number of the commercial invoice (box 10) (WCO DM: Invoice.ID)."
    )
    invoice_date: dt.date = Field(
        description="Date of the commercial invoice (box 10) (WCO DM: Invoice.IssueDateTime)."
    )


class FormDItem(OriginItem):
    """An item of an ATIGA Form D."""

    origin_criterion: FormDCriterion = Field(
        description="Origin criterion (box 8): WO, PE, CTH, CTSH, CC, PSR or 'RVC nn%' (nn >= 40)."
    )


class FormAKItem(OriginItem):
    """An item of an ASEAN-Korea Form AK."""

    origin_criterion: FormAKCriterion = Field(
        description="Origin criterion (box 8): WO, PE, CTH, CTSH, CC, SP or 'RVC nn%' (nn >= 40)."
    )


class GenericItem(OriginItem):
    """An item of a generic (non-preferential or other agreement) certificate."""

    origin_criterion: GenericCriterion = Field(
        description="Origin criterion: WO, PE, CTH, CTSH, CC, PSR, SP or 'RVC nn%'."
    )


class ExporterDeclaration(DocumentModel):
    """Declaration by the exporter (box 11)."""

    origin_country: CountryCode = Field(
        description="Country in which the goods were produced (WCO DM: Origin.CountryCode)."
    )
    importing_country: CountryCode = Field(
        description="Importing country the goods are exported to "
        "(WCO DM: Consignment.DestinationCountryCode)."
    )
    place: ShortText = Field(description="Place of the declaration.")
    date: dt.date = Field(description="Date of the declaration.")
    signatory: Name = Field(description="Name of the authorised signatory.")


class Certification(DocumentModel):
    """Certification by the issuing authority (box 12)."""

    place: ShortText = Field(description="Place of certification.")
    date: dt.date = Field(description="Date of certification (WCO DM: Certificate.IssueDateTime).")
    officer: Name = Field(description="Name of the authorised officer.")


class CertificateFlags(DocumentModel):
    """Boxes ticked on the certificate (box 13)."""

    third_country_invoicing: bool = Field(
        default=False, description="Invoice issued by a company in a third country."
    )
    back_to_back: bool = Field(default=False, description="Back-to-back certificate.")
    issued_retroactively: bool = Field(
        default=False, description="Certificate issued after the shipment (retroactively)."
    )
    exhibition: bool = Field(default=False, description="Goods sent to an exhibition.")


class FormDFlags(CertificateFlags):
    """Box 13 of ATIGA Form D, which has three more boxes than the other forms."""

    de_minimis: bool = Field(default=False, description="De minimis applied.")
    accumulation: bool = Field(default=False, description="Full accumulation applied.")
    partial_cumulation: bool = Field(default=False, description="Partial cumulation applied.")


class CertificateOfOrigin(DocumentBase):
    """Base of every certificate of origin form.

    `reference` is the certificate's reference number (top right of the form).
    Validating against this base (``CertificateOfOrigin.model_validate(data)``)
    picks the form class from ``data["form"]``; do not instantiate the base.
    """

    document_type: ClassVar[DocumentType] = DocumentType.CERTIFICATE_OF_ORIGIN
    SCHEMA_VERSION: ClassVar[str] = ORIGIN_SCHEMA_VERSION
    FORM_CLASSES: ClassVar[dict[str, type[CertificateOfOrigin]]] = {}

    schema_version: Literal["cie.origin/1"] = Field(
        default=ORIGIN_SCHEMA_VERSION, description="Version of this document's JSON shape."
    )
    form: str = Field(description="Which certificate form this is.")
    issuing_authority: IssuingAuthority = Field(description="Authority certifying the origin.")
    exporter: Party = Field(description="Exporter (box 1) (WCO DM: Exporter).")
    consignee: Party = Field(description="Consignee (box 2) (WCO DM: Consignee).")
    invoicing_party: Party | None = Field(
        default=None,
        description="Third-country company issuing the invoice, required with "
        "third_country_invoicing (WCO DM: Seller).",
    )
    departure_date: dt.date = Field(
        description="Departure date (box 3) (WCO DM: BorderTransportMeans.DepartureDateTime)."
    )
    vessel_or_flight: Name = Field(
        description="Vessel's name / voyage or aircraft flight number (box 3) "
        "(WCO DM: BorderTransportMeans.Name / JourneyID)."
    )
    port_of_loading: UnLocode | None = Field(
        default=None, description="UN/LOCODE of the port of loading (WCO DM: LoadingLocation.ID)."
    )
    port_of_discharge: UnLocode = Field(
        description="UN/LOCODE of the port of discharge (box 3) (WCO DM: UnloadingLocation.ID)."
    )
    items: Sequence[OriginItem] = Field(description="Items of the certificate.")
    declaration: ExporterDeclaration = Field(description="Declaration by the exporter (box 11).")
    certification: Certification = Field(description="Certification (box 12).")
    flags: CertificateFlags = Field(description="Boxes ticked in box 13.")

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_form(
        cls, data: Any, handler: ModelWrapValidatorHandler[CertificateOfOrigin]
    ) -> CertificateOfOrigin:
        if cls is not CertificateOfOrigin:
            return handler(data)
        if isinstance(data, CertificateOfOrigin):
            return data
        if isinstance(data, Mapping):
            data = dict(data)
            form = data.get("form")
            form_class = cls.FORM_CLASSES.get(form) if isinstance(form, str) else None
            if form_class is not None:
                return form_class.model_validate(data)
            violations = RuleViolations(cls.__name__)
            known = ", ".join(cls.FORM_CLASSES)
            if form is None:
                violations.add(
                    ("form",),
                    "field.required",
                    f"the certificate form is missing; set form to one of {known}",
                )
            else:
                violations.add(
                    ("form",),
                    "form.unknown",
                    f"{form!r} is not a certificate form; use one of {known}",
                    form,
                )
            violations.raise_if_any()
        return handler(data)

    @property
    def trader_aeo_id(self) -> str | None:
        return self.exporter.aeo_id

    def check_rules(self, violations: RuleViolations) -> None:
        super().check_rules(violations)
        if self.issuing_authority.economy != self.issuer_economy:
            violations.add(
                ("issuing_authority", "economy"),
                "issuing_authority.economy",
                f"the issuing authority is in {self.issuing_authority.economy} but the "
                f"certificate is issued by {self.issuer_economy}; the exporting economy's "
                "authority certifies its origin",
            )
        importing = self.declaration.importing_country
        if importing == self.issuer_economy:
            violations.add(
                ("declaration", "importing_country"),
                "declaration.same_economy",
                f"the importing country {importing} is the exporting economy; give the "
                "country the goods are exported to",
            )
        if importing not in self.destinations:
            violations.add(
                ("destinations",),
                "destinations.missing_importing_country",
                f"the importing country {importing} is not among the destinations; add it so "
                "its customs receives the certificate",
            )
        self._check_items(violations)
        self._check_dates_and_flags(violations)

    def _check_items(self, violations: RuleViolations) -> None:
        check_sequence_numbers(violations, "items", [item.sequence_number for item in self.items])
        for index, item in enumerate(self.items):
            if item.gross_weight_kg is None and item.quantity is None:
                violations.add(
                    ("items", index, "gross_weight_kg"),
                    "item.weight_or_quantity_required",
                    "give the gross weight (gross_weight_kg) or another quantity (quantity)",
                )
            if item.origin_criterion.startswith("RVC") and item.fob_value is None:
                violations.add(
                    ("items", index, "fob_value"),
                    "fob_value.required_for_rvc",
                    "the origin criterion is RVC, so the FOB value must be stated; add fob_value",
                )

    def _check_dates_and_flags(self, violations: RuleViolations) -> None:
        if self.flags.third_country_invoicing and self.invoicing_party is None:
            violations.add(
                ("invoicing_party",),
                "invoicing_party.required",
                "third-country invoicing is ticked; name the invoicing company in invoicing_party",
            )
        if self.certification.date < self.declaration.date:
            violations.add(
                ("certification", "date"),
                "certification.before_declaration",
                f"certified on {self.certification.date} before the exporter declared on "
                f"{self.declaration.date}; the authority certifies after the declaration",
            )

    def _check_retroactive_issue(self, violations: RuleViolations) -> None:
        # Form D and Form AK: issued at export or within 3 (working) days, otherwise
        # marked "issued retroactively", and never more than one year after shipment.
        delay = self.certification.date - self.departure_date
        if delay > RETROACTIVE_LIMIT:
            violations.add(
                ("certification", "date"),
                "certification.too_late",
                f"certified {delay.days} days after departure; {self.form} cannot be issued "
                f"more than {RETROACTIVE_LIMIT.days} days after shipment",
            )
        elif delay > RETROACTIVE_AFTER and not self.flags.issued_retroactively:
            violations.add(
                ("flags", "issued_retroactively"),
                "flags.issued_retroactively_required",
                f"certified {delay.days} days after departure; tick 'issued retroactively' "
                f"(required after {RETROACTIVE_AFTER.days} days)",
            )

    def _check_agreement_parties(
        self, violations: RuleViolations, parties: frozenset[str], agreement: str
    ) -> None:
        if self.issuer_economy not in parties:
            violations.add(
                ("issuer_economy",),
                "form.exporting_economy",
                f"{self.issuer_economy} is not a party to {agreement}, so it cannot issue "
                f"{self.form}; use the GENERIC form",
                self.issuer_economy,
            )
        importing = self.declaration.importing_country
        if importing not in parties:
            violations.add(
                ("declaration", "importing_country"),
                "form.importing_economy",
                f"{importing} is not a party to {agreement}, so {self.form} gives no "
                "preference there; use the GENERIC form",
                importing,
            )


class FormD(CertificateOfOrigin):
    """ATIGA Form D: preferential origin between ASEAN Member States."""

    form: Literal["FORM_D"] = Field(default="FORM_D", description="ATIGA Form D.")
    items: list[FormDItem] = Field(min_length=1, max_length=999, description="Items (boxes 5-10).")
    flags: FormDFlags = Field(default_factory=FormDFlags, description="Boxes ticked in box 13.")

    def check_rules(self, violations: RuleViolations) -> None:
        super().check_rules(violations)
        self._check_agreement_parties(violations, codelists.ASEAN_MEMBER_STATES, "ATIGA")
        self._check_retroactive_issue(violations)


class FormAK(CertificateOfOrigin):
    """ASEAN-Korea Form AK: preferential origin under AKFTA."""

    form: Literal["FORM_AK"] = Field(default="FORM_AK", description="ASEAN-Korea Form AK.")
    items: list[FormAKItem] = Field(min_length=1, max_length=999, description="Items (boxes 5-10).")
    flags: CertificateFlags = Field(
        default_factory=CertificateFlags, description="Boxes ticked in box 13."
    )

    def check_rules(self, violations: RuleViolations) -> None:
        super().check_rules(violations)
        self._check_agreement_parties(violations, codelists.AKFTA_PARTIES, "AKFTA")
        self._check_retroactive_issue(violations)


class GenericCertificate(CertificateOfOrigin):
    """A certificate of origin of any other (non-preferential or bilateral) kind."""

    form: Literal["GENERIC"] = Field(default="GENERIC", description="Generic certificate.")
    items: list[GenericItem] = Field(min_length=1, max_length=999, description="Items.")
    flags: CertificateFlags = Field(
        default_factory=CertificateFlags, description="Boxes ticked on the certificate."
    )


CertificateOfOrigin.FORM_CLASSES.update(
    {"FORM_D": FormD, "FORM_AK": FormAK, "GENERIC": GenericCertificate}
)
