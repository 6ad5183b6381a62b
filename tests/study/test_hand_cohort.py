"""Exact values on a hand-built cohort of ten persons (tests/study/study_handmade.py).

The study: index 2010-01-01, ages 40-79, 2 years' residence before the index (730 days),
no myocardial infarction (I9_MI) on or before the index, follow-up at most 10 years
(floor(10 x 365.25) = 3652 days: to 2019-12-31). Exposure t2d = E4_DM2 on or before the
index; statin = a C10AA dispensing in days -365..0; ldl = the nearest LDL_C sample on or
before the index, at most 1000 days old. Outcomes: mi (I9_MI after the index), death.

Who is who, and why (days counted by hand; 2012 and 2016 are leap years):
- p01 woman born 1950-01-01, age 60.0. E4_DM2 2005 -> t2d 1. Statin 2009-06-01 (day -214)
  -> 1. LDL samples 2008-01-01 (3.0), 2009-12-01 (4.0), 2010-02-01 (after index) -> 4.0.
  MI 2012-01-01 (and 2013): event after 2010-01-01 -> 2012-01-01 = 365 + 365 = 730 days.
  Alive at the 10-year limit: death censored at 2019-12-31 = 3652 days.
- p02 man born 1960-07-01, age 18081 / 365.25 = 49.503 (to 2009-07-01: 49 x 365 + 12 leap
  days = 17897; then 31+31+30+31+30+31 = 184 to 2010-01-01).
  Statin 2008-12-01 is day -396 -> 0. LDL 2006-01-01 is 1461 days old -> missing. Died
  2015-07-01 without MI: mi competing (status 2), 2010-01-01 -> 2015-07-01 = 1826 + 181 =
  2007 days; death status 1 at the same time.
- p03 immigrated 2009-01-01: resident at the index but not 730 days before it -> excluded.
- p04 MI 2005-01-01, before the index -> excluded. p05 born 1975, age 35 -> excluded.
- p06 died 2008-05-05 -> not alive and resident on the index date -> excluded.
- p07 man born 1955-01-01, E4_DM2 on the index day itself (history) -> t2d 1. Emigrated
  2013-01-01; his MI 2014-03-01 is after the exit -> censored at emigration: 365 + 365 +
  366 = 1096 days, mi status 0, death status 0.
- p08 woman born 1948-01-01, E4_DM2 2001 -> t2d 1; statin 2010-01-02 is after the index
  -> 0; LDL sample on the index day (2.5) counts. MI 2018-06-30: 2010-01-01 -> 2018-01-01
  = 8 x 365 + 2 = 2922, + 31+28+31+30+31+29 = 180 -> 3102 days.
- p09 man born 1952-01-01, E4_DM2 2011 (after the index) -> t2d 0; statin 2009-01-01 is
  day -365, on the window's edge -> 1; no events: censored at the limit, 3652 days.
- p10 woman born 1958-01-01, E4_DM2 2009 -> t2d 1; fatal MI on her death day 2016-01-01:
  the MI is the event (status 1), 6 x 365 + 1 = 2191 days; death status 1.

Incidence of mi by t2d: exposed p01, p07, p08, p10: 3 events in 730 + 1096 + 3102 + 2191 =
7119 days; unexposed p02, p09: 0 events in 2007 + 3652 = 5659 days; all: 3 in 12778 days.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from scipy import stats
from study_handmade import write_handmade_warehouse

from promise.study import build, load_definition
from promise.study.fitting import rate_table
from promise.study.models import garwood

pytestmark = pytest.mark.integration

DEFINITION = """\
description: hand cohort
population:
  age: [40, 80]
  lookback_years: 2
  exclude: [I9_MI]
index:
  date: 2010-01-01
exposures:
  t2d: {endpoint: E4_DM2}
covariates:
  age: {person: age}
  female: {person: female}
  statin: {drug: C10AA, window_days: [-365, 0]}
  ldl: {omics: LDL_C, max_days_before: 1000}
outcomes:
  mi: {endpoint: I9_MI}
  death: {death: any}
followup:
  max_years: 10
model:
  outcome: mi
  terms: [t2d, age, female]
