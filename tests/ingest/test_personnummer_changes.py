"""SCB's changed personnummer: a pseudonymised change table, refused when it forks or cycles.

Every expected value is read off the hand-written rows below (Skatteverket test numbers);
person_id is worked out here with HMAC, independently of promise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promise.ingest import run_ingest
from promise.ingest.renumbering import ChangeTableError
from promise.warehouse import connect

from .handmade import bad_check_digit, pick_numbers, write_lines
from .identity_landing import person_id
from .scanner import scan, written_forms

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
HEADER = "TidigarePersonNr;PersonNr;Datum"


@pytest.fixture()
def p(reference_dir: Path) -> list[str]:
    return pick_numbers(reference_dir, 8, start=24000)


def _changes(landing: Path, lines: list[str], name: str = "pnr_changes_1.csv") -> Path:
    return write_lines(landing / "pnr_changes" / name, [HEADER, *lines])


def test_changes_load_as_pseudonyms_and_bad_rows_are_quarantined(
    p: list[str], tmp_path: Path, key_file: Path
) -> None:
    landing = tmp_path / "landing"
    _changes(
        landing,
        [
            f"{p[0]};{p[1]};20040601",  # line 2: loaded
            f"{p[1]};{p[2]};20070101",  # line 3: loaded (a chain p0 -> p1 -> p2)
            f"{p[3]};{p[3]};20070101",  # line 4: changed into itself -> not_allowed
            f"{bad_check_digit(p[4])};{p[5]};20070101",  # line 5: invalid_personnummer
            f"{p[6]};{p[7]};20071301",  # line 6: month 13 -> invalid_date
            f"{p[0]};{p[1]};20040601",  # line 7: duplicate_row
        ],
    )
    warehouse = tmp_path / "w"
    run_ingest(landing=landing, warehouse=warehouse, key_file=key_file)
    con = connect(warehouse)
    loaded = con.execute(
        "SELECT _source_line, old_person_id, new_person_id, change_date::VARCHAR "
        "FROM raw.pnr_changes ORDER BY 1"
    ).fetchall()
    pid = {i: person_id(key_file, n) for i, n in enumerate(p)}
    assert loaded == [(2, pid[0], pid[1], "2004-06-01"), (3, pid[1], pid[2], "2007-01-01")]
    reasons = con.execute(
        "SELECT line, reason, record FROM quarantine WHERE source = 'pnr_changes' ORDER BY line"
    ).fetchall()
    assert [(r[0], r[1]) for r in reasons] == [
        (4, "not_allowed"),
        (5, "invalid_personnummer"),
        (6, "invalid_date"),
        (7, "duplicate_row"),
    ]
    assert json.loads(reasons[1][2])["old_person_id"] == "***MASKED***"
    assert con.execute(
        "SELECT rows_in, rows_loaded, rows_quarantined FROM manifest"
    ).fetchone() == (
        6,
        2,
        4,
    )
    assert scan([warehouse], written_forms(set(p) | {bad_check_digit(p[4])})) == set()


def _refused(exc: pytest.ExceptionInfo[ChangeTableError], p: list[str]) -> str:
    message = str(exc.value)
    assert message.endswith("nothing was loaded.") and message.count(". ") == 0, message
    assert scan([], written_forms(set(p)), extra=(message,)) == set()
    return message


def test_a_change_table_with_a_cycle_is_refused_and_nothing_of_the_delivery_loads(
    p: list[str], tmp_path: Path, key_file: Path
) -> None:
    landing = tmp_path / "landing"
    _changes(
        landing,
        [
            f"{p[0]};{p[1]};20040601",  # line 2
            f"{p[5]};{p[6]};20040601",  # line 3: not on the cycle
            f"{p[1]};{p[2]};20070101",  # line 4
            f"{p[2]};{p[0]};20090101",  # line 5: back to p0, a cycle of three numbers
        ],
    )
    write_lines(
        landing / "population" / "rtb_population_1.csv",
        ["PersonNr;Kon;FodelseLand;FodelseLan;AterPnr", f"{p[3]};1;Sverige;01;0"],
    )
    warehouse = tmp_path / "w"
    with pytest.raises(ChangeTableError) as exc:
        run_ingest(landing=landing, warehouse=warehouse, key_file=key_file)
    message = _refused(exc, p)
    assert "form a cycle (3 numbers" in message and "line 2, 4, 5" in message
    assert not (warehouse / "raw").exists()  # the population file was not published either


def test_a_cycle_through_changes_already_loaded_is_refused(
    p: list[str], tmp_path: Path, key_file: Path
) -> None:
    first = tmp_path / "first"
    _changes(first, [f"{p[0]};{p[1]};20040601"])
    warehouse = tmp_path / "w"
    run_ingest(landing=first, warehouse=warehouse, key_file=key_file)
    second = tmp_path / "second"
    _changes(second, [f"{p[1]};{p[0]};20090101"], name="pnr_changes_2.csv")
    with pytest.raises(ChangeTableError) as exc:
        run_ingest(landing=second, warehouse=warehouse, key_file=key_file)
    assert "with the changes already loaded" in _refused(exc, p)
    manifest = connect(warehouse).execute("SELECT file FROM manifest").fetchall()
    assert manifest == [("pnr_changes/pnr_changes_1.csv",)]


def test_a_number_changed_into_two_numbers_is_refused(
    p: list[str], tmp_path: Path, key_file: Path
) -> None:
    landing = tmp_path / "landing"
    _changes(landing, [f"{p[0]};{p[1]};20040601", f"{p[0]};{p[2]};20050601"])
    with pytest.raises(ChangeTableError) as exc:
        run_ingest(landing=landing, warehouse=tmp_path / "w", key_file=key_file)
    assert "into more than one later number (line 2, 3" in _refused(exc, p)
    assert not (tmp_path / "w" / "raw").exists()
