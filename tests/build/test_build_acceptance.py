"""Planted truth (truth.json of the small synthetic cohort) recovered by the built marts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from scipy.stats import chi2

from promise.analyses import run_analysis

pytestmark = pytest.mark.acceptance


def test_endpoint_case_counts_match_truth(
    built_warehouse: Path, small_landing: tuple[Path, dict[str, Any]]
) -> None:
    truth = small_landing[1]["endpoint_cases"]
    con = duckdb.connect(str(built_warehouse / "promise.duckdb"), read_only=True)
    try:
        found = dict(
            con.execute(
                "select endpoint, count(*) filter (where is_case) from marts.endpoint_status "
                "where endpoint in (select unnest(?)) group by endpoint",
                [list(truth)],
            ).fetchall()
        )
    finally:
        con.close()
    assert found == truth


@pytest.mark.parametrize(
    ("endpoint", "censor_at"), [("E4_DM2", ""), ("I9_MI", "E4_DM2"), ("C3_BREAST", "")]
)
def test_incidence_recovers_planted_rates(
    built_warehouse: Path, small_landing: tuple[Path, dict[str, Any]], endpoint: str, censor_at: str
) -> None:
    planted = small_landing[1]["incidence"][endpoint]
    start, end = planted["window"]
    table = run_analysis(
        warehouse=built_warehouse,
        name="incidence_rates",
        variables={
            "endpoint": endpoint, "window_start": start, "window_end": end, "period_years": 100,
            "censor_at_endpoint": censor_at,  # I9_MI rates are planted for people without E4_DM2
            "disclosure_threshold": 1,  # an internal check, not a release: no suppression
        },
    )  # fmt: skip
    covered, cells, statistic, dof = 0, 0, 0.0, 0
    for row in table.iter_rows(named=True):
        rate = planted["per_1000_py"][row["sex"]][row["age_band"]]
        expected = rate * row["person_years"] / 1000
        if expected < 1:  # too little person-time to say anything about this cell
            continue
        cells += 1
        covered += row["ci_low_per_1000"] <= rate <= row["ci_high_per_1000"]
        statistic += (row["events"] - expected) ** 2 / expected
        dof += 1
    assert cells >= 5
    # each cell's 95% CI should hold the planted rate; allow the few misses chance gives
    assert covered >= 0.8 * cells, (covered, cells, table)
    # and jointly: Pearson's statistic against the planted rates is not extreme
    assert statistic < chi2.ppf(0.999, dof), (statistic, dof)


def _at_risk(built_warehouse: Path, endpoint: str, start: str, end: str) -> Any:
    """Each resident's age at entry and exit (days since birth / 365.25) and whether the exit is
    a first event: the at-risk set as the analysis documents it, written out independently."""
    con = duckdb.connect(str(built_warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.execute(
            f"""
            with c as (select person_id, first_event_date from marts.endpoint_case
                       where endpoint = '{endpoint}'),
            r as (
                select p.sex, p.birth_date, c.first_event_date,
                       greatest(o.start_date, date '{start}') as entry,
                       least(o.end_date + if(o.end_reason = 'end_of_data', 1, 0),
                             date '{end}' + 1, coalesce(c.first_event_date, o.end_date + 1)) as leave
                from marts.observation_period o join marts.person p using (person_id)
                left join c using (person_id)
                where c.first_event_date is null or c.first_event_date >= date '{start}'
            )
            select sex, datediff('day', birth_date, entry) / 365.25 as entry,
                   datediff('day', birth_date, leave) / 365.25 as leave,
                   coalesce(first_event_date between entry and leave
                            and first_event_date <= date '{end}', false) as event
            from r where leave >= entry
            """
        ).df()
    finally:
        con.close()


def test_cumulative_incidence_equals_nelson_aalen(built_warehouse: Path) -> None:
    """At the default 5-year step, 1 - exp(-H) equals lifelines' Nelson-Aalen estimate (delayed
    entry, age as the time scale) within 1% at every step with a value (issue 16.1)."""
    import numpy as np
    from lifelines import NelsonAalenFitter

    table = run_analysis(
        warehouse=built_warehouse,
        name="cumulative_incidence",
        variables={"endpoint": "E4_DM2", "disclosure_threshold": 1},
    )
    spans = _at_risk(built_warehouse, "E4_DM2", "2001-01-01", "2025-12-31")
    compared = 0
    for sex in ("female", "male"):
        group = spans[spans.sex == sex]
        fitted = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(
            group.leave, group.event, entry=group.entry
        )
        hazard = fitted.cumulative_hazard_.iloc[:, 0]
        for row in table.filter(table["sex"] == sex).iter_rows(named=True):
            before = hazard[hazard.index < row["age_to"]]
            expected = 1 - np.exp(-(before.iloc[-1] if len(before) else 0.0))
            assert row["cumulative_incidence"] == pytest.approx(expected, rel=0.01, abs=1e-9), (
                sex,
                row["age_to"],
            )
            compared += expected > 0.05
    assert compared >= 20  # most of both curves, not just their flat start
    female_80 = table.filter((table["sex"] == "female") & (table["age_to"] == 80))
    assert female_80["cumulative_incidence"][0] > 0.3  # not the fifth of it the old sum gave


def test_incidence_ci_is_byar_within_1pct_of_garwood(built_warehouse: Path) -> None:
    """The CI columns are Byar's approximation (as the analysis says), within 1% of the exact
    Garwood limits chi2(0.025; 2k)/2 and chi2(0.975; 2k + 2)/2 from 5 events on (issue 16.9)."""
    table = run_analysis(
        warehouse=built_warehouse,
        name="incidence_rates",
        variables={"endpoint": "E4_DM2", "period_years": 5, "disclosure_threshold": 1},
    )
    cells = [r for r in table.iter_rows(named=True) if r["events"] >= 5]
    assert len(cells) >= 10
    for row in cells:
        k, years = row["events"], row["person_years"]  # person_years is rounded: use the rate
        scale = row["rate_per_1000"] / k
        low, high = chi2.ppf(0.025, 2 * k) / 2 * scale, chi2.ppf(0.975, 2 * k + 2) / 2 * scale
        assert row["ci_low_per_1000"] == pytest.approx(low, rel=0.01), (k, years)
        assert row["ci_high_per_1000"] == pytest.approx(high, rel=0.01), (k, years)
