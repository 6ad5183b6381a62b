"""The exact Hardy-Weinberg test with mid-p, as Hail's ``hardy_weinberg_test`` computes it.

For n called genotypes with n_AB heterozygotes and n_A copies of the rarer allele
(n_A = n_AB + 2 min(n_AA, n_BB)), the heterozygote count under equilibrium follows the
Levene-Haldane distribution (Wigginton, Cutler and Abecasis 2005):

    P(n_AB) = 2^n_AB n! n_A! n_B! / (n_AA! n_AB! n_BB! (2n)!),  n_B = 2n - n_A,

over the counts n_AB of n_A's parity. Hail reports the mid-p value: the probability of a
less likely outcome plus half that of the outcomes exactly as likely as the one observed
(Hail's ``LeveneHaldane.exactMidP``; its ``variant_qc`` and ``hardy_weinberg_test`` use it).
PLINK 2's ``--hwe`` uses the plain exact p unless given ``midp``. No calls gives 0.5 (the
mid-p of the single possible outcome), as Hail does.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

Array = np.ndarray[Any, Any]

#: outcomes whose probabilities agree to this relative difference count as equally likely
TIE = 1e-9


@numba.njit(cache=True, nogil=True)
def _midp(n_hom_ref: int, n_het: int, n_hom_alt: int) -> float:
    n = n_hom_ref + n_het + n_hom_alt
    if n == 0:
        return 0.5
    n_a = n_het + 2 * min(n_hom_ref, n_hom_alt)
    n_b = 2 * n - n_a
    base = math.lgamma(n + 1) + math.lgamma(n_a + 1) + math.lgamma(n_b + 1) - math.lgamma(2 * n + 1)
    first = n_a % 2
    count = (n_a - first) // 2 + 1
    logs = np.empty(count)
    top = -np.inf
    for i in range(count):
        k = first + 2 * i
        aa = (n_a - k) // 2
        bb = (n_b - k) // 2
        value = (
            k * math.log(2.0)
            + base
            - (math.lgamma(aa + 1) + math.lgamma(k + 1) + math.lgamma(bb + 1))
        )
        logs[i] = value
        top = max(top, value)
    total = 0.0
    for i in range(count):
        total += math.exp(logs[i] - top)
    observed = math.exp(logs[(n_het - first) // 2] - top)
    less = 0.0
    equal = 0.0
    for i in range(count):
        p = math.exp(logs[i] - top)
        if abs(p - observed) <= TIE * observed:
            equal += p
        elif p < observed:
            less += p
    return min(1.0, (less + 0.5 * equal) / total)


@numba.njit(cache=True, nogil=True)
def _midp_all(hom_ref: Array, het: Array, hom_alt: Array, out: Array) -> None:
    for j in range(len(hom_ref)):
        out[j] = _midp(hom_ref[j], het[j], hom_alt[j])


def hwe_midp(hom_ref: Array, het: Array, hom_alt: Array) -> Array:
    """Hail's HWE mid-p value for each variant's genotype counts."""
    out = np.empty(len(hom_ref))
    _midp_all(
        np.asarray(hom_ref, dtype=np.int64),
        np.asarray(het, dtype=np.int64),
        np.asarray(hom_alt, dtype=np.int64),
        out,
    )
    return out
