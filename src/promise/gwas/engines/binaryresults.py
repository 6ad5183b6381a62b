"""What the binary-trait engine takes and gives: options, per-pair method, result arrays."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

import numpy as np

from promise.gwas.engines.nullmodel import NullModels

Array = np.ndarray[Any, Any]

#: variants per block at most: the products stay cache-friendly, the blocks balance threads
BLOCK = 512

#: float64 genotype entries per block at most (32 MB): large cohorts get shorter blocks,
#: so that a thread's block and its squares stay small at 50,000 samples too
BLOCK_ENTRIES = 4_000_000


class Method(IntEnum):
    """Which statistic a variant-trait pair reports."""

    NONE = 0  # monomorphic or all missing: NaN
    SCORE = 1
    FIRTH = 2
    WALD = 3


@dataclass(frozen=True, kw_only=True)
class BinaryOptions:
    """How binary traits are tested (see the module docstring)."""

    test: Literal["score", "wald"] = "score"  # wald: plain logistic for every pair
    firth_p: float = 0.05  # Firth below this score p (and where the score is undefined)
    firth_pvalue: Literal["lrt", "wald"] = "lrt"  # lrt: regenie, Hail; wald: PLINK 2
    firth_se: Literal["fisher", "hessian"] = "fisher"  # hessian: PLINK 2 >= v2.00a4
    max_iter: int = 25  # Newton steps of a fit (a failed Firth fit is retried with 4x)
    tol: float = 1e-6  # largest step of any coefficient at convergence
    block: int | None = None  # variants per block; None: BLOCK, fewer for large cohorts
    threads: int | None = None  # None: one per core (at most 8)


def block_size(options: BinaryOptions, n_samples: int) -> int:
    """Variants per block: ``options.block``, else as many as :data:`BLOCK_ENTRIES` allows."""
    if options.block is not None:
        return options.block
    return max(16, min(BLOCK, BLOCK_ENTRIES // max(n_samples, 1)))


@dataclass(frozen=True)
class BinaryResults:
    """Per-trait counts and per variant x trait statistics of one group of traits."""

    names: tuple[str, ...]
    cases: Array  # T
    controls: Array  # T
    n_obs: Array  # m: samples with a genotype call
    a1_freq: Array  # m
    a1_freq_cases: Array  # m x T
    a1_freq_controls: Array  # m x T
    beta: Array  # m x T
    se: Array
    p: Array
    chi2: Array
    method: Array  # m x T uint8, values of Method
    failed: Array  # m x T bool
    iterations: Array  # m x T: passes over the samples of the fits (0: score test)

    @classmethod
    def empty(cls, n_variants: int, null: NullModels) -> BinaryResults:
        shape = (n_variants, null.n_traits)
        return cls(
            names=null.names,
            cases=null.cases,
            controls=null.controls,
            n_obs=np.zeros(n_variants, dtype=np.int64),
            a1_freq=np.full(n_variants, np.nan),
            a1_freq_cases=np.full(shape, np.nan),
            a1_freq_controls=np.full(shape, np.nan),
            beta=np.full(shape, np.nan),
            se=np.full(shape, np.nan),
            p=np.full(shape, np.nan),
            chi2=np.full(shape, np.nan),
            method=np.zeros(shape, dtype=np.uint8),
            failed=np.zeros(shape, dtype=bool),
            iterations=np.zeros(shape, dtype=np.int32),
        )
