"""How much close relatives inflate or deflate step 2's statistics, from their kinship.

Step 2 tests a variant g against a residual r: a quantitative trait's residual minus its
LOCO prediction with the covariates projected out (:func:`.step1.adjust_quantitative`), or a
binary trait's y - mu of the null model with the LOCO offset (:mod:`.locobinary`). Both
statistics take (g'r)^2 to have variance Var(g) r'r. For a variant without effect, on the
tested chromosome, the chromosome segregates through the pedigree independently of the rest
of the genome and of the environment, so given r, E[(g'r)^2] = Var(g) r'Phi r with
Phi_ij = 2 phi_ij, phi the kinship coefficient (Phi_ii = 1). The ratio

    lambda_rel = r'Phi r / r'r = 1 + 2 sum over related pairs of 2 phi_ij r_i r_j / sum r_i^2

is the factor by which relatedness scales every null statistic of that trait and
chromosome; dividing the chi-squared statistics by it calibrates them (the idea of
GRAMMAR-Gamma, Svishcheva et al. 2012, Nat Genet 44:1166, with the residual step 2 tests).

Why step 2 needs it with LOCO: the LOCO prediction of a sample is fitted without it, from
the others, relatives included, so it carries part of each relative's own noise; the LOCO
residuals of relatives are then negatively correlated and the statistics deflated. Measured
on simulated cohorts (heritability 0.6 on the other chromosomes; folds filled after a
permutation): lambda GC 1.10 without LOCO, 0.96 with it, 1.00 with LOCO and this factor,
where 20% of 2,500 samples are parents and children of 100 families; 1.39, 0.92 and 1.02
where 75% are. An exact out-of-fold BLUP with the true kinship deflates as much (0.84 at
75%): it is the method, not the ridge approximation. With folds filled in file order and
each family listed together, LOCO hardly corrects (1.10 and 1.37); the factor calibrates
those too. Unrelated samples need no factor (lambda 1.00 with and without LOCO).

The pairs and kinship coefficients come from the register pedigree (parent-offspring and
full siblings 1/4, half siblings 1/8) or from KING estimates above a threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def relatedness_factor(residual: Array, first: Array, second: Array, kinship: Array) -> Array:
    """lambda_rel per column of ``residual`` (n x T): ``first``/``second`` the sample
    indices of each related pair (each pair once), ``kinship`` its coefficient phi."""
    r = np.asarray(residual, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    i = np.asarray(first, dtype=np.int64)
    j = np.asarray(second, dtype=np.int64)
    if np.any(i == j):
        raise ValueError("A related pair needs two different samples.")
    cross = (2.0 * np.asarray(kinship, dtype=np.float64))[:, None] * r[i] * r[j]
    result: Array = 1.0 + 2.0 * cross.sum(axis=0) / (r * r).sum(axis=0)
    return result
