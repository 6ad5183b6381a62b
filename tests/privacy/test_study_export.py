"""Study outputs on the trust boundary (issue 20): readable in the confined SQL session,
leaving only through `promise export` with their counts protected, the dataset never.

True counts come from Polars over the marts and the dataset's Parquet here, not from the
study code; whether a suppressed exclusion follows from the released attrition is decided by
an SVD of the equations the released values satisfy (the study code uses protect's rank test).
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from privacy_site import Site

import promise
from promise.cli import main
from promise.privacy.confined import is_confined
from promise.study import build
from promise.study.fitting import fit

pytestmark = pytest.mark.integration

INDEX = date(2010, 1, 1)
THRESHOLD = 5
DEFINITION = """\
population:
  age: [40, 80]
  exclude:
    - {exclude}
index:
  date: 2010-01-01
exposures:
  t2d: {{endpoint: E4_DM2}}
covariates:
  age: {{person: age}}
  female: {{person: female}}
outcomes:
  death: {{death: any}}
  stroke: {{endpoint: I9_STR}}
  mi: {{endpoint: I9_MI}}
followup:
  max_years: 15
"""


@pytest.fixture()
def warehouse(site: Site, tmp_path: Path) -> Path:
    """A copy of the site's warehouse without rounding (round_to 1): the worst case for
    differencing, and released counts can be compared with true ones exactly."""
    copy = tmp_path / "warehouse"
    shutil.copytree(site.warehouse, copy)
    (copy / "promise.yml").write_text(f"disclosure:\n  threshold: {THRESHOLD}\n  round_to: 1\n")
    return copy


def marts(warehouse: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def true_attrition(warehouse: Path, endpoint: str) -> list[int]:
    """Remaining after each step of DEFINITION, counted here: everyone; resident on the index
    with a day after it; aged [40, 80); no first event of ``endpoint`` on or before it."""
    person = marts(warehouse, "select person_id, birth_date from marts.person")
    spells = marts(
        warehouse, "select person_id, start_date, end_date from marts.observation_period"
    )
    cases = marts(warehouse, f"select person_id from marts.endpoint_case where endpoint = '{endpoint}' and first_event_date <= date '{INDEX}'")  # fmt: skip
    resident = person.join(
        spells.filter((pl.col("start_date") <= INDEX) & (pl.col("end_date") > INDEX)),
        on="person_id",
    ).unique("person_id")
    age = (pl.lit(INDEX) - pl.col("birth_date")).dt.total_days() / 365.25
    aged = resident.filter((age >= 40) & (age < 80))
    kept = aged.join(cases, on="person_id", how="anti")
    return [person.height, resident.height, aged.height, kept.height]


def small_exclusion(warehouse: Path) -> tuple[str, list[int]]:
    """An endpoint whose exclusion removes 1 to THRESHOLD - 1 persons (found, not assumed)."""
    names = marts(warehouse, "select distinct endpoint from marts.endpoint_case order by 1")
    for endpoint in names["endpoint"].to_list():
        counts = true_attrition(warehouse, endpoint)
        if 0 < counts[2] - counts[3] < THRESHOLD:
            return endpoint, counts
    raise AssertionError("the site has no endpoint with a small exclusion")


def make_study(warehouse: Path, folder: Path, endpoint: str) -> Path:
    path = folder / "small_cells.yml"
    path.write_text(DEFINITION.format(exclude=endpoint))
    build(str(path), warehouse=warehouse)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def export(warehouse: Path, target: str, out: Path) -> int:
    return main(["export", target, "--out", str(out), "--warehouse", str(warehouse)])


def test_study_tables_answer_in_the_confined_session(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    endpoint, counts = small_exclusion(warehouse)
    make_study(warehouse, tmp_path, endpoint)
    con = promise.connect(warehouse)
    try:
        assert is_confined(con)
        assert con.sql("select count(*) from study.small_cells").fetchone() == (counts[-1],)
        assert con.sql("select count(*) from study.small_cells__attrition").fetchone() == (4,)
        with pytest.raises(duckdb.Error):  # the files themselves stay out of reach
            con.sql(f"select * from read_parquet('{warehouse}/study/small_cells/dataset.parquet')").fetchall()  # fmt: skip
    finally:
        con.close()
    assert main(["sql", "--warehouse", str(warehouse), "select remaining from study.small_cells__attrition order by step"]) == 0  # fmt: skip
    assert f"{counts[-1]}" in capsys.readouterr().out


def test_attrition_leaves_with_small_cells_suppressed(warehouse: Path, tmp_path: Path) -> None:
    endpoint, counts = small_exclusion(warehouse)
    make_study(warehouse, tmp_path, endpoint)
    out = tmp_path / "attrition.csv"
    assert export(warehouse, "study.small_cells__attrition", out) == 0
    rows = read_csv(out)
    assert [r["criterion"] for r in rows][-1].startswith(f"no endpoint {endpoint}")
    small = rows[-1]
    assert small["excluded"] == "" and small["excluded_suppressed"] == "true"
    # a complement (another exclusion, or the final population) is hidden too, or the total
    # would give the small cell back
    hidden = sum(r["excluded_suppressed"] == "true" for r in rows) + (rows[-1]["remaining"] == "")
    assert hidden >= 2
    released = [int(r[c]) for r in rows for c in ("persons_before", "excluded", "remaining") if r[c]]  # fmt: skip
    assert all(v == 0 or v >= THRESHOLD for v in released), "no released count below the floor"
    # what is released is true (round_to 1)
    true_before = [counts[0], *counts[:-1]]
    for r, before, after in zip(rows, true_before, counts, strict=True):
        assert r["persons_before"] in ("", str(before)) and r["remaining"] in ("", str(after))
        assert r["excluded"] in ("", str(before - after))
    assert not determined_by_released(rows, counts[0], len(rows) - 1)


def determined_by_released(rows: list[dict[str, str]], total: int, step: int) -> bool:
    """Whether the exclusion of ``step`` follows linearly from the released values and the
    total (which a reader may know). Unknowns: the exclusion of each step and the final
    population; persons_before of step i sums the unknowns from i, remaining from i + 1."""
    k = len(rows) + 1
    equations = [np.ones(k)]  # the total
    for i, r in enumerate(rows):
        if r["persons_before"]:
            equations.append(np.r_[np.zeros(i), np.ones(k - i)])
        if r["remaining"]:
            equations.append(np.r_[np.zeros(i + 1), np.ones(k - i - 1)])
        if r["excluded"]:
            equations.append(np.eye(k)[i])
    a = np.array(equations)
    unit = np.eye(k)[step]
    return bool(np.linalg.matrix_rank(np.vstack([a, unit])) == np.linalg.matrix_rank(a))


def test_the_dataset_is_refused_in_one_sentence(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    endpoint, _ = small_exclusion(warehouse)
    make_study(warehouse, tmp_path, endpoint)
    out = tmp_path / "dataset.csv"
    for target in ("study.small_cells", "STUDY.small_cells"):
        assert export(warehouse, target, out) != 0
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "never leaves the warehouse" in err, err
    assert not out.exists() and not list(tmp_path.glob(".dataset.csv*"))
    assert not (warehouse / "exports" / "audit.jsonl").exists(), "a refusal records no export"


def test_model_estimates_leave_only_with_enough_events(warehouse: Path, tmp_path: Path) -> None:
    endpoint, _ = small_exclusion(warehouse)
    path = make_study(warehouse, tmp_path, endpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few events per term: expected on 400 persons
        for outcome in ("death", "stroke", "mi"):
            fit(str(path), warehouse=warehouse, model="cox", outcome=outcome)
    out = tmp_path / "cox.csv"
    assert export(warehouse, "study.small_cells__cox", out) == 0
    rows = read_csv(out)
    data = pl.read_parquet(warehouse / "study" / "small_cells" / "dataset.parquet")
    hidden = set()
    for r in rows:
        event = data[f"{r['outcome']}_status"] == 1
        enough = int(event.sum()) >= THRESHOLD
        if r["term"] in ("t2d", "female"):  # 0/1 terms: every level needs persons and events
            for level in (0, 1):
                at = data[r["term"]] == level
                enough &= int(at.sum()) >= THRESHOLD and int((at & event).sum()) >= THRESHOLD
        assert (r["ratio"] == "") == (not enough) == (r["estimate_suppressed"] == "true"), r
        assert r["n_events"] == (str(int(event.sum())) if int(event.sum()) >= THRESHOLD else "")
        if not enough:
            hidden.add((r["outcome"], r["term"]))
    assert hidden and len(hidden) < len(rows), "the site exercises both branches"
    record = json.loads((warehouse / "exports" / "audit.jsonl").read_text().splitlines()[-1])
    assert record["kind"] == "study" and record["name"] == "study.small_cells__cox"
    assert f"- {endpoint}" in record["query"], "the audit keeps the definition"


def test_rates_are_protected_as_a_partition(warehouse: Path, tmp_path: Path) -> None:
    endpoint, _ = small_exclusion(warehouse)
    path = make_study(warehouse, tmp_path, endpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(str(path), warehouse=warehouse, model="poisson", outcome="mi")
    out = tmp_path / "rates.csv"
    assert export(warehouse, "study.small_cells__rates", out) == 0
    rows = {(r["group"], r["level"]): r for r in read_csv(out)}
    data = pl.read_parquet(warehouse / "study" / "small_cells" / "dataset.parquet")
    for level in (0, 1):
        part = data.filter(pl.col("t2d") == level)
        events = int((part["mi_status"] == 1).sum())
        released = rows[("t2d", str(level))]["events"]
        assert released == (str(events) if events >= THRESHOLD or events == 0 else "")
    levels = [rows[("t2d", "0")]["events"], rows[("t2d", "1")]["events"]]
    assert levels.count("") != 1, "a lone suppressed level would follow from the total"
    for r in rows.values():
        if r["events"] and r["person_years"]:
            assert float(r["rate_per_1000"]) == pytest.approx(1000 * int(r["events"]) / int(r["person_years"]))  # fmt: skip
        else:
            assert r["rate_per_1000"] == ""
