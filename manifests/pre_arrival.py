"""The pre-arrival manifest (sea and air) and its rules.

Owns `PreArrivalManifest` and its parts: the means of transport (vessel with
IMO number, or flight), master and house transport documents (bill of lading
or air waybill), containers with seals (ISO 6346) and goods items.

Cross-field rules (rule names in brackets): the means of transport matches the
mode [transport_means.imo_required, transport_means.flight_number_required,
transport_means.mode_mismatch]; an air manifest's master document is an air
waybill [awb.format, awb.check_digit] and it lists no containers
[containers.not_allowed_for_air]; container numbers and house documents are
unique [containers.duplicate, transport_documents.house_duplicate]; goods items
are numbered 1..n [sequence_number.order] and refer only to listed containers
[goods_items.unknown_container]; the countries of routing start at the place of
loading and end at the place of unloading [countries_of_routing.start,
countries_of_routing.end]; the expected arrival is after departure
[expected_arrival.not_after_departure]; the unloading economy is a destination
[destinations.missing_unloading_country].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

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
    ContainerNumber,
    CountryCode,
    FlightNumber,
    FreeText,
    HsCode,
    Identifier,
    ImoNumber,
    Name,
    PositiveMass,
    SequenceNumber,
    ShortText,
    UnLocode,
    UtcDatetime,
    check_awb_number,
)
from manifests.document_type import MANIFEST_SCHEMA_VERSION, DocumentType

TransportMode = Literal["SEA", "AIR"]


class TransportMeans(DocumentModel):
    """The vessel or aircraft crossing the border (WCO DM: BorderTransportMeans)."""

    name: Name = Field(
        description="Vessel name, or aircraft/airline name (WCO DM: BorderTransportMeans.Name)."
    )
    nationality: CountryCode | None = Field(
        default=None,
        description="Flag state or registration country "
        "(WCO DM: BorderTransportMeans.RegistrationNationalityCode).",
    )
    imo_number: ImoNumber | None = Field(
        default=None,
        description="IMO ship identification number, required for SEA; stored as 7 digits "
        "(WCO DM: BorderTransportMeans.ID, scheme IMO).",
    )
    voyage_number: ShortText | None = Field(
        default=None,
        description="Carrier's voyage number, SEA only (WCO DM: BorderTransportMeans.JourneyID).",
    )
    flight_number: FlightNumber | None = Field(
        default=None,
        description="Flight number, required for AIR (WCO DM: BorderTransportMeans.JourneyID).",
    )


class TransportDocuments(DocumentModel):
    """Master and house transport documents (WCO DM: TransportContractDocument)."""

    master: Identifier = Field(
        description="Master bill of lading number (SEA) or master air waybill number (AIR, "
        "11 digits with mod-7 check digit, stored without hyphen) "
        "(WCO DM: Consignment.TransportContractDocument.ID).",
    )
    house: list[Identifier] = Field(
        default_factory=list,
        max_length=999,
        description="House bill of lading / house air waybill numbers "
        "(WCO DM: ConsignmentItem.TransportContractDocument.ID).",
    )


class Container(DocumentModel):
    """A freight container and its seals (WCO DM: TransportEquipment)."""

    number: ContainerNumber = Field(
        description="ISO 6346 container number with check digit, stored without spaces "
        "(WCO DM: TransportEquipment.ID).",
    )
    size_type: Identifier | None = Field(
        default=None,
        description="ISO 6346 size and type code, e.g. 22G1, 45G1 "
        "(WCO DM: TransportEquipment.CharacteristicCode).",
    )
    seals: list[Identifier] = Field(
        default_factory=list,
        max_length=20,
        description="Seal numbers affixed to the container (WCO DM: Seal.ID).",
    )


class ManifestGoodsItem(DocumentModel):
    """One goods item of the manifest (WCO DM: GoodsItem / ConsignmentItem)."""

    sequence_number: SequenceNumber = Field(
        description="Position of the item, 1..n (WCO DM: GoodsItem.SequenceNumeric)."
    )
    description: FreeText = Field(
        description="Plain-language description of the goods (WCO DM: Commodity.Description)."
    )
    hs_code: HsCode = Field(
        description="HS code, 6 digits or a national 8/10-digit extension "
        "(WCO DM: Commodity.Classification.ID, scheme HS)."
    )
    packages: Packages = Field(description="Packages of the item (WCO DM: Packaging).")
    gross_mass_kg: PositiveMass = Field(
        description="Gross mass in kilograms (WCO DM: GoodsMeasure.GrossMassMeasure)."
    )
    value: Money = Field(
        description="Value of the goods with its ISO 4217 currency "
        "(WCO DM: CustomsValuation / Commodity.ValueAmount)."
    )
    container_numbers: list[ContainerNumber] = Field(
        default_factory=list,
        max_length=99,
        description="Containers (listed in `containers`) the item is packed in "
        "(WCO DM: GoodsItem.TransportEquipment.ID).",
    )


class PreArrivalManifest(DocumentBase):
    """Pre-arrival cargo manifest of one sea or air consignment."""

    document_type: ClassVar[DocumentType] = DocumentType.PRE_ARRIVAL_MANIFEST
    SCHEMA_VERSION: ClassVar[str] = MANIFEST_SCHEMA_VERSION

    schema_version: Literal["cie.manifest/1"] = Field(
        default=MANIFEST_SCHEMA_VERSION, description="Version of this document's JSON shape."
    )
    mode: TransportMode = Field(
        description="Mode of transport at the border (WCO DM: BorderTransportMeans.ModeCode)."
    )
    transport_means: TransportMeans = Field(
        description="Active means of transport crossing the border (WCO DM: BorderTransportMeans)."
    )
    transport_documents: TransportDocuments = Field(
        description="Master and house transport documents (WCO DM: TransportContractDocument)."
    )
    consignor: Party = Field(description="Consignor / shipper (WCO DM: Consignor).")
    consignee: Party = Field(description="Consignee (WCO DM: Consignee).")
    notify_party: Party | None = Field(
        default=None, description="Party to notify on arrival (WCO DM: NotifyParty)."
    )
    place_of_loading: UnLocode = Field(
        description="UN/LOCODE of the place of loading (WCO DM: LoadingLocation.ID)."
    )
    place_of_unloading: UnLocode = Field(
        description="UN/LOCODE of the place of unloading (WCO DM: UnloadingLocation.ID)."
    )
    countries_of_routing: list[CountryCode] = Field(
        min_length=1,
        max_length=99,
        description="Countries the consignment passes, in order, from loading to unloading "
        "(WCO DM: Itinerary.RoutingCountryCode).",
    )
    departure: UtcDatetime = Field(
        description="Date and time of departure from the place of loading, with offset; "
        "stored in UTC (WCO DM: BorderTransportMeans.DepartureDateTime).",
    )
    expected_arrival: UtcDatetime = Field(
        description="Expected date and time of arrival at the place of unloading, with "
        "offset; stored in UTC (WCO DM: BorderTransportMeans.ArrivalDateTime).",
    )
    containers: list[Container] = Field(
        default_factory=list,
        max_length=9_999,
        description="Containers carrying the goods, SEA only (WCO DM: TransportEquipment).",
    )
    goods_items: list[ManifestGoodsItem] = Field(
        min_length=1, max_length=999, description="Goods items (WCO DM: GoodsItem)."
    )

    @property
    def trader_aeo_id(self) -> str | None:
        return self.consignor.aeo_id

    @model_validator(mode="before")
    @classmethod
    def _canonical_master_awb(cls, data: Any) -> Any:
        # An air waybill is printed "176-12345675"; store the canonical 11 digits so
        # both spellings commit to the same bytes. Anything else is left to the rules.
        if isinstance(data, Mapping) and data.get("mode") == "AIR":
            documents = data.get("transport_documents")
            if isinstance(documents, Mapping):
                master = documents.get("master")
                if isinstance(master, str) and re.fullmatch(r"[0-9]{3}-[0-9]{8}", master):
                    data = {
                        **data,
                        "transport_documents": {**documents, "master": master.replace("-", "")},
                    }
        return data

    def check_rules(self, violations: RuleViolations) -> None:
        super().check_rules(violations)
        self._check_transport(violations)
        self._check_containers(violations)
        self._check_routing(violations)
        check_sequence_numbers(
            violations, "goods_items", [item.sequence_number for item in self.goods_items]
        )

    def _check_transport(self, violations: RuleViolations) -> None:
        means = self.transport_means
        if self.mode == "SEA":
            if means.imo_number is None:
                violations.add(
                    ("transport_means", "imo_number"),
                    "transport_means.imo_required",
                    "a SEA manifest needs the vessel's IMO number; add transport_means.imo_number",
                )
            if means.flight_number is not None:
                violations.add(
                    ("transport_means", "flight_number"),
                    "transport_means.mode_mismatch",
                    "a SEA manifest has no flight number; remove it or set mode to AIR",
                    means.flight_number,
                )
        else:
            if means.flight_number is None:
                violations.add(
                    ("transport_means", "flight_number"),
                    "transport_means.flight_number_required",
                    "an AIR manifest needs the flight number; add transport_means.flight_number",
                )
            for field in ("imo_number", "voyage_number"):
                if getattr(means, field) is not None:
                    violations.add(
                        ("transport_means", field),
                        "transport_means.mode_mismatch",
                        f"an AIR manifest has no {field}; remove it or set mode to SEA",
                    )
            try:
                check_awb_number(self.transport_documents.master)
            except PydanticCustomError as error:
                violations.add(
                    ("transport_documents", "master"),
                    error.type,
                    "the master document of an AIR manifest is an air waybill: " + error.message(),
                    self.transport_documents.master,
                )
            if self.containers:
                violations.add(
                    ("containers",),
                    "containers.not_allowed_for_air",
                    "an AIR manifest lists no ISO 6346 containers; remove them or set mode to SEA",
                )
        check_unique(
            violations,
            ("transport_documents", "house"),
            self.transport_documents.house,
            "transport_documents.house_duplicate",
            "house document",
        )

    def _check_containers(self, violations: RuleViolations) -> None:
        numbers = [container.number for container in self.containers]
        check_unique(
            violations, ("containers",), numbers, "containers.duplicate", "container", ("number",)
        )
        known = set(numbers)
        for item_index, item in enumerate(self.goods_items):
            for position, number in enumerate(item.container_numbers):
                if number not in known:
                    violations.add(
                        ("goods_items", item_index, "container_numbers", position),
                        "goods_items.unknown_container",
                        f"container {number} is not listed in `containers`; add it there "
                        "or correct the number",
                        number,
                    )

    def _check_routing(self, violations: RuleViolations) -> None:
        loading_country = self.place_of_loading[:2]
        unloading_country = self.place_of_unloading[:2]
        routing = self.countries_of_routing
        if routing[0] != loading_country:
            violations.add(
                ("countries_of_routing", 0),
                "countries_of_routing.start",
                f"countries of routing start with {routing[0]} but the place of loading "
                f"{self.place_of_loading} is in {loading_country}; start the list there",
                routing[0],
            )
        if routing[-1] != unloading_country:
            violations.add(
                ("countries_of_routing", len(routing) - 1),
                "countries_of_routing.end",
                f"countries of routing end with {routing[-1]} but the place of unloading "
                f"{self.place_of_unloading} is in {unloading_country}; end the list there",
                routing[-1],
            )
        if self.expected_arrival <= self.departure:
            violations.add(
                ("expected_arrival",),
                "expected_arrival.not_after_departure",
                f"expected arrival {self.expected_arrival.isoformat()} is not after departure "
                f"{self.departure.isoformat()}; correct either time",
            )
        if unloading_country not in self.destinations:
            violations.add(
                ("destinations",),
                "destinations.missing_unloading_country",
                f"the place of unloading is in {unloading_country}, which is not among the "
                "destinations; add it so its customs receives the manifest",
            )