"""
YEAR = 365.25


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hand")
    warehouse = write_handmade_warehouse(root / "warehouse")
    studies = root / "studies"
    studies.mkdir()
    (studies / "hand.yml").write_text(DEFINITION)
    build("hand", warehouse=warehouse, studies_dir=studies)
    return warehouse, studies


def _dataset(warehouse: Path) -> dict[str, dict[str, object]]:
    frame = pl.read_parquet(warehouse / "study" / "hand" / "dataset.parquet")
    return {row["person_id"]: row for row in frame.iter_rows(named=True)}


def test_attrition_counts_each_criterion_by_hand(hand: tuple[Path, Path]) -> None:
    table = pl.read_parquet(hand[0] / "study" / "hand" / "attrition.parquet")
    got = [
        (r["criterion"], r["yaml_line"], r["excluded"], r["remaining"])
        for r in table.iter_rows(named=True)
    ]
    assert got == [
        ("persons in marts.person", 1, 0, 10),
        ("alive and resident on the index date", 7, 1, 9),  # p06 (died 2008)
        ("age at index in [40, 80)", 3, 1, 8),  # p05 (35)
        ("resident for 2 years (730 days) before the index", 4, 1, 7),  # p03 (immigrated 2009)
        ("no endpoint I9_MI on or before the index", 5, 1, 6),  # p04 (MI 2005)
    ]


def test_dataset_values_worked_out_by_hand(hand: tuple[Path, Path]) -> None:
    rows = _dataset(hand[0])
    assert sorted(rows) == ["p01", "p02", "p07", "p08", "p09", "p10"]
    expected = {  # t2d, statin, ldl, mi_status, mi days, death_status, death days, exit_reason
        "p01": (1, 1, 4.0, 1, 730, 0, 3652, "followup_limit"),
        "p02": (0, 0, None, 2, 2007, 1, 2007, "death"),
        "p07": (1, 0, None, 0, 1096, 0, 1096, "emigration"),
        "p08": (1, 0, 2.5, 1, 3102, 0, 3652, "followup_limit"),
        "p09": (0, 1, None, 0, 3652, 0, 3652, "followup_limit"),
        "p10": (1, 0, None, 1, 2191, 1, 2191, "death"),
    }
    for person, (t2d, statin, ldl, mi, mi_days, death, death_days, reason) in expected.items():
        row = rows[person]
        assert (row["t2d"], row["statin"], row["ldl"]) == (t2d, statin, ldl), person
        assert (row["mi_status"], row["death_status"], row["exit_reason"]) == (
            mi,
            death,
            reason,
        ), person
        assert row["mi_years"] == pytest.approx(mi_days / YEAR, rel=1e-12), person
        assert row["death_years"] == pytest.approx(death_days / YEAR, rel=1e-12), person
        assert row["index_date"] == dt.date(2010, 1, 1)
    assert rows["p02"]["age"] == pytest.approx(18081 / YEAR, rel=1e-12)
    assert (rows["p01"]["female"], rows["p02"]["female"]) == (1, 0)
    assert rows["p01"]["mi_date"] == dt.date(2012, 1, 1)  # the first MI after the index, not 2013


def _garwood_by_hand(events: int, years: float) -> tuple[float, float]:
    """Garwood (1936): lower chi2(0.025; 2d)/2, upper chi2(0.975; 2d+2)/2, per person-year."""
    low = stats.chi2.ppf(0.025, 2 * events) / 2 if events else 0.0
    return low / years, stats.chi2.ppf(0.975, 2 * events + 2) / 2 / years


def test_incidence_rates_and_exact_cis_equal_the_hand_calculation(hand: tuple[Path, Path]) -> None:
    warehouse, studies = hand
    definition = load_definition(studies / "hand.yml")
    data = pl.read_parquet(warehouse / "study" / "hand" / "dataset.parquet")
    rates = {
        (r["group"], r["level"]): r
        for r in rate_table(definition, data, "mi").iter_rows(named=True)
    }
    for key, events, days, persons in [(("all", ""), 3, 12778, 6), (("t2d", "1"), 3, 7119, 4), (("t2d", "0"), 0, 5659, 2)]:  # fmt: skip
        row = rates[key]
        years = days / YEAR
        assert (row["persons"], row["events"]) == (persons, events)
        assert row["person_years"] == pytest.approx(years, rel=1e-12)
        assert row["rate_per_1000"] == pytest.approx(1000 * events / years, rel=1e-12)
        low, high = _garwood_by_hand(events, years)
        assert row["ci_lower_per_1000"] == pytest.approx(1000 * low, rel=1e-9, abs=1e-12)
        assert row["ci_upper_per_1000"] == pytest.approx(1000 * high, rel=1e-9)
    # 3 events in 7119 days: 153.92 per 1,000 person-years, exact CI 31.74 to 449.8
    assert rates[("t2d", "1")]["rate_per_1000"] == pytest.approx(153.919, abs=1e-3)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("events", "low", "high"),
    # Exact 95% Poisson limits of a count, as tabulated (e.g. Ulm 1990, Am J Epidemiol 131:373)
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (2, 0.2422, 7.225), (3, 0.6187, 8.767),
     (4, 1.090, 10.242), (5, 1.623, 11.668), (10, 4.795, 18.390)],
)  # fmt: skip
def test_garwood_matches_published_table(events: int, low: float, high: float) -> None:
    got_low, got_high = garwood(events, 1.0)
    assert got_low == pytest.approx(low, abs=6e-4)
    assert got_high == pytest.approx(high, abs=6e-4)


ONSET = """\
population:
  sex: female
  calendar: [2005-01-01, 2010-12-31]
  exclude:
    - {codes: [I21]}
