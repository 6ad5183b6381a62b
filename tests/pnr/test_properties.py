"""Generative tests: any input parses to a checked 12-digit number or raises InvalidPersonnummer;
written forms round-trip to the same pseudonym; the scalar and column paths agree."""

from __future__ import annotations

import hmac
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promise.pnr import InvalidPersonnummer, luhn_digit, parse, parse_column, written_forms
from promise.pseudonym import Pseudonymizer

pytestmark = pytest.mark.unit

REF = date(2025, 6, 1)
KEY = b"0123456789abcdef0123456789abcdef"

digits = st.text(alphabet="0123456789", min_size=10, max_size=12)
shaped = st.builds(
    lambda c, d, s, n: f"{c}{d}{s}{n}",
    st.sampled_from(["", "19", "20", "18"]),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.sampled_from(["", "-", "+", " "]),
    st.text(alphabet="0123456789TRSE", min_size=4, max_size=4),
)
anything = st.one_of(st.text(), digits, shaped, st.integers(), st.none(), st.floats())


@given(anything)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_parse_returns_a_checked_number_or_raises(value: object) -> None:
    try:
        parsed = parse(value, reference_date=REF)
    except InvalidPersonnummer:
        return
    n = parsed.normalized
    assert len(n) == 12 and n.isdigit()
    assert luhn_digit(n[2:11]) == int(n[11])


@given(st.lists(st.one_of(digits, shaped), min_size=1, max_size=40))
@settings(max_examples=200)
def test_scalar_and_column_paths_agree(values: list[str]) -> None:
    frame = parse_column(pl.Series(values, dtype=pl.Utf8), reference_date=REF)
    for value, row in zip(values, frame.iter_rows(named=True), strict=True):
        try:
            parsed = parse(value, reference_date=REF)
        except InvalidPersonnummer:
            assert not row["valid"], value
            continue
        assert row["valid"]
        assert row["normalized"] == parsed.normalized
        assert row["birth_date"] == parsed.birth_date
        assert row["sex"] == parsed.sex


@pytest.fixture(scope="module")
def pins(reference_dir: Path) -> list[str]:
    numbers: list[str] = json.loads((reference_dir / "personnummer" / "allPins.json").read_text())
    coords: list[str] = json.loads((reference_dir / "personnummer" / "allCoords.json").read_text())
    return numbers + coords


@given(data=st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_written_form_gives_the_same_person_id(pins: list[str], data: st.DataObject) -> None:
    number = data.draw(st.sampled_from(pins))
    pseudonymizer = Pseudonymizer(KEY)
    parsed = parse(number, reference_date=REF)
    # independent implementation of the pseudonym: the standard library's hmac
    expected = hmac.new(KEY, number.encode(), "sha256").hexdigest()[:24]
    for form in written_forms(parsed, reference_date=REF).values():
        again = parse(form, reference_date=REF)
        assert pseudonymizer.person_id(again.normalized) == expected
    column = parse_column(
        pl.Series(list(written_forms(parsed, reference_date=REF).values())), reference_date=REF
    )
    assert set(pseudonymizer.person_ids(column["normalized"]).to_list()) == {expected}
