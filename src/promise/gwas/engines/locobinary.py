"""Binary traits in step 2 with the LOCO prediction as an offset: score test, approximate Firth.

For the variants of chromosome c and trait t, with o = the step 1 LOCO prediction of t for c
(:meth:`.step1.Step1Result.offset`; zeros without step 1), as regenie's step 2 computes it
(``compute_res_bin``, ``compute_score_bt``, ``fit_firth_logistic_snp_fast``):

1. **Null model with offset**: logistic regression of y on the covariates X with offset o,
   logit(mu) = o + X b; weights w = mu (1 - mu), X'WX = L L'.
2. **Score test** of a genotype g: U = g'(y - mu), V = g'Wg - |A'g|^2 with A = W X L^-T,
   chi2 = U^2 / V; beta = U / V and SE = 1 / sqrt(V) (regenie's reported one-step values).
3. **Approximate Firth** (regenie ``--firth --approx``) where the score p is below
   ``firth_p``: the covariates' coefficients are those of the Firth-penalised null model
   with offset o (penalty 1/2 log det X'WX), fixed; only the variant's coefficient is fitted,
   on g* = g - X (X'WX)^-1 X'W g (the genotype with the covariates projected out in the W
   metric of step 1), with offset X b_Firth + o and penalty 1/2 log(g*' W g*). Newton steps
   (at most 5 in absolute value, halved until the penalised deviance falls) until the
   modified score sum g* (y - p + h (1/2 - p)), h = g*^2 w / g*'Wg*, is below 2.5e-4; the
   penalised likelihood-ratio statistic against b = 0 gives the p-value, and the SE is
   back-derived, |beta| / sqrt(chi2), unless ``firth_se='fisher'``: 1 / sqrt(g*'Wg*).

This module is the reference for step 2 with an offset (the tests compare it with regenie's
output). The binary engine (:mod:`.binary`, :mod:`.nullmodel`, :mod:`.firth`) takes the
offset as one more argument, ``offset``, n x T for the chromosome being tested:

1. ``nullmodel.fit_null(y, covariates, names, offset=None)``: each trait's Newton fit starts
   its linear predictor from ``offset[:, t]`` (eta = o + X b in ``firth._probabilities``),
   so mu, the weights and ``right`` = [y - mu | y | A] carry the offset; NullModels keeps
   it (T x n) for the Firth fits. The score test needs nothing else.
2. ``firth.fit_pairs(..., offset_t)``: pair j's restricted and full fits get
   ``offset_t[traits[j]]`` in their linear predictor (regenie's exact Firth, ``--firth``).
3. ``binary.associate_bed``/``associate_genotypes`` run once per chromosome, on its
   variants, with ``fit_null(..., offset=s1.offset(chrom))``
   (:meth:`.step1.Step1Result.offset`; zeros where step 1 did not converge).
4. regenie's ``--approx`` Firth is :func:`approx_firth` with :func:`fit_offset_null`.

``promise gwas`` first scales each offset by its calibration slope (:func:`offset_slope`,
via :func:`promise.gwas.loco.calibrated`); this module takes offsets as given, as regenie.

With close relatives, divide each chromosome's statistics by
:func:`.kinshipcalibration.relatedness_factor` of r = y - mu.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

from promise.gwas.engines.logisticstack import probabilities

Array = np.ndarray[Any, Any]

#: regenie's Firth settings: score tolerance and iterations of the per-variant fit, largest
#: step, and those of the null Firth fit (50 x its numtol, --maxiter-null, --maxstep-null)
FIRTH_TOL = 2.5e-4
FIRTH_MAX_ITER = 250
MAX_STEP = 5.0
NULL_TOL = 5e-5
NULL_MAX_ITER = 1000
NULL_MAX_STEP = 25.0
MAX_HALVINGS = 25


@dataclass(frozen=True)
class OffsetNull:
    """Null fits of one trait with an offset: plain logistic and Firth-penalised."""

    mu: Array  # n
    weights: Array  # n: mu (1 - mu)
    whitened: Array  # n x k: W X L^-T
    projector: Array  # n x k: X L^-T, so that X (X'WX)^-1 X'W g = projector (whitened' g)
    firth_eta: Array  # n: X b_Firth + offset


@dataclass(frozen=True)
class LocoBinaryResults:
    """Per variant x trait statistics of step 2 (method 1: score test, 2: Firth)."""

    n_obs: Array  # m
    a1_freq: Array  # m
    beta: Array  # m x T
    se: Array
    chi2: Array
    p: Array
    method: Array
    failed: Array


def deviance(y: Array, p: Array) -> Array:
    """-2 log-likelihood over the last axis."""
    result: Array = -2.0 * np.where(y > 0.5, np.log(p), np.log1p(-p)).sum(axis=-1)
    return result


def fit_offset_null(y: Array, x: Array, offset: Array) -> OffsetNull | None:
    """Plain and Firth null fits of a 0/1 trait ``y`` on covariates ``x`` (n x k, intercept
    included) with ``offset``; None when either does not converge."""
    beta = np.zeros(x.shape[1])
    plain = _newton(y, x, offset, beta, firth=False, tol=1e-10, max_iter=50, max_step=np.inf)
    if plain is None:
        return None
    firth = _newton(
        y,
        x,
        offset,
        plain,
        firth=True,
        tol=NULL_TOL,
        max_iter=NULL_MAX_ITER,
        max_step=NULL_MAX_STEP,
    )
    if firth is None:
        return None
    mu = probabilities(offset + x @ plain)
    w = mu * (1.0 - mu)
    lower = np.linalg.cholesky((x * w[:, None]).T @ x)
    projector = np.linalg.solve(lower, x.T).T  # X L^-T
    return OffsetNull(
        mu=mu,
        weights=w,
        whitened=projector * w[:, None],
        projector=projector,
        firth_eta=offset + x @ firth,
    )


def offset_slope(y: Array, x: Array, offset: Array) -> float:
    """The calibration slope of a LOCO prediction: the coefficient gamma of ``offset`` in
    the logistic regression of ``y`` on the covariates ``x`` and ``offset`` (no offset),
    clipped to [0, 1]; 1 when that fit does not converge (the prediction is kept as is).

    Step 2 takes the prediction as an offset, i.e. with coefficient 1. Level 1's
    out-of-sample predictions of a binary trait can be overconfident (on the synthetic demo's
    E4_DM2, three planted variants and no polygenic background: gamma 0.66-0.71, SE 0.08),
    and a null model with an overconfident offset understates the variance of y - mu
    (sum (y - mu)^2 / sum mu (1 - mu) 1.05 against 1.025 without the offset), which
    inflates every score statistic (lambda GC 1.068 against 1.048). ``gamma * offset`` is
    the offset the data support; only shrinking is allowed (gamma <= 1) so that a noisy
    slope never amplifies a prediction."""
    design = np.column_stack([x, offset])
    start = np.zeros(design.shape[1])
    zeros = np.zeros(len(y))
    beta = _newton(y, design, zeros, start, firth=False, tol=1e-8, max_iter=50, max_step=np.inf)
    if beta is None:
        return 1.0
    return float(np.clip(beta[-1], 0.0, 1.0))


def _newton(
    y: Array,
    x: Array,
    offset: Array,
    start: Array,
    *,
    firth: bool,
    tol: float,
    max_iter: int,
    max_step: float,
) -> Array | None:
    """Logistic fit with offset, Firth-penalised or plain: Newton steps on the (modified)
    score, capped at ``max_step`` and halved until the (penalised) deviance falls."""
    beta = start.copy()

    def state(b: Array) -> tuple[Array, Array, Array, float]:
        p = probabilities(offset + x @ b)
        w = p * (1.0 - p)
        info = (x * w[:, None]).T @ x
        dev = float(deviance(y, p))
        if firth:
            dev -= float(np.linalg.slogdet(info)[1])
        return p, w, info, dev

    p, w, info, dev = state(beta)
    for iteration in range(1, max_iter + 1):
        residual = y - p
        if firth:
            h = w * np.einsum("ij,ji->i", x, np.linalg.solve(info, x.T))
            residual = residual + h * (0.5 - p)
        score = x.T @ residual
        if np.abs(score).max() < tol and (iteration >= 2 or not firth):
            return beta if np.all(np.isfinite(beta)) else None
        step = np.linalg.solve(info, score)
        largest = np.abs(step).max()
        if largest > max_step:
            step = step * (max_step / largest)
        for _ in range(MAX_HALVINGS):
            new = state(beta + step)
            if new[3] < dev or (not firth and new[3] <= dev + 1e-12):
                break
            step = step / 2.0
        beta = beta + step
        p, w, info, dev = new
    return None


def score_block(g: Array, y: Array, null: OffsetNull) -> tuple[Array, Array]:
    """(U, V) of the score test for centred genotypes ``g`` (m x n) and one trait."""
    u = g @ (y - null.mu)
    v = (g * g) @ null.weights - ((g @ null.whitened) ** 2).sum(axis=1)
    return u, v


def approx_firth(gstar: Array, y: Array, eta: Array) -> tuple[Array, Array, Array, Array]:
    """Approximate Firth fits of the rows of ``gstar`` (pairs x n) with offsets ``eta`` (same
    shape) and outcomes ``y`` (same shape): (beta, 1 / info, LRT statistic, converged)."""
    count = len(gstar)
    squares = gstar * gstar
    beta = np.zeros(count)

    def state(b: Array) -> tuple[Array, Array, Array]:
        p = probabilities(eta + b[:, None] * gstar)
        info = (squares * (p * (1.0 - p))).sum(axis=1)
        return p, info, deviance(y, p) - np.log(info)

    p, info, dev = state(beta)
    dev0 = dev.copy()
    active = np.ones(count, dtype=bool)
    done = np.zeros(count, dtype=bool)
    for iteration in range(1, FIRTH_MAX_ITER + 1):
        h = squares * (p * (1.0 - p)) / info[:, None]
        score = (gstar * (y - p + h * (0.5 - p))).sum(axis=1)
        finished = active & (np.abs(score) < FIRTH_TOL) & (iteration >= 2)
        done |= finished
        active &= ~finished
        if not active.any():
            break
        step = np.where(active, score / info, 0.0)
        step = np.clip(step, -MAX_STEP, MAX_STEP)
        new_p, new_info, new_dev = state(beta + step)
        for _ in range(MAX_HALVINGS - 1):
            worse = active & ~(new_dev < dev)
            if not worse.any():
                break
            step = np.where(worse, step / 2.0, step)
            trial = state(beta + step)
            new_p = np.where(worse[:, None], trial[0], new_p)
            new_info = np.where(worse, trial[1], new_info)
            new_dev = np.where(worse, trial[2], new_dev)
        beta = np.where(active, beta + step, beta)
        p = np.where(active[:, None], new_p, p)
        info = np.where(active, new_info, info)
        dev = np.where(active, new_dev, dev)
    lrt = dev0 - dev
    ok = done & (lrt >= 0) & np.isfinite(beta)
    return beta, 1.0 / info, lrt, ok


def chi2_p(chi2: Array) -> Array:
    """P(X > chi2), one degree of freedom."""
    result: Array = special.erfc(np.sqrt(chi2 / 2.0))
    return result


def associate_loco(
    genotypes: Array,
    chromosomes: Sequence[str],
    y: Array,
    covariates: Array,
    offsets: Callable[[str], Array] | None,
    *,
    firth_p: float = 0.05,
    firth_se: Literal["lrt", "fisher"] = "lrt",
) -> LocoBinaryResults:
    """Score test of every variant (rows of ``genotypes``, A1 counts, NaN missing) for every
    trait (columns of ``y``), approximate Firth below ``firth_p``; ``offsets(chrom)`` the
    n x T LOCO predictions of a chromosome (None: no offset)."""
    g = np.asarray(genotypes, dtype=np.float64)
    m, n = g.shape
    t_count = y.shape[1]
    x = np.asarray(covariates, dtype=np.float64)
    called = ~np.isnan(g)
    n_obs = called.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(called, g, 0.0).sum(axis=1) / n_obs
    centred = np.where(called, g - mean[:, None], 0.0)
    shape = (m, t_count)
    out = LocoBinaryResults(
        n_obs=n_obs,
        a1_freq=mean / 2.0,
        **{k: np.full(shape, np.nan) for k in ("beta", "se", "chi2", "p")},
        method=np.zeros(shape, dtype=np.uint8),
        failed=np.zeros(shape, dtype=bool),
    )
    labels = np.asarray([str(c) for c in chromosomes])
    for chrom in dict.fromkeys(labels):
        rows = np.flatnonzero(labels == chrom)
        offset = np.zeros((n, t_count)) if offsets is None else offsets(chrom)
        for t in range(t_count):
            null = fit_offset_null(y[:, t], x, offset[:, t])
            if null is None:
                out.failed[rows, t] = True
                continue
            _test(centred[rows], rows, t, y[:, t], null, firth_p, firth_se, out)
    return out


def _test(
    g: Array,
    rows: Array,
    t: int,
    y: Array,
    null: OffsetNull,
    firth_p: float,
    firth_se: str,
    out: LocoBinaryResults,
) -> None:
    u, v = score_block(g, y, null)
    spread = (g * g) @ null.weights
    defined = v > 1e-8 * spread
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = np.where(defined, u * u / v, np.nan)
        out.chi2[rows, t] = chi2
        out.p[rows, t] = chi2_p(chi2)
        out.beta[rows, t] = np.where(defined, u / v, np.nan)
        out.se[rows, t] = np.where(defined, 1.0 / np.sqrt(v), np.nan)
    out.method[rows, t] = np.where(defined, 1, 0)
    selected = np.flatnonzero(defined & (out.p[rows, t] < firth_p))
    if selected.size == 0:
        return
    gs = g[selected]
    gstar = gs - (gs @ null.whitened) @ null.projector.T
    pairs = len(selected)
    beta, inverse_info, lrt, ok = approx_firth(
        gstar, np.broadcast_to(y, (pairs, len(y))), np.broadcast_to(null.firth_eta, (pairs, len(y)))
    )
    at = rows[selected]
    chi2 = np.maximum(lrt, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.abs(beta) / np.sqrt(chi2) if firth_se == "lrt" else np.sqrt(inverse_info)
    out.beta[at, t] = np.where(ok, beta, np.nan)
    out.se[at, t] = np.where(ok, se, np.nan)
    out.chi2[at, t] = np.where(ok, chi2, np.nan)
    out.p[at, t] = np.where(ok, chi2_p(chi2), np.nan)
    out.method[at, t] = 2
    out.failed[at, t] = ~ok