index:
  first_event: {endpoint: E4_DM2}
outcomes:
  mi: {endpoint: I9_MI}
followup:
  end: 2015-12-31
"""


def test_index_at_first_event_with_calendar_sex_codes_and_followup_end(tmp_path: Path) -> None:
    """Index = first E4_DM2 event, women, index in 2005-2010, no I21 diagnosis on or before
    the index, follow-up to 2015-12-31 at the latest.

    E4_DM2 first events: p01 2005-06-01, p07 2010-01-01, p08 2001-01-01, p09 2011-01-01,
    p10 2009-01-01 (5 of 10 have an index date); in 2005-2010: p01, p07, p10; all three
    resident then; women: p01, p10. p01's I219 (2012) is after her index: not excluded.
    p01: MI 2012-01-01; 2005-06-01 -> 2011-06-01 = 6 x 365 + 1 (2008-02-29) = 2191 days,
    + 30+31+31+30+31+30+31 = 214 to 2012-01-01: 2405 days, status 1.
    p10: index 2009-01-01; her fatal MI on 2016-01-01 is after the follow-up end, so she is
    censored on 2015-12-31 (followup_limit): 2009-01-01 -> 2016-01-01 = 7 x 365 + 1 = 2556,
    less one day: 2555 days, status 0.
    """
    warehouse = write_handmade_warehouse(tmp_path / "warehouse")
    (tmp_path / "onset.yml").write_text(ONSET)
    result = build(str(tmp_path / "onset.yml"), warehouse=warehouse)
    steps = [(r.criterion, r.line, r.excluded, r.remaining) for r in result.attrition]
    assert steps == [
        ("persons in marts.person", 1, 0, 10),
        ("has an index date (endpoint E4_DM2)", 7, 5, 5),
        ("index date in 2005-01-01..2010-12-31", 3, 2, 3),
        ("alive and resident on the index date", 7, 0, 3),
        ("sex female", 2, 1, 2),
        ("no codes I21 on or before the index", 5, 0, 2),
        ("follow-up after the index (before 2015-12-31)", 11, 0, 2),
    ]
    rows = {
        r["person_id"]: r
        for r in pl.read_parquet(result.folder / "dataset.parquet").iter_rows(named=True)
    }
    assert sorted(rows) == ["p01", "p10"]
    assert (rows["p01"]["index_date"], rows["p01"]["mi_status"]) == (dt.date(2005, 6, 1), 1)
    assert rows["p01"]["mi_years"] == pytest.approx(2405 / YEAR, rel=1e-12)
    assert (rows["p10"]["mi_status"], rows["p10"]["exit_reason"]) == (0, "followup_limit")
    assert rows["p10"]["mi_years"] == pytest.approx(2555 / YEAR, rel=1e-12)


def test_index_at_an_age_is_the_birthday(tmp_path: Path) -> None:
    """Index = 60th birthday. Resident then: p01 (2010-01-01), p04 (2000-01-01), p06
    (1990-01-01; died 2008-05-05, so death status 1), p08 (2008-01-01), p09 (2012-01-01).
    Not resident: p02 (2020-07-01, dead since 2015), p03 (2005-03-15, immigrated 2009),
    p05 (2035), p07 (2015, emigrated 2013), p10 (2018, dead since 2016)."""
    warehouse = write_handmade_warehouse(tmp_path / "warehouse")
    (tmp_path / "sixty.yml").write_text("index:\n  age: 60\noutcomes:\n  death: {death: any}\n")
    result = build(str(tmp_path / "sixty.yml"), warehouse=warehouse)
    assert [(r.criterion, r.remaining) for r in result.attrition] == [
        ("persons in marts.person", 10),
        ("has an index date (age 60)", 10),
        ("alive and resident on the index date", 5),
    ]
    rows = {
        r["person_id"]: r
        for r in pl.read_parquet(result.folder / "dataset.parquet").iter_rows(named=True)
    }
    assert {p: r["index_date"].isoformat() for p, r in rows.items()} == {
        "p01": "2010-01-01", "p04": "2000-01-01", "p06": "1990-01-01", "p08": "2008-01-01", "p09": "2012-01-01",
    }  # fmt: skip
    assert [rows[p]["death_status"] for p in sorted(rows)] == [0, 0, 1, 0, 0]
