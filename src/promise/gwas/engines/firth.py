"""Per-variant logistic fits, plain and Firth-penalised, compiled with numba.

One fit regresses a 0/1 trait on the covariates (with intercept) and one variant's
genotypes. The Firth fit maximises the penalised log-likelihood
``l(b) + 1/2 log det I(b)`` (Firth 1993; I = X'VX, V = diag(p(1-p))) by the modified-score
Newton iteration of Heinze's ``logistf`` as PLINK 2 (``FirthRegressionD`` in
``plink2_glm_logistic.cc``) ports it:

    h_i   = v_i x_i' I^-1 x_i                        (the hat diagonal)
    U*    = X' (y - p + h (1/2 - p))                 (the modified score)
    H     = X' diag((1 + h) v) X,  step = H^-1 U*    (capped at 5 in absolute value)

stopping when no coefficient's next step exceeds ``tol`` (1e-6 by default): the statistics
are those at that point, and the small step is taken. PLINK 2 stops one iteration later, once
that step is taken and the modified score at the new point is below 1e-5 as well; near the
optimum a step is the distance to it up to second order, so that extra pass over the
samples (a seventh of a penalised-LRT fit's passes) changes no reported digit. Two variances of the genotype coefficient come
back, both at the estimate: ``I^-1`` (the Fisher information of the unpenalised
likelihood: the SE of ``logistf``, regenie and PLINK 2 up to v2.00a3, whose single-precision
Firth inverts X'VX at the estimate) and ``H^-1`` (PLINK 2 from v2.00a4, January 2023, whose
double-precision port reports the Firth-weighted H of its last iteration; smaller where
the hat values are large, i.e. for rare variants in small samples). The plain fit
(``firth=False``) is Newton-Raphson on ``l(b)`` (IRLS): h = 0, H = I.

A restricted fit keeps the genotype coefficient at 0 and updates only the covariates'
coefficients, with the penalty still that of the full model (``logistf``'s restricted
model, Hail's and regenie's exact Firth null): twice the difference of the penalised
log-likelihoods is the penalised likelihood-ratio statistic.

All compiled code lives in this one module on purpose: numba's on-disk cache (``cache=True``)
is invalidated per source file, so a compiled caller in another module would keep running a
stale copy of a function changed here.

Why numba: a GWAS of 20 traits needs ~100,000 such fits on 5,000 samples, and a Python loop
per fit costs more than the fit. Measured on 5,000 samples, 3 covariate columns, one
thread: Newton steps vectorised in NumPy across 256 variants at once (every pass a
variants x samples temporary, batched 4 x 4 inverses) took 2.3 ms per Firth fit, these
compiled loops 0.27 ms (0.44 ms with the restricted fit of the LRT). Each fit's working
set (a few n-vectors) stays in cache, and the functions release the GIL, so the engine's
threads run fits on every core.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

Array = np.ndarray[Any, Any]

#: PLINK 2's largest step of any coefficient in one iteration
MAX_STEP = 5.0

#: step halvings in a row before a careful fit takes the step anyway
MAX_HALVINGS = 10

#: a Firth fit that did not converge is retried carefully with this many times the iterations
RETRY_FACTOR = 4

#: outcome codes of one fit
OK, SINGULAR, NOT_CONVERGED = 0, 1, 2


#: fastmath flags of the compiled loops: reassociation lets reductions use SIMD; the
#: flags that assume no NaN or infinity are left out, so those still propagate
_FAST = {"reassoc", "contract", "nsz", "arcp"}


# --- small dense linear algebra (predictors x predictors: a Cholesky written out beats
# a LAPACK call, whose overhead would dominate, and runs in nopython code) ---


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def cholesky(a: Array, m: int, out: Array) -> bool:
    """Lower Cholesky factor of the leading m x m block of ``a`` into ``out``; False when
    the block is not positive definite (to working precision)."""
    for j in range(m):
        s = a[j, j]
        for k in range(j):
            s -= out[j, k] * out[j, k]
        if not s > 1e-14 * max(abs(a[j, j]), 1e-300):
            return False
        d = math.sqrt(s)
        out[j, j] = d
        for i in range(j + 1, m):
            t = a[i, j]
            for k in range(j):
                t -= out[i, k] * out[j, k]
            out[i, j] = t / d
        for i in range(j):
            out[i, j] = 0.0
    return True


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def solve(lower: Array, m: int, rhs: Array, out: Array) -> None:
    """``out[:m] = (L L')^-1 rhs[:m]`` for the Cholesky factor L (leading m x m block)."""
    for i in range(m):
        t = rhs[i]
        for k in range(i):
            t -= lower[i, k] * out[k]
        out[i] = t / lower[i, i]
    for i in range(m - 1, -1, -1):
        t = out[i]
        for k in range(i + 1, m):
            t -= lower[k, i] * out[k]
        out[i] = t / lower[i, i]


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def inverse_last(lower: Array, p: int) -> float:
    """The last diagonal element of (L L')^-1: |L^-1 e_p|^2 = 1 / L[p-1, p-1]^2."""
    d: float = lower[p - 1, p - 1]
    return 1.0 / (d * d)


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def weighted_cross(x: Array, weight: Array, m: int, n: int, out: Array) -> None:
    """out[a, b] = sum_i weight_i x[a, i] x[b, i] for a, b < m (both triangles)."""
    for a in range(m):
        for b in range(a + 1):
            s = 0.0
            for i in range(n):
                s += weight[i] * x[a, i] * x[b, i]
            out[a, b] = s
            out[b, a] = s


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def inverse(lower: Array, p: int, out: Array) -> None:
    """out = (L L')^-1 from the Cholesky factor L: inverting L by substitution, then
    L^-T L^-1 (both triangles filled)."""
    for j in range(p):  # out's lower triangle holds L^-1 for now
        out[j, j] = 1.0 / lower[j, j]
        for i in range(j + 1, p):
            t = 0.0
            for k in range(j, i):
                t -= lower[i, k] * out[k, j]
            out[i, j] = t / lower[i, i]
    for a in range(p):  # (L^-T L^-1)[a, b] = sum_k L^-1[k, a] L^-1[k, b], k >= max(a, b)
        for b in range(a, p):
            t = 0.0
            for k in range(b, p):
                t += out[k, a] * out[k, b]
            out[b, a] = t  # row b >= a: the entries L^-1[k, a] with k >= b are read first
    for a in range(p):
        for b in range(a + 1, p):
            out[a, b] = out[b, a]


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def _probabilities(
    x: Array,
    offset: Array,
    beta: Array,
    n: int,
    eta: Array,
    expo: Array,
    prob: Array,
    v: Array,
    bits: Array,
) -> None:
    """eta = offset + X'beta, expo = exp(-eta), prob = 1 / (1 + expo), v = prob (1 - prob).

    exp by range reduction (2^k e^r, |r| <= ln2 / 2, a degree-11 polynomial: relative error
    under 1e-14), written without branches so that the loop vectorises: a third of the time
    of a libm exp per sample, and exp is a third of an iteration's work."""
    for i in range(n):
        eta[i] = offset[i]
    for a in range(x.shape[0]):
        b = beta[a]
        for i in range(n):
            eta[i] += b * x[a, i]
    for i in range(n):
        t = min(max(-eta[i], -708.0), 708.0)
        k = math.floor(t * 1.4426950408889634 + 0.5)
        r = t - k * 0.6931471803691238 - k * 1.9082149292705877e-10
        q = 1.0 / 39916800.0
        q = q * r + 1.0 / 3628800.0
        q = q * r + 1.0 / 362880.0
        q = q * r + 1.0 / 40320.0
        q = q * r + 1.0 / 5040.0
        q = q * r + 1.0 / 720.0
        q = q * r + 1.0 / 120.0
        q = q * r + 1.0 / 24.0
        q = q * r + 1.0 / 6.0
        q = q * r + 0.5
        q = q * r + 1.0
        expo[i] = q * r + 1.0
        bits[i] = (np.int64(k) + 1023) << 52  # 2^k as the bits of a float64
    scale = bits.view(np.float64)
    for i in range(n):
        e = expo[i] * scale[i]
        expo[i] = e
        pr = 1.0 / (1.0 + e)
        prob[i] = pr
        v[i] = pr * (1.0 - pr)


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def _hat_diagonal(x: Array, inv: Array, v: Array, n: int, h: Array) -> None:
    """h_i = v_i x_i' I^-1 x_i, one pass per entry of I^-1's lower triangle."""
    p = x.shape[0]
    for i in range(n):
        h[i] = 0.0
    for a in range(p):
        for b in range(a + 1):
            c = inv[a, b] if a == b else 2.0 * inv[a, b]
            for i in range(n):
                h[i] += c * x[a, i] * x[b, i]
    for i in range(n):
        h[i] *= v[i]


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def _log_likelihood(
    y: Array, eta: Array, expo: Array, n: int, one_plus: Array, bits: Array
) -> float:
    """sum of y log p + (1 - y) log(1 - p) = -log(1 + e^-eta) - (1 - y) eta per sample.

    log(1 + e) from the exponent and mantissa of 1 + e (ln2 k + 2 atanh((m - 1)/(m + 1)),
    m in [sqrt(1/2), sqrt(2)), a degree-23 odd series): branch-free, so it vectorises, a
    third of the time of libm's log1p, absolute error per sample ~1e-16. ``one_plus``
    and ``bits``: n-vectors of scratch."""
    for i in range(n):
        one_plus[i] = 1.0 + expo[i]
    raw = one_plus.view(np.int64)
    for i in range(n):
        word = raw[i]
        bits[i] = (word >> 52) - 1023
        raw[i] = (word & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000  # mantissa in [1, 2)
    total = 0.0
    for i in range(n):
        m = one_plus[i]
        big = m > 1.4142135623730951
        m = m * 0.5 if big else m
        s = (m - 1.0) / (m + 1.0)
        s2 = s * s
        q = 1.0 / 23.0
        q = q * s2 + 1.0 / 21.0
        q = q * s2 + 1.0 / 19.0
        q = q * s2 + 1.0 / 17.0
        q = q * s2 + 1.0 / 15.0
        q = q * s2 + 1.0 / 13.0
        q = q * s2 + 1.0 / 11.0
        q = q * s2 + 1.0 / 9.0
        q = q * s2 + 1.0 / 7.0
        q = q * s2 + 1.0 / 5.0
        q = q * s2 + 1.0 / 3.0
        q = q * s2 + 1.0
        log_one_plus = (bits[i] + (1.0 if big else 0.0)) * 0.6931471805599453 + 2.0 * s * q
        total -= log_one_plus + (1.0 - y[i]) * eta[i]
    return total


@numba.njit(nogil=True, cache=True, fastmath=_FAST)
def fit(
    x: Array,
    y: Array,
    offset: Array,
    beta: Array,
    n_free: int,
    firth: bool,
    max_iter: int,
    tol: float,
    work: Array,
    careful: bool = False,
) -> tuple[int, int, float, float, float]:
    """Fit one model in place: ``x`` is (predictors x samples), the genotype last; ``offset``
    (n) is added to the linear predictor; ``beta`` the start, overwritten with the estimate;
    only the first ``n_free`` coefficients move.
    ``careful``: halve a step (up to :data:`MAX_HALVINGS` times) that lowers the (penalised)
    log-likelihood, as ``logistf`` does; slower (a log per sample and iteration), so used
    only to retry a fit that did not converge without it.

    Returns (outcome, iterations, variance of the last coefficient from I^-1, the same from
    H^-1, the (penalised, with ``firth``) log-likelihood), all at the estimate.
    ``work``: float64 buffer of :func:`work_size` entries."""
    p, n = x.shape
    eta, expo, prob = work[:n], work[n : 2 * n], work[2 * n : 3 * n]
    v, h, weight = work[3 * n : 4 * n], work[4 * n : 5 * n], work[5 * n : 6 * n]
    bits = work[6 * n : 7 * n].view(np.int64)
    off = 7 * n
    info = work[off : off + p * p].reshape(p, p)
    lower = work[off + p * p : off + 2 * p * p].reshape(p, p)
    hess = work[off + 2 * p * p : off + 3 * p * p].reshape(p, p)
    hlower = work[off + 3 * p * p : off + 4 * p * p].reshape(p, p)
    score = work[off + 4 * p * p : off + 4 * p * p + p]
    delta = work[off + 4 * p * p + p : off + 4 * p * p + 2 * p]
    accepted = work[off + 4 * p * p + 2 * p : off + 4 * p * p + 3 * p]
    best = -math.inf
    halvings = 0
    for iteration in range(max_iter):
        _probabilities(x, offset, beta, n, eta, expo, prob, v, bits)
        weighted_cross(x, v, p, n, info)
        factored = cholesky(info, p, lower)
        if careful:
            current = _log_likelihood(y, eta, expo, n, weight, bits)
            if firth and factored:
                for a in range(p):
                    current += math.log(lower[a, a])
            if iteration > 0 and halvings < MAX_HALVINGS and not (factored and current >= best):
                halvings += 1  # back to the last accepted point, half the step
                for a in range(n_free):
                    delta[a] *= 0.5
                    beta[a] = accepted[a] + delta[a]
                continue
            best = current
            halvings = 0
            for a in range(n_free):
                accepted[a] = beta[a]
        if not factored:
            return SINGULAR, iteration, math.nan, math.nan, math.nan
        if firth:
            inverse(lower, p, hess)  # hess holds I^-1 until the second weights are in
            _hat_diagonal(x, hess, v, n, h)
            for i in range(n):
                weight[i] = (y[i] - prob[i]) + h[i] * (0.5 - prob[i])
                h[i] = (1.0 + h[i]) * v[i]  # the second weights, (1 + h) v
        else:
            for i in range(n):
                weight[i] = y[i] - prob[i]
        score_max = 0.0
        for a in range(n_free):
            t = 0.0
            for i in range(n):
                t += x[a, i] * weight[i]
            score[a] = t
            score_max = max(score_max, abs(t))
        if not math.isfinite(score_max):
            return SINGULAR, iteration, math.nan, math.nan, math.nan
        step = lower  # plain: I's factor, whose leading block factors I's leading block
        if firth:
            weighted_cross(x, h, n_free, n, hess)
            if not cholesky(hess, n_free, hlower):
                return SINGULAR, iteration, math.nan, math.nan, math.nan
            step = hlower
        solve(step, n_free, score, delta)
        delta_max = 0.0
        for a in range(n_free):
            delta_max = max(delta_max, abs(delta[a]))
        if delta_max <= tol:  # at the estimate: what is reported, then the last small step
            fisher = inverse_last(lower, p)
            hessian = fisher
            if firth:
                if n_free < p:
                    weighted_cross(x, h, p, n, hess)
                    cholesky(hess, p, hlower)
                hessian = inverse_last(hlower, p)
            loglik = _log_likelihood(y, eta, expo, n, weight, bits)
            if firth:
                for a in range(p):
                    loglik += math.log(lower[a, a])  # 1/2 log det I = sum log diag L
            for a in range(n_free):
                beta[a] += delta[a]
            return OK, iteration + 1, fisher, hessian, loglik
        scale = MAX_STEP / delta_max if delta_max > MAX_STEP else 1.0
        for a in range(n_free):
            delta[a] *= scale
            beta[a] += delta[a]
    return NOT_CONVERGED, max_iter, math.nan, math.nan, math.nan


@numba.njit(nogil=True, cache=True)
def work_size(n: int, p: int) -> int:
    """Entries of the ``work`` buffer :func:`fit` needs."""
    return 7 * n + 4 * p * p + 3 * p


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
    offset: Array,
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
    result = fit(x, y, offset, beta, n_free, firth, max_iter, tol, work)
    if result[0] == OK or not firth:
        return result
    beta[:] = start
    outcome, more, fisher, penalised, loglik = fit(
        x, y, offset, beta, n_free, firth, RETRY_FACTOR * max_iter, tol, work, True
    )
    return outcome, result[1] + more, fisher, penalised, loglik


@numba.njit(nogil=True, cache=True)
def fit_pairs(
    basis_t: Array,
    y_t: Array,
    offset_t: Array,
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
    calls at 0), trait ``y_t[traits[j]]`` with offset ``offset_t[traits[j]]`` in its linear
    predictor (a LOCO prediction; zeros without), covariates ``basis_t`` (k x n), starting
    from the trait's null coefficients ``beta0[t]`` and a genotype coefficient of 0.

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
        offset = offset_t[traits[j]]
        start[:k] = beta0[traits[j]]
        start[k] = 0.0
        beta[:] = start
        restricted = 0.0
        iterations = 0
        if lrt:
            outcome, iterations, _, _, restricted = _fit_or_retry(
                x, y, offset, beta, start, k, firth, max_iter, tol, work
            )
            if outcome != OK:
                _record(out, j, math.nan, (math.nan, math.nan), math.nan, outcome, iterations)
                continue
        outcome, more, fisher, penalised, loglik = _fit_or_retry(
            x, y, offset, beta, beta.copy(), p, firth, max_iter, tol, work
        )
        iterations += more
        if outcome != OK:
            _record(out, j, math.nan, (math.nan, math.nan), math.nan, outcome, iterations)
            continue
        statistic = 2.0 * (loglik - restricted) if lrt else math.nan
        _record(out, j, beta[k], (fisher, penalised), statistic, OK, iterations)
