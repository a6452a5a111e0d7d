"""The transit declaration and its rules.

Owns `TransitDeclaration` and its parts: the holder of the procedure, the
customs offices of departure, transit and destination, the itinerary, the
guarantee, seals, the means of transport and goods items.

Cross-field rules (rule names in brackets): the itinerary starts in the economy
of the office of departure and ends in that of the office of destination
[itinerary.start, itinerary.end] without naming an economy twice in a row
[itinerary.repeated_economy]; every office of transit lies on the itinerary,
after departure, in itinerary order [offices_of_transit.outside_itinerary,
offices_of_transit.order]; the offices of departure and destination differ
[office_of_destination.same_as_departure]; the destinations equal the itinerary
[destinations.itinerary_mismatch]; the issuer is the economy of the office of
departure [issuer_economy.not_departure_office]; the time limit for arrival is
after departure [arrival_time_limit.not_after_departure]; a guarantee other
than a waiver states its amount [guarantee.amount_required]; goods items are
numbered 1..n [sequence_number.order]; seals are unique [seals.duplicate].
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from manifests.common import (
    DocumentBase,
    DocumentModel,
    Money,
    Packages,
    Party,
    RuleViolations,
    check_sequence_numbers,
    check_unique,
)
from manifests.datatypes import (
    CountryCode,
    CustomsOfficeRef,
    FreeText,
    HsCode,
    Identifier,
    PositiveMass,
    SequenceNumber,
    UtcDatetime,
)
from manifests.document_type import TRANSIT_SCHEMA_VERSION, DocumentType

TransitProcedure = Literal["TIR", "T1", "T2", "EAEU", "NATIONAL"]
GuaranteeType = Literal[
    "COMPREHENSIVE",
    "INDIVIDUAL_UNDERTAKING",
    "INDIVIDUAL_CASH",
    "INDIVIDUAL_VOUCHER",
    "TIR_CARNET",
    "WAIVER",
]
InlandTransportMode = Literal["ROAD", "RAIL", "SEA", "AIR", "INLAND_WATERWAY", "MULTIMODAL"]


class Guarantee(DocumentModel):
    """The guarantee securing the duties at stake (WCO DM: ObligationGuarantee)."""

    type: GuaranteeType = Field(
        description="Kind of guarantee (WCO DM: ObligationGuarantee.SecurityDetailsCode)."
    )
    reference: Identifier = Field(
        description="Guarantee reference number (GRN) or TIR carnet number "
        "(WCO DM: ObligationGuarantee.ReferenceID)."
    )
    amount: Money | None = Field(
        default=None,
        description="Amount covered, required unless the type is WAIVER "
        "(WCO DM: ObligationGuarantee.AmountAmount).",
    )


class TransitTransportMeans(DocumentModel):
    """Means of transport at departure (WCO DM: DepartureTransportMeans)."""

    mode: InlandTransportMode = Field(
        description="Mode of transport (WCO DM: DepartureTransportMeans.ModeCode)."
    )
    identification: Identifier = Field(
        description="Registration plate, wagon number, vessel IMO or flight number "
        "(WCO DM: DepartureTransportMeans.ID)."
    )
    nationality: CountryCode = Field(
        description="Country of registration "
        "(WCO DM: DepartureTransportMeans.RegistrationNationalityCode)."
    )


class TransitGoodsItem(DocumentModel):
    """One goods item under transit (WCO DM: GoodsItem)."""

    sequence_number: SequenceNumber = Field(
        description="Position of the item, 1..n (WCO DM: GoodsItem.SequenceNumeric)."
    )
    description: FreeText = Field(
        description="Plain-language description of the goods (WCO DM: Commodity.Description)."
    )
    hs_code: HsCode = Field(
        description="HS code, 6/8/10 digits (WCO DM: Commodity.Classification.ID, scheme HS)."
    )
    packages: Packages = Field(description="Packages of the item (WCO DM: Packaging).")
    gross_mass_kg: PositiveMass = Field(
        description="Gross mass in kilograms (WCO DM: GoodsMeasure.GrossMassMeasure)."
    )
    value: Money | None = Field(
        default=None,
        description="Value of the goods, for the guarantee calculation "
        "(WCO DM: Commodity.ValueAmount).",
    )
    country_of_origin: CountryCode | None = Field(
        default=None, description="Country of origin of the goods (WCO DM: Origin.CountryCode)."
    )


class TransitDeclaration(DocumentBase):
    """A transit declaration: goods moving under customs control across economies."""

    document_type: ClassVar[DocumentType] = DocumentType.TRANSIT_DECLARATION
    SCHEMA_VERSION: ClassVar[str] = TRANSIT_SCHEMA_VERSION

    schema_version: Literal["cie.transit/1"] = Field(
        default=TRANSIT_SCHEMA_VERSION, description="Version of this document's JSON shape."
    )
    procedure: TransitProcedure = Field(
        description="Transit regime: TIR carnet, Union/common transit T1/T2, EAEU customs "
        "transit or a national procedure (WCO DM: Declaration.TypeCode)."
    )
    holder: Party = Field(
        description="Holder of the transit procedure (WCO DM: Principal / Declarant)."
    )
    office_of_departure: CustomsOfficeRef = Field(
        description="Customs office where the transit starts "
        "(WCO DM: Declaration.DeclarationOffice.ID)."
    )
    offices_of_transit: list[CustomsOfficeRef] = Field(
        default_factory=list,
        max_length=9,
        description="Customs offices of entry into each economy crossed, in itinerary order "
        "(WCO DM: Consignment.Itinerary/CustomsOffice, role transit).",
    )
    office_of_destination: CustomsOfficeRef = Field(
        description="Customs office where the transit ends "
        "(WCO DM: Declaration.CustomsOffice, role destination)."
    )
    itinerary: list[CountryCode] = Field(
        min_length=2,
        max_length=20,
        description="Economies the goods pass, in order, departure first, destination last "
        "(WCO DM: Itinerary.RoutingCountryCode).",
    )
    guarantee: Guarantee = Field(description="The guarantee (WCO DM: ObligationGuarantee).")
    seals: list[Identifier] = Field(
        default_factory=list,
        max_length=99,
        description="Customs seal numbers affixed at departure (WCO DM: Seal.ID).",
    )
    transport_means: TransitTransportMeans = Field(
        description="Means of transport at departure (WCO DM: DepartureTransportMeans)."
    )
    goods_items: list[TransitGoodsItem] = Field(
        min_length=1, max_length=999, description="Goods items (WCO DM: GoodsItem)."
    )
    departure: UtcDatetime = Field(
        description="Date and time the goods were released for transit, with offset; stored "
        "in UTC (WCO DM: Declaration.AcceptanceDateTime).",
    )
    arrival_time_limit: UtcDatetime = Field(
        description="Time limit for presenting the goods at the office of destination, with "
        "offset; stored in UTC (WCO DM: Declaration.TimeLimitDateTime).",
    )

    @property
    def trader_aeo_id(self) -> str | None:
        return self.holder.aeo_id

    def check_rules(self, violations: RuleViolations) -> None:
        super().check_rules(violations)
        self._check_itinerary(violations)
        self._check_offices(violations)
        if self.arrival_time_limit <= self.departure:
            violations.add(
                ("arrival_time_limit",),
                "arrival_time_limit.not_after_departure",
                f"the time limit for arrival {self.arrival_time_limit.isoformat()} is not after "
                f"departure {self.departure.isoformat()}; correct either time",
            )
        if self.guarantee.type != "WAIVER" and self.guarantee.amount is None:
            violations.add(
                ("guarantee", "amount"),
                "guarantee.amount_required",
                f"a {self.guarantee.type} guarantee needs the amount it covers; add "
                "guarantee.amount",
            )
        check_unique(violations, ("seals",), self.seals, "seals.duplicate", "seal")
        check_sequence_numbers(
            violations, "goods_items", [item.sequence_number for item in self.goods_items]
        )

    def _check_itinerary(self, violations: RuleViolations) -> None:
        itinerary = self.itinerary
        departure_economy = self.office_of_departure[:2]
        destination_economy = self.office_of_destination[:2]
        if itinerary[0] != departure_economy:
            violations.add(
                ("itinerary", 0),
                "itinerary.start",
                f"the itinerary starts with {itinerary[0]} but the office of departure "
                f"{self.office_of_departure} is in {departure_economy}; start it there",
                itinerary[0],
            )
        if itinerary[-1] != destination_economy:
            violations.add(
                ("itinerary", len(itinerary) - 1),
                "itinerary.end",
                f"the itinerary ends with {itinerary[-1]} but the office of destination "
                f"{self.office_of_destination} is in {destination_economy}; end it there",
                itinerary[-1],
            )
        for index in range(1, len(itinerary)):
            if itinerary[index] == itinerary[index - 1]:
                violations.add(
                    ("itinerary", index),
                    "itinerary.repeated_economy",
                    f"{itinerary[index]} follows itself in the itinerary; list each border "
                    "crossing once",
                    itinerary[index],
                )
        if self.destinations != itinerary:
            violations.add(
                ("destinations",),
                "destinations.itinerary_mismatch",
                f"destinations {self.destinations} differ from the itinerary {itinerary}; a "
                "transit declaration goes to every economy on its itinerary, in order",
            )
        if self.issuer_economy != departure_economy:
            violations.add(
                ("issuer_economy",),
                "issuer_economy.not_departure_office",
                f"the declaration is issued by {self.issuer_economy} but the office of "
                f"departure is in {departure_economy}; the economy of departure issues it",
                self.issuer_economy,
            )

    def _check_offices(self, violations: RuleViolations) -> None:
        if self.office_of_destination == self.office_of_departure:
            violations.add(
                ("office_of_destination",),
                "office_of_destination.same_as_departure",
                f"the office of destination is the office of departure "
                f"({self.office_of_departure}); give the office where the transit ends",
            )
        # Index in the itinerary (after departure) of the previous office of transit.
        previous = 1
        for index, office in enumerate(self.offices_of_transit):
            economy = office[:2]
            positions = [
                position
                for position in range(1, len(self.itinerary))
                if self.itinerary[position] == economy
            ]
            if not positions:
                violations.add(
                    ("offices_of_transit", index),
                    "offices_of_transit.outside_itinerary",
                    f"office of transit {office} is in {economy}, which the itinerary does not "
                    "enter; add the economy to the itinerary or correct the office",
                    office,
                )
                continue
            later = [position for position in positions if position >= previous]
            if not later:
                violations.add(
                    ("offices_of_transit", index),
                    "offices_of_transit.order",
                    f"office of transit {office} ({economy}) is listed after an office further "
                    "along the itinerary; list offices of transit in itinerary order",
                    office,
                )
                continue
            previous = later[0]
