"""Planted truth recovered by study definitions (issue 20, item 4).

`promise synth` multiplies the hazard of a first myocardial infarction by a planted ratio
from the day of diabetes onset, and the hazard of death from other causes by a ratio per
disease (truth.json `hazard_ratios`); treated diagnoses start drugs at planted shares and
delays (`drug_initiation`). Expected values here are those of truth.json and of the model's
rates it lists; the dataset the estimates rest on is recomputed here with Polars.

Why studies/mi_by_t2d_at60.yml and not studies/mi_by_t2d.yml: the planted exposure is
*current* diabetes, with a baseline hazard that depends on age band and sex. mi_by_t2d fixes
diabetes at 1 January 2010 for people aged 40-79 and follows them 15 years: people who
develop diabetes later stay unexposed (diluting the ratio towards 1) and age enters as a
straight line where the planted baseline is a step function. mi_by_t2d_at60 indexes everyone
at age 60 (time since index is then age), stops at 70 (one planted band, constant baseline
per sex, so sex is a proportional term) and censors the unexposed at diabetes onset: under
the planted model its Cox hazard ratio estimates the planted ratio exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from scipy import stats

import promise
from promise.cli import main
from promise.settings import project_root

pytestmark = pytest.mark.acceptance

STUDIES = project_root() / "studies"
STUDY = "mi_by_t2d_at60"
INDEX_WINDOW = (dt.date(2001, 1, 1), dt.date(2020, 12, 31))
FOLLOWUP_DAYS = math.floor(10 * 365.25)


DEATH_STUDY = """\
population:
  calendar: [2001-01-01, 2020-12-31]
  exclude: [C3_BREAST, I9_MI]
index:
  age: 60
exposures:
  t2d: {endpoint: E4_DM2}
covariates:
  female: {person: female}
outcomes:
  death: {death: any}
followup:
  max_years: 10
  censor_at_first: [E4_DM2, I9_MI, C3_BREAST]
