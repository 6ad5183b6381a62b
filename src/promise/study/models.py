"""Cox and Poisson regression with robust (sandwich) standard errors, and incidence rates
with exact Poisson confidence intervals.

Library choice: **lifelines** for Cox (``CoxPHFitter``: Efron's method for tied event times,
as R's ``survival::coxph``; ``robust=True`` gives the Lin-Wei sandwich variance), and
**statsmodels** for Poisson (``GLM`` with a log person-time offset; ``cov_type="HC0"`` gives
the sandwich variance). statsmodels' own Cox (``PHReg``) is the independent check in the
tests; promise does not use it because its robust covariance is NaN whenever one person is
at risk at no event time (every study with early censoring) and its score residuals are not
Efron's, so its robust errors disagree with its own Efron estimates when events tie.
lifelines' robust variance uses Breslow-type score residuals; with ties it differs from R's
Efron-adjusted one by well under 0.1% (measured; docs/studies.md).
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
    """Cox proportional hazards, Efron ties, robust and model-based standard errors."""
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    frame = pd.DataFrame(X, columns=list(terms))
    frame["__time"], frame["__event"] = time, event
    options = {"precision": 1e-10, "r_precision": 1e-14}
    try:
        robust = CoxPHFitter().fit(frame, "__time", "__event", robust=True, fit_options=options)
        plain = CoxPHFitter().fit(frame, "__time", "__event", fit_options=options)
    except (ConvergenceError, np.linalg.LinAlgError) as exc:
        raise ModelFitError(f"the Cox model did not converge ({str(exc).splitlines()[0]}); drop a term that (nearly) separates events.") from None  # fmt: skip
    return Coefficients(
        terms=terms,
        coef=robust.params_.to_numpy(np.float64),
        se_model=plain.standard_errors_.to_numpy(np.float64),
        se_robust=robust.standard_errors_.to_numpy(np.float64),
    )


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
