"""Level 1 of regenie's whole-genome regression for binary traits: ridge-penalised logistic.

The level 0 predictors X (n x P) of a 0/1 trait y enter a logistic regression whose offset
is the null model's linear predictor (covariates only), penalised by tau |b|^2 / 2 with
tau_j = P (1 - h2_j) / h2_j x 3 / pi^2 (the liability scale, as regenie's ``check_l0``).
The tau whose out-of-sample probabilities (clipped to [1e-5, 1 - 1e-5]) have the smallest
negative log-likelihood per sample is chosen (regenie's ``ridge_logistic_level_1``,
``ridge_logistic_level_1_loocv``, ``Data::output``):

- K-fold: for fold i, Newton-Raphson (IRLS) on the other folds, tau from the largest to the
  smallest with warm starts, until every |score| = |X'(y - p) - tau b| < 1e-4 (at most 100
  iterations); fold i is predicted with those coefficients, and the LOCO prediction of its
  samples uses them too;
- leave-one-out: one fit on all samples per tau (Newton steps halved until the penalised
  deviance does not rise), then each sample's coefficients downdated one step,
  b_-j = b - H^-1 x_j (y_j - p_j) / (1 - w_j x_j' H^-1 x_j), H = X'WX + tau I.

A fit that does not converge leaves the trait without LOCO predictions: ``converged`` False.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg

from promise.gwas.engines.ridgestack import StackFit, loco_split, squared_correlation

Array = np.ndarray[Any, Any]

#: regenie's level 1 settings: score tolerance, iterations, step halvings, 0/1 clipping
SCORE_TOL = 1e-4
MAX_ITER = 100
MAX_HALVINGS = 25
CLIP = 1e-5
#: linear predictors beyond +-30 give regenie's probabilities eps / (1 + eps), 1 / (1 + eps)
ETA_LIMIT = 30.0
EPS = 10 * np.finfo(np.float64).eps

#: the liability-scale factor of the level 1 shrinkage for binary traits
LIABILITY = 3.0 / np.pi**2


def probabilities(eta: Array) -> Array:
    """Logistic probabilities, pinned near 0 and 1 beyond |eta| = 30 as regenie's get_pvec."""
    p = 1.0 - 1.0 / (np.exp(np.clip(eta, -ETA_LIMIT, ETA_LIMIT)) + 1.0)
    p = np.where(eta > ETA_LIMIT, 1.0 / (1.0 + EPS), p)
    result: Array = np.where(eta < -ETA_LIMIT, EPS / (1.0 + EPS), p)
    return result


def deviance(y: Array, p: Array) -> float:
    """-2 log-likelihood of 0/1 outcomes."""
    return float(-2.0 * np.where(y > 0.5, np.log(p), np.log1p(-p)).sum())


def _clipped(eta: Array) -> Array:
    """Out-of-sample probabilities, clipped to [1e-5, 1 - 1e-5] as regenie does."""
    result: Array = np.clip(probabilities(eta), CLIP, 1.0 - CLIP)
    return result


def _cv_loss(y: Array, p: Array) -> Array:
    """-log-likelihood per sample of out-of-sample probabilities (rows of ``p``)."""
    result: Array = -np.where(y > 0.5, np.log(p), np.log1p(-p)).mean(axis=-1)
    return result


def _weighted_gram(x: Array, w: Array, tau: float) -> Array:
    root = x * np.sqrt(w)[:, None]
    gram: Array = root.T @ root
    gram[np.diag_indices_from(gram)] += tau
    return gram


def fit_irls(
    x: Array, y: Array, offset: Array, tau: float, beta: Array, gram: Array | None = None
) -> tuple[Array, bool, Array]:
    """Penalised Newton-Raphson from ``beta`` to |score| < 1e-4 (regenie's K-fold level 1,
    whose IRLS step is this Newton step): returns (b, converged, X'WX last computed).

    X'WX costs n P^2 and changes little from one iteration (or tau) to the next, so a
    ``gram`` from before is reused, with tau on its diagonal, while each step at least
    halves the largest score; otherwise it is recomputed at the current b. The iterations
    stop at the same point, where the score vanishes."""
    beta = beta.copy()
    diagonal = np.diag_indices(x.shape[1])
    factor = None
    previous = np.inf
    p = probabilities(offset + x @ beta)
    for _ in range(MAX_ITER):
        w = p * (1.0 - p)
        if np.any(w == 0):
            return beta, False, gram if gram is not None else _weighted_gram(x, w, 0.0)
        score = x.T @ (y - p) - tau * beta
        largest = float(np.abs(score).max())
        if largest < SCORE_TOL:
            return beta, True, gram if gram is not None else _weighted_gram(x, w, 0.0)
        if gram is None or largest > 0.5 * previous:
            gram, factor = _weighted_gram(x, w, 0.0), None
        if factor is None:
            system = gram.copy()
            system[diagonal] += tau
            factor = linalg.cho_factor(system, overwrite_a=True, check_finite=False)
        new = beta + linalg.cho_solve(factor, score, check_finite=False)
        for _ in range(MAX_HALVINGS):  # halve only while the weights would vanish
            p = probabilities(offset + x @ new)
            if np.all(p * (1.0 - p) > 0):
                break
            new = (beta + new) / 2.0
        beta, previous = new, largest
    return beta, False, gram if gram is not None else np.zeros((x.shape[1],) * 2)


