"""Level 1 of regenie's whole-genome regression for quantitative traits, and the LOCO split.

The level 0 predictors of a trait (n x P, R per block, :mod:`.blockridge`) are combined by
one more ridge regression on the trait, its shrinkage tau_j = P (1 - h2_j) / h2_j chosen by
cross-validation: the tau whose out-of-sample predictions have the smallest mean squared
error (regenie's ``ridge_level_1`` and ``ridge_level_1_loocv``; ``Data::output`` picks the
first minimum). The LOCO prediction of a sample for chromosome c is then the level 1
prediction without the predictors of c's blocks: the full prediction minus the part of c
(regenie's ``make_predictions`` / ``make_predictions_loocv``):

- K-fold: samples of fold i use the coefficients fitted without fold i;
- leave-one-out: the coefficients refitted on all samples at the chosen tau, each sample's
  downdated to leave it out, b_-j = b - H^-1 x_j (y_j - x_j' b) / (1 - x_j' H^-1 x_j),
  H = X'X + tau I.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class StackFit:
    """Level 1 of one trait: its cross-validated loss per tau, the choice, the LOCO split."""

    loss: Array  # R: MSE (quantitative) or -log-likelihood / n (binary) per tau
    r2: Array  # R: squared correlation of the out-of-sample predictions with the trait
    best: int  # index of the chosen tau
    loco: Array  # C x n: prediction without chromosome c's predictors (trait's step 1 scale)
    total: Array  # n: the prediction with every predictor
    converged: bool = True


def group_matrix(groups: Array, n_groups: int) -> Array:
    """P x C indicator of which chromosome each level 0 predictor belongs to."""
    out = np.zeros((len(groups), n_groups))
    out[np.arange(len(groups)), groups] = 1.0
    return out


def loco_split(contributions: Array, indicator: Array) -> tuple[Array, Array]:
    """(C x n leave-one-chromosome-out sums, n full sums) of per-predictor contributions
    (n x P)."""
    per_group = contributions @ indicator  # n x C
    total = contributions.sum(axis=1)
    return (total[:, None] - per_group).T, total


def squared_correlation(pred: Array, y: Array) -> Array:
    """Squared Pearson correlation of each row of ``pred`` (R x n) with ``y`` (regenie's Rsq)."""
    centred = pred - pred.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        result: Array = (centred @ yc) ** 2 / ((centred**2).sum(axis=1) * (yc @ yc))
    return result


def solve_shifted(gram: Array, rhs: Array, taus: Array) -> Array:
    """(gram + tau I)^-1 rhs for every tau: P x R."""
    p = gram.shape[0]
    out = np.empty((p, len(taus)))
    diagonal = np.arange(p)
    for j, tau in enumerate(taus):
        system = gram.copy()
        system[diagonal, diagonal] += tau
        factor = linalg.cho_factor(system, overwrite_a=True, check_finite=False)
        out[:, j] = linalg.cho_solve(factor, rhs, check_finite=False)
    return out


def stack_linear_kfold(
    x: Array, y: Array, folds: Sequence[slice], taus: Array, indicator: Array
) -> StackFit:
    """K-fold level 1 of one quantitative trait: ``x`` n x P level 0 predictors, ``y`` the
    scaled trait residual, ``indicator`` from :func:`group_matrix`."""
    n = len(y)
    grams = [x[f].T @ x[f] for f in folds]
    products = [x[f].T @ y[f] for f in folds]
    gram = np.sum(grams, axis=0)
    product = np.sum(products, axis=0)
    pred = np.empty((len(taus), n))
    betas = []
    for f, fold_gram, fold_product in zip(folds, grams, products, strict=True):
        beta = solve_shifted(gram - fold_gram, product - fold_product, taus)
        pred[:, f] = (x[f] @ beta).T
        betas.append(beta)
    loss = ((pred - y) ** 2).sum(axis=1) / n
    best = int(np.argmin(loss))
    loco = np.empty((indicator.shape[1], n))
    total = np.empty(n)
    for f, beta in zip(folds, betas, strict=True):
        loco[:, f], total[f] = loco_split(x[f] * beta[:, best], indicator)
    r2 = squared_correlation(pred, y)
    return StackFit(loss=loss, r2=r2, best=best, loco=loco, total=total)


def stack_linear_loo(x: Array, y: Array, taus: Array, indicator: Array) -> StackFit:
    """Leave-one-out level 1 of one quantitative trait (regenie's LOOCV)."""
    d, v = np.linalg.eigh(x.T @ x)
    z = v.T @ (x.T @ y)
    rotated = x @ v  # n x P
    squares = rotated**2
    pred = np.empty((len(taus), len(y)))
    for j, tau in enumerate(taus):
        inverse = 1.0 / (d + tau)
        leverage = squares @ inverse
        pred[j] = (rotated @ (inverse * z) - leverage * y) / (1.0 - leverage)
    loss = ((pred - y) ** 2).sum(axis=1) / len(y)
    best = int(np.argmin(loss))
    inverse_h = (v * (1.0 / (d + taus[best]))) @ v.T  # (X'X + tau I)^-1
    coef = inverse_h @ (x.T @ y)
    hx = inverse_h @ x.T  # P x n
    leverage = np.einsum("ij,ji->i", x, hx)
    residual = y - x @ coef
    b_loo = coef[:, None] - hx * (residual / (1.0 - leverage))  # P x n
    loco, total = loco_split(x * b_loo.T, indicator)
    r2 = squared_correlation(pred, y)
    return StackFit(loss=loss, r2=r2, best=best, loco=loco, total=total)
