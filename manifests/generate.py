"""Seeded generator of realistic sample documents for demos, tests and benchmarks.

Owns `DocumentGenerator` and the module-level shortcuts (`generate_manifest`,
`generate_transit_declaration`, `generate_certificate_of_origin`,
`generate_linked_co`, `generate_documents`). Everything is drawn from one
`random.Random(seed)` and a fixed base date, never the clock, so a seed always
yields the same documents (byte for byte through ``model_dump(mode="json")``).
Data comes from the embedded tables in `manifests.sample_catalog`.

A linked certificate (`generate_linked_co`) covers a manifest consistently:
same exporter and consignee, the manifest's HS codes (national extensions may
differ), ports and departure date, and a link to the manifest. `Inconsistency`
knobs break one aspect on purpose so risk engines and
`manifests.consistency.check_linked_consistency` have something to find.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from manifests import check_digits, codelists
from manifests.document_type import DocumentType
from manifests.errors import GeneratorConfigError
from manifests.origin import (
    FORM_AK_CRITERIA,
    FORM_D_CRITERIA,
    GENERIC_CRITERIA,
    RVC_MINIMUM,
    CertificateOfOrigin,
    OriginForm,
)
from manifests.pre_arrival import PreArrivalManifest, TransportMode
from manifests.registry import Document
from manifests.sample_catalog import (
    AIR_HUBS,
    AIRLINES,
    BL_PREFIXES,
    COMMODITIES,
    CONTAINER_OWNERS,
    CONTAINER_SIZE_TYPES,
    DEFAULT_ECONOMIES,
    EAEU_MEMBERS,
    ECONOMY_PROFILES,
    EU_MEMBERS,
    FLAG_STATES,
    OCEAN_HUBS,
    SIGNATORIES,
    TRANSIT_LINKS,
    VESSEL_NAMES,
    Airline,
    Commodity,
    EconomyProfile,
)
from manifests.transit import TransitDeclaration

BASE_TIME: Final = datetime(2025, 1, 6, tzinfo=UTC)
"""Generated dates fall within a year after this instant (never the wall clock)."""

_CRITERIA_BY_FORM: Final[dict[str, frozenset[str]]] = {
    "FORM_D": FORM_D_CRITERIA,
    "FORM_AK": FORM_AK_CRITERIA,
    "GENERIC": GENERIC_CRITERIA,
}


class Inconsistency(StrEnum):
    """Ways `generate_linked_co` can make a certificate disagree with its manifest."""

    HS_CODE = "hs_code"
    """One item gets an HS code (6-digit subheading) that the manifest does not carry."""
    CONSIGNEE_NAME = "consignee_name"
    """The consignee is a different company in the same economy."""
    CONSIGNEE_COUNTRY = "consignee_country"
    """The consignee's address is in another economy."""
    PORT_OF_DISCHARGE = "port_of_discharge"
    """The port of discharge is not the manifest's place of unloading."""
    DEPARTURE_DATE = "departure_date"
    """The departure date is weeks away from the manifest's departure."""
    MISSING_LINK = "missing_link"
    """The certificate does not link the manifest."""


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _seed_from(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


class DocumentGenerator:
    """Draws realistic, valid documents from one seeded random stream.

    `economies` limits the economies used (ISO 3166-1 alpha-2 codes known to
    `manifests.sample_catalog.ECONOMY_PROFILES`; at least two). `max_goods_items`
    bounds the items per document. References are unique per generator.
    """

    def __init__(
        self,
        seed: int | str = 0,
        *,
        economies: Sequence[str] = DEFAULT_ECONOMIES,
        max_goods_items: int = 4,
    ) -> None:
        unknown = [code for code in economies if code not in ECONOMY_PROFILES]
        if unknown:
            raise GeneratorConfigError(
                f"no sample data for economies {unknown}; choose from {sorted(ECONOMY_PROFILES)}"
            )
        if len(set(economies)) < 2:
            raise GeneratorConfigError("configure at least two different economies")
        if max_goods_items < 1:
            raise GeneratorConfigError("max_goods_items must be at least 1")
        self.rng = random.Random(seed)
        self.economies: tuple[str, ...] = tuple(dict.fromkeys(economies))
        self.max_goods_items = max_goods_items
        self._used_references: set[str] = set()

    # --- documents ---------------------------------------------------------------------

    def manifest(
        self,
        *,
        mode: TransportMode | None = None,
        origin: str | None = None,
        destination: str | None = None,
    ) -> PreArrivalManifest:
        """A pre-arrival manifest; mode, origin and destination are drawn unless given."""
        mode, origin, destination = self._manifest_route(mode, origin, destination)
        rng = self.rng
        departure = self._instant()
        if mode == "SEA":
            caspian = ECONOMY_PROFILES[origin].caspian
            transit_days = rng.uniform(1, 2.5) if caspian else rng.uniform(9, 38)
            place_of_loading = rng.choice(ECONOMY_PROFILES[origin].seaports)
            place_of_unloading = rng.choice(ECONOMY_PROFILES[destination].seaports)
            hubs = [hub for hub in OCEAN_HUBS if hub not in {origin, destination}]
            via = [rng.choice(hubs)] if not caspian and rng.random() < 0.3 else []
            transport_means: dict[str, Any] = {
                "name": rng.choice(VESSEL_NAMES),
                "nationality": rng.choice(FLAG_STATES),
                "imo_number": self._imo_number(),
                "voyage_number": f"{rng.randint(1, 52):03d}{rng.choice('EWNS')}",
            }
            master = f"{rng.choice(BL_PREFIXES)}{rng.randint(10**8, 10**9 - 1)}"
            house = [f"{origin}HB{rng.randint(10**6, 10**7 - 1)}" for _ in range(rng.randint(0, 3))]
        else:
            transit_days = rng.uniform(0.2, 0.9)
            place_of_loading = rng.choice(ECONOMY_PROFILES[origin].airports)
            place_of_unloading = rng.choice(ECONOMY_PROFILES[destination].airports)
            hubs = [hub for hub in AIR_HUBS if hub not in {origin, destination}]
            via = [rng.choice(hubs)] if rng.random() < 0.2 else []
            airline = self._airline(origin)
            transport_means = {
                "name": airline.name,
                "nationality": airline.home,
                "flight_number": f"{airline.designator}{rng.randint(100, 9999)}",
            }
            master = self._awb_number(airline)
            house = [f"HAWB{rng.randint(10**7, 10**8 - 1)}" for _ in range(rng.randint(0, 3))]
        containers = self._containers() if mode == "SEA" else []
        container_numbers = [container["number"] for container in containers]
        items = []
        for index, commodity in enumerate(self._commodities(origin)):
            item = self._goods_item(index, commodity)
            if container_numbers:
                item["container_numbers"] = sorted(
                    rng.sample(container_numbers, rng.randint(1, min(2, len(container_numbers))))
                )
            items.append(item)
        data: dict[str, Any] = {
            "reference": self._reference(origin, "MAN", departure.year),
            "issuer_economy": origin,
            "destinations": [destination],
            "mode": mode,
            "transport_means": transport_means,
            "transport_documents": {"master": master, "house": house},
            "consignor": self._party(origin),
            "consignee": self._party(destination),
            "notify_party": self._party(destination) if rng.random() < 0.5 else None,
            "place_of_loading": place_of_loading,
            "place_of_unloading": place_of_unloading,
            "countries_of_routing": [origin, *via, destination],
            "departure": departure.isoformat(),
            "expected_arrival": (
                departure + timedelta(minutes=round(transit_days * 24 * 60))
            ).isoformat(),
            "containers": containers,
            "goods_items": items,
        }
        return PreArrivalManifest.model_validate(data)

    def transit_declaration(self, *, itinerary: Sequence[str] | None = None) -> TransitDeclaration:
        """A transit declaration along `itinerary` (drawn from plausible corridors unless given)."""
        rng = self.rng
        route = list(itinerary) if itinerary is not None else self._itinerary()
        if len(route) < 2 or any(code not in ECONOMY_PROFILES for code in route):
            raise GeneratorConfigError(
                f"itinerary {route} needs at least two economies known to the sample data"
            )
        departure_economy, destination_economy = route[0], route[-1]
        office_of_departure = rng.choice(ECONOMY_PROFILES[departure_economy].customs_offices)
        destination_offices = [
            office
            for office in ECONOMY_PROFILES[destination_economy].customs_offices
            if office != office_of_departure
        ]
        office_of_destination = rng.choice(destination_offices)
        offices_of_transit = [
            rng.choice(ECONOMY_PROFILES[economy].customs_offices) for economy in route[1:-1]
        ]
        departure = self._instant()
        crossings = len(route) - 1
        time_limit = departure + timedelta(days=rng.randint(2, 5) * crossings)
        procedure, guarantee = self._transit_guarantee(route)
        # Korea reaches the Eurasian corridors by sea and rail only.
        mode = "MULTIMODAL" if "KR" in route else rng.choice(("ROAD", "ROAD", "RAIL"))
        if mode in {"ROAD", "MULTIMODAL"}:
            identification = f"{rng.randint(100, 999)}{self._letters(3)}{rng.randint(1, 20):02d}"
        else:
            identification = f"{rng.randint(10**7, 10**8 - 1)}"
        items = [
            self._goods_item(index, commodity, with_value=rng.random() < 0.7)
            for index, commodity in enumerate(self._commodities(departure_economy))
        ]
        for item in items:
            item.pop("container_numbers", None)
            item["country_of_origin"] = departure_economy
            if item["value"] is None:
                del item["value"]
        seals = sorted(
            {
                f"{departure_economy}{rng.randint(10**6, 10**7 - 1)}"
                for _ in range(rng.randint(1, 3))
            }
        )
        data = {
            "reference": self._reference(departure_economy, "TRN", departure.year),
            "issuer_economy": departure_economy,
            "destinations": route,
            "procedure": procedure,
            "holder": self._party(departure_economy),
            "office_of_departure": office_of_departure,
            "offices_of_transit": offices_of_transit,
            "office_of_destination": office_of_destination,
            "itinerary": route,
            "guarantee": guarantee,
            "seals": seals,
            "transport_means": {
                "mode": mode,
                "identification": identification,
                "nationality": departure_economy,
            },
            "goods_items": items,
            "departure": departure.isoformat(),
            "arrival_time_limit": time_limit.isoformat(),
        }
        return TransitDeclaration.model_validate(data)

    def certificate_of_origin(self, *, form: OriginForm | None = None) -> CertificateOfOrigin:
        """A stand-alone certificate of origin; the form follows the economies drawn."""
        exporter, importer = self._certificate_pair(form)
        chosen_form = form or self._form_for(exporter, importer)
        rng = self.rng
        mode: TransportMode = "AIR"
        if self._sea_possible(exporter, importer) and rng.random() < 0.6:
            mode = "SEA"
        departure_day = self._instant().date()
        profile_from, profile_to = ECONOMY_PROFILES[exporter], ECONOMY_PROFILES[importer]
        if mode == "SEA":
            loading = rng.choice(profile_from.seaports)
            discharge = rng.choice(profile_to.seaports)
            vessel = f"{rng.choice(VESSEL_NAMES)} V.{rng.randint(1, 52):03d}{rng.choice('EW')}"
        else:
            loading = rng.choice(profile_from.airports)
            discharge = rng.choice(profile_to.airports)
            airline = self._airline(exporter)
            vessel = f"{airline.designator}{rng.randint(100, 9999)}"
        items = [
            self._goods_item(index, commodity)
            for index, commodity in enumerate(self._commodities(exporter))
        ]
        return self._certificate(
            form=chosen_form,
            exporter_economy=exporter,
            importer_economy=importer,
            exporter=self._party(exporter),
            consignee=self._party(importer),
            departure_day=departure_day,
            vessel_or_flight=vessel,
            port_of_loading=loading,
            port_of_discharge=discharge,
            manifest_items=items,
            links=[],
        )

    def linked_certificate(
        self,
        manifest: PreArrivalManifest,
        *,
        inconsistencies: Iterable[Inconsistency] = (),
    ) -> CertificateOfOrigin:
        """A certificate of origin covering `manifest`, consistent unless `inconsistencies`
        asks for specific disagreements (the certificate itself stays valid)."""
        broken = set(inconsistencies)
        rng = self.rng
        exporter_economy = manifest.place_of_loading[:2]
        importer_economy = manifest.place_of_unloading[:2]
        means = manifest.transport_means
        if manifest.mode == "SEA":
            vessel = f"{means.name} V.{means.voyage_number}" if means.voyage_number else means.name
        else:
            vessel = str(means.flight_number)
        consignee = manifest.consignee.model_dump(mode="json")
        if Inconsistency.CONSIGNEE_NAME in broken:
            while consignee["name"] == manifest.consignee.name:
                consignee["name"] = self._company_name(ECONOMY_PROFILES[importer_economy])
        if Inconsistency.CONSIGNEE_COUNTRY in broken:
            others = [
                code for code in self.economies if code not in {importer_economy, exporter_economy}
            ]
            if not others:
                others = [
                    code
                    for code in sorted(ECONOMY_PROFILES)
                    if code not in {importer_economy, exporter_economy}
                ]
            consignee["address"] = self._address(rng.choice(others))
        port_of_discharge = manifest.place_of_unloading
        if Inconsistency.PORT_OF_DISCHARGE in broken:
            port_of_discharge = self._other_locode(importer_economy, port_of_discharge)
        departure_day = manifest.departure.date()
        if Inconsistency.DEPARTURE_DATE in broken:
            departure_day -= timedelta(days=rng.randint(20, 40))
        items = [item.model_dump(mode="json") for item in manifest.goods_items]
        if Inconsistency.HS_CODE in broken:
            present = {item.hs_code[:6] for item in manifest.goods_items}
            foreign = [c for c in COMMODITIES if c.hs6 not in present]
            replacement = rng.choice(foreign)
            target = rng.randrange(len(items))
            items[target] = self._goods_item(target, replacement)
        links = []
        if Inconsistency.MISSING_LINK not in broken:
            links.append(
                {
                    "document_type": DocumentType.PRE_ARRIVAL_MANIFEST.name,
                    "issuer_economy": manifest.issuer_economy,
                    "reference": manifest.reference,
                }
            )
        return self._certificate(
            form=self._form_for(exporter_economy, importer_economy),
            exporter_economy=exporter_economy,
            importer_economy=importer_economy,
            exporter=manifest.consignor.model_dump(mode="json"),
            consignee=consignee,
            departure_day=departure_day,
            vessel_or_flight=vessel,
            port_of_loading=manifest.place_of_loading,
            port_of_discharge=port_of_discharge,
            manifest_items=items,
            links=links,
        )

    def document(self, doc_type: DocumentType | int | str) -> Document:
        """One document of the given type."""
        kind = DocumentType.parse(doc_type)
        makers: dict[DocumentType, Callable[[], Document]] = {
            DocumentType.PRE_ARRIVAL_MANIFEST: self.manifest,
            DocumentType.TRANSIT_DECLARATION: self.transit_declaration,
            DocumentType.CERTIFICATE_OF_ORIGIN: self.certificate_of_origin,
        }
        return makers[kind]()

    def documents(
        self, count: int, doc_types: Sequence[DocumentType] = tuple(DocumentType)
    ) -> list[Document]:
        """`count` documents cycling through `doc_types` in order."""
        return [self.document(doc_types[index % len(doc_types)]) for index in range(count)]

    # --- routes and forms --------------------------------------------------------------------

    def _sea_possible(self, origin: str, destination: str) -> bool:
        a, b = ECONOMY_PROFILES[origin], ECONOMY_PROFILES[destination]
        return bool(a.seaports and b.seaports) and a.caspian == b.caspian

    def _manifest_route(
        self, mode: TransportMode | None, origin: str | None, destination: str | None
    ) -> tuple[TransportMode, str, str]:
        rng = self.rng
        pairs = [
            (a, b)
            for a in self.economies
            for b in self.economies
            if a != b
            and (origin is None or a == origin)
            and (destination is None or b == destination)
        ]
        if origin is not None and origin not in ECONOMY_PROFILES:
            raise GeneratorConfigError(f"no sample data for origin {origin!r}")
        if destination is not None and destination not in ECONOMY_PROFILES:
            raise GeneratorConfigError(f"no sample data for destination {destination!r}")
        if origin is not None and destination is not None and origin != destination:
            pairs = [(origin, destination)]
        sea_pairs = [pair for pair in pairs if self._sea_possible(*pair)]
        if mode is None:
            mode = "SEA" if sea_pairs and rng.random() < 0.6 else "AIR"
        candidates = sea_pairs if mode == "SEA" else pairs
        if not candidates:
            raise GeneratorConfigError(
                f"no {mode} route between the configured economies {list(self.economies)} "
                f"(origin={origin}, destination={destination})"
            )
        chosen_origin, chosen_destination = rng.choice(candidates)
        return mode, chosen_origin, chosen_destination

    def _itinerary(self) -> list[str]:
        rng = self.rng
        allowed = set(self.economies)
        neighbours: dict[str, list[str]] = {code: [] for code in self.economies}
        for a, b in TRANSIT_LINKS:
            if a in allowed and b in allowed:
                neighbours[a].append(b)
                neighbours[b].append(a)
        starts = [code for code in self.economies if neighbours[code]]
        if not starts:
            return rng.sample(list(self.economies), rng.randint(2, min(4, len(self.economies))))
        route = [rng.choice(starts)]
        target_length = rng.randint(2, 5)
        while len(route) < target_length:
            options = [code for code in neighbours[route[-1]] if code not in route]
            if not options:
                break
            route.append(rng.choice(options))
        return route

    def _transit_guarantee(self, route: list[str]) -> tuple[str, dict[str, Any]]:
        rng = self.rng
        if all(code in EU_MEMBERS for code in route):
            return "T1", {
                "type": "COMPREHENSIVE",
                "reference": f"{BASE_TIME.year % 100}{route[0]}{rng.randint(10**12, 10**13 - 1)}",
                "amount": {"amount": str(rng.randint(10, 200) * 1000), "currency": "EUR"},
            }
        if all(code in EAEU_MEMBERS for code in route):
            return "EAEU", {
                "type": "INDIVIDUAL_CASH",
                "reference": f"{route[0]}G{rng.randint(10**8, 10**9 - 1)}",
                "amount": {"amount": str(rng.randint(5, 80) * 1000), "currency": "USD"},
            }
        return "TIR", {
            "type": "TIR_CARNET",
            "reference": f"X{self._letters(1)}{rng.randint(10**7, 10**8 - 1)}",
            "amount": {"amount": "100000", "currency": "USD"},
        }

    def _certificate_pair(self, form: OriginForm | None) -> tuple[str, str]:
        rng = self.rng
        pairs = [(a, b) for a in self.economies for b in self.economies if a != b]
        if form is not None:
            pairs = [pair for pair in pairs if self._form_for(*pair) == form]
            if not pairs:
                raise GeneratorConfigError(
                    f"the configured economies {list(self.economies)} offer no pair that "
                    f"uses {form}"
                )
        return rng.choice(pairs)

    @staticmethod
    def _form_for(exporter: str, importer: str) -> OriginForm:
        asean = codelists.ASEAN_MEMBER_STATES
        if exporter in asean and importer in asean:
            return "FORM_D"
        if {exporter, importer} <= codelists.AKFTA_PARTIES:
            return "FORM_AK"
        return "GENERIC"

    def _certificate(
        self,
        *,
        form: OriginForm,
        exporter_economy: str,
        importer_economy: str,
        exporter: dict[str, Any],
        consignee: dict[str, Any],
        departure_day: date,
        vessel_or_flight: str,
        port_of_loading: str,
        port_of_discharge: str,
        manifest_items: list[dict[str, Any]],
        links: list[dict[str, Any]],
    ) -> CertificateOfOrigin:
        rng = self.rng
        profile = ECONOMY_PROFILES[exporter_economy]
        invoice_date = departure_day - timedelta(days=rng.randint(1, 20))
        invoice_number = f"INV-{invoice_date.year}-{rng.randint(1000, 99999)}"
        declared_on = departure_day - timedelta(days=rng.randint(0, 2))
        retroactive = rng.random() < 0.1
        certified_on = departure_day + timedelta(
            days=rng.randint(5, 60) if retroactive else rng.randint(0, 2)
        )
        certified_on = max(certified_on, declared_on)
        items = []
        for index, source in enumerate(manifest_items):
            criterion = self._criterion(form)
            hs_code = str(source["hs_code"])[:6] + rng.choice(("", "", "00", "90"))
            item: dict[str, Any] = {
                "sequence_number": index + 1,
                "packages": {
                    **source["packages"],
                    "marks": source["packages"].get("marks") or "N/M",
                },
                "description": source["description"],
                "hs_code": hs_code,
                "origin_criterion": criterion,
                "gross_weight_kg": source["gross_mass_kg"],
                "invoice_number": invoice_number,
                "invoice_date": invoice_date.isoformat(),
            }
            if criterion.startswith("RVC") or rng.random() < 0.5:
                item["fob_value"] = source["value"]
            items.append(item)
        third_country = rng.random() < 0.1
        flags: dict[str, Any] = {
            "third_country_invoicing": third_country,
            "back_to_back": False,
            "issued_retroactively": retroactive,
            "exhibition": False,
        }
        if form == "FORM_D":
            flags.update(
                {
                    "de_minimis": False,
                    "accumulation": rng.random() < 0.2,
                    "partial_cumulation": False,
                }
            )
        hub_cities = {"SG": "Singapore", "AE": "Dubai", "CH": "Zug", "HK": "Hong Kong"}
        hub = rng.choice(
            [
                code
                for code in sorted(hub_cities)
                if code not in {exporter_economy, importer_economy}
            ]
        )
        data: dict[str, Any] = {
            "reference": self._reference(exporter_economy, "CO", departure_day.year),
            "issuer_economy": exporter_economy,
            "destinations": [importer_economy],
            "links": links,
            "form": form,
            "issuing_authority": {"name": profile.issuing_authority, "economy": exporter_economy},
            "exporter": exporter,
            "consignee": consignee,
            "invoicing_party": (
                {
                    "name": f"{rng.choice(('Global', 'Pacific', 'Alpine', 'Orient'))} Trading Ltd",
                    "address": {
                        "street": f"{rng.randint(1, 200)} Harbour Road",
                        "city": hub_cities[hub],
                        "country": hub,
                    },
                }
                if third_country
                else None
            ),
            "departure_date": departure_day.isoformat(),
            "vessel_or_flight": vessel_or_flight,
            "port_of_loading": port_of_loading,
            "port_of_discharge": port_of_discharge,
            "items": items,
            "declaration": {
                "origin_country": exporter_economy,
                "importing_country": importer_economy,
                "place": profile.cities[0].name,
                "date": declared_on.isoformat(),
                "signatory": rng.choice(SIGNATORIES[exporter_economy]),
            },
            "certification": {
                "place": profile.cities[0].name,
                "date": certified_on.isoformat(),
                "officer": rng.choice(SIGNATORIES[exporter_economy]),
            },
            "flags": flags,
        }
        return CertificateOfOrigin.model_validate(data)

    def _criterion(self, form: str) -> str:
        rng = self.rng
        code = rng.choice(sorted(_CRITERIA_BY_FORM[form]))
        if code != "RVC":
            return code
        return f"RVC {rng.randint(max(RVC_MINIMUM[form], 35), 70)}%"

    # --- parts ---------------------------------------------------------------------------------

    def _instant(self) -> datetime:
        rng = self.rng
        return BASE_TIME + timedelta(days=rng.randint(0, 364), minutes=rng.randint(0, 24 * 60 - 1))

    def _reference(self, economy: str, kind: str, year: int) -> str:
        while True:
            reference = f"{economy}-{kind}-{year}-{self.rng.randint(1, 999_999):06d}"
            if reference not in self._used_references:
                self._used_references.add(reference)
                return reference

    def _letters(self, count: int) -> str:
        return "".join(self.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(count))

    def _company_name(self, profile: EconomyProfile) -> str:
        rng = self.rng
        template = rng.choice(profile.name_templates)
        return template.format(
            stem=rng.choice(profile.name_stems), sector=rng.choice(profile.name_sectors)
        )

    def _address(self, economy: str) -> dict[str, Any]:
        rng = self.rng
        city = rng.choice(ECONOMY_PROFILES[economy].cities)
        address: dict[str, Any] = {
            "street": f"{rng.choice(city.streets)} {rng.randint(1, 250)}",
            "city": city.name,
            "country": economy,
        }
        if city.postcode is not None:
            address["postcode"] = city.postcode
        return address

    def _party(self, economy: str) -> dict[str, Any]:
        rng = self.rng
        profile = ECONOMY_PROFILES[economy]
        digits = "".join(str(rng.randint(0, 9)) for _ in range(profile.tax_id_digits))
        value = f"{economy}{digits}" if profile.tax_scheme == "EORI" else digits
        party: dict[str, Any] = {
            "name": self._company_name(profile),
            "address": self._address(economy),
            "identifiers": [{"scheme": profile.tax_scheme, "value": value}],
        }
        if rng.random() < 0.35:
            party["aeo_id"] = f"{economy}AEO{rng.randint(1, 999_999):06d}"
        return party

    def _commodities(self, exporter: str) -> list[Commodity]:
        rng = self.rng
        local = [commodity for commodity in COMMODITIES if exporter in commodity.exporters]
        pool = local if local and rng.random() < 0.85 else list(COMMODITIES)
        count = rng.randint(1, min(self.max_goods_items, len(pool)))
        return rng.sample(pool, count)

    def _goods_item(
        self, index: int, commodity: Commodity, *, with_value: bool = True
    ) -> dict[str, Any]:
        rng = self.rng
        count = rng.randint(1, 40) if commodity.kg_per_package[0] >= 500 else rng.randint(10, 1200)
        mass = count * rng.uniform(*commodity.kg_per_package) * 1.02
        value = mass * rng.uniform(*commodity.usd_per_kg)
        suffix = rng.choice(("", "", "00", "10", "90", "0000", "1000"))
        return {
            "sequence_number": index + 1,
            "description": commodity.description,
            "hs_code": commodity.hs6 + suffix,
            "packages": {"count": count, "kind": commodity.package_kind},
            "gross_mass_kg": str(_decimal(mass, 3)),
            "value": {"amount": str(_decimal(value, 2)), "currency": "USD"} if with_value else None,
        }

    def _containers(self) -> list[dict[str, Any]]:
        rng = self.rng
        containers: list[dict[str, Any]] = []
        numbers: set[str] = set()
        wanted = rng.randint(1, 4)
        while len(containers) < wanted:
            body = f"{rng.choice(CONTAINER_OWNERS)}{rng.randint(0, 999_999):06d}"
            number = f"{body}{check_digits.iso6346_check_digit(body)}"
            if number in numbers:
                continue
            numbers.add(number)
            seals = sorted({f"SL{rng.randint(10**6, 10**7 - 1)}" for _ in range(rng.randint(1, 2))})
            containers.append(
                {"number": number, "size_type": rng.choice(CONTAINER_SIZE_TYPES), "seals": seals}
            )
        return containers

    def _imo_number(self) -> str:
        body = f"{self.rng.choice('98')}{self.rng.randint(0, 99_999):05d}"
        return f"{body}{check_digits.imo_check_digit(body)}"

    def _airline(self, origin: str) -> Airline:
        home = [airline for airline in AIRLINES if airline.home == origin]
        return self.rng.choice(home or list(AIRLINES))

    def _awb_number(self, airline: Airline) -> str:
        serial = f"{self.rng.randint(0, 9_999_999):07d}"
        return f"{airline.awb_prefix}{serial}{check_digits.awb_check_digit(serial)}"

    def _other_locode(self, economy: str, current: str) -> str:
        profile = ECONOMY_PROFILES[economy]
        options = sorted({*profile.seaports, *profile.airports} - {current})
        # UN/LOCODE reserves "ZZZ" for places it does not list.
        return self.rng.choice(options) if options else f"{economy}ZZZ"


# --- module-level shortcuts -----------------------------------------------------------------------


def generate_manifest(seed: int | str = 0, **options: Any) -> PreArrivalManifest:
    """One pre-arrival manifest for `seed` (options as `DocumentGenerator.manifest`)."""
    return DocumentGenerator(seed).manifest(**options)


def generate_transit_declaration(seed: int | str = 0, **options: Any) -> TransitDeclaration:
    """One transit declaration for `seed` (options as `DocumentGenerator.transit_declaration`)."""
    return DocumentGenerator(seed).transit_declaration(**options)


def generate_certificate_of_origin(seed: int | str = 0, **options: Any) -> CertificateOfOrigin:
    """One certificate of origin for `seed` (options as
    `DocumentGenerator.certificate_of_origin`)."""
    return DocumentGenerator(seed).certificate_of_origin(**options)


def generate_linked_co(
    manifest: PreArrivalManifest,
    *,
    seed: int | str | None = None,
    inconsistencies: Iterable[Inconsistency] = (),
) -> CertificateOfOrigin:
    """A certificate of origin covering `manifest`.

    Without `seed` the randomness is derived from the manifest's issuer and
    reference, so the same manifest always gets the same certificate.
    """
    if seed is None:
        seed = _seed_from(f"{manifest.issuer_economy}/{manifest.reference}")
    return DocumentGenerator(seed).linked_certificate(manifest, inconsistencies=inconsistencies)


def generate_documents(
    seed: int | str,
    count: int,
    *,
    doc_types: Sequence[DocumentType] = tuple(DocumentType),
    economies: Sequence[str] = DEFAULT_ECONOMIES,
) -> list[Document]:
    """`count` documents for `seed`, cycling through `doc_types`."""
    return DocumentGenerator(seed, economies=economies).documents(count, doc_types)
