"""Hand-checked rules of promise.pnr: centuries, separators, leap years, serials, messages."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from promise.pnr import InvalidPersonnummer, luhn_digit, parse, parse_column, written_forms

pytestmark = pytest.mark.unit

REF = date(2025, 6, 1)


def test_luhn_digit_by_hand() -> None:
    # 811218-987: 8*2=16->7, 1, 1*2=2, 2, 1*2=2, 8, 9*2=18->9, 8, 7*2=14->5; sum 44 -> 10-4 = 6
    # (Skatteverket's own worked example is 811218-9876)
    assert luhn_digit("811218987") == 6


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("090527-1474", 2009),  # dash: the most recent year not after the reference date
        ("090527+1474", 1909),  # plus: turned 100
        ("0905271474", 2009),
        ("19090527-1474", 1909),  # explicit century wins
        (190905271474, 1909),
        ("  190905271474\t", 1909),
    ],
)
def test_century(value: object, year: int) -> None:
    assert parse(value, reference_date=REF).birth_date.year == year


def test_dash_form_born_later_in_the_year_than_the_delivery_is_a_century_earlier() -> None:
    # 251201: on 2025-06-01 nobody is born on 2025-12-01 yet, so it is 1925 (age 99, still '-')
    number = "251201-" + "002" + str(luhn_digit("251201002"))
    assert parse(number, reference_date=REF).birth_date == date(1925, 12, 1)


def test_plus_form_on_29_february_1900_is_invalid() -> None:
    nine = "000229239"
    with pytest.raises(InvalidPersonnummer):
        parse(f"000229+239{luhn_digit(nine)}", reference_date=REF)
    assert parse(f"000229-239{luhn_digit(nine)}", reference_date=REF).birth_date == date(
        2000, 2, 29
    )


def test_serial_000_is_invalid() -> None:
    with pytest.raises(InvalidPersonnummer, match="serial"):
        parse(f"19800101000{luhn_digit('800101000')}")


def test_message_never_echoes_the_number() -> None:
    with pytest.raises(InvalidPersonnummer) as info:
        parse("19800101-1235")
    assert "1235" not in str(info.value) and "800101" not in str(info.value)


def test_written_forms_of_a_centenarian_use_plus_and_drop_the_bare_short_form() -> None:
    forms = written_forms(parse("190905271474"), reference_date=REF)
    assert forms["short_separated"] == "090527+1474"
    assert "short" not in forms


def test_column_reasons() -> None:
    values = ["abc", "19800101-1235", f"19800101000{luhn_digit('800101000')}", "19800230-0000"]
    reasons = parse_column(pl.Series(values), reference_date=REF)["reason"].to_list()
    assert reasons[:3] == ["format", "check_digit", "serial"]
    assert reasons[3] in {"check_digit", "date"}


def test_future_birth_date_is_invalid() -> None:
    nine = "300101239"
    with pytest.raises(InvalidPersonnummer):
        parse(f"20300101239{luhn_digit(nine)}", reference_date=REF)
    assert (
        parse_column(pl.Series([f"20300101239{luhn_digit(nine)}"]), reference_date=REF)["reason"][0]
        == "future"
    )


def test_unicode_digits_are_not_digits_in_either_path() -> None:
    """Arabic-Indic digits of a valid number: str.isdigit says yes, a personnummer says no."""
    valid = "198112189876"
    arabic = valid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert arabic.isdigit()
    with pytest.raises(InvalidPersonnummer):
        parse(arabic)
    column = parse_column(pl.Series([arabic, valid]))
    assert column["reason"].to_list() == ["format", None]
