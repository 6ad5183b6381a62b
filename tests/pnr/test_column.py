"""The column path's reading of text and its look-up tables, against the scalar path and
the standard library's calendar."""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promise.pnr import InvalidPersonnummer, luhn_digit, parse, parse_column
from promise.pnr.column import (
    MMDD,
    PRECISIONS,
    after_reference_table,
    calendar_table,
    year_table,
)

pytestmark = pytest.mark.unit

REF = date(2025, 6, 1)
EPOCH = date(1970, 1, 1)


def _agree(values: list[object], reference: date = REF) -> None:
    """Every row of parse_column says what the scalar parse says of the same value."""
    frame = parse_column(pl.Series(values), reference_date=reference)
    for value, row in zip(values, frame.iter_rows(named=True), strict=True):
        try:
            parsed = parse(value, reference_date=reference)
        except InvalidPersonnummer as exc:
            assert not row["valid"], value
            assert row["normalized"] is None and row["birth_date"] is None
            assert (row["reason"] == "format") == ("format" in str(exc)), (value, str(exc))
            continue
        assert row["valid"] and row["reason"] is None, value
        assert row["normalized"] == parsed.normalized
        assert row["birth_date"] == parsed.birth_date
        assert row["birth_date_precision"] == parsed.birth_date_precision
        assert row["sex"] == parsed.sex
        assert row["is_coordination_number"] == parsed.is_coordination_number


# ASCII text made of what a number is written with, in any order and length
written = st.text(alphabet="0123456789-+ \t", min_size=0, max_size=15)


@given(st.lists(written, min_size=1, max_size=30))
@settings(max_examples=300)
def test_any_arrangement_of_digits_signs_and_spaces(values: list[str]) -> None:
    _agree(values)


@pytest.fixture(scope="module")
def pins(reference_dir: Path) -> list[str]:
    folder = reference_dir / "personnummer"
    numbers: list[str] = json.loads((folder / "allPins.json").read_text())
    coords: list[str] = json.loads((folder / "allCoords.json").read_text())
    return numbers + coords


@given(data=st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_valid_numbers_with_a_character_put_anywhere(pins: list[str], data: st.DataObject) -> None:
    """A sign or separator in the wrong place, a digit too many or too few: rejected as format."""
    number = data.draw(st.sampled_from(pins))
    cut = data.draw(st.sampled_from([number, number[2:]]))
    at = data.draw(st.integers(0, len(cut)))
    char = data.draw(st.sampled_from(["-", "+", " ", "0", ""]))
    drop = data.draw(st.booleans())
    mutated = cut[:at] + char + (cut[at + 1 :] if drop else cut[at:])
    _agree([mutated, cut, number])


def test_year_zero_is_no_birth_date() -> None:
    """Hypothesis found '000006222392' (a valid number with its first digit put to 0): the
    column path dated it to year 0, which has no date; the scalar path rejects it."""
    _agree(["000006222392", "00000622-2392", "000101010008", "000006222392"])
    frame = parse_column(pl.Series(["000006222392"]), reference_date=REF)
    assert frame.row(0, named=True)["reason"] == "date"


def test_signs_and_separators_by_hand() -> None:
    values = [
        "+0905271474",  # a sign is not a digit
        "-0905271474",
        "+090527-1474",
        "090527--1474",
        "090527-+1474",
        "09052-71474",  # separator in the wrong place
        "0905271-474",
        "19090527+-1474",
        "190905271474-",
        "-190905271474",
        "19090527 1474",
        " 19090527-1474\t",  # surrounding whitespace is allowed
        "090527+1474",
        "19090527+1474",  # a plus with a century: the century wins
        "0905271474",
        "",
    ]
    _agree(values)


def test_non_ascii_digits_are_rejected_not_raised() -> None:
    # Arabic-Indic and full-width digits: not a personnummer in any register
    frame = parse_column(pl.Series(["١٩٠٩٠٥٢٧١٤٧٤", "１９０９０５２７１４７４", "190905271474"]))
    assert frame["valid"].to_list() == [False, False, True]
    assert frame["reason"].to_list() == ["format", "format", None]


def test_years_before_1000_are_zero_padded() -> None:
    frame = parse_column(pl.Series(["090905271474", "190905271474"]), reference_date=REF)
    assert frame["normalized"].to_list() == ["090905271474", "190905271474"]
    _agree(["090905271474", "190905271474"])


def test_century_inference_around_the_reference_day() -> None:
    """10-digit forms born in the reference's year two digits, just before and after its day."""
    values = []
    for month, day in [(5, 31), (6, 1), (6, 2), (0, 0), (6, 0), (12, 31), (1, 1)]:
        for written_day in {day, day + 60}:
            for sep in ("-", "+", ""):
                nine = f"25{month:02d}{written_day:02d}123"
                values.append(f"{nine[:6]}{sep}{nine[6:]}{luhn_digit(nine)}")
    frame = parse_column(pl.Series(values), reference_date=REF)
    assert frame["valid"].sum() > 10
    _agree(values)


def test_integer_column_agrees_with_scalar() -> None:
    _agree([905271474, 190905271474, 9052714, -905271474, 10**13, 0])


def test_empty_and_null_columns() -> None:
    assert parse_column(pl.Series([], dtype=pl.Utf8)).height == 0
    frame = parse_column(pl.Series([None, None], dtype=pl.Utf8))
    assert frame["valid"].to_list() == [False, False]
    assert frame["reason"].to_list() == ["format", "format"]


def test_year_table_matches_the_calendar() -> None:
    table = year_table()
    for year in range(1, 10_000):
        assert table["jan1"][year] == (date(year, 1, 1) - EPOCH).days, year
        assert table["leap"][year] == calendar.isleap(year), year
    # year 0 has no date (Python's calendar starts at year 1), so no number can be born in it
    assert table["jan1"][0] is None


def test_calendar_table_by_hand() -> None:
    table = calendar_table()

    def at(leap: int, mmdd: int) -> tuple[int | None, str | None]:
        row = table.row(leap * MMDD + mmdd, named=True)
        code = row["precision"]
        return row["day_of_year"], None if code is None else PRECISIONS[code]

    assert at(0, 101) == (0, "day")
    assert at(0, 1231) == (364, "day")
    assert at(1, 1231) == (365, "day")
    assert at(0, 229) == (None, None)  # 29 February of a common year
    assert at(1, 229) == (59, "day")
    assert at(0, 289) == (31, "month")  # coordination 29 February, common year: day unknown
    assert at(1, 289) == (59, "day")
    assert at(0, 460) == (90, "month")  # coordination day 00: unknown day of April
    assert at(0, 75) == (0, "year")  # coordination month 00: unknown month
    assert at(0, 15) == (None, None)  # month 00 of a personnummer
    assert at(0, 1301) == (None, None)
    assert at(0, 132) == (None, None)
    assert at(0, 192) == (None, None)  # coordination day 32
    for mmdd in range(101, 1232):
        month, day = divmod(mmdd, 100)
        try:
            born = date(2001, month, day)
        except ValueError:
            continue
        assert at(0, mmdd) == ((born - date(2001, 1, 1)).days, "day")


def test_after_reference_table_by_hand() -> None:
    table = after_reference_table(date(2025, 6, 15))
    assert not table[615] and table[616] and not table[1] and not table[614]
    assert table[676]  # coordination day 16 June
    assert not table[600]  # day 00 read as 1 June
    assert not table[0] and table[1300]
    reference = date(2025, 1, 1)
    for day in range(0, 366, 9):
        moment = reference + timedelta(days=day)
        assert not after_reference_table(moment)[moment.month * 100 + moment.day]
