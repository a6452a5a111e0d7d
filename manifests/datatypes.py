"""Constrained scalar types shared by the document models.

Owns every field-level format rule: each type is an `Annotated` alias whose
validator raises a `PydanticCustomError` named after its rule (for example
``hs_code.format``), so `manifests.parsing` can report the rule verbatim, and
whose JSON Schema carries the shape (pattern, lengths) so exported schemas say
what the model enforces. Rules a JSON Schema cannot express (check digits, code
lists, reserved HS chapters) are enforced by the validators only.

Canonical forms (what `model_dump(mode="json")` emits, so commitments are stable):
identifiers with check digits drop their presentation separators ("IMO 9074729"
-> "9074729", "176-12345675" -> "17612345675", "CSQU 305438 3" -> "CSQU3054383");
text is NFC-normalised; datetimes are converted to UTC; decimals are written as
JSON strings without exponent or trailing zeros ("1200.5").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from manifests import check_digits, codelists


def _fail(rule: str, message: str) -> PydanticCustomError:
    # No context: pydantic then uses the message verbatim, braces in user data included.
    return PydanticCustomError(rule, message)


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _string_schema(pattern: str, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": f"^{pattern}$", **extra})


# --- code lists --------------------------------------------------------------------


def check_country_code(value: str) -> str:
    """Validate an ISO 3166-1 alpha-2 code (upper case); rule ``country.code``."""
    if value not in codelists.COUNTRY_CODES:
        raise _fail(
            "country.code",
            f"{_shown(value)} is not an ISO 3166-1 alpha-2 country code; "
            "use two upper-case letters such as 'KZ' or 'KR'",
        )
    return value


def check_currency_code(value: str) -> str:
    """Validate an ISO 4217 alphabetic currency code; rule ``currency.code``."""
    if value not in codelists.CURRENCY_CODES:
        raise _fail(
            "currency.code",
            f"{_shown(value)} is not an ISO 4217 currency code; "
            "use three upper-case letters such as 'USD' or 'KZT'",
        )
    return value


def check_un_locode(value: str) -> str:
    """Validate a UN/LOCODE's shape and country part; rules ``locode.format``,
    ``locode.country``."""
    if not codelists.UN_LOCODE_RE.fullmatch(value):
        raise _fail(
            "locode.format",
            f"{_shown(value)} is not a UN/LOCODE; use the 2-letter country code followed by "
            "3 characters from A-Z and 2-9 without spaces, e.g. 'KZALA'",
        )
    if value[:2] not in codelists.COUNTRY_CODES:
        raise _fail(
            "locode.country",
            f"UN/LOCODE {_shown(value)} starts with {value[:2]!r}, which is not an "
            "ISO 3166-1 alpha-2 country code",
        )
    return value


def check_hs_code(value: str) -> str:
    """Validate an HS code of 6, 8 or 10 digits; rules ``hs_code.format``, ``hs_code.chapter``."""
    if not codelists.HS_CODE_RE.fullmatch(value):
        raise _fail(
            "hs_code.format",
            f"{_shown(value)} is not an HS code; give 6, 8 or 10 digits without dots "
            "or spaces, e.g. '520100' or '8703231990'",
        )
    if value[:2] in codelists.HS_RESERVED_CHAPTERS:
        raise _fail(
            "hs_code.chapter",
            f"HS code {value!r} is in chapter {value[:2]}, which classifies no goods; "
            "check the classification",
        )
    return value


def check_customs_office(value: str) -> str:
    """Validate a customs office reference number; rules ``office.format``, ``office.country``."""
    if not codelists.CUSTOMS_OFFICE_RE.fullmatch(value):
        raise _fail(
            "office.format",
            f"{_shown(value)} is not a customs office reference number; use the country "
            "code followed by six letters or digits, e.g. 'KZ000123'",
        )
    if value[:2] not in codelists.COUNTRY_CODES:
        raise _fail(
            "office.country",
            f"customs office {value!r} starts with {value[:2]!r}, which is not an "
            "ISO 3166-1 alpha-2 country code",
        )
    return value


# --- identifiers with check digits ---------------------------------------------------

_IMO_RE: Final = re.compile(r"(?:IMO ?)?([0-9]{7})")


def check_imo_number(value: str) -> str:
    """Validate an IMO ship number and return its 7 digits; rules ``imo_number.format``,
    ``imo_number.check_digit``."""
    match = _IMO_RE.fullmatch(value)
    if match is None:
        raise _fail(
            "imo_number.format",
            f"{_shown(value)} is not an IMO number; give 7 digits, optionally after "
            "'IMO ', e.g. 'IMO 9074729'",
        )
    digits = match.group(1)
    if not check_digits.is_valid_imo(digits):
        expected = check_digits.imo_check_digit(digits[:6])
        raise _fail(
            "imo_number.check_digit",
            f"IMO number {digits} fails its check digit (last digit should be {expected}); "
            "check the number against the ship's certificate",
        )
    return digits


_CONTAINER_RE: Final = re.compile(r"([A-Z]{3}[UJZ]) ?([0-9]{6}) ?([0-9])")


def check_container_number(value: str) -> str:
    """Validate an ISO 6346 container number and return it without spaces; rules
    ``container_number.format``, ``container_number.check_digit``."""
    match = _CONTAINER_RE.fullmatch(value)
    if match is None:
        raise _fail(
            "container_number.format",
            f"{_shown(value)} is not an ISO 6346 container number; give 3 owner letters, "
            "the category letter U, J or Z, 6 serial digits and the check digit, "
            "e.g. 'CSQU3054383'",
        )
    compact = "".join(match.groups())
    if not check_digits.is_valid_container_number(compact):
        expected = check_digits.iso6346_check_digit(compact[:10])
        raise _fail(
            "container_number.check_digit",
            f"container number {compact} fails its ISO 6346 check digit (last digit "
            f"should be {expected}); check the number on the container",
        )
    return compact


def check_awb_number(value: str) -> str:
    """Validate an air waybill number and return its 11 digits; rules ``awb.format``,
    ``awb.check_digit``."""
    compact = value.replace("-", "", 1) if len(value) == 12 and value[3:4] == "-" else value
    if not re.fullmatch(r"[0-9]{11}", compact):
        raise _fail(
            "awb.format",
            f"{_shown(value)} is not an air waybill number; give the 3-digit airline "
            "prefix and the 8-digit serial, e.g. '176-12345675'",
        )
    if not check_digits.is_valid_awb(compact):
        expected = check_digits.awb_check_digit(compact[3:10])
        raise _fail(
            "awb.check_digit",
            f"air waybill {compact[:3]}-{compact[3:]} fails its mod-7 check digit (last "
            f"digit should be {expected}); check the number on the waybill",
        )
    return compact


# --- other structured codes ------------------------------------------------------------


def _shape_check(
    rule: str, regex: re.Pattern[str], what: str, example: str
) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise _fail(rule, f"{_shown(value)} is not {what}; e.g. {example!r}")
        return value

    return check


check_flight_number = _shape_check(
    "flight_number.format",
    codelists.FLIGHT_NUMBER_RE,
    "a flight number (airline designator, 1-4 digits, optional suffix, no spaces)",
    "KC931",
)
check_document_reference = _shape_check(
    "reference.format",
    codelists.DOCUMENT_REFERENCE_RE,
    "a reference number (1-35 letters, digits and / . _ -, starting with a letter or digit)",
    "KZ-MAN-2025-000123",
)
check_identifier = _shape_check(
    "identifier.format",
    codelists.IDENTIFIER_RE,
    "an identifier (1-35 upper-case letters, digits and / . -, no spaces)",
    "MSCUKZ1234567",
)
check_package_kind = _shape_check(
    "package_kind.format",
    codelists.PACKAGE_KIND_RE,
    "a UN/ECE Recommendation 21 package code (2 upper-case letters or digits)",
    "CT",
)
check_measure_unit = _shape_check(
    "unit.format",
    codelists.MEASURE_UNIT_RE,
    "a UN/ECE Recommendation 20 unit code (2-3 upper-case letters or digits)",
    "KGM",
)


def check_aeo_id(value: str) -> str:
    """Validate an AEO authorisation identifier; rule ``aeo_id.format``."""
    if not re.fullmatch(r"[A-Z]{2}[A-Z0-9]{1,33}", value) or (
        value[:2] not in codelists.COUNTRY_CODES
    ):
        raise _fail(
            "aeo_id.format",
            f"{_shown(value)} is not an AEO identifier; give the issuing economy's "
            "ISO 3166-1 alpha-2 code followed by up to 33 upper-case letters or digits, "
            "e.g. 'KZAEO000123'",
        )
    return value


# --- text ---------------------------------------------------------------------------------


def _nfc(value: object) -> object:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


# Explicit embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they reorder
# what a reader sees ("Trojan Source", CVE-2021-42574), so a name could display as another.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _text_check(multiline: bool) -> Callable[[str], str]:
    allowed_controls = {"\n"} if multiline else set()

    def check(value: str) -> str:
        if value != value.strip():
            raise _fail(
                "text.whitespace",
                "text starts or ends with white space; remove the leading and trailing "
                "spaces or line breaks",
            )
        for char in value:
            category = unicodedata.category(char)
            if (category == "Cc" and char not in allowed_controls) or category == "Cs":
                raise _fail(
                    "text.control_character",
                    f"text contains the control character U+{ord(char):04X}; remove it"
                    + ("" if multiline else " (line breaks are not allowed in this field)"),
                )
            if char in BIDI_CONTROLS:
                raise _fail(
                    "text.bidi_control",
                    f"text contains the bidirectional control U+{ord(char):04X}, which can "
                    "make a name display differently from what it is; remove it (right-to-left "
                    "letters themselves are fine)",
                )
        return value

    return check


_check_line_text = _text_check(multiline=False)
_check_multiline_text = _text_check(multiline=True)

# Text rules: ``string.too_short``/``string.too_long`` (length in code points, after NFC),
# ``text.whitespace`` (leading/trailing white space), ``text.control_character``
# (control characters; `FreeText` may contain line feeds), ``text.bidi_control``
# (bidirectional embeddings, overrides and isolates). The NFC step is outermost so
# lengths are checked on the normalised text the model stores.
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=70),
    AfterValidator(_check_line_text),
    BeforeValidator(_nfc),
]
"""A party, vessel or place name: one line, 1-70 characters."""

ShortText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=35),
    AfterValidator(_check_line_text),
    BeforeValidator(_nfc),
]
"""A short single-line text (city, voyage, signatory): 1-35 characters."""

FreeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512),
    AfterValidator(_check_multiline_text),
    BeforeValidator(_nfc),
]
"""Free text that may span lines (goods description, marks): 1-512 characters."""


# --- annotated code types --------------------------------------------------------------------

CountryCode = Annotated[
    str,
    AfterValidator(check_country_code),
    _string_schema("[A-Z]{2}"),
]
CurrencyCode = Annotated[
    str,
    AfterValidator(check_currency_code),
    _string_schema("[A-Z]{3}"),
]
UnLocode = Annotated[
    str,
    AfterValidator(check_un_locode),
    _string_schema("[A-Z]{2}[A-Z2-9]{3}"),
]
HsCode = Annotated[
    str,
    AfterValidator(check_hs_code),
    _string_schema("[0-9]{6}([0-9]{2}){0,2}"),
]
CustomsOfficeRef = Annotated[
    str,
    AfterValidator(check_customs_office),
    _string_schema("[A-Z]{2}[A-Z0-9]{6}"),
]
ImoNumber = Annotated[
    str,
    AfterValidator(check_imo_number),
    _string_schema("(IMO ?)?[0-9]{7}"),
]
ContainerNumber = Annotated[
    str,
    AfterValidator(check_container_number),
    _string_schema("[A-Z]{3}[UJZ] ?[0-9]{6} ?[0-9]"),
]
AwbNumber = Annotated[
    str,
    AfterValidator(check_awb_number),
    _string_schema("[0-9]{3}-?[0-9]{8}"),
]
FlightNumber = Annotated[
    str,
    AfterValidator(check_flight_number),
    _string_schema(codelists.FLIGHT_NUMBER_RE.pattern),
]
DocumentReference = Annotated[
    str,
    AfterValidator(check_document_reference),
    _string_schema(codelists.DOCUMENT_REFERENCE_RE.pattern),
]
Identifier = Annotated[
    str,
    AfterValidator(check_identifier),
    _string_schema(codelists.IDENTIFIER_RE.pattern),
]
AeoId = Annotated[
    str,
    AfterValidator(check_aeo_id),
    _string_schema("[A-Z]{2}[A-Z0-9]{1,33}"),
]
PackageKind = Annotated[
    str,
    AfterValidator(check_package_kind),
    _string_schema(codelists.PACKAGE_KIND_RE.pattern),
]
MeasureUnit = Annotated[
    str,
    AfterValidator(check_measure_unit),
    _string_schema(codelists.MEASURE_UNIT_RE.pattern),
]

# --- numbers and times ---------------------------------------------------------------------------


def canonical_decimal(value: Decimal) -> str:
    """The canonical JSON text of a decimal: no exponent, no trailing zeros ("1200.5")."""
    text_value = format(value.normalize(), "f")
    return "0" if text_value in {"-0", "0"} else text_value


_DECIMAL_SERIALIZER = PlainSerializer(canonical_decimal, return_type=str, when_used="json")

PositiveAmount = Annotated[
    Decimal,
    Field(gt=0, max_digits=18, decimal_places=3),
    _DECIMAL_SERIALIZER,
]
"""A positive money amount with at most 3 decimal places (enough for every ISO 4217 minor unit)."""

PositiveMass = Annotated[
    Decimal,
    Field(gt=0, max_digits=15, decimal_places=3),
    _DECIMAL_SERIALIZER,
]
"""A positive mass in kilograms with at most 3 decimal places (grams)."""

PositiveQuantity = Annotated[
    Decimal,
    Field(gt=0, max_digits=15, decimal_places=3),
    _DECIMAL_SERIALIZER,
]
"""A positive quantity in the accompanying unit of measure."""

SequenceNumber = Annotated[int, Field(ge=1, le=99_999)]
PackageCount = Annotated[int, Field(ge=1, le=99_999_999)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A date and time with an explicit offset, stored (and serialised) in UTC."""
