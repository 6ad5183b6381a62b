"""The example study (studies/mi_by_t2d.yml) on the small synthetic warehouse.

Checks against what promise did not compute: the attrition counts against a count done
here with Polars on the marts; the Cox fit against lifelines (promise uses statsmodels);
the robust errors against statsmodels' own score residuals and a NumPy sandwich; the
Poisson rate ratio of one binary term against its closed form (events / person-years).
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from promise.cli import main
from promise.settings import project_root
from promise.study import build
from promise.study.fitting import fit
from promise.study.models import cox, poisson
from promise.warehouse import connect

pytestmark = pytest.mark.integration

STUDIES = project_root() / "studies"
TERMS = ("t2d", "age", "female")


@pytest.fixture(scope="module")
def study(built_warehouse: Path) -> Path:
    code = main(["study", "build", "mi_by_t2d", "--studies", str(STUDIES), "--warehouse", str(built_warehouse)])  # fmt: skip
    assert code == 0
    return built_warehouse


def _marts(warehouse: Path, table: str) -> pl.DataFrame:
    con = connect(warehouse)
    try:
        return con.execute(f"select * from marts.{table}").pl()
    finally:
        con.close()


def test_attrition_equals_an_independent_count_on_the_marts(study: Path) -> None:
    index = dt.date(2010, 1, 1)
    person = _marts(study, "person").select("person_id", "birth_date")
    spells = _marts(study, "observation_period")
    mi = _marts(study, "endpoint_case").filter(pl.col("endpoint") == "I9_MI")
    everyone = person.height
    # resident on 2010-01-01 with at least one day after it
    resident = spells.filter((pl.col("start_date") <= index) & (pl.col("end_date") > index))
    at_risk = person.join(resident.select("person_id", "start_date"), on="person_id")
    age = (pl.lit(index) - pl.col("birth_date")).dt.total_days() / 365.25
    aged = at_risk.filter((age >= 40) & (age < 80))
    settled = aged.filter(pl.col("start_date") <= index - dt.timedelta(days=730))
    incident = settled.join(
        mi.filter(pl.col("first_event_date") <= index), on="person_id", how="anti"
    )
    expected = [everyone, at_risk.height, aged.height, settled.height, incident.height]

    attrition = pl.read_parquet(study / "study" / "mi_by_t2d" / "attrition.parquet")
    assert attrition["remaining"].to_list() == expected
    assert attrition["excluded"].to_list() == [0] + [a - b for a, b in itertools.pairwise(expected)]
    assert incident.height > 500, "the example study needs a real population"


def _data(study: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = pl.read_parquet(study / "study" / "mi_by_t2d" / "dataset.parquet")
    assert d["person_id"].n_unique() == d.height, "one row per person"
    time = d["mi_years"].to_numpy()
    event = (d["mi_status"].to_numpy() == 1).astype(float)
    return time, event, d.select(TERMS).cast(pl.Float64).to_numpy()


def _lifelines(time: np.ndarray, event: np.ndarray, X: np.ndarray, *, robust: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    import pandas as pd
    from lifelines import CoxPHFitter

    frame = pd.DataFrame(X, columns=list(TERMS))
    frame["T"], frame["E"] = time, event
    fitted = CoxPHFitter().fit(frame, "T", "E", robust=robust, fit_options={"precision": 1e-12})
    return fitted.params_.to_numpy(), fitted.standard_errors_.to_numpy()


def test_cox_equals_lifelines_in_coefficients_and_standard_errors(study: Path) -> None:
    time, event, X = _data(study)
    assert event.sum() >= 30
    ours = cox(time, event, X, TERMS)
    coef, se = _lifelines(time, event, X, robust=False)
    np.testing.assert_allclose(ours.coef, coef, rtol=1e-6)
    np.testing.assert_allclose(ours.se_model, se, rtol=1e-6)
    # lifelines' robust errors depend on row order where event times tie, so they are
    # compared on the same data with ties broken by a millionth of a day per tied event
    _, first = np.unique(time, return_index=True)
    rank = np.arange(len(time)) - first[np.searchsorted(np.unique(time), time)]
    untied = time + rank * 1e-6 / 365.25
    ours = cox(untied, event, X, TERMS)
    coef, robust_se = _lifelines(untied, event, X, robust=True)
    np.testing.assert_allclose(ours.coef, coef, rtol=1e-6)
    np.testing.assert_allclose(ours.se_robust, robust_se, rtol=1e-6)


def test_cox_robust_errors_equal_statsmodels_score_residuals_with_ties(study: Path) -> None:
    from statsmodels.duration.hazard_regression import PHReg

    time, event, X = _data(study)
    ours = cox(time, event, X, TERMS)
    model = PHReg(time, X, status=event, ties="efron")
    residuals = np.nan_to_num(model.score_residuals(ours.coef))  # NaN: never at risk at an event
    bread = np.linalg.inv(-model.hessian(ours.coef))
    np.testing.assert_allclose(ours.se_robust, np.sqrt(np.diag(bread @ residuals.T @ residuals @ bread)), rtol=1e-6)  # fmt: skip


def test_poisson_rate_ratio_of_one_binary_term_is_the_ratio_of_rates(study: Path) -> None:
    time, event, X = _data(study)
    exposed = X[:, 0] == 1
    by_hand = (event[exposed].sum() / time[exposed].sum()) / (
        event[~exposed].sum() / time[~exposed].sum()
    )
    fitted = poisson(time, event, X[:, :1], ("t2d",))
    assert np.exp(fitted.coef[1]) == pytest.approx(by_hand, rel=1e-8)
    # the sandwich by hand: bread (X'WX)^-1, meat X' diag((y - mu)^2) X
    design = np.column_stack([np.ones(len(time)), X[:, :1]])
    mu = np.exp(design @ fitted.coef) * time
    bread = np.linalg.inv(design.T @ (mu[:, None] * design))
    meat = design.T @ (((event - mu) ** 2)[:, None] * design)
    np.testing.assert_allclose(fitted.se_robust, np.sqrt(np.diag(bread @ meat @ bread)), rtol=1e-6)


def test_fit_writes_result_tables_readers_see_and_prints_no_row(study: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    for model in ("cox", "poisson"):
        assert main(["study", "fit", "mi_by_t2d", "--model", model, "--studies", str(STUDIES), "--warehouse", str(study)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    dataset = pl.read_parquet(study / "study" / "mi_by_t2d" / "dataset.parquet")
    assert not any(p in out for p in dataset["person_id"].to_list()), "no pseudonym on screen"
    assert "hazard ratio" in out and "rate ratio" in out
    con = connect(study)
    try:
        cox_rows = con.execute("select term, ratio, ci_lower, ci_upper from study.mi_by_t2d__cox where outcome = 'mi'").fetchall()  # fmt: skip
        poisson_rows = con.execute("select term, ratio, ci_lower, ci_upper from study.mi_by_t2d__poisson where term = 't2d'").fetchall()  # fmt: skip
        assert con.execute("select count(*) from study.mi_by_t2d").fetchone() == (dataset.height,)
        assert con.execute(
            "select count(*) from study.mi_by_t2d__rates where outcome = 'mi'"
        ).fetchone() == (3,)
    finally:
        con.close()
    assert [r[0] for r in cox_rows] == list(TERMS)
    hr, rr = cox_rows[0], poisson_rows[0]
    assert (
        hr[2] < rr[1] < hr[3] and rr[2] < hr[1] < rr[3]
    ), "Poisson RR and Cox HR agree within the CIs"


def test_a_second_build_replaces_the_study_and_drops_stale_fits(study: Path) -> None:
    build("mi_by_t2d", warehouse=study, studies_dir=STUDIES)
    folder = study / "study" / "mi_by_t2d"
    assert sorted(p.name for p in folder.iterdir()) == ["attrition.parquet", "build.json", "dataset.parquet", "definition.yml"]  # fmt: skip
    assert not list((study / "study").glob(".tmp-*")) + list(
        (study / "study").glob(".old-*")
    ), "nothing left behind"
    assert oct(folder.stat().st_mode & 0o777) == oct(0o750)
    fit("mi_by_t2d", warehouse=study, studies_dir=STUDIES, model="cox", outcome="death")
    assert (folder / "cox.parquet").is_file()
