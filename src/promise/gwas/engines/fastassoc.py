"""Every trait group in one pass over a PLINK 1 .bed: linear and binary kernels per block.

A group is traits of one kind with the same non-missing samples (:class:`GroupInput`):
its samples (columns of the .bed), its traits' values and its covariate matrix (intercept
included, principal components among the columns). Each block of variants is read once
and handed to every group: quantitative groups to the linear kernel of
:mod:`promise.gwas.fastlinear` (one product with all their traits at once), binary groups
to the score/Firth (or Wald) kernel of :mod:`promise.gwas.engines.binary` against the null
model fitted once per group. Blocks run on one thread per core, each with a single-threaded
BLAS; ``progress(k)`` is told after each block of k variants.

Covariate columns that are constant or a combination of the others over a group's samples
(``is_female`` among the cases and controls of a sex-specific endpoint, a batch indicator
of a batch with none of the group's samples) are left out of that group's model: they carry
no information there, and the remaining columns span the same space.

Offsets per trait and chromosome (regenie's LOCO predictions, a later step) would enter
:func:`fit_group` through ``fit_null(..., offset=)``, one null model per chromosome.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from promise.gwas import fastlinear
from promise.gwas.bedset import BedFiles
from promise.gwas.engines.binary import Workspace, associate_block
from promise.gwas.engines.binaryresults import BinaryOptions, BinaryResults, Method, block_size
from promise.gwas.engines.nullmodel import NullModels, fit_null
from promise.gwas.localqc import contigs

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, kw_only=True)
class GroupInput:
    """One group: ``cols`` (sample columns of the .bed), ``y`` (samples x traits) and the
    covariates (samples x columns, intercept first)."""

    kind: Literal["binary", "quantitative"]
    traits: list[str]
    cols: Array
    y: Array
    covariates: Array


@dataclass
class _Fitted:
    """A group ready for the blocks: its null model or linear plan and its result arrays."""

    group: GroupInput
    cols: Array | None  # None: every sample of the .bed in file order
    null: NullModels | None = None
    binary: BinaryResults | None = None
    plan: Any = None  # fastlinear plan
    linear: Any = None  # fastlinear stats
    spaces: dict[int, Workspace] = field(default_factory=dict)


def independent_columns(covariates: Array) -> Array:
    """The covariate matrix without columns that are constant (but the first, the
    intercept) or a combination of the columns before them."""
    kept: list[int] = []
    for j in range(covariates.shape[1]):
        trial = covariates[:, [*kept, j]]
        if np.linalg.matrix_rank(trial, tol=1e-8 * max(1.0, float(np.abs(trial).max()))) > len(
            kept
        ):
            kept.append(j)
    reduced: Array = covariates[:, kept]
    return reduced


def fit_group(group: GroupInput, n_bed: int, n_variants: int) -> _Fitted:
    """The group's null model (binary) or linear plan, with empty result arrays."""
    in_order = len(group.cols) == n_bed and bool(np.all(group.cols == np.arange(n_bed)))
    fitted = _Fitted(group=group, cols=None if in_order else group.cols)
    covariates = independent_columns(group.covariates)
    if group.kind == "binary":
        fitted.null = fit_null(group.y, covariates, group.traits)
        fitted.binary = BinaryResults.empty(n_variants, fitted.null)
    else:
        fitted.plan = fastlinear.plan_arrays(group.y, covariates, fitted.cols)
        fitted.linear = fastlinear.empty_stats(n_variants, fitted.plan)
    return fitted


def associate(
    bed: BedFiles,
    groups: Sequence[GroupInput],
    options: BinaryOptions,
    *,
    build: str = "GRCh38",
    progress: Callable[[int], None] | None = None,
) -> list[pl.DataFrame]:
    """Test every variant of ``bed`` for every group; one frame per group in the layout of
    :func:`promise.gwas.results.export_group` (``contig position ref alt`` then per trait
    ``t{i}_beta _se _p _n _eaf _firth _test``), contigs in ``build``'s names."""
    n, m = len(bed.samples), bed.n_variants
    fitted = [fit_group(g, n, m) for g in groups]
    largest = max((len(g.cols) for g in groups), default=1)
    block = block_size(options, largest)
    local = threading.local()

    def one(item: tuple[int, Array]) -> int:
        start, raw = item
        if not hasattr(local, "linear"):
            local.linear = fastlinear.Space(block, raw.shape[1])
        rows = slice(start, start + len(raw))
        any_missing = fastlinear.has_missing(raw)
        missing_all = fastlinear.decode(raw, fastlinear.LUT_MISSING, n) if any_missing else None
        counts = None
        for fit in fitted:
            missing = missing_all
            if missing is not None and fit.cols is not None:
                missing = missing[:, fit.cols]
                missing = missing if missing.any() else None
            if fit.null is not None and fit.binary is not None:
                space = fit.spaces.get(threading.get_ident())
                if space is None:
                    space = fit.spaces[threading.get_ident()] = Workspace(fit.null, block, n)
                g = space.bed_genotypes(raw, n, fit.cols)
                flags = None if missing is None else missing.view(bool)
                associate_block(fit.null, g, flags, options, fit.binary, rows, space)
            else:
                if counts is None:
                    counts = local.linear.decoded(raw)[:, :n]
                fastlinear.linear_block(
                    counts, raw, missing, fit.plan, fit.linear, rows, n, local.linear
                )
        return len(raw)

    workers = options.threads or max(1, min(os.cpu_count() or 1, 8))
    blocks = fastlinear.bed_blocks(bed.prefix, n, m, block=block)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:  # type: ignore[no-untyped-call]
        for done in fastlinear.bounded_map(pool, one, blocks, ahead=2 * workers):
            if progress is not None:
                progress(done)
    meta = pl.DataFrame(
        {
            "contig": contigs(bed, build),
            "position": bed.bim["pos"],
            "ref": bed.bim["a2"],
            "alt": bed.bim["a1"],
        }  # fmt: skip
    )
    return [meta.hstack(_columns(fit, m, options)) for fit in fitted]


def _columns(fit: _Fitted, m: int, options: BinaryOptions) -> pl.DataFrame:
    columns: dict[str, Any] = {}
    size = pl.repeat(len(fit.group.cols), m, dtype=pl.Int64, eager=True)
    for t in range(len(fit.group.traits)):
        if fit.binary is not None:
            r = fit.binary
            method = r.method[:, t]
            plain = "wald" if options.test == "wald" else "score"
            test = np.array([plain, "score", "firth", "wald"], dtype=object)[method]
            columns.update({
                f"t{t}_beta": r.beta[:, t], f"t{t}_se": r.se[:, t], f"t{t}_p": r.p[:, t],
                f"t{t}_n": size, f"t{t}_eaf": r.a1_freq,
                f"t{t}_firth": method == Method.FIRTH,
                f"t{t}_test": pl.Series(test, dtype=pl.String),
                f"t{t}_eaf_cases": r.a1_freq_cases[:, t],
            })  # fmt: skip
        else:
            s = fit.linear
            columns.update({
                f"t{t}_beta": s.beta[:, t], f"t{t}_se": s.se[:, t], f"t{t}_p": s.p[:, t],
                f"t{t}_n": size, f"t{t}_eaf": s.eaf,
                f"t{t}_firth": pl.repeat(False, m, eager=True),
                f"t{t}_test": pl.repeat("linear", m, eager=True),
            })  # fmt: skip
    return pl.DataFrame(columns)