"""


def planted(truth: dict[str, Any], outcome: str, after: str) -> float:
    return float(next(h["hazard_ratio"] for h in truth["hazard_ratios"] if (h["outcome"], h["after"]) == (outcome, after)))  # fmt: skip


def run(*args: str) -> None:
    assert main(list(args)) == 0, args


def results(warehouse: Path, table: str) -> dict[str, dict[str, Any]]:
    """One fitted table, read the way an analyst reads it: the confined connection."""
    con = promise.connect(warehouse)
    try:
        rows = con.sql(f"select * from study.{table}").pl()
    finally:
        con.close()
    return {f"{r['outcome']}:{r['term']}": r for r in rows.iter_rows(named=True)}


@pytest.fixture(scope="module")
def fitted(cohort: tuple[Path, dict[str, Any]]) -> Path:
    warehouse, _ = cohort
    where = ["--studies", str(STUDIES), "--warehouse", str(warehouse)]
    run("study", "build", STUDY, *where)
    run("study", "fit", STUDY, "--model", "cox", *where)
    run("study", "fit", STUDY, "--model", "poisson", *where)
    return warehouse


def test_the_planted_hazard_ratio_of_mi_after_diabetes_is_recovered(fitted: Path, cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    truth = cohort[1]
    cox, poisson = results(fitted, f"{STUDY}__cox"), results(fitted, f"{STUDY}__poisson")
    hr, rr = cox["mi:t2d"], poisson["mi:t2d"]
    assert hr["ci_lower"] < planted(truth, "I9_MI", "E4_DM2") < hr["ci_upper"], hr
    assert hr["ci_lower"] > 1.2, "the cohort has the power to tell the planted 2 from none"
    assert hr["ci_lower"] < rr["ratio"] < hr["ci_upper"] and rr["ci_lower"] < hr["ratio"] < rr["ci_upper"]  # fmt: skip
    # the rest of the planted model, 60-69 band of truth.json: women's rate over men's, and
    # the Poisson intercept (men without diabetes) is the men's rate
    rates = truth["incidence"]["I9_MI"]["per_1000_py"]
    women = rates["female"]["60-69"] / rates["male"]["60-69"]
    assert cox["mi:female"]["ci_lower"] < women < cox["mi:female"]["ci_upper"]
    base = poisson["mi:intercept"]
    assert base["ci_lower"] < rates["male"]["60-69"] / 1000 < base["ci_upper"]


def test_the_planted_hazard_ratio_of_death_after_diabetes_is_recovered(fitted: Path, cohort: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:  # fmt: skip
    """Death from other causes is planted x1.5 after diabetes; after a myocardial infarction
    and breast cancer other ratios apply, so the design also censors at their first events
    and excludes them at the index. What remains besides the planted Gompertz deaths are
    infarctions fatal on the day (15% of the infarction hazard, itself x2 after diabetes):
    at 65 they add 0.15 x 9/1000 to men's 12.8/1000 (exp(-10.4 + 0.093 x 65)), so the
    expected all-cause ratio is (1.5 x 12.8 + 2 x 1.35) / (12.8 + 1.35) = 1.55 for men and
    1.53 for women: within a few percent of the planted 1.5, well inside the CI."""
    warehouse, truth = cohort
    text = DEATH_STUDY
    path = tmp_path / "death_by_t2d_at60.yml"
    path.write_text(text)
    run("study", "build", str(path), "--warehouse", str(warehouse))
    run("study", "fit", str(path), "--model", "cox", "--warehouse", str(warehouse))
    hr = results(warehouse, "death_by_t2d_at60__cox")["death:t2d"]
    assert hr["ci_lower"] < planted(truth, "DEATH", "E4_DM2") < hr["ci_upper"], hr
    assert hr["ci_lower"] > 1.0, hr


def _marts(warehouse: Path, sql: str) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_dataset_and_attrition_equal_an_independent_computation(fitted: Path) -> None:
    """Every person's index, exposure, exit and outcome, recomputed from the marts in Polars:
    index = 60th birthday; resident that day (a spell starting on or before it, ending after
    it); no I9_MI on or before it; exit = the earliest of the spell's end, index + 3652 days,
    the end of data and a first E4_DM2 after the index (the censoring)."""
    cases = _marts(fitted, "select person_id, endpoint, first_event_date from marts.endpoint_case where endpoint in ('I9_MI', 'E4_DM2')")  # fmt: skip
    first = {e: cases.filter(pl.col("endpoint") == e).select("person_id", pl.col("first_event_date").alias(e)) for e in ("I9_MI", "E4_DM2")}  # fmt: skip
    person = _marts(fitted, "select person_id, birth_date from marts.person")
    spells = _marts(fitted, "select person_id, start_date, end_date, end_reason from marts.observation_period")  # fmt: skip
    end_of_data = spells["end_date"].max()
    indexed = person.with_columns(index=pl.col("birth_date").dt.offset_by("60y"))
    in_window = indexed.filter(pl.col("index").is_between(*INDEX_WINDOW))
    resident = in_window.join(spells, on="person_id").filter(
        (pl.col("start_date") <= pl.col("index")) & (pl.col("end_date") > pl.col("index"))
    )
    joined = resident.join(first["I9_MI"], on="person_id", how="left").join(first["E4_DM2"], on="person_id", how="left")  # fmt: skip
    kept = joined.filter(pl.col("I9_MI").is_null() | (pl.col("I9_MI") > pl.col("index")))
    expected = [person.height, person.height, in_window.height, resident.height, kept.height]
    attrition = pl.read_parquet(fitted / "study" / STUDY / "attrition.parquet")
    assert attrition["remaining"].to_list() == expected
    assert attrition["excluded"].to_list() == [0] + [a - b for a, b in itertools.pairwise(expected)]

    censor = pl.when(pl.col("E4_DM2") > pl.col("index")).then(pl.col("E4_DM2"))
    limit = pl.col("index") + pl.duration(days=FOLLOWUP_DAYS)
    ours = kept.with_columns(
        t2d=(pl.col("E4_DM2") <= pl.col("index")).fill_null(False).cast(pl.Int32),
        exit=pl.min_horizontal("end_date", limit, pl.lit(end_of_data), censor),
    ).with_columns(
        reason=pl.when(pl.col("end_date") <= pl.col("exit")).then(pl.col("end_reason"))
        .when(censor <= pl.col("exit")).then(pl.lit("censored_at_first_event"))
        .otherwise(pl.lit("followup_limit")),
        mi=pl.when((pl.col("I9_MI") > pl.col("index")) & (pl.col("I9_MI") <= pl.col("exit"))).then(1)
        .when(pl.col("end_date") <= pl.col("exit")).then(pl.when(pl.col("end_reason") == "death").then(2).otherwise(0))
        .otherwise(0),
    )  # fmt: skip
    data = pl.read_parquet(fitted / "study" / STUDY / "dataset.parquet")
    compared = data.join(ours, on="person_id", how="full", coalesce=True)
    assert compared.height == data.height == ours.height
    assert (compared["index_date"] == compared["index"]).all()
    assert (compared["t2d"] == compared["t2d_right"]).all()
    assert (compared["exit_date"] == compared["exit"]).all()
    assert (compared["exit_reason"] == compared["reason"]).all()
    assert (compared["mi_status"].cast(pl.Int32) == compared["mi"]).all()
    assert (data["exit_reason"] == "censored_at_first_event").sum() > 50, "censoring happens"


def test_the_planted_drug_initiation_after_diabetes_is_recovered(cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    """Of persons with a first E4_DM2 record in 2006-2024 (LMED covers the first dispensing)
    who are still followed 60 days later, truth.json's share start an A10B drug within its
    window of days after the record (a written onset is the planted onset from 1997 on)."""
    warehouse, truth = cohort
    planted_start = truth["drug_initiation"]["E4_DM2"]
    lo, hi = planted_start["first_dispensing_days_after_onset"]
    atc = sorted({a[:4] for a in planted_start["atc"]})
    assert atc == ["A10B"]
    onsets = _marts(warehouse, """
        select c.person_id, c.first_event_date as onset from marts.endpoint_case as c
        join marts.observation_period as s on s.person_id = c.person_id
         and s.start_date <= c.first_event_date and s.end_date > c.first_event_date + 60
        where c.endpoint = 'E4_DM2' and c.first_event_date between date '2006-01-01' and date '2024-12-31'
    """)  # fmt: skip
    drugs = _marts(warehouse, "select person_id, dispense_date from marts.drug_dispensing where atc like 'A10B%'")  # fmt: skip
    first_drug = drugs.group_by("person_id").agg(pl.col("dispense_date").min().alias("first"))
    joined = onsets.join(first_drug, on="person_id", how="left").with_columns(
        days=(pl.col("first") - pl.col("onset")).dt.total_days()
    )
    started = joined.filter(pl.col("days").is_between(lo, hi))
    n, k = joined.height, started.height
    assert n > 300
    low, high = stats.binomtest(k, n).proportion_ci(confidence_level=0.999)
    assert low < planted_start["share"] < high, (k, n)
    assert joined.filter(pl.col("days") < lo).height == 0, "no diabetes drug before the planted delay"  # fmt: skip
