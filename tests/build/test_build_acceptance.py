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
