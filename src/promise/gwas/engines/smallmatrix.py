"""Small dense linear algebra inside the compiled fits (predictors x predictors matrices).

A fit has a handful of predictors (intercept, covariates, principal components, the
genotype), so its matrices are tiny: a Cholesky factor written out beats a LAPACK call,
whose overhead would dominate, and stays callable from numba's nopython code.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

Array = np.ndarray[Any, Any]

#: fastmath flags of the compiled loops: reassociation lets reductions use SIMD; the
#: flags that assume no NaN or infinity are left out, so those still propagate
FAST = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(nogil=True, cache=True, fastmath=FAST)
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


@numba.njit(nogil=True, cache=True, fastmath=FAST)
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


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def inverse_last(lower: Array, p: int) -> float:
    """The last diagonal element of (L L')^-1: |L^-1 e_p|^2 = 1 / L[p-1, p-1]^2."""
    d: float = lower[p - 1, p - 1]
    return 1.0 / (d * d)


@numba.njit(nogil=True, cache=True, fastmath=FAST)
def weighted_cross(x: Array, weight: Array, m: int, n: int, out: Array) -> None:
    """out[a, b] = sum_i weight_i x[a, i] x[b, i] for a, b < m (both triangles)."""
    for a in range(m):
        for b in range(a + 1):
            s = 0.0
            for i in range(n):
                s += weight[i] * x[a, i] * x[b, i]
            out[a, b] = s
            out[b, a] = s


@numba.njit(nogil=True, cache=True, fastmath=FAST)
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
