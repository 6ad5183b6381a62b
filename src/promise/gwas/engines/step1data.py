"""What step 1 reads: blocks of variants per chromosome, from a PLINK .bed or a matrix, and
the traits and covariates prepared as regenie prepares them.

Blocks follow regenie's ``set_blocks``/``get_block_size``: each run of variants on one
chromosome (in file order, after exclusions) is cut into blocks of B variants, the last
block of the run taking the rest. Traits: covariates projected out (the intercept is one of
them), each residual scaled by its norm / sqrt(n - k) (``residualize_phenotypes``); binary
traits also get their null logistic model's linear predictor, the offset of level 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from promise.genotypes.plink import checked_bed
from promise.gwas.engines.blockridge import Step1Error
from promise.gwas.fastlinear import LUT_COUNT, LUT_MISSING, decode, has_missing
from promise.gwas.inputs import GenotypeInputError

Array = np.ndarray[Any, Any]

#: (counts B x n, missing-call indicator or None) of the variants at the given indices
BlockReader = Callable[[Array], tuple[Array, Array | None]]


@dataclass(frozen=True)
class Block:
    """Variants (indices into the source) of one block, all on chromosome ``group``."""

    group: int
    variants: Array


def plan_blocks(
    chromosomes: Sequence[str], keep: Array | None, size: int
) -> tuple[list[str], list[Block]]:
    """Chromosome names (in order of first appearance) and the blocks of the kept variants."""
    if size < 1:
        raise Step1Error("The step 1 block size must be at least one variant.")
    labels = np.asarray([str(c) for c in chromosomes])
    index = np.flatnonzero(np.ones(len(labels), dtype=bool) if keep is None else keep)
    names: list[str] = []
    blocks: list[Block] = []
    if index.size == 0:
        raise Step1Error("Step 1 has no variants to fit (all were excluded).")
    breaks = np.flatnonzero(labels[index][1:] != labels[index][:-1]) + 1
    for run in np.split(index, breaks):
        name = str(labels[run[0]])
        if name not in names:
            names.append(name)
        group = names.index(name)
        blocks.extend(Block(group, run[s : s + size]) for s in range(0, len(run), size))
    return names, blocks


def bed_reader(prefix: Path, n_fam: int, n_variants: int, sample_cols: Array | None) -> BlockReader:
    """Reader of rows of a SNP-major PLINK 1 .bed (checked against the .fam/.bim counts),
    decoded with :mod:`promise.gwas.fastlinear`'s tables, restricted to ``sample_cols``."""
    path = Path(f"{prefix}.bed")
    if not path.is_file():
        raise GenotypeInputError(f"{path} does not exist.")
    checked_bed(Path(prefix), n_fam, n_variants)
    per = (n_fam + 3) // 4
    codes = np.memmap(path, dtype=np.uint8, mode="r", offset=3, shape=(n_variants, per))

    def read(rows: Array) -> tuple[Array, Array | None]:
        raw = np.ascontiguousarray(codes[rows])
        counts = decode(raw, LUT_COUNT, n_fam)
        missing = decode(raw, LUT_MISSING, n_fam).view(bool) if has_missing(raw) else None
        if sample_cols is not None:
            counts = counts[:, sample_cols]
            missing = None if missing is None else missing[:, sample_cols]
        return counts, missing

    return read


def matrix_reader(genotypes: Array) -> BlockReader:
    """Reader of rows of a variants x samples matrix of A1 counts (NaN: missing call)."""

    def read(rows: Array) -> tuple[Array, Array | None]:
        g = np.asarray(genotypes[rows], dtype=np.float64)
        missing = np.isnan(g)
        return g, (missing if missing.any() else None)

    return read


def covariate_basis(covariates: Array) -> Array:
    """n x k orthonormal basis of the covariates' columns; refused when they are collinear,
    missing, or do not contain the intercept (a constant column)."""
    c = np.asarray(covariates, dtype=np.float64)
    if c.ndim != 2 or not np.all(np.isfinite(c)):
        raise Step1Error("The covariates must be a complete samples x columns matrix.")
    q, r = np.linalg.qr(c)
    diag = np.abs(np.diag(r))
    if diag.size == 0 or diag.min() <= 1e-9 * max(diag.max(), 1e-300):
        raise Step1Error(
            "The covariates are collinear (one column is a combination of the others)."
        )
    ones = np.ones(len(c))
    if np.linalg.norm(ones - q @ (q.T @ ones)) > 1e-8 * np.sqrt(len(c)):
        raise Step1Error("The covariates must include the intercept (a constant column).")
    return q


def scaled_residuals(y: Array, basis: Array, names: Sequence[str]) -> tuple[Array, Array]:
    """(traits with covariates projected out and scaled by norm / sqrt(n - k), the scales)."""
    residual = y - basis @ (basis.T @ y)
    scale = np.sqrt((residual**2).sum(axis=0) / (len(y) - basis.shape[1]))
    for name, s in zip(names, scale, strict=True):
        if not s > 1e-8:
            raise Step1Error(f"Trait {name} does not vary once the covariates are accounted for.")
    return residual / scale, scale


def check_binary(y: Array, names: Sequence[str]) -> None:
    """Every binary trait coded 0/1 with cases and controls."""
    for t, name in enumerate(names):
        column = y[:, t]
        if not np.all((column == 0) | (column == 1)):
            raise Step1Error(f"Trait {name} is not coded 0/1 on every sample.")
        if column.min() == column.max():
            raise Step1Error(f"Trait {name} has no {'controls' if column[0] else 'cases'}.")


def null_offset(y: Array, basis: Array, max_iter: int = 50, tol: float = 1e-10) -> Array | None:
    """Linear predictor of the null logistic model of one 0/1 trait on the covariates
    (Newton-Raphson with step halving on the deviance); None if it does not converge."""
    k = basis.shape[1]
    beta = np.zeros(k)
    p_mean = (0.5 + y.sum()) / (len(y) + 1.0)
    beta[:] = np.linalg.lstsq(basis, np.full(len(y), np.log(p_mean / (1 - p_mean))), rcond=None)[0]
    eta = basis @ beta
    for _ in range(max_iter):
        p = special.expit(eta)
        w = p * (1.0 - p)
        try:
            step = np.linalg.solve((basis * w[:, None]).T @ basis, basis.T @ (y - p))
        except np.linalg.LinAlgError:
            return None
        old = _log_lik(y, eta)
        for _ in range(30):
            new_eta = basis @ (beta + step)
            if _log_lik(y, new_eta) >= old - 1e-12:
                break
            step = step / 2.0
        beta = beta + step
        eta = basis @ beta
        if np.abs(step).max() < tol:
            return eta if np.all(np.isfinite(eta)) else None
    return None


def _log_lik(y: Array, eta: Array) -> float:
    return float((y * eta - np.logaddexp(0.0, eta)).sum())
