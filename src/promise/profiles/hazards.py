"""Hazard ratios of a profile: death after the endpoint (Cox), and each following endpoint
after it (Poisson with a piecewise-constant baseline).

In both the endpoint is a time-varying exposure: a person counts as unexposed until the day
of the first event and exposed from the next day on (an outcome on the day of the first event
is not "after" it). Age is the time scale, sex a covariate; follow-up is residence within the
profile window.

- Death: a Cox model (Breslow's partial likelihood) on counting-process rows (entry and exit
  ages), fitted by :func:`cox_breslow`, with model-based standard errors, which remain valid
  when a person contributes an unexposed and an exposed row. Not statsmodels' ``PHReg``:
  it loops in Python over event times and took 2-3 s per endpoint on 30,000 persons (about
  30 s per million rows); this one is vectorised (one sort, then cumulative sums per Newton
  step) and equals ``PHReg(ties="breslow", entry=...)`` to 1e-6 (tests/study/test_profiles.py).
  Breslow's handling of ties: ages are in days and a tied death shares a risk set of
  thousands, where Efron's correction changes nothing visible.
- Following endpoints: events and person-time at risk of the second endpoint, by 5-year age
  band, sex and exposure, computed from the cases alone (everyone's person-time, less that
  after the second endpoint, split by exposure), and a Poisson GLM with the log person-years
  as offset: the piecewise-exponential model, a Cox model whose baseline is constant within
  each 5-year band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from promise.profiles.cohort import NEVER, Cohort, IntArray
from promise.profiles.persontime import (  # fmt: skip
    FloatArray,
    Grid,
    cells,
    count_cells,
    person_years,
    residence,
    resident_on,
)

Z95 = 1.959963984540054
HR_BANDS = tuple(float(a) for a in range(0, 105, 5))
MAX_STEPS = 50


@dataclass(frozen=True)
class Ratio:
    """A hazard ratio with its 95% CI and the counts it rests on (true, unreleased)."""

    ratio: float
    low: float
    high: float
    events_exposed: int
    events_unexposed: int
    persons_exposed: int
    persons: int


def death_rows(cohort: Cohort, window: tuple[int, int], onset: IntArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray]:  # fmt: skip
    """Counting-process rows of the death model: entry age, exit age, died (0/1), covariates
    (exposed, female), person; unexposed rows end on the day of the first event."""
    spans = residence(cohort, window)
    exposed_from = np.where(onset < NEVER, onset + 1, NEVER)
    parts = [spans.until_day(exposed_from), spans.from_day(exposed_from)]
    person = np.concatenate([p.person for p in parts])
    start = np.concatenate([p.start for p in parts])
    end = np.concatenate([p.end for p in parts])
    exposed = np.repeat([0.0, 1.0], [parts[0].person.size, parts[1].person.size])
    died = (cohort.death[person] == end - 1).astype(np.float64)
    birth = cohort.birth[person]
    X = np.column_stack([exposed, cohort.sex[person].astype(np.float64)])
    return (start - birth) / 365.25, (end - birth) / 365.25, died, X, person


def death_ratio(cohort: Cohort, window: tuple[int, int], onset: IntArray) -> Ratio | None:
    """Cox hazard ratio of death after the first event (``onset`` per person, NEVER if none)."""
    entry, exit_, died, X, person = death_rows(cohort, window, onset)
    exposed = X[:, 0] == 1
    events = (int(died[exposed].sum()), int(died[~exposed].sum()))
    if min(events) == 0:
        return None
    fitted = cox_breslow(entry, exit_, died, X)
    if fitted is None:
        return None
    return _ratio(float(fitted[0][0]), float(fitted[1][0]), events, _persons(cohort, person[exposed]), _persons(cohort, person))  # fmt: skip


def _persons(cohort: Cohort, rows: IntArray) -> int:
    """Distinct persons among ``rows`` (without sorting them)."""
    seen = np.zeros(cohort.persons, bool)
    seen[rows] = True
    return int(seen.sum())


def cox_breslow(entry: FloatArray, exit_: FloatArray, event: FloatArray, X: FloatArray) -> tuple[FloatArray, FloatArray] | None:  # fmt: skip
    """Cox regression with left truncation (at risk at ``t`` when ``entry < t <= exit``),
    Breslow's ties: coefficients and model-based standard errors, or None without
    convergence. Newton-Raphson with step halving on the log partial likelihood.

    The sums over a risk set, ``S(t) = sum over exit >= t - sum over entry >= t`` of
    ``r``, ``r x`` and ``r x x'`` (``r = exp(x'b)``), are differences of cumulative sums in
    exit and in entry order, read at each event time.
    """
    times, deaths = np.unique(exit_[event == 1], return_counts=True)
    p = X.shape[1]
    pairs = [(j, k) for j in range(p) for k in range(j, p)]
    orders = []
    for values in (exit_, entry):
        order = np.argsort(values, kind="stable")
        at = np.searchsorted(values[order], times, side="left")
        orders.append((X[order], at))
    x_events = X[event == 1].sum(axis=0)

    def terms(b: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        shift = float((X @ b).max())
        s = np.zeros((times.size, 1 + p + len(pairs)))
        for sign, (xs, at) in zip((1.0, -1.0), orders, strict=True):
            r = np.exp(xs @ b - shift)
            columns = [r, *(r * xs[:, j] for j in range(p)), *(r * xs[:, j] * xs[:, k] for j, k in pairs)]  # fmt: skip
            for c, v in enumerate(columns):
                cs = np.concatenate([[0.0], np.cumsum(v)])
                s[:, c] += sign * (cs[-1] - cs[at])
        s0, mean = s[:, 0], s[:, 1 : p + 1] / s[:, :1]
        s2 = np.zeros((times.size, p, p))
        for c, (j, k) in enumerate(pairs):
            s2[:, j, k] = s2[:, k, j] = s[:, 1 + p + c] / s0
        loglik = float(x_events @ b - (deaths * (np.log(s0) + shift)).sum())
        score = x_events - (deaths[:, None] * mean).sum(axis=0)
        info = (deaths[:, None, None] * (s2 - mean[:, :, None] * mean[:, None, :])).sum(axis=0)
        return loglik, score, info

    beta = np.zeros(p)
    loglik, score, info = terms(beta)
    for _ in range(MAX_STEPS):
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            return None
        for _ in range(30):
            trial = terms(beta + step)
            if trial[0] >= loglik - 1e-12:
                break
            step = step / 2
        beta, (new, score, info) = beta + step, trial
        done, loglik = abs(new - loglik) < 1e-10 * max(1.0, abs(new)), new
        if done:
            break
    else:
        return None
    try:
        se = np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        return None
    return beta, se


def _ratio(coef: float, se: float, events: tuple[int, int], exposed: int, persons: int) -> Ratio | None:  # fmt: skip
    if not (math.isfinite(coef) and math.isfinite(se)):
        return None
    return Ratio(
        ratio=math.exp(coef), low=math.exp(coef - Z95 * se), high=math.exp(coef + Z95 * se),
        events_exposed=events[0], events_unexposed=events[1], persons_exposed=exposed,
        persons=persons,
    )  # fmt: skip


def hr_grid(window: tuple[int, int]) -> Grid:
    """5-year age bands, one period: the cells of the piecewise-exponential model."""
    return Grid(HR_BANDS, (window[0],))


def after_years(cohort: Cohort, window: tuple[int, int], outcome: IntArray) -> FloatArray:
    """Person-years on :func:`hr_grid` from the first ``outcome`` event on (no longer at risk)."""
    spans = residence(cohort, window)
    return person_years(cohort, spans.of(outcome < NEVER).from_day(outcome), hr_grid(window))


def following_ratio(cohort: Cohort, window: tuple[int, int], everyone: FloatArray, exposure: IntArray, outcome: IntArray, after_outcome: FloatArray) -> Ratio | None:  # fmt: skip
    """Hazard ratio of a first ``outcome`` event after the first ``exposure`` event
    (dense first-event days per person), from ``everyone``'s person-time on :func:`hr_grid`
    less ``after_outcome`` (:func:`after_years`)."""
    grid = hr_grid(window)
    spans = residence(cohort, window)
    at_risk = everyone - after_outcome
    exposed_from = np.where(exposure < NEVER, exposure + 1, NEVER)
    exposed_spans = spans.of(exposure < NEVER).from_day(exposed_from).until_day(outcome)
    exposed = person_years(cohort, exposed_spans, grid)
    person = np.flatnonzero(outcome < NEVER)
    day = outcome[person]
    inside = (day >= window[0]) & (day < window[1]) & resident_on(cohort, person, day)
    person, day = person[inside], day[inside]
    found = cells(cohort, person, day, grid)
    after = exposure[person] < day
    events = np.stack([count_cells(found, grid, ~after), count_cells(found, grid, after)])
    years = np.stack([np.clip(at_risk - exposed, 0, None), exposed])
    fit = piecewise_poisson(events[..., 0], years[..., 0])
    if fit is None:
        return None
    counts = (int(events[1].sum()), int(events[0].sum()))
    return _ratio(fit[0], fit[1], counts, _persons(cohort, exposed_spans.person), cohort.persons)


def piecewise_poisson(events: IntArray, years: FloatArray) -> tuple[float, float] | None:
    """Log rate ratio of exposure and its SE from counts by [exposure, sex, band]: a Poisson
    GLM with one rate per band, a sex term and the exposure term, log person-years offset.

    Bands without events are left out: their own rate's estimate is 0 and they add nothing
    to the likelihood of the other parameters.
    """
    import statsmodels.api as sm

    x, sex, band = np.nonzero(years > 0)
    y, t = events[x, sex, band], years[x, sex, band]
    with_events = np.isin(band, np.unique(band[events[x, sex, band] > 0]))
    x, sex, band, y, t = x[with_events], sex[with_events], band[with_events], y[with_events], t[with_events]  # fmt: skip
    if y[x == 1].sum() == 0 or y[x == 0].sum() == 0 or np.unique(sex).size < 2:
        return None
    levels = np.unique(band)
    dummies = (band[:, None] == levels[None, :]).astype(np.float64)
    exog = np.column_stack([x, sex, dummies]).astype(np.float64)
    try:
        fitted = sm.GLM(y, exog, family=sm.families.Poisson(), offset=np.log(t)).fit()
    except (np.linalg.LinAlgError, ValueError):
        return None
    return float(fitted.params[0]), float(fitted.bse[0])


def follows(cohort: Cohort, endpoint: str, others: list[str]) -> list[tuple[str, int]]:
    """Other endpoints by how many cases of ``endpoint`` have their first event strictly
    after its first event, most first (ties by name)."""
    person, onset = cohort.cases[endpoint]
    found = []
    for other in others:
        later = cohort.onset(other)[person]
        n = int(((later > onset) & (later < NEVER)).sum())
        if n:
            found.append((other, n))
    return sorted(found, key=lambda item: (-item[1], item[0]))
