"""Whole-genome regression (regenie's "step 1"): LOCO predictions for many traits at once.

Mbatchou et al. 2021 (Nat Genet 53:1097) and regenie's ``Data::run_step1``: the genotypes
are read once, block by block (:mod:`.step1data`), and every block gives every trait R ridge
predictors fitted out of sample (level 0, :mod:`.blockridge`); per trait, a cross-validated
ridge regression (quantitative, :mod:`.ridgestack`) or ridge-penalised logistic regression
(binary, :mod:`.logisticstack`) on those predictors gives, for each chromosome, the
prediction from all the other chromosomes: the leave-one-chromosome-out (LOCO) prediction.

Use (``y`` n x T, ``covariates`` n x k with the intercept, both in the order of the samples
the genotypes are read for)::

    s1 = fit_step1_bed(prefix, y=y, covariates=x, names=names, binary=True,
                       n_fam=n_fam, chromosomes=bim_chrom, sample_cols=cols)
    for chrom in chromosomes_to_test:
        offset = s1.offset(chrom)        # n x T; a column of zeros where s1.converged is False

Step 2 takes ``offset[:, t]`` for the variants of ``chrom``: a binary trait's null logistic
model, score test and Firth fits add it to the linear predictor (:mod:`.locobinary`); a
quantitative trait's residual has it subtracted, the covariates projected out again
(:func:`adjust_quantitative`). A trait whose level 1 did not converge is listed in
:attr:`Step1Result.not_converged` (one sentence each in :meth:`Step1Result.messages`) and is
tested without LOCO. The predictions are on the trait's scale (quantitative: its units;
binary: the logit). With close relatives in the cohort, step 2 should also divide each
chromosome's statistics by :func:`.kinshipcalibration.relatedness_factor` of the residual it
tests: out-of-sample LOCO predictions over-correct relatives (lambda GC 0.97 where 20% of
the samples are nuclear-family members; 1.00 with the factor).

Cost (5,000 samples x 100,000 variants, 20 traits, blocks of 1,000, 2 shared cores;
``benchmarks/step1.py``): about 9 s for quantitative and 20 s for binary traits, peak
0.6 GiB, where step 2 took 1.0 s (linear) and 26 s (score test and Firth). Level 0 needs
each block's Gram matrix (M B n multiply-adds over all blocks against step 2's M T n: the
benchmark's FLOOR line times these products alone at 1.7 s) and, per fold, one multi-shift
conjugate-gradient run for all shrinkage values (:mod:`.blockridge`); on one core per 100
blocks: Gram 3.6 s, solves 4.1 s, scaling and fold sums 1.1 s, predictions 0.9 s,
projection 0.9 s, reading 0.6 s; level 1 about 0.08 s per trait.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from promise.gwas.engines import blockridge, logisticstack, ridgestack
from promise.gwas.engines.blockridge import H2_GRID, Step1Error
from promise.gwas.engines.step1data import (
    Block,
    BlockReader,
    bed_reader,
    check_binary,
    covariate_basis,
    matrix_reader,
    null_offset,
    plan_blocks,
    scaled_residuals,
)
from promise.gwas.fastlinear import bounded_map

__all__ = [
    "Step1Error",
    "Step1Options",
    "Step1Result",
    "adjust_quantitative",
    "fit_step1_bed",
    "fit_step1_genotypes",
]

Array = np.ndarray[Any, Any]

#: regenie switches binary traits to leave-one-out below this many samples
LOO_BELOW = 5000


@dataclass(frozen=True, kw_only=True)
class Step1Options:
    """How step 1 runs (regenie's defaults)."""

    block: int = 1000  # variants per block (regenie --bsize)
    folds: int = 5  # K of the K-fold cross-validation (regenie --cv)
    cv: Literal["auto", "kfold", "loo"] = "auto"  # auto: loo for binary below 5,000 samples
    fold_order: Literal["shuffled", "file"] = "shuffled"  # "file": regenie's contiguous runs
    precision: Literal["single", "double"] = "single"  # of level 0's products and solves
    h2: tuple[float, ...] = H2_GRID  # heritabilities behind both levels' shrinkage values
    threads: int | None = None


@dataclass(frozen=True)
class Step1Result:
    """LOCO predictions of traits sharing one sample set."""

    names: tuple[str, ...]
    binary: bool
    chromosomes: tuple[str, ...]  # chromosomes with step 1 variants, in file order
    loco: Array  # C x n x T
    total: Array  # n x T: the prediction from every chromosome
    converged: Array  # T
    loss: Array  # T x R: cross-validated loss per level 1 shrinkage (NaN: not converged)
    r2: Array  # T x R: squared correlation of those out-of-sample predictions with the trait
    h2: Array  # T: the heritability of the chosen level 1 shrinkage (NaN: not converged)
    cv: str
    n_variants: int  # variants in the blocks
    n_constant: int  # variants left out because they do not vary after the covariates

    def offset(self, chromosome: str) -> Array:
        """n x T LOCO predictions for the variants of ``chromosome`` (a chromosome without
        step 1 variants gets the prediction from all of them, as in regenie)."""
        name = str(chromosome)
        if name in self.chromosomes:
            result: Array = self.loco[self.chromosomes.index(name)]
            return result
        return self.total

    @property
    def not_converged(self) -> tuple[str, ...]:
        return tuple(n for n, ok in zip(self.names, self.converged, strict=True) if not ok)

    def messages(self) -> list[str]:
        """One sentence per trait that is tested without LOCO."""
        return [
            f"Whole-genome regression (step 1) did not converge for trait {name}; it is tested "
            "without LOCO predictions."
            for name in self.not_converged
        ]


def adjust_quantitative(residual: Array, offset: Array, basis: Array) -> Array:
    """Trait residuals (covariates projected out) minus the LOCO prediction, covariates
    projected out again, so that ``g' y`` equals the covariate-adjusted genotype times y."""
    adjusted = residual - offset
    result: Array = adjusted - basis @ (basis.T @ adjusted)
    return result


def fit_step1_bed(
    prefix: Path,
    *,
    y: Array,
    covariates: Array,
    names: Sequence[str],
    binary: bool,
    n_fam: int,
    chromosomes: Sequence[str],
    sample_cols: Array | None = None,
    keep: Array | None = None,
    options: Step1Options | None = None,
    progress: Callable[[int], None] | None = None,
) -> Step1Result:
    """Step 1 on a PLINK 1 .bed: ``chromosomes`` one per .bim variant, ``keep`` a mask of the
    variants to use (None: all), ``sample_cols`` the .fam rows of ``y``'s samples."""

    def reader(order: Array | None) -> BlockReader:
        cols = sample_cols
        if order is not None:
            cols = order if sample_cols is None else np.asarray(sample_cols)[order]
        return bed_reader(prefix, n_fam, len(chromosomes), cols)

    return _fit(reader, chromosomes, keep, y, covariates, names, binary, options, progress)


def fit_step1_genotypes(
    genotypes: Array,
    *,
    y: Array,
    covariates: Array,
    names: Sequence[str],
    binary: bool,
    chromosomes: Sequence[str],
    keep: Array | None = None,
    options: Step1Options | None = None,
) -> Step1Result:
    """Step 1 on a variants x samples matrix of A1 counts or dosages (NaN: missing)."""

    def reader(order: Array | None) -> BlockReader:
        return matrix_reader(genotypes if order is None else np.asarray(genotypes)[:, order])

    return _fit(reader, chromosomes, keep, y, covariates, names, binary, options, None)


def _fit(
    make_reader: Callable[[Array | None], BlockReader],
    chromosomes: Sequence[str],
    keep: Array | None,
    y: Array,
    covariates: Array,
    names: Sequence[str],
    binary: bool,
    options: Step1Options | None,
    progress: Callable[[int], None] | None,
) -> Step1Result:
    options = options or Step1Options()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != len(names) or not np.all(np.isfinite(y)):
        raise Step1Error("The traits must be a complete samples x traits matrix, one name each.")
    n, t_count = y.shape
    loo = options.cv == "loo" or (options.cv == "auto" and binary and n < LOO_BELOW)
    # samples in fold order (folds then are contiguous runs); the results go back at the end
    order = None
    if not loo and options.fold_order == "shuffled":
        order = np.concatenate(blockridge.fold_indices(n, options.folds, "shuffled"))
        y = y[order]
        covariates = np.asarray(covariates)[order]
    folds = None if loo else blockridge.fold_slices(n, options.folds)
    basis = covariate_basis(covariates)
    if basis.shape[0] != n:
        raise Step1Error("The traits and covariates do not have one row per sample.")
    if binary:
        check_binary(y, names)
    scaled, scale = scaled_residuals(y, basis, names)
    groups, blocks = plan_blocks(chromosomes, keep, options.block)
    reader = make_reader(order)
    n_variants = int(sum(len(b.variants) for b in blocks))
    lambdas = blockridge.shrinkage(options.h2, n_variants)
    workers = options.threads or max(1, min(os.cpu_count() or 1, 8))
    r_count = len(options.h2)
    dtype = np.float32 if options.precision == "single" else np.float64
    level0 = np.empty((t_count, n, r_count * len(blocks)), dtype=dtype)
    kept = np.zeros(len(blocks), dtype=bool)

    def one(item: tuple[int, Block]) -> int:
        b, block = item
        counts, missing = reader(block.variants)
        if folds is None:
            g, varying = blockridge.standardize_genotypes(counts, missing, basis, dtype)
            pred = blockridge.level0_loo(g, scaled, lambdas) if len(g) else None
        else:
            g = blockridge.projected_genotypes(counts, missing, basis, dtype)
            pred, varying = blockridge.level0_kfold_projected(
                g, scaled, folds, lambdas, basis.shape[1]
            )
        if pred is not None:
            level0[:, :, b * r_count : (b + 1) * r_count] = pred
            kept[b] = True
        return int(len(block.variants) - varying.sum())

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:  # type: ignore[no-untyped-call]
        constant = 0
        for dropped in bounded_map(pool, one, enumerate(blocks), ahead=2 * workers):
            constant += dropped
            if progress is not None:
                progress(1)
        columns = np.repeat(kept, r_count)
        predictors = level0[:, :, columns] if not columns.all() else level0
        group_of = np.repeat([b.group for b, k in zip(blocks, kept, strict=True) if k], r_count)
        indicator = ridgestack.group_matrix(group_of, len(groups))
        offsets = _null_offsets(y, basis) if binary else None
        fits = list(
            pool.map(
                lambda t: _level1(predictors[t], y, scaled, t, offsets, folds, options, indicator),
                range(t_count),
            )
        )
    converged = np.array([f.converged for f in fits])
    loco = np.stack([f.loco for f in fits], axis=2)  # C x n x T
    total = np.stack([f.total for f in fits], axis=1)
    if not binary:
        loco = loco * scale
        total = total * scale
    if order is not None:  # back to the callers' sample order
        loco[:, order] = loco.copy()
        total[order] = total.copy()
    h2 = np.array([options.h2[f.best] if f.converged else np.nan for f in fits])
    return Step1Result(
        names=tuple(names),
        binary=binary,
        chromosomes=tuple(groups),
        loco=loco,
        total=total,
        converged=converged,
        loss=np.stack([f.loss for f in fits]),
        r2=np.stack([f.r2 for f in fits]),
        h2=h2,
        cv="loo" if loo else f"{options.folds}-fold",
        n_variants=n_variants,
        n_constant=constant,
    )


def _null_offsets(y: Array, basis: Array) -> list[Array | None]:
    return [null_offset(y[:, t], basis) for t in range(y.shape[1])]


def _level1(
    x: Array,
    y: Array,
    scaled: Array,
    t: int,
    offsets: list[Array | None] | None,
    folds: list[slice] | None,
    options: Step1Options,
    indicator: Array,
) -> ridgestack.StackFit:
    """Level 1 of trait ``t`` on its n x P level 0 predictors; a fit that breaks down
    numerically (a singular system, predictions that are not finite) counts as not
    converged, like one that runs out of iterations."""
    p = x.shape[1]
    x = np.ascontiguousarray(x, dtype=np.float64)
    binary = offsets is not None
    taus = blockridge.shrinkage(options.h2, p) * (logisticstack.LIABILITY if binary else 1.0)
    if not np.all(np.isfinite(x)) or (binary and offsets[t] is None):  # type: ignore[index]
        return logisticstack.failed(taus, indicator, len(y))
    try:
        with np.errstate(all="ignore"):
            fit = _stack(x, y, scaled, t, offsets, folds, taus, indicator)
    except (np.linalg.LinAlgError, ValueError):
        return logisticstack.failed(taus, indicator, len(y))
    if not (np.all(np.isfinite(fit.loco)) and np.all(np.isfinite(fit.loss))):
        return logisticstack.failed(taus, indicator, len(y))
    return fit


def _stack(
    x: Array,
    y: Array,
    scaled: Array,
    t: int,
    offsets: list[Array | None] | None,
    folds: list[slice] | None,
    taus: Array,
    indicator: Array,
) -> ridgestack.StackFit:
    if offsets is None:
        if folds is None:
            return ridgestack.stack_linear_loo(x, scaled[:, t], taus, indicator)
        return ridgestack.stack_linear_kfold(x, scaled[:, t], folds, taus, indicator)
    offset = offsets[t]
    assert offset is not None
    if folds is None:
        return logisticstack.stack_logistic_loo(x, y[:, t], offset, taus, indicator)
    return logisticstack.stack_logistic_kfold(x, y[:, t], offset, folds, taus, indicator)
