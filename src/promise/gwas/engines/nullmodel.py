"""The null logistic model of each binary trait, fitted once and reused for every variant.

For traits y_t sharing one sample set and the covariates X (intercept included), the null
model is the plain logistic fit of y_t on X alone: fitted probabilities mu_t and weights
w_t = mu_t (1 - mu_t). The score test of a variant g then needs only products with g:

    U = g' (y_t - mu_t)
    V = g' W_t g - g' W_t X (X' W_t X)^-1 X' W_t g = sum(w_t g^2) - |A_t' g|^2,

with A_t = W_t X L_t^-T and L_t the Cholesky factor of X' W_t X, so that a block of
variants meets every trait in two matrix products (:mod:`promise.gwas.engines.binary`).
The covariates enter through an orthonormal basis of their column space scaled to unit
root mean square: the score statistic and the genotype's (Firth or plain) coefficient do
not depend on how the covariates are parametrised (the Firth penalty, 1/2 log det I, only
shifts by a constant), and the basis keeps every fit well conditioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from promise.errors import PromiseError
from promise.gwas.engines import firth

Array = np.ndarray[Any, Any]

#: iterations and tolerance of the null fits (Newton-Raphson converges in well under 25)
NULL_MAX_ITER = 50
NULL_TOL = 1e-10


class BinaryTraitError(PromiseError):
    """A binary trait or its covariates cannot be analysed (coding, no cases, separation)."""


@dataclass(frozen=True)
class NullModels:
    """Null fits of traits sharing one sample set (n samples, T traits, k covariate columns)."""

    names: tuple[str, ...]
    basis_t: Array  # k x n: orthonormal basis of the covariates, times sqrt(n), contiguous
    y_t: Array  # T x n float64 0/1, contiguous
    offset_t: Array  # T x n: added to each trait's linear predictor (zeros: none)
    beta: Array  # T x k null coefficients on the basis
    weights: Array  # n x T: mu (1 - mu)
    # n x (T + T + k T): [y - mu | y | A_1 .. A_T], the right-hand side of the block product
    right: Array

    @property
    def n_samples(self) -> int:
        return int(self.y_t.shape[1])

    @property
    def n_traits(self) -> int:
        return len(self.names)

    @property
    def cases(self) -> Array:
        return np.asarray(self.y_t.sum(axis=1).round().astype(np.int64))

    @property
    def controls(self) -> Array:
        return self.n_samples - self.cases


def covariate_basis(covariates: Array) -> Array:
    """k x n orthonormal basis of the covariates' columns, scaled by sqrt(n); refused when
    the columns are collinear or do not contain the constant (the intercept)."""
    n = covariates.shape[0]
    if not np.all(np.isfinite(covariates)):
        raise BinaryTraitError("The covariates have missing or infinite values.")
    q, r = np.linalg.qr(covariates)
    diag = np.abs(np.diag(r))
    if diag.size == 0 or diag.min() <= 1e-9 * max(diag.max(), 1e-300):
        raise BinaryTraitError(
            "The covariates are collinear (one column is a combination of the others)."
        )
    ones = np.ones(n)
    if np.linalg.norm(ones - q @ (q.T @ ones)) > 1e-8 * np.sqrt(n):
        raise BinaryTraitError("The covariates must include the intercept (a constant column).")
    return np.ascontiguousarray(q.T * np.sqrt(n))


def check_traits(y: Array, names: Sequence[str]) -> None:
    """Every trait coded 0/1 with at least one case and one control."""
    for t, name in enumerate(names):
        column = y[:, t]
        if not np.all((column == 0) | (column == 1)):
            raise BinaryTraitError(f"Trait {name} is not coded 0/1 on every sample it keeps.")
        if column.min() == column.max():
            raise BinaryTraitError(f"Trait {name} has no {'controls' if column[0] else 'cases'}.")


def fit_null(
    y: Array, covariates: Array, names: Sequence[str], offset: Array | None = None
) -> NullModels:
    """Fit the null model of every trait: ``y`` is n x T (0/1), ``covariates`` n x k with
    the intercept among the columns (principal components are just more columns),
    ``offset`` n x T added to each trait's linear predictor (regenie's LOCO prediction for
    the chromosome tested; None: no offset) and kept for the per-variant fits."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != len(names) or y.shape[0] != covariates.shape[0]:
        raise BinaryTraitError("The traits and covariates do not have one row per sample.")
    check_traits(y, names)
    basis_t = covariate_basis(np.asarray(covariates, dtype=np.float64))
    k, n = basis_t.shape
    y_t = np.ascontiguousarray(y.T)
    offset_t = np.zeros_like(y_t) if offset is None else np.ascontiguousarray(offset.T, dtype=float)
    if offset_t.shape != y_t.shape or not np.all(np.isfinite(offset_t)):
        raise BinaryTraitError("The offsets must be finite, one per sample and trait.")
    beta = np.zeros((len(names), k))
    work = np.empty(firth.work_size(n, k))
    for t, name in enumerate(names):
        outcome, *_ = firth.fit(
            basis_t, y_t[t], offset_t[t], beta[t], k, False, NULL_MAX_ITER, NULL_TOL, work
        )
        if outcome != firth.OK:
            raise BinaryTraitError(
                f"The null logistic model of trait {name} did not converge: the covariates "
                "separate its cases from its controls."
            )
    mu = 1.0 / (1.0 + np.exp(-(offset_t + beta @ basis_t)))  # T x n
    weights = np.ascontiguousarray((mu * (1.0 - mu)).T)
    whitened = []
    for t in range(len(names)):
        weighted = basis_t.T * weights[:, t : t + 1]  # W X, n x k
        lower = np.linalg.cholesky(basis_t @ weighted)
        whitened.append(np.linalg.solve(lower, weighted.T).T)  # W X L^-T
    right = np.column_stack([y - mu.T, y, *whitened])
    return NullModels(
        names=tuple(names),
        basis_t=basis_t,
        y_t=y_t,
        offset_t=offset_t,
        beta=beta,
        weights=weights,
        right=np.asarray(right, order="C"),
    )
