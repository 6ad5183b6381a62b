"""`promise export`: disclosure control where aggregates leave (issue 15).

Before: `promise.disclosure.protect` was called by no command; the prevalence analysis
released its population column unsuppressed (populations of 1 and 3); the threshold was a
dbt variable anyone could set to 1; two runs with different age bands recovered a suppressed
count by differencing; and nothing recorded what left. `promise export` did not exist, so
every test here failed.

True counts come from an independent computation in this file (Polars over the marts, not
the analysis SQL); the protection is checked with the independent solver of independent.py.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest
from independent import determined, lp_range
from privacy_site import Site

from promise.cli import main
from promise.privacy.disclosure import protect
from promise.privacy.specs import load_spec

pytestmark = pytest.mark.integration

ON_DATE = date(2020, 1, 1)
BANDS = [0, 30, 40, 50, 60, 70, 80]
LABELS = ["0-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]


@pytest.fixture()
def warehouse(site: Site, tmp_path: Path) -> Path:
    """A copy of the site's warehouse, so that each test starts with an empty audit."""
    copy = tmp_path / "warehouse"
    shutil.copytree(site.warehouse, copy)
    return copy


def export(warehouse: Path, target: str, out: Path, *args: str) -> int:
    return main(["export", target, "--out", str(out), "--warehouse", str(warehouse), *args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def audit_lines(warehouse: Path) -> list[dict[str, Any]]:
    path = warehouse / "exports" / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []


def completed_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def true_prevalence(warehouse: Path, edges: list[int]) -> dict[tuple[str, int], tuple[int, int]]:
    """(sex, band index) -> (population, E4_DM2 cases) on ON_DATE, computed here in Polars:
    residents are people with an observation period covering the date and a known sex."""
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        periods = con.sql(
            "SELECT person_id, start_date, end_date FROM marts.observation_period"
        ).pl()
        people = con.sql("SELECT person_id, sex, birth_date FROM marts.person").pl()
        cases = con.sql(
            "SELECT person_id, first_event_date FROM marts.endpoint_case WHERE endpoint = 'E4_DM2'"
        ).pl()
    finally:
        con.close()
    resident = set(
        periods.filter((pl.col("start_date") <= ON_DATE) & (pl.col("end_date") >= ON_DATE))[
            "person_id"
        ].to_list()
    )
    ill = set(cases.filter(pl.col("first_event_date") <= ON_DATE)["person_id"].to_list())
    table: dict[tuple[str, int], list[int]] = {}
    for person, sex, born in people.iter_rows():
        if person not in resident or sex is None:
            continue
        band = bisect.bisect_right(edges, completed_years(born, ON_DATE)) - 1
        cell = table.setdefault((sex, band), [0, 0])
        cell[0] += 1
        cell[1] += person in ill
    return {k: (v[0], v[1]) for k, v in table.items()}


def grid(truth: dict[tuple[str, int], tuple[int, int]], which: int) -> np.ndarray:
    sexes = sorted({s for s, _ in truth})
    return np.array(
        [[truth.get((s, b), (0, 0))[which] for b in range(len(BANDS))] for s in sexes],
        dtype=np.int64,
    )


def released_grid(rows: list[dict[str, str]], column: str) -> tuple[np.ndarray, np.ndarray]:
    sexes = sorted({r["sex"] for r in rows})
    values = np.full((len(sexes), len(LABELS)), np.nan)
    hidden = np.zeros(values.shape, dtype=bool)
    for r in rows:
        cell = (sexes.index(r["sex"]), LABELS.index(r["age_band"]))
        hidden[cell] = r[f"{column}_suppressed"] == "true"
        values[cell] = np.nan if hidden[cell] else float(r[column])
    return values, hidden


def test_prevalence_releases_no_small_population_nor_case(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "prevalence.csv"
    assert export(warehouse, "prevalence", out) == 0, capsys.readouterr().err
    rows = read_csv(out)
    truth = true_prevalence(warehouse, BANDS)
    small_populations = 0
    for which, column in enumerate(("population", "cases")):
        counts = grid(truth, which)
        values, hidden = released_grid(rows, column)
        primary = (counts > 0) & (counts < 5)
        small_populations += int(primary.sum()) if column == "population" else 0
        assert (hidden >= primary).all(), (column, counts, hidden)  # every small count hidden
        shown = values[~hidden]
        assert not ((shown >= 1) & (shown <= 4)).any()
        # released = the true count rounded to the nearest 5 (a count of 5-7 stays at 5)
        expected = np.where(counts > 0, np.maximum(np.round(counts / 5) * 5, 5), 0)
        assert (values[~hidden] == expected[~hidden]).all(), (column, counts, values)
        # and nothing hidden can be worked out from what is shown plus the totals kept
        full = protect(counts)
        mask = full.suppressed.copy()
        mask[: counts.shape[0], : counts.shape[1]] = hidden
        assert determined(full.counts, mask) == []
        for cell in map(tuple, np.argwhere(hidden)):
            assert lp_range(full.counts, mask, cell) > 0.5, (column, cell)
    assert small_populations >= 1  # the case the audit saw: a population below 5 now hidden
    for r in rows:  # derived from the released counts only
        if r["cases"] and r["population"]:
            assert float(r["prevalence_per_1000"]) == pytest.approx(
                1000 * int(r["cases"]) / int(r["population"])
            )
        else:
            assert r["prevalence_per_1000"] == ""


@pytest.mark.parametrize(
    "args",
    [["--var", "disclosure_threshold=1"], ["--threshold", "1"], ["--var", "disclosure_round_to=1"]],
)
def test_a_request_cannot_lower_the_floor(
    warehouse: Path, tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.csv"
    assert export(warehouse, "prevalence", out, *args) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "this warehouse's" in err and "Traceback" not in err
    assert not out.exists() and audit_lines(warehouse) == []


def test_the_configuration_cannot_lower_the_floor_below_3(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (warehouse / "promise.yml").write_text("disclosure:\n  threshold: 1\n")
    assert export(warehouse, "prevalence", tmp_path / "p.csv") != 0
    assert "no warehouse may release counts below 3" in capsys.readouterr().err


def test_a_request_can_raise_the_threshold(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.csv"
    assert export(warehouse, "prevalence", out, "--threshold", "12") == 0, capsys.readouterr().err
    rows = read_csv(out)
    counts = grid(true_prevalence(warehouse, BANDS), 0)
    values, hidden = released_grid(rows, "population")
    assert (hidden >= ((counts > 0) & (counts < 12))).all()
    assert not ((values[~hidden] >= 1) & (values[~hidden] <= 11)).any()
    assert audit_lines(warehouse)[-1]["threshold"] == 12


def isolating_shift(warehouse: Path) -> tuple[list[int], int]:
    """Band edges shifted by one year at one edge so that subtracting the two tables leaves
    a group of 1 to 4 people (the attack of the audit), found from the true counts here."""
    base = grid(true_prevalence(warehouse, BANDS), 0)
    for k in range(1, len(BANDS)):
        shifted = [*BANDS[:k], BANDS[k] + 1, *BANDS[k + 1 :]]
        moved = grid(true_prevalence(warehouse, shifted), 0)
        difference = np.abs(base - moved).max()  # the people aged exactly BANDS[k]
        if 1 <= difference <= 4:
            return shifted, int(difference)
    raise AssertionError("no one-year shift isolates a small group in this cohort")


def test_differencing_two_band_systems_recovers_nothing(
    warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shifted, isolated = isolating_shift(warehouse)  # unprotected, B - A would show `isolated`
    assert 1 <= isolated <= 4
    first = tmp_path / "a.csv"
    assert export(warehouse, "prevalence", first) == 0
    capsys.readouterr()
    # the second band system is refused, by the command line, by a changed spec, and by SQL
    second = tmp_path / "b.csv"
    assert export(warehouse, "prevalence", second, "--var", f"age_bands={shifted}") != 0
    assert "fixed" in capsys.readouterr().err
    spec = load_spec("prevalence")
    changed = type(spec)(
        spec.name, spec.layout, spec.free, {**spec.fixed, "age_bands": shifted}, spec.derived
    )
    monkeypatch.setattr("promise.privacy.export.load_spec", lambda name: changed)
    assert export(warehouse, "prevalence", second) != 0
    err = capsys.readouterr().err
    assert f"export {audit_lines(warehouse)[0]['id']} of prevalence" in err and "subtract" in err
    monkeypatch.undo()
    sql = "SELECT sex, count(*) AS population FROM person GROUP BY sex"
    assert export(warehouse, sql, second) != 0
    assert "allow_sql" in capsys.readouterr().err
    assert not second.exists() and len(audit_lines(warehouse)) == 1
    # what did leave pins no hidden cell down, even with every total it kept
    counts = grid(true_prevalence(warehouse, BANDS), 0)
    values, hidden = released_grid(read_csv(first), "population")
    full = protect(counts)
    mask = full.suppressed.copy()
    mask[: counts.shape[0], : counts.shape[1]] = hidden
    for cell in map(tuple, np.argwhere(hidden)):
        assert lp_range(full.counts, mask, cell) > 0.5, cell


def test_every_export_is_audited(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "incidence.csv"
    assert export(warehouse, "incidence_rates", out, "--var", "endpoint=E4_DM2") == 0
    capsys.readouterr()
    (record,) = audit_lines(warehouse)
    rows = read_csv(out)
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["output"] == str(out) and record["rows"] == len(rows)
    flags = sum(
        r[c] == "true" for r in rows for c in ("events_suppressed", "person_years_suppressed")
    )
    assert record["cells_suppressed"] == flags and record["cells"] == 2 * len(rows)
    assert record["user"] and record["time"] and "select" in record["query"].lower()
    assert record["variables"] == {"endpoint": "E4_DM2"} and record["threshold"] == 5
    assert record["fixed"]["age_bands"] == BANDS
    for r in rows:  # rates come from the released (rounded) counts
        if r["events"] and r["person_years"]:
            assert float(r["rate_per_1000"]) == pytest.approx(
                1000 * int(r["events"]) / int(r["person_years"])
            )
    # the audit is readable from promise sql, and refusals add nothing to it
    assert main(["sql", "--warehouse", str(warehouse), "--format", "csv",
                 "SELECT id, sha256 FROM export_audit"]) == 0  # fmt: skip
    assert record["id"] in capsys.readouterr().out
    assert export(warehouse, "prevalence", out) != 0  # out exists
    assert len(audit_lines(warehouse)) == 1


@pytest.mark.parametrize(
    ("target", "args", "says"),
    [
        ("prevalence", ["--var", "on_date=2020-01-02"], "is fixed"),
        ("prevalence", ["--var", "no_such_var=1"], "cannot be set"),
        ("no_such_analysis", [], "the analyses are"),
        ("prevalence", ["--var", "novalue"], "KEY=VALUE"),
    ],
)
def test_refusals_are_one_sentence(
    warehouse: Path, tmp_path: Path, target: str, args: list[str], says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert export(warehouse, target, tmp_path / "x.csv", *args) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists() and audit_lines(warehouse) == []


def test_an_output_inside_the_warehouse_is_refused(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(warehouse, "prevalence", warehouse / "leak.csv") != 0
    assert "inside the warehouse" in capsys.readouterr().err


@pytest.mark.unit
def test_hand_worked_sql_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # counts by sex and band:   a   b   c
    #                      f   12   3  20
    #                      m    7   8  30
    # 3 < 5 is hidden (primary). Its row f and column b would give it away, so each needs a
    # second hidden cell: column b's other cell, 8; row f's smallest other cell, 12. Column a
    # then holds one hidden cell (12), so its other cell, 7, is hidden too; every row and
    # column now holds two hidden cells and 20, 30 stay. No rounding (round_to: 1).
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "promise.yml").write_text(
        "disclosure: {threshold: 5, round_to: 1, allow_sql: true}\n"
    )
    sql = (
        "SELECT * FROM (VALUES ('f','a',12),('f','b',3),('f','c',20),('m','a',7),('m','b',8),"
        "('m','c',30)) AS t(sex, band, n)"
    )
    out = tmp_path / "t.csv"
    assert export(warehouse, sql, out) == 0, capsys.readouterr().err
    got = {(r["sex"], r["band"]): r["n"] for r in read_csv(out)}
    assert got == {("f", "a"): "", ("f", "b"): "", ("f", "c"): "20",
                   ("m", "a"): "", ("m", "b"): "", ("m", "c"): "30"}  # fmt: skip
    (record,) = audit_lines(warehouse)
    assert record["kind"] == "sql" and record["query"] == sql
    assert record["primary"] == {"n": 1} and record["secondary"] == {"n": 3}


@pytest.mark.unit
def test_sql_export_declares_dimensions_and_person_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # year is numeric but names cells (--by); py is person-years (--person-time): rounded to
    # whole years (2.4 -> 2, hidden as below 5; 50.6 -> 51), then treated like a count
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "promise.yml").write_text(
        "disclosure: {threshold: 5, round_to: 1, allow_sql: true}\n"
    )
    sql = (
        "SELECT * FROM (VALUES (2001, 10, 50.6), (2002, 20, 2.4), (2003, 30, 80.0)) "
        "AS t(year, n, py)"
    )
    out = tmp_path / "t.csv"
    assert export(warehouse, sql, out) != 0  # every column numeric: nothing names the rows
    assert "dimension columns" in capsys.readouterr().err
    assert export(warehouse, sql, out, "--by", "year") != 0  # py has fractions, undeclared
    assert "--person-time" in capsys.readouterr().err and not out.exists()
    assert export(warehouse, sql, out, "--by", "year", "--person-time", "py") == 0
    rows = {r["year"]: r for r in read_csv(out)}
    assert [rows[y]["n"] for y in ("2001", "2002", "2003")] == ["10", "20", "30"]
    # 2 is hidden (primary); the year line's total would give it away, so the smallest
    # other person-time, 51, is hidden too; 80 stays
    assert [rows[y]["py"] for y in ("2001", "2002", "2003")] == ["", "", "80"]


def test_the_exported_curve_comes_from_released_counts(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "curve.csv"
    assert (
        export(warehouse, "cumulative_incidence", out, "--var", "endpoint=I9_CHD") == 0
    ), capsys.readouterr().err
    rows = read_csv(out)
    for sex in {r["sex"] for r in rows}:
        hazard, withheld = 0.0, False
        for r in sorted((r for r in rows if r["sex"] == sex), key=lambda r: int(r["age_from"])):
            withheld = withheld or r["events"] == "" or r["person_years"] == ""
            if withheld:  # from the first suppressed step on, no curve
                assert r["cumulative_incidence"] == "", r
                continue
            width = int(r["age_to"]) - int(r["age_from"])
            if int(r["person_years"]):
                hazard += width * int(r["events"]) / int(r["person_years"])
            assert float(r["cumulative_incidence"]) == pytest.approx(1 - np.exp(-hazard)), r


@pytest.mark.unit
@pytest.mark.parametrize(
    ("select", "says"),
    [
        # a key by its name: suppression would hide the count, not the person's row label
        ("SELECT * FROM (VALUES ('p1', 1), ('p2', 7)) t(person_id, n)", "names individual"),
        ("SELECT * FROM (VALUES ('s1', 1)) t(sample_id, n)", "names individual"),
        ("SELECT * FROM (VALUES ('17', 1)) t(lopnr, n)", "names individual"),
        # a person_id renamed: 24 hex digits, the pseudonym's shape
        ("SELECT * FROM (VALUES ('0123456789abcdef01234567', 9)) t(who, n)", "person keys"),
        # a day of death is a quasi-identifier
        ("SELECT * FROM (VALUES (DATE '2020-05-17', 1)) t(death_date, n)", "exact dates"),
    ],
)
def test_sql_export_refuses_groups_that_name_people(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], select: str, says: str
) -> None:
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "promise.yml").write_text("disclosure: {threshold: 5, allow_sql: true}\n")
    out = tmp_path / "t.csv"
    assert export(warehouse, select, out) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not out.exists() and audit_lines(warehouse) == []


@pytest.mark.unit
def test_sql_export_takes_months_and_categories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    (warehouse / "promise.yml").write_text(
        "disclosure: {threshold: 5, round_to: 1, allow_sql: true}\n"
    )
    sql = "SELECT * FROM (VALUES (DATE '2020-05-01', 'f', 12), (DATE '2020-06-01', 'f', 30)) t(month, sex, n)"
    out = tmp_path / "t.csv"
    assert export(warehouse, sql, out) == 0, capsys.readouterr().err
    assert [r["n"] for r in read_csv(out)] == ["12", "30"]
