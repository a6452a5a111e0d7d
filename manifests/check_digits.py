"""Check-digit arithmetic of the transport identifiers the documents carry.

Owns the three schemes and nothing else: IMO ship identification numbers
(weighted sum mod 10), ISO 6346 freight container numbers (letter values,
powers of two, mod 11) and IATA air waybill numbers (serial mod 7). Each
scheme has a `*_check_digit` function that computes the digit from the body
and an `is_valid_*` predicate for a complete, canonical identifier; the
canonical shapes are described in each docstring. Used by the field types in
`manifests.datatypes` and by the sample generator.
"""

from __future__ import annotations

import re
import string

_IMO_RE = re.compile(r"[0-9]{7}")
_CONTAINER_RE = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
_AWB_RE = re.compile(r"[0-9]{11}")

# ISO 6346 letter values: A=10 onwards, skipping multiples of 11 (11, 22, 33).
_ISO6346_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in string.ascii_uppercase:
    if _value % 11 == 0:
        _value += 1
    _ISO6346_LETTER_VALUES[_letter] = _value
    _value += 1
del _value, _letter


def imo_check_digit(first_six_digits: str) -> int:
    """Check digit of an IMO number from its first six digits (weights 7..2, sum mod 10)."""
    if not re.fullmatch(r"[0-9]{6}", first_six_digits):
        raise ValueError(f"expected six digits, got {first_six_digits!r}")
    total = sum(
        int(digit) * weight for digit, weight in zip(first_six_digits, range(7, 1, -1), strict=True)
    )
    return total % 10


def is_valid_imo(number: str) -> bool:
    """True for a 7-digit IMO number (no "IMO" prefix) whose last digit checks."""
    if not _IMO_RE.fullmatch(number):
        return False
    return imo_check_digit(number[:6]) == int(number[6])


def iso6346_check_digit(first_ten: str) -> int:
    """Check digit of a container number from owner code, category and serial.

    `first_ten` is three owner letters, the category letter (U, J or Z) and six
    serial digits, e.g. ``CSQU305438`` -> 3.
    """
    if not re.fullmatch(r"[A-Z]{4}[0-9]{6}", first_ten):
        raise ValueError(f"expected four letters and six digits, got {first_ten!r}")
    total = 0
    for position, char in enumerate(first_ten):
        value = _ISO6346_LETTER_VALUES[char] if char.isalpha() else int(char)
        total += value * (1 << position)
    return total % 11 % 10


def is_valid_container_number(number: str) -> bool:
    """True for an 11-character ISO 6346 container number (no spaces) whose last digit checks."""
    if not _CONTAINER_RE.fullmatch(number):
        return False
    return iso6346_check_digit(number[:10]) == int(number[10])


def awb_check_digit(serial_first_seven: str) -> int:
    """Check digit of an air waybill serial: its first seven digits, as a number, mod 7."""
    if not re.fullmatch(r"[0-9]{7}", serial_first_seven):
        raise ValueError(f"expected seven digits, got {serial_first_seven!r}")
    return int(serial_first_seven) % 7


def is_valid_awb(number: str) -> bool:
    """True for an 11-digit air waybill number (3-digit airline prefix, 8-digit serial)
    whose last digit checks."""
    if not _AWB_RE.fullmatch(number):
        return False
    return awb_check_digit(number[3:10]) == int(number[10])
