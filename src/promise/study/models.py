"""Cox and Poisson regression with robust (sandwich) standard errors, and incidence rates
with exact Poisson confidence intervals.

Library choice: **statsmodels** for both models, so one well-kept library fits them: Cox
with ``PHReg`` (Efron's method for tied event times, as R's ``survival::coxph``), Poisson
with ``GLM`` and a log person-time offset (``cov_type="HC0"`` gives its sandwich variance).
The Cox sandwich variance (Lin and Wei 1989) is computed here, vectorised, from the score
residuals and PHReg's information matrix: statsmodels' own ``robust_covariance`` loops in
Python over event times and persons (274 s for 200,000 persons, measured) and gives NaN
whenever a person is at risk at no event time; lifelines' is quadratic in persons and
depends on row order when event times tie. lifelines is the tests' independent check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from promise.errors import PromiseError

Z95 = float(stats.norm.ppf(0.975))
FloatArray = npt.NDArray[np.float64]


class ModelFitError(PromiseError):
    """A model could not be fitted to the study dataset (no events, no variation, no convergence)."""


@dataclass(frozen=True)
class Coefficients:
    """Estimates of one model: a row per term."""

    terms: tuple[str, ...]
    coef: FloatArray
    se_model: FloatArray
    se_robust: FloatArray

    def ratio(self) -> FloatArray:
        """Hazard or rate ratios."""
        return np.asarray(np.exp(self.coef), dtype=np.float64)

    def ci(self) -> tuple[FloatArray, FloatArray]:
        """95% confidence interval of the ratio from the robust standard error."""
        low = np.exp(self.coef - Z95 * self.se_robust)
        high = np.exp(self.coef + Z95 * self.se_robust)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)

    def p_value(self) -> FloatArray:
        """Two-sided Wald p-value from the robust standard error."""
        return np.asarray(2 * stats.norm.sf(np.abs(self.coef / self.se_robust)), dtype=np.float64)


def cox(time: FloatArray, event: FloatArray, X: FloatArray, terms: tuple[str, ...]) -> Coefficients:
    """Cox proportional hazards (Efron ties) with model-based and robust standard errors."""
    from statsmodels.duration.hazard_regression import PHReg

    try:
        fitted = PHReg(time, X, status=event, ties="efron").fit(tol=1e-12)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ModelFitError(f"the Cox model could not be fitted ({str(exc).splitlines()[0]}); drop a term that (nearly) separates events.") from None  # fmt: skip
    coef = np.asarray(fitted.params, dtype=np.float64)
    covariance = np.asarray(fitted.cov_params(), dtype=np.float64)
    if not np.all(np.isfinite(coef)) or not np.all(np.isfinite(covariance)):
        raise ModelFitError("the Cox model did not converge; drop a term that (nearly) separates events.")  # fmt: skip
    residuals = score_residuals(time, event, X, coef)
    robust = covariance @ (residuals.T @ residuals) @ covariance
    return Coefficients(
        terms=terms,
        coef=coef,
        se_model=np.sqrt(np.diag(covariance)),
        se_robust=np.sqrt(np.diag(robust)),
    )


def score_residuals(
    time: FloatArray, event: FloatArray, X: FloatArray, beta: FloatArray
) -> FloatArray:
    """Cox score residuals (Lin and Wei 1989), one row per person, in O(n log n).

    ``W_i = d_i (x_i - xbar(t_i)) - r_i sum_{t_k <= t_i} (x_i - xbar_k) dLambda_k`` with
    ``r = exp(X beta)``, ``xbar_k`` the risk-weighted mean of x over those at risk at event
    time ``t_k`` and ``dLambda_k = d_k / S0_k`` the Breslow hazard increment (tied events
    share the whole risk set, as in statsmodels' PHReg.score_residuals).
    """
    risk = np.exp(X @ beta - np.max(X @ beta))
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    s0_suffix = np.cumsum(risk[order][::-1])[::-1]
    s1_suffix = np.cumsum((risk[:, None] * X)[order][::-1], axis=0)[::-1]
    event_times, deaths = np.unique(time[event == 1], return_counts=True)
    first_at_risk = np.searchsorted(sorted_time, event_times, side="left")
    s0 = s0_suffix[first_at_risk]
    xbar = s1_suffix[first_at_risk] / s0[:, None]
    increment = deaths / s0
    cum_increment = np.concatenate([[0.0], np.cumsum(increment)])
    cum_weighted = np.vstack([np.zeros(X.shape[1]), np.cumsum(increment[:, None] * xbar, axis=0)])
    passed = np.searchsorted(event_times, time, side="right")  # event times <= own time
    own = np.clip(passed - 1, 0, None)
    residuals = -risk[:, None] * (X * cum_increment[passed][:, None] - cum_weighted[passed])
    residuals += (event == 1)[:, None] * (X - xbar[own])
    return np.asarray(residuals, dtype=np.float64)


def poisson(
    time: FloatArray, event: FloatArray, X: FloatArray, terms: tuple[str, ...]
) -> Coefficients:
    """Poisson regression of events on terms with log(person-time) offset; intercept first."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    exog = np.column_stack([np.ones(len(time)), X])
    model = sm.GLM(event, exog, family=sm.families.Poisson(), offset=np.log(time))
    try:
        plain = model.fit(tol=1e-12)
        robust = model.fit(tol=1e-12, cov_type="HC0", start_params=plain.params)
    except (PerfectSeparationError, np.linalg.LinAlgError, ValueError) as exc:
        raise ModelFitError(f"the Poisson model could not be fitted ({str(exc).splitlines()[0]}); drop a term that (nearly) separates events.") from None  # fmt: skip
    return Coefficients(
        terms=("intercept", *terms),
        coef=np.asarray(robust.params, dtype=np.float64),
        se_model=np.asarray(plain.bse, dtype=np.float64),
        se_robust=np.asarray(robust.bse, dtype=np.float64),
    )


def garwood(events: int, person_years: float, *, level: float = 0.95) -> tuple[float, float]:
    """Exact Poisson (Garwood 1936) confidence interval of a rate per person-year.

    Lower ``chi2(alpha/2; 2d) / 2``, upper ``chi2(1 - alpha/2; 2d + 2) / 2`` events, each
    divided by person-time; the lower limit is 0 when there are no events.
    """
    alpha = 1.0 - level
    low = 0.0 if events == 0 else float(stats.chi2.ppf(alpha / 2, 2 * events)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * events + 2)) / 2
    return low / person_years, high / person_years
