"""Code lists and code shapes the document models validate against.

Owns: the ISO 3166-1 alpha-2 and ISO 4217 code sets (from `pycountry`, so they
follow its releases), the economies party to the free-trade agreements whose
certificate forms are modelled (ATIGA, AKFTA), and the regular expressions of
the structured codes (UN/LOCODE, HS code, customs office reference number,
flight number, ...). Validation itself (with rule names and messages) lives
in `manifests.datatypes`.
"""

from __future__ import annotations

import re
from typing import Final

import pycountry

COUNTRY_CODES: Final[frozenset[str]] = frozenset(c.alpha_2 for c in pycountry.countries)
"""ISO 3166-1 alpha-2 codes of the current (not withdrawn) countries."""

CURRENCY_CODES: Final[frozenset[str]] = frozenset(c.alpha_3 for c in pycountry.currencies)
"""ISO 4217 alphabetic currency codes."""

ASEAN_MEMBER_STATES: Final[frozenset[str]] = frozenset(
    {"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"}
)
"""Parties to the ASEAN Trade in Goods Agreement (ATIGA), users of Form D."""

AKFTA_PARTIES: Final[frozenset[str]] = ASEAN_MEMBER_STATES | {"KR"}
"""Parties to the ASEAN-Korea Trade in Goods Agreement (AKFTA), users of Form AK."""

UN_LOCODE_RE: Final = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")
"""UN/LOCODE: ISO 3166-1 alpha-2 country plus three characters from A-Z and 2-9."""

HS_CODE_RE: Final = re.compile(r"[0-9]{6}(?:[0-9]{2}){0,2}")
"""HS code: the 6-digit international subheading, optionally extended nationally to 8 or 10."""

HS_RESERVED_CHAPTERS: Final[frozenset[str]] = frozenset({"00", "77"})
"""HS chapters that classify nothing (00 does not exist, 77 is reserved for future use)."""

CUSTOMS_OFFICE_RE: Final = re.compile(r"[A-Z]{2}[A-Z0-9]{6}")
"""Customs office reference number: country code plus six characters, e.g. KZ000123."""

FLIGHT_NUMBER_RE: Final = re.compile(r"(?![0-9]{2})[A-Z0-9]{2}[A-Z]?[0-9]{1,4}[A-Z]?")
"""Flight number: IATA (2-character) or ICAO (3-letter) airline designator, 1-4 digits,
optional operational suffix; e.g. KC931, KE0291."""

DOCUMENT_REFERENCE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,34}")
"""Issuer reference numbers: 1-35 characters, letters, digits and / . _ - (not first)."""

IDENTIFIER_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9/.-]{0,34}")
"""Party identifiers, seals and transport document numbers: upper-case an..35."""

PACKAGE_KIND_RE: Final = re.compile(r"[0-9A-Z]{2}")
"""Kind of packages, UN/ECE Recommendation 21 code shape (e.g. CT carton, BG bag)."""

MEASURE_UNIT_RE: Final = re.compile(r"[0-9A-Z]{2,3}")
"""Unit of measure, UN/ECE Recommendation 20 code shape (e.g. KGM, NAR, LTR)."""