def fit_newton(
    x: Array, y: Array, offset: Array, tau: float, beta: Array
) -> tuple[Array, Array, bool]:
    """Penalised Newton with step halving on the penalised deviance (regenie's
    ``run_log_ridge_loocv``): returns (b, weights at b, converged)."""
    beta = beta.copy()
    p = probabilities(offset + x @ beta)
    objective = deviance(y, p) + tau * float(beta @ beta)
    w = p * (1.0 - p)
    score = x.T @ (y - p) - tau * beta
    settled = False
    for _ in range(MAX_ITER):
        step = linalg.solve(_weighted_gram(x, w, tau), score, assume_a="pos", check_finite=False)
        for _ in range(MAX_HALVINGS):
            new = beta + step
            p = probabilities(offset + x @ new)
            new_objective = deviance(y, p) + tau * float(new @ new)
            if new_objective < objective + 1e-6:
                break
            step = step / 2.0
        w = p * (1.0 - p)
        if np.any(w == 0):
            return new, w, False
        score = x.T @ (y - p) - tau * new
        settled = abs(new_objective - objective) / (0.01 + abs(new_objective)) < 1e-8
        beta, objective = new, new_objective
        if np.abs(score).max() < SCORE_TOL:
            return beta, w, True
    return beta, w, settled


def stack_logistic_kfold(
    x: Array, y: Array, offset: Array, folds: Sequence[slice], taus: Array, indicator: Array
) -> StackFit:
    """K-fold level 1 of one binary trait; ``offset`` the null model's linear predictor."""
    n = len(y)
    pred = np.empty((len(taus), n))
    chosen: list[Array] = []
    for f in folds:
        rest = np.ones(n, dtype=bool)
        rest[f] = False
        x_rest, y_rest, offset_rest = x[rest], y[rest], offset[rest]
        beta = np.zeros(x.shape[1])
        betas = np.empty((x.shape[1], len(taus)))
        gram = None
        for j, tau in enumerate(taus):
            beta, ok, gram = fit_irls(x_rest, y_rest, offset_rest, float(tau), beta, gram)
            if not ok:
                return failed(taus, indicator, n)
            betas[:, j] = beta
            pred[j, f] = _clipped(offset[f] + x[f] @ beta)
        chosen.append(betas)
    loss = _cv_loss(y, pred)
    best = int(np.argmin(loss))
    loco = np.empty((indicator.shape[1], n))
    total = np.empty(n)
    for f, betas in zip(folds, chosen, strict=True):
        loco[:, f], total[f] = loco_split(x[f] * betas[:, best], indicator)
    return StackFit(loss=loss, r2=squared_correlation(pred, y), best=best, loco=loco, total=total)


def _downdated(x: Array, y: Array, p: Array, w: Array, beta: Array, tau: float) -> Array:
    """P x n leave-one-out coefficients, one Newton downdate per sample."""
    factor = linalg.cho_factor(_weighted_gram(x, w, tau), check_finite=False)
    v1 = linalg.cho_solve(factor, x.T, check_finite=False)  # P x n
    v2 = np.einsum("ij,ji->i", x, v1) * w
    result: Array = beta[:, None] - v1 * ((y - p) / (1.0 - v2))
    return result


def stack_logistic_loo(
    x: Array, y: Array, offset: Array, taus: Array, indicator: Array
) -> StackFit:
    """Leave-one-out level 1 of one binary trait (regenie's LOOCV, its default below 5,000
    samples)."""
    n = len(y)
    pred = np.empty((len(taus), n))
    beta = np.zeros(x.shape[1])
    for j, tau in enumerate(taus):
        beta, w, ok = fit_newton(x, y, offset, float(tau), beta)
        if not ok:
            return failed(taus, indicator, n)
        p = probabilities(offset + x @ beta)
        b_loo = _downdated(x, y, p, w, beta, float(tau))
        pred[j] = _clipped(offset + np.einsum("ij,ji->i", x, b_loo))
    loss = _cv_loss(y, pred)
    best = int(np.argmin(loss))
    beta, w, ok = fit_newton(x, y, offset, float(taus[best]), np.zeros(x.shape[1]))
    if not ok:
        return failed(taus, indicator, n)
    p = probabilities(offset + x @ beta)
    b_loo = _downdated(x, y, p, w, beta, float(taus[best]))
    loco, total = loco_split(x * b_loo.T, indicator)
    return StackFit(loss=loss, r2=squared_correlation(pred, y), best=best, loco=loco, total=total)


def failed(taus: Array, indicator: Array, n: int) -> StackFit:
    return StackFit(
        loss=np.full(len(taus), np.nan),
        r2=np.full(len(taus), np.nan),
        best=-1,
        loco=np.zeros((indicator.shape[1], n)),
        total=np.zeros(n),
        converged=False,
    )
