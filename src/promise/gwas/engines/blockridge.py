"""Level 0 of regenie's whole-genome regression: ridge predictors from each block of SNPs.

Mbatchou et al. 2021 (Nat Genet 53:1097), as regenie's ``ridge_level_0`` and
``ridge_level_0_loocv`` (``src/Step1_Models.cpp``) compute it. For a block of B SNPs
(genotypes mean-imputed, covariates projected out, each SNP scaled to unit variance over
n - k degrees of freedom) and the traits Y (n x T, covariates projected out, scaled the same
way), every shrinkage lambda_r of the grid gives a ridge fit of every trait on the block,

    beta_r = (G G' + lambda_r I)^-1 G Y,        lambda_r = M (1 - h2_r) / h2_r,

with M the number of SNPs in step 1 and h2_r in {0.01, 0.25, 0.5, 0.75, 0.99} by default.
The prediction G' beta_r of each sample comes from a fit that did not see it:

- K-fold (default): the samples in K folds of floor(n / K) (the last takes the rest), as
  regenie sizes them; fold i is predicted from the fit on the other folds,
  G_-i G_-i' = G G' - G_i G_i', so the block's Gram matrix is computed once. regenie fills
  the folds with runs of the file order; by default they are filled after a fixed
  pseudo-random permutation instead (:func:`fold_indices`), so that a family listed
  together in the .fam does not fall into one fold (where no relative's phenotype would
  inform its members' predictions, and LOCO would leave the family's shared polygenic
  component in the trait: measured lambda GC 1.10 where shuffled folds give 0.96, see
  :mod:`.kinshipcalibration`).
- leave-one-out: one eigendecomposition G G' = V D V' and, per sample j with z = V' g_j,
  gamma_j = sum z^2 / (d + lambda), the closed form
  (z' (D + lambda)^-1 V' G Y - gamma_j y_j) / (1 - gamma_j).

Each of the R predictors of a trait is then centred and scaled to unit variance over the
samples (n - 1 degrees of freedom): these are the trait's level 0 predictors, R per block.
Regenie solves each fold's system by eigendecomposition. Here one multi-shift conjugate
gradient run per fold solves all R shrinkage values at once (:func:`conjugate_gradients`,
to a relative residual of 1e-5 in float32), a Cholesky factor taking over for a value it
does not settle in :data:`CG_ITERATIONS` products: the same solutions (the systems are
positive definite, lambda > 0) for a few products of the B x B matrix with the B x T
right-hand sides. The k-fold path scales late (:func:`projected_genotypes`,
:func:`level0_kfold_projected`): the block is only mean-imputed and projected (in place)
and the per-SNP scale D is applied to the B x B Gram matrices and the coefficients, which
saves two passes over each n x B block.

Where the time goes (5,000 samples, blocks of 1,000, 20 traits, 5 folds, one core, per
block): the fold Gram matrices about 35 ms (B^2 n / 2 multiply-adds in float32, the floor
that ``benchmarks/step1.py`` prints), the solves about 40 ms, predictions about 10 ms,
reading, projecting and scaling about 30 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg

from promise.errors import PromiseError

Array = np.ndarray[Any, Any]

#: regenie's default grid of heritabilities behind the shrinkage values (both levels)
H2_GRID = (0.01, 0.25, 0.5, 0.75, 0.99)


class Step1Error(PromiseError):
    """Whole-genome regression (step 1) cannot run on these inputs."""


def shrinkage(h2: Sequence[float], count: int) -> Array:
    """count (1 - h2) / h2 for each h2: the ridge penalty that corresponds to a heritability
    h2 spread evenly over ``count`` standardised predictors."""
    h = np.asarray(h2, dtype=np.float64)
    if h.size < 2 or np.any((h <= 0) | (h >= 1)):
        raise Step1Error(
            "The heritability grid needs at least two values strictly between 0 and 1."
        )
    result: Array = count * (1.0 - h) / h
    return result


#: seed of the permutation behind the folds (fixed: the same data give the same folds)
FOLD_SEED = 20210601


def fold_slices(n: int, k: int) -> list[slice]:
    """K contiguous folds over n samples: floor(n / K) samples each, the last takes the rest."""
    size = n // k
    if k < 2 or size < 1:
        raise Step1Error(f"{n} samples cannot be split into {k} cross-validation folds.")
    return [slice(i * size, n if i == k - 1 else (i + 1) * size) for i in range(k)]


def fold_indices(n: int, k: int, order: str = "shuffled") -> list[Array]:
    """The samples (sorted indices) of each fold: :func:`fold_slices` over the file order
    (``order='file'``, regenie's rule) or over a fixed pseudo-random permutation."""
    positions = np.arange(n)
    if order == "shuffled":
        positions = np.random.default_rng(FOLD_SEED).permutation(n)
    elif order != "file":
        raise Step1Error(f"Unknown fold order {order!r}: use 'shuffled' or 'file'.")
    return [np.sort(positions[s]) for s in fold_slices(n, k)]


def projected_genotypes(
    counts: Array, missing: Array | None, basis: Array, dtype: Any = np.float64
) -> Array:
    """Block of A1 counts (B x n; any value at a missing call) -> genotypes mean-imputed
    with the covariates projected out, not yet scaled, in ``dtype``. ``basis``: n x k
    orthonormal basis of the covariates (intercept included). The projection runs in place
    through BLAS (``g' <- g' - q (g q)'``): one pass over the block and no n x B temporary."""
    g = np.asarray(counts).astype(dtype, order="C")
    n = basis.shape[0]
    if missing is not None:
        called = n - missing.sum(axis=1)
        g[missing] = 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = g.sum(axis=1, dtype=np.float64) / called
        g[missing] = np.broadcast_to(mean[:, None], g.shape)[missing]
    q = np.asfortranarray(basis, dtype=dtype)
    gq = g @ q
    gemm = linalg.blas.sgemm if g.dtype == np.float32 else linalg.blas.dgemm
    out = gemm(alpha=-1.0, a=q, b=gq, trans_b=True, beta=1.0, c=g.T, overwrite_c=True)
    if not np.shares_memory(out, g):  # pragma: no cover - BLAS copied after all
        g = np.ascontiguousarray(out.T)
    return g


def scale_factors(squared_norms: Array, n: int, k: int) -> Array:
    """sqrt(n - k) / norm of each projected SNP (unit variance over n - k degrees of
    freedom); 0 for a SNP that does not vary once the covariates are out (norm at most
    1e-6 sqrt(n), or not finite)."""
    norm = np.sqrt(np.asarray(squared_norms, dtype=np.float64))
    varying = np.isfinite(norm) & (norm > 1e-6 * np.sqrt(n))
    result: Array = np.where(varying, np.sqrt(n - k) / np.where(varying, norm, 1.0), 0.0)
    return result


def standardize_genotypes(
    counts: Array, missing: Array | None, basis: Array, dtype: Any = np.float64
) -> tuple[Array, Array]:
    """Block of A1 counts (B x n; any value at a missing call) -> (genotypes mean-imputed,
    covariates projected out and scaled by their norm / sqrt(n - k), kept) for the SNPs
    that vary after the projection; ``kept`` marks them among the B. ``basis``: n x k
    orthonormal basis of the covariates (intercept included). Computed in ``dtype``
    (float32 halves the memory traffic of these passes; the norms are summed in float64)."""
    g = projected_genotypes(counts, missing, basis, dtype)
    n, k = basis.shape
    factor = scale_factors(np.einsum("ij,ij->i", g, g, dtype=np.float64), n, k)
    kept = factor > 0
    g *= factor.astype(g.dtype)[:, None]
    if not kept.all():
        g = g[kept]
    return np.ascontiguousarray(g), kept


def _standardize_columns(pred: Array) -> Array:
    """Centre and scale each column (last two axes: samples x columns) over the samples,
    sd on n - 1 degrees of freedom, as regenie does with its level 0 predictions."""
    n = pred.shape[-2]
    centred = pred - pred.mean(axis=-2, keepdims=True)
    sd = np.sqrt((centred**2).sum(axis=-2, keepdims=True) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        result: Array = np.where(sd > 0, centred / sd, 0.0)
    return result


#: conjugate-gradient iterations tried before Cholesky factors (each costs B^2 T, a
#: factor B^3 / 3): enough for the shrinkage values that dominate the spectrum of G G'
CG_ITERATIONS = 12


def conjugate_gradients(a: Array, lambdas: Array, b: Array) -> tuple[Array, Array]:
    """(a + lambda_r I)^-1 b for every shrinkage value at once (B x R x T) by multi-shift
    conjugate gradients (Jegerlehner 1996, hep-lat/9612014; Frommer 2003): the Krylov space
    of a is the same for every shift, so one CG on the smallest shift, one product with
    ``a`` per iteration for the T columns, also gives every larger shift's iterates (each
    the iterate its own CG would have, through the scalars zeta) for O(B R T) more work.
    Each shift's residual (zeta times the base residual) is brought to a relative 1e-5
    (float32) or 1e-10 (float64) within :data:`CG_ITERATIONS`; returns the solutions and
    which shrinkage values got there. With lambda large against a's eigenvalues (small h2:
    lambda = M (1 - h2) / h2) a few products suffice."""
    tol = 1e-5 if a.dtype == np.float32 else 1e-10
    tiny = np.finfo(np.float64).tiny
    b_count, t_count = b.shape
    rank = np.argsort(-np.asarray(lambdas, dtype=np.float64), kind="stable")
    shifts = np.asarray(lambdas, dtype=np.float64)[rank]  # largest first: they settle first
    sigma = shifts.min()
    delta = (shifts - sigma)[:, None]  # R x 1
    limit = (tol**2) * np.einsum("ij,ij->j", b, b, dtype=np.float64)  # T
    x = np.zeros((len(shifts), b_count, t_count), dtype=a.dtype)  # R x B x T
    converged = np.zeros((len(shifts), t_count), dtype=bool)
    converged[:, limit <= 0] = True
    active = np.flatnonzero(limit > 0)  # columns still iterating (compacted as they settle)
    r = b[:, active].copy()
    p = r.copy()
    ps = np.repeat(r[None], len(shifts), axis=0)  # R x B x active
    xs = np.zeros_like(ps)
    rs = np.einsum("ij,ij->j", r, r, dtype=np.float64)
    zeta = np.ones((len(shifts), active.size))
    zeta_old = np.ones_like(zeta)
    alpha_old = np.ones(active.size)
    beta_old = np.zeros(active.size)
    frozen = np.zeros(zeta.shape, dtype=bool)
    s0 = 0  # shifts before s0 have settled in every column still iterating: left alone
    for _ in range(CG_ITERATIONS):
        if active.size == 0:
            break
        ap = a @ p
        ap += a.dtype.type(sigma) * p
        alpha = rs / np.maximum(np.einsum("ij,ij->j", p, ap, dtype=np.float64), tiny)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            zeta_new = (zeta * zeta_old * alpha_old) / (
                alpha * beta_old * (zeta_old - zeta) + zeta_old * alpha_old * (1 + delta * alpha)
            )
            ratio = zeta_new / zeta
        # a settled shift stops moving: zeta (and its direction) set to zero, so that its
        # vanishing residual does not sink into float32 subnormals, which are slow
        zeta_new[frozen] = 0.0
        ratio[frozen] = 0.0
        xs[s0:] += (alpha * ratio[s0:]).astype(a.dtype)[:, None, :] * ps[s0:]
        r -= alpha.astype(a.dtype) * ap
        new = np.einsum("ij,ij->j", r, r, dtype=np.float64)
        beta = new / np.maximum(rs, tiny)
        ps[s0:] *= (beta * ratio[s0:] ** 2).astype(a.dtype)[:, None, :]
        ps[s0:] += zeta_new[s0:].astype(a.dtype)[:, None, :] * r
        p = r + beta.astype(a.dtype) * p
        done = frozen | ((zeta_new**2) * new <= limit[active])  # R x active
        zeta_old, zeta, alpha_old, beta_old, rs = zeta, zeta_new, alpha, beta, new
        frozen = done
        converged[:, active] = done
        settled = done.all(axis=0)  # every shift of the column (the base last, as a rule)
        if settled.any():
            x[:, :, active[settled]] = xs[:, :, settled]
            keep = ~settled
            active, r, p, rs = active[keep], r[:, keep], p[:, keep], rs[keep]
            ps, xs = ps[:, :, keep], xs[:, :, keep]
            zeta, zeta_old, frozen = zeta[:, keep], zeta_old[:, keep], frozen[:, keep]
            alpha_old, beta_old = alpha_old[keep], beta_old[keep]
        while s0 < len(shifts) and frozen[s0].all():
            s0 += 1
    x[:, :, active] = xs
    solutions = np.empty_like(x)
    solutions[rank] = x
    settled_shifts = np.empty(len(shifts), dtype=bool)
    settled_shifts[rank] = converged.all(axis=1)
    return solutions.transpose(1, 0, 2), settled_shifts


def level0_kfold(g: Array, y: Array, folds: Sequence[slice], lambdas: Array) -> Array:
    """Out-of-fold ridge predictions of one block: ``g`` B x n standardised genotypes, ``y``
    n x T scaled trait residuals, ``folds`` contiguous; returns T x n x R standardised
    predictors. The products and solves run in ``g``'s precision (float32 or float64)."""
    pred, _ = _kfold(g, y, folds, lambdas, None)
    assert pred is not None
    return pred


def level0_kfold_projected(
    g: Array, y: Array, folds: Sequence[slice], lambdas: Array, k: int
) -> tuple[Array | None, Array]:
    """:func:`level0_kfold` of a block from :func:`projected_genotypes` (not yet scaled):
    the scaling by sqrt(n - k) / norm is applied to the Gram matrix (D G G' D), the
    products and the coefficients instead of to the n x B genotypes, the norms taken from
    the Gram matrix's diagonal. Returns (T x n x R predictors, or None when no SNP varies;
    which SNPs vary). A constant SNP gets a zero row and column, so a zero coefficient."""
    return _kfold(g, y, folds, lambdas, k)


def _kfold(
    g: Array, y: Array, folds: Sequence[slice], lambdas: Array, k: int | None
) -> tuple[Array | None, Array]:
    b_count, n = g.shape
    t_count = y.shape[1]
    r_count = len(lambdas)
    yg = y.astype(g.dtype, copy=False)
    grams = [g[:, f] @ g[:, f].T for f in folds]
    products = [g[:, f] @ yg[f] for f in folds]
    factor = None
    varying = np.ones(b_count, dtype=bool)
    if k is not None:  # scale D from the norms on the Gram matrix's diagonal
        diagonals = np.array([np.diagonal(m) for m in grams], dtype=np.float64)
        factor = scale_factors(diagonals.sum(axis=0), n, k)
        varying = factor > 0
        if not varying.any():
            return None, varying
        d = factor.astype(g.dtype)
        outer = d[:, None] * d[None, :]
        for m in grams:
            m *= outer
        for m in products:
            m *= d[:, None]
    gram = np.sum(grams, axis=0)
    product = np.sum(products, axis=0)
    pred = np.empty((n, r_count * t_count), dtype=g.dtype)
    betas = np.empty((b_count, r_count, t_count), dtype=g.dtype)
    diagonal = np.arange(b_count)
    for f, fold_gram, fold_product in zip(folds, grams, products, strict=True):
        rest = gram - fold_gram
        rhs = product - fold_product
        betas[:], converged = conjugate_gradients(rest, lambdas, rhs)
        for r in np.flatnonzero(~converged):
            system = rest.copy()
            system[diagonal, diagonal] += lambdas[r]
            factored = linalg.cho_factor(system, overwrite_a=True, check_finite=False)
            betas[:, r, :] = linalg.cho_solve(factored, rhs, check_finite=False)
        coef = betas.reshape(b_count, -1)
        if factor is not None:
            coef = coef * d[:, None]
        np.matmul(g[:, f].T, coef, out=pred[f])
    pred64 = pred.astype(np.float64).reshape(n, r_count, t_count)
    result = _standardize_columns(pred64.transpose(2, 0, 1))
    return result, varying


def level0_loo(g: Array, y: Array, lambdas: Array) -> Array:
    """Leave-one-out ridge predictions of one block (regenie's LOOCV): ``g`` B x n
    standardised genotypes, ``y`` n x T; returns T x n x R standardised predictors."""
    g64 = np.asarray(g, dtype=np.float64)
    d, v = np.linalg.eigh(g64 @ g64.T)
    w = v.T @ (g64 @ y)  # B x T
    z = v.T @ g64  # B x n
    z2 = z * z
    pred = np.empty((y.shape[1], y.shape[0], len(lambdas)))
    for r, lam in enumerate(lambdas):
        inverse = 1.0 / (d + lam)
        gamma = inverse @ z2  # n
        fitted = (z.T * inverse) @ w  # n x T
        pred[:, :, r] = ((fitted - gamma[:, None] * y) / (1.0 - gamma)[:, None]).T
    return _standardize_columns(pred)
