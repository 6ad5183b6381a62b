"""promise.pnr against the cross-language personnummer test vectors (read in place)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from promise.pnr import InvalidPersonnummer, parse, parse_column

pytestmark = pytest.mark.reference

FORMS = ("integer", "long_format", "short_format", "separated_format", "separated_long")


def _load(reference_dir: Path, name: str) -> Any:
    return json.loads((reference_dir / "personnummer" / name).read_text())


def _is_valid(value: object, **kwargs: Any) -> bool:
    try:
        parse(value, **kwargs)
    except InvalidPersonnummer:
        return False
    return True


def test_list_json_every_form(reference_dir: Path) -> None:
    for case in _load(reference_dir, "list.json"):
        for form in FORMS:
            value = case[form]
            if form == "integer" and value == 0:
                continue
            assert _is_valid(value) == case["valid"], (form, case["type"])
            if case["valid"]:
                parsed = parse(value)
                assert parsed.is_coordination_number == (case["type"] == "con")
                assert (parsed.sex == "male") == case["isMale"]
                assert (parsed.sex == "female") == case["isFemale"]


def test_structured_json(reference_dir: Path) -> None:
    data = _load(reference_dir, "structured.json")
    for kind, groups in data.items():
        for representation in ("integer", "string"):
            for expected, values in groups[representation].items():
                for value in values:
                    assert _is_valid(value) == (expected == "valid"), (kind, representation)
                    if expected == "valid":
                        assert parse(value).is_coordination_number == (kind == "con")


def test_interim_numbers_rejected_by_default_and_accepted_on_request(reference_dir: Path) -> None:
    for case in _load(reference_dir, "interim.json"):
        for form in ("long_format", "short_format", "separated_format", "separated_long"):
            assert not _is_valid(case[form])
            assert _is_valid(case[form], allow_interim=True) == case["valid"]
            if case["valid"]:
                assert (parse(case[form], allow_interim=True).sex == "male") == case["isMale"]


def test_organisation_numbers_rejected(reference_dir: Path) -> None:
    for case in _load(reference_dir, "orgnumber.json"):
        for form in ("integer", "short_format", "separated_format"):
            assert not _is_valid(case[form])
        assert not parse_column(pl.Series([case["separated_format"]]))["valid"][0]


def _expected_birth(number: str) -> tuple[date, str]:
    """Birth date read off the digits by hand (coordination: day + 60, 00 = unknown)."""
    year, month, day = int(number[:4]), int(number[4:6]), int(number[6:8])
    if day > 60:
        day -= 60
    elif day == 60:
        day = 0
    if month == 0:
        return date(year, 1, 1), "year"
    if day == 0:
        return date(year, month, 1), "month"
    try:
        return date(year, month, day), "day"
    except ValueError:
        return date(year, month, 1), "month"


@pytest.mark.parametrize("name", ["allPins.json", "allCoords.json"])
def test_all_skatteverket_test_numbers(reference_dir: Path, name: str) -> None:
    numbers: list[str] = _load(reference_dir, name)
    expected_count = {"allPins.json": 41_129, "allCoords.json": 2_264}[name]
    assert len(numbers) == expected_count
    frame = parse_column(pl.Series(numbers)).with_columns(value=pl.Series(numbers))
    assert frame["valid"].all()
    assert (frame["normalized"] == frame["value"]).all()
    for row in frame.iter_rows(named=True):
        number = row["value"]
        scalar = parse(number)
        born, precision = _expected_birth(number)
        sex = "male" if int(number[10]) % 2 else "female"
        coordination = int(number[6:8]) >= 60
        assert (scalar.birth_date, scalar.birth_date_precision) == (born, precision)
        assert (row["birth_date"], row["birth_date_precision"]) == (born, precision)
        assert scalar.sex == row["sex"] == sex
        assert scalar.is_coordination_number == row["is_coordination_number"] == coordination
    if name == "allPins.json":
        assert frame["sex"].eq("male").sum() == 20_563  # counted by the reference's SOURCE.txt
