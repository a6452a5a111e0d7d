"""Check-digit schemes: published examples, and every wrong check digit is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifests.check_digits import (
    awb_check_digit,
    imo_check_digit,
    is_valid_awb,
    is_valid_container_number,
    is_valid_imo,
    iso6346_check_digit,
)


def test_imo_published_example() -> None:
    # IMO 9074729: 9*7 + 0*6 + 7*5 + 4*4 + 7*3 + 2*2 = 139 -> 9.
    assert imo_check_digit("907472") == 9
    assert is_valid_imo("9074729")
    assert not is_valid_imo("9074728")


def test_iso6346_published_example() -> None:
    # CSQU3054383 is the standard's worked example.
    assert iso6346_check_digit("CSQU305438") == 3
    assert is_valid_container_number("CSQU3054383")
    assert not is_valid_container_number("CSQU3054384")


def test_iso6346_letter_values_skip_multiples_of_eleven() -> None:
    # K=21, L=23 (22 is skipped). KKKU000000: 21*(1+2+4) + 32*8 = 403 = 36*11 + 7 -> 7.
    assert iso6346_check_digit("KKKU000000") == 7
    # LLLU000000: 23*7 + 256 = 417 = 37*11 + 10 -> 10, written as 0. (A table that
    # did not skip 22 would give L=22 and 410 -> 3.)
    assert iso6346_check_digit("LLLU000000") == 0


def test_awb_mod7_example() -> None:
    # 1234567 = 7 * 176366 + 5.
    assert awb_check_digit("1234567") == 5
    assert is_valid_awb("17612345675")
    assert not is_valid_awb("17612345676")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (is_valid_imo, "907472"),
        (is_valid_imo, "IMO9074729"),
        (is_valid_container_number, "CSQ3054383"),
        (is_valid_container_number, "CSQX3054383"),
        (is_valid_container_number, "csqu3054383"),
        (is_valid_awb, "176-12345675"),
        (is_valid_awb, "1761234567"),
    ],
)
def test_non_canonical_shapes_are_not_valid(check: object, value: str) -> None:
    assert callable(check)
    assert check(value) is False


@given(st.from_regex(r"[0-9]{6}", fullmatch=True), st.integers(0, 9))
def test_imo_exactly_one_check_digit(body: str, digit: int) -> None:
    assert is_valid_imo(f"{body}{digit}") == (digit == imo_check_digit(body))


@given(st.from_regex(r"[A-Z]{3}[UJZ][0-9]{6}", fullmatch=True), st.integers(0, 9))
def test_container_exactly_one_check_digit(body: str, digit: int) -> None:
    assert is_valid_container_number(f"{body}{digit}") == (digit == iso6346_check_digit(body))


@given(st.from_regex(r"[0-9]{10}", fullmatch=True), st.integers(0, 9))
def test_awb_exactly_one_check_digit(body: str, digit: int) -> None:
    assert is_valid_awb(f"{body}{digit}") == (digit == int(body[3:10]) % 7)


@pytest.mark.parametrize(
    ("function", "argument"),
    [(imo_check_digit, "12345"), (iso6346_check_digit, "CSQU30543"), (awb_check_digit, "12a4567")],
)
def test_check_digit_functions_reject_bad_bodies(function: object, argument: str) -> None:
    assert callable(function)
    with pytest.raises(ValueError, match="expected"):
        function(argument)
