"""The Multi-Generation Register through ingestion: every person column pseudonymised, parents'
birth dates from their numbers, and the rows that cannot be true quarantined with their reason.

The file is written here by hand from Skatteverket test numbers chosen by birth year; every
expected value is read off the rows as written (one defect per bad row, marked).
"""

from __future__ import annotations

import hmac
import json
from datetime import date
from pathlib import Path

import pytest

from promise.ingest import run_ingest
from promise.pseudonym import load_key
from promise.warehouse import connect

from .handmade import bad_check_digit, short_form, warehouse_text, write_lines

pytestmark = pytest.mark.integration
DELIVERY = date(2025, 12, 31)
HEADER = "PersonNr;PersonNrMor;PersonNrFar;PersonNrAdoptivMor;PersonNrAdoptivFar"


def born(reference_dir: Path, year: str, sex: str, k: int = 0) -> str:
    """The k-th distinct 12-digit test number born in ``year`` of ``sex`` (ninth digit's parity)."""
    pins = json.loads((reference_dir / "personnummer" / "allPins.json").read_text())
    odd = sex == "male"
    found = [p for p in dict.fromkeys(pins) if p[:4] == year and int(p[10]) % 2 == odd]
    return found[k]


def pid(key_file: Path, normalized: str) -> str:
    """HMAC-SHA256 through the standard library, independent of promise.pseudonym."""
    return hmac.new(load_key(key_file), normalized.encode(), "sha256").hexdigest()[:24]


@pytest.fixture
def people(reference_dir: Path) -> dict[str, str]:
    return {
        "mother": born(reference_dir, "1950", "female"),
        "father": born(reference_dir, "1948", "male"),
        "child": born(reference_dir, "1980", "female", 1),
        "sibling": born(reference_dir, "1983", "male", 1),
        "adoptee": born(reference_dir, "1985", "male", 2),
        "adoptive_mother": born(reference_dir, "1955", "female", 3),
        "self_parent": born(reference_dir, "1970", "male", 4),
        "late_child": born(reference_dir, "1945", "female", 5),
        "young_father": born(reference_dir, "1975", "male", 6),
        "bad_mother": born(reference_dir, "1990", "female", 7),
        "orphan": born(reference_dir, "1940", "male", 8),
        "youngest": born(reference_dir, "1995", "female", 9),
    }


def test_parents_are_pseudonymised_and_impossible_rows_quarantined(
    tmp_path: Path, key_file: Path, people: dict[str, str]
) -> None:
    p = people
    lines = [
        HEADER,
        f"{p['child']};{p['mother']};{p['father']};;",
        # the same parents in other written forms: the pseudonyms must not depend on the form
        f"{short_form(p['sibling'])};{short_form(p['mother'])};{p['father'][2:]};;",
        f"{p['adoptee']};{p['mother']};;{p['adoptive_mother']};",
        f"{p['orphan']};;;;",  # no parent known: a valid row
        f"{p['self_parent']};{p['mother']};{p['self_parent']};;",  # father is the index person
        f"{p['late_child']};{p['mother']};;;",  # mother (1950) born after the child (1945)
        f"{p['youngest'][:8]}-{p['youngest'][8:]};;{p['young_father']};;",  # father 1975, child 1995
        f"{p['bad_mother']};{bad_check_digit(p['mother'])};;;",  # invalid mother's number
        f"{p['young_father']};;;;{p['young_father']}",  # adoptive father is the index person
    ]
    write_lines(tmp_path / "land" / "multigen" / "mgr_2024.csv", lines)
    (result,) = run_ingest(
        landing=tmp_path / "land", warehouse=tmp_path / "wh", key_file=key_file,
        reference_date=DELIVERY,
    )  # fmt: skip
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (9, 5, 4)
    con = connect(tmp_path / "wh")
    q = con.sql('SELECT line, "column", reason FROM quarantine ORDER BY line').fetchall()
    assert q == [
        (6, "PersonNrFar", "parent_is_index_person"),
        (7, "PersonNrMor", "parent_born_after_child"),
        (9, "PersonNrMor", "invalid_personnummer"),
        (10, "PersonNrAdoptivFar", "parent_is_index_person"),
    ]
    rows = con.sql(
        "SELECT _source_line, person_id, birth_date, mother_id, mother_birth_date, father_id, "
        "father_birth_date, adoptive_mother_id, adoptive_father_id FROM raw.multigen ORDER BY 1"
    ).fetchall()
    k = {name: pid(key_file, number) for name, number in p.items()}
    mother_born = date(1950, int(p["mother"][4:6]), int(p["mother"][6:8]))
    father_born = date(1948, int(p["father"][4:6]), int(p["father"][6:8]))
    assert [r[0] for r in rows] == [2, 3, 4, 5, 8]
    assert rows[0][1:7] == (
        k["child"], date(1980, int(p["child"][4:6]), int(p["child"][6:8])),
        k["mother"], mother_born, k["father"], father_born,
    )  # fmt: skip
    assert rows[1][3] == k["mother"] and rows[1][5] == k["father"]
    assert rows[2][3] == k["mother"] and rows[2][5] is None and rows[2][7] == k["adoptive_mother"]
    assert rows[3][3:] == (None,) * 6
    assert rows[4][1] == k["youngest"] and rows[4][5] == k["young_father"]


def test_no_number_of_anyone_reaches_the_warehouse(
    tmp_path: Path, key_file: Path, people: dict[str, str]
) -> None:
    p = people
    lines = [
        HEADER,
        f"{p['child']};{p['mother']};{p['father']};{p['adoptive_mother']};{p['young_father']}",
        f"{p['self_parent']};{p['mother']};{p['self_parent']};;",
        f"{p['late_child']};{p['mother']};{short_form(p['father'])};;",
        f"{p['bad_mother']};{bad_check_digit(p['mother'])};{p['father']};;",
        f"{p['orphan']};{p['mother']};{p['father']}",  # ragged: the line itself is kept as text
    ]
    write_lines(tmp_path / "land" / "multigen" / "mgr_2024.csv", lines)
    run_ingest(
        landing=tmp_path / "land", warehouse=tmp_path / "wh", key_file=key_file,
        reference_date=DELIVERY,
    )  # fmt: skip
    text = warehouse_text(tmp_path / "wh")
    for number in p.values():
        for form in (number, number[2:], short_form(number), f"{number[:8]}-{number[8:]}"):
            assert form not in text
    records = connect(tmp_path / "wh").sql("SELECT reason, record FROM quarantine").fetchall()
    by_reason = {reason: json.loads(record) for reason, record in records}
    assert by_reason["parent_is_index_person"]["father_id"] == pid(key_file, p["self_parent"])
    assert by_reason["invalid_personnummer"]["mother_id"] == "***MASKED***"
    assert by_reason["invalid_personnummer"]["father_id"] == pid(key_file, p["father"])
