"""Fits of many variant-trait pairs in one compiled call (the Firth or plain model of each).

Each pair reuses one predictors x samples buffer (the covariate basis, then the pair's
genotypes) and one work buffer, so a block's fits allocate nothing per pair and run
without the GIL on the calling thread.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from promise.gwas.engines.firth import OK, fit, work_size

Array = np.ndarray[Any, Any]

#: a Firth fit that did not converge is retried carefully with this many times the iterations
RETRY_FACTOR = 4


@numba.njit(nogil=True, cache=True)
def _record(
    out: Array,
    j: int,
    beta: float,
    variances: tuple[float, float],
    statistic: float,
    outcome: int,
    its: int,
) -> None:
    out[j, 0] = beta
    out[j, 1] = variances[0]
    out[j, 2] = variances[1]
    out[j, 3] = statistic
    out[j, 4] = outcome
    out[j, 5] = its


@numba.njit(nogil=True, cache=True)
def _fit_or_retry(
    x: Array,
    y: Array,
    beta: Array,
    start: Array,
    n_free: int,
    firth: bool,
    max_iter: int,
    tol: float,
    work: Array,
) -> tuple[int, int, float, float, float]:
    """:func:`fit`; a Firth fit that fails is retried from ``start`` with step halving and
    :data:`RETRY_FACTOR` times the iterations (a plain fit that fails has met separation,
    where no estimate exists, and is left failed as Hail leaves it)."""
    result = fit(x, y, beta, n_free, firth, max_iter, tol, work)
    if result[0] == OK or not firth:
        return result
    beta[:] = start
    outcome, more, fisher, penalised, loglik = fit(
        x, y, beta, n_free, firth, RETRY_FACTOR * max_iter, tol, work, True
    )
    return outcome, result[1] + more, fisher, penalised, loglik


@numba.njit(nogil=True, cache=True)
def fit_pairs(
    basis_t: Array,
    y_t: Array,
    beta0: Array,
    geno: Array,
    variants: Array,
    traits: Array,
    firth: bool,
    lrt: bool,
    max_iter: int,
    tol: float,
    out: Array,
) -> None:
    """Fit every (variant, trait) pair: genotypes ``geno[variants[j]]`` (centred, missing
    calls at 0), trait ``y_t[traits[j]]``, covariates ``basis_t`` (k x n), starting from the
    trait's null coefficients ``beta0[t]`` and a genotype coefficient of 0.

    ``out[j]`` gets (beta, variance from I^-1, variance from H^-1, LRT statistic, outcome,
    iterations); the statistic
    (twice the gain in penalised log-likelihood over the restricted fit) only with ``lrt``,
    else NaN."""
    k, n = basis_t.shape
    p = k + 1
    x = np.empty((p, n))
    x[:k] = basis_t
    work = np.empty(work_size(n, p))
    beta = np.empty(p)
    start = np.empty(p)
    for j in range(variants.shape[0]):
        x[k] = geno[variants[j]]
        y = y_t[traits[j]]
        start[:k] = beta0[traits[j]]
        start[k] = 0.0
        beta[:] = start
        restricted = 0.0
        iterations = 0
        if lrt:
            outcome, iterations, _, _, restricted = _fit_or_retry(
                x, y, beta, start, k, firth, max_iter, tol, work
            )
            if outcome != OK:
                _record(out, j, math.nan, (math.nan, math.nan), math.nan, outcome, iterations)
                continue
        outcome, more, fisher, penalised, loglik = _fit_or_retry(
            x, y, beta, beta.copy(), p, firth, max_iter, tol, work
        )
        iterations += more
        if outcome != OK:
            _record(out, j, math.nan, (math.nan, math.nan), math.nan, outcome, iterations)
            continue
        statistic = 2.0 * (loglik - restricted) if lrt else math.nan
        _record(out, j, beta[k], (fisher, penalised), statistic, OK, iterations)
