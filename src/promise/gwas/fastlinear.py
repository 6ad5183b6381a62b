"""The NumPy engine: linear regression straight from a PLINK .bed, no JVM.

For files a researcher has already cleaned (``--skip-qc --pcs 0``) and quantitative traits,
the whole GWAS is a few dense matrix products. With C the covariates (with intercept), Q an
orthonormal basis of C, y_k a trait with C projected out and g_j a variant's genotypes
(missing calls mean-imputed), Frisch-Waugh-Lovell gives, for every variant j and trait k,

    g'y   = g_j' y_k                        (y_k is orthogonal to C already)
    g'g   = sum(g_j^2) - |Q' g_j|^2         (the genotype with C projected out)
    beta  = g'y / g'g,   se = sqrt((y_k' y_k - beta^2 g'g) / (n - p - 1) / g'g)

with p the number of covariate columns and a t statistic on n - p - 1 degrees of freedom
(its p-value from :func:`promise.gwas.studentt.t_two_sided_p`).
This is the model Hail's ``linear_regression_rows`` fits, so both engines give the same
numbers. The genotypes are decoded from the 2-bit .bed codes to bytes with a 256-entry
table (four samples per lookup) and enter one float64 matrix product per block of variants
with every trait and Q side by side; a missing call is decoded as 0 and its mean added back
through the product of the missing-call indicators, only in blocks that have any.
Blocks are small (256 variants, so a decoded block stays in cache) and run on one thread per
core, each with a single-threaded BLAS: decoding and the products both run in parallel,
where a threaded BLAS alone left the decoding on one core. Results come back in the layout of :func:`promise.gwas.results.export_group`.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from promise.genotypes import plink
from promise.gwas.inputs import GenotypeSource, plink_recoding
from promise.gwas.phenofiles import KEY
from promise.gwas.studentt import HILL_MIN_DOF as HILL_MIN_DOF
from promise.gwas.studentt import t_two_sided_p
from promise.gwas.traits import Phenotypes

BLOCK = 256
REPORT_EVERY = 64  # blocks between progress reports (16,384 variants)
Array = np.ndarray[Any, Any]
T = TypeVar("T")
R = TypeVar("R")

# the .bed decoding lives in promise.genotypes.plink; its names stay here for existing callers
BED_MAGIC, BIM_COLUMNS, LOW_BITS = plink.BED_MAGIC, plink.BIM_COLUMNS, plink.LOW_BITS
LUT_COUNT, LUT_MISSING = plink.LUT_COUNT, plink.LUT_MISSING
bed_blocks, code_counts, decode = plink.bed_blocks, plink.code_counts, plink.decode
has_missing, padded_words, read_bim = plink.has_missing, plink.padded_words, plink.read_bim
read_fam_ids, read_plink_meta = plink.read_fam_ids, plink.read_plink_meta


@dataclass(frozen=True)
class _Plan:
    """One group of traits sharing their samples: what every block is multiplied with."""

    cols: Array | None  # sample columns of the .bed (None: all, in file order)
    # [y residuals | Q] transposed, (traits + covariate basis) x samples, contiguous: the
    # product's faster orientation
    weights_t: Array
    yy: Array  # y_k' y_k per trait
    n_traits: int
    dof: int


def _plan(
    frame: pl.DataFrame, traits: Sequence[str], covariates: Sequence[str], index: dict[str, int]
) -> _Plan:
    kept = frame.filter(pl.col(traits[0]).is_not_null() & pl.col(KEY).is_in(list(index)))
    cols = np.array([index[s] for s in kept[KEY]], dtype=np.int64)
    covs = kept.select(pl.col(c).cast(pl.Float64) for c in covariates).to_numpy()
    c = np.column_stack([np.ones(len(kept)), covs.reshape(len(kept), len(covariates))])
    y = kept.select(pl.col(t).cast(pl.Float64) for t in traits).to_numpy()
    in_order = len(cols) == len(index) and bool(np.all(cols == np.arange(len(index))))
    return plan_arrays(y, c, None if in_order else cols)


class Space:
    """One worker thread's buffers for a block: padded codes, packed counts, float64 counts."""

    def __init__(self, block: int, per: int) -> None:
        self.words = np.empty((block, (per + 7) // 8 * 8), dtype=np.uint8)
        self.packed = np.empty((block, per), dtype=np.uint32)
        self.floats = np.empty((block, 4 * per), dtype=np.float64)

    def decoded(self, raw: Array) -> Array:
        """A1 counts of every sample slot (padding too) as float64, missing as 0."""
        k = raw.shape[0]
        np.take(LUT_COUNT, raw, out=self.packed[:k])
        np.copyto(self.floats[:k], self.packed[:k].view(np.uint8), casting="unsafe")
        return self.floats[:k]


@dataclass(frozen=True)
class _Stats:
    """Per-variant results of one group, filled block by block."""

    beta: Array  # variants x traits
    se: Array
    p: Array
    eaf: Array  # variants

    @classmethod
    def empty(cls, n_variants: int, plan: _Plan) -> _Stats:
        shape = (n_variants, plan.n_traits)
        return cls(np.empty(shape), np.empty(shape), np.empty(shape), np.empty(n_variants))


def plan_arrays(y: Array, covariates: Array, cols: Array | None) -> _Plan:
    """The plan of one group from arrays: ``y`` samples x traits, ``covariates`` samples x
    columns (intercept included, independent columns), ``cols`` the group's .bed columns
    (None: all, in file order)."""
    q, _ = np.linalg.qr(np.asarray(covariates, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    y = y - q @ (q.T @ y)
    return _Plan(
        cols=cols,
        weights_t=np.ascontiguousarray(np.column_stack([y, q]).T),
        yy=(y**2).sum(axis=0),
        n_traits=y.shape[1],
        dof=len(y) - q.shape[1] - 1,
    )


def empty_stats(n_variants: int, plan: _Plan) -> _Stats:
    """Result arrays of one group, filled block by block by :func:`linear_block`."""
    return _Stats.empty(n_variants, plan)


def linear_block(
    counts: Array,
    raw: Array,
    missing: Array | None,
    plan: _Plan,
    out: _Stats,
    rows: slice,
    n_samples: int,
    space: Space,
) -> None:
    """One block of one group: ``counts`` the decoded A1 counts of every .bed sample
    (:meth:`Space.decoded`), ``missing`` the group's missing-call indicators (None: none)."""
    if plan.cols is None:
        sums = code_counts(padded_words(raw, n_samples, out=space.words))
        _block_stats(counts, missing, plan, out, rows, sums=sums)
    else:
        _block_stats(counts[:, plan.cols], missing, plan, out, rows)


def dosage_stats(dosages: Array, plan: _Plan, out: _Stats, rows: slice) -> None:
    """One block of dosages (variants x every sample, NaN missing) into ``out[rows]``, the
    model of :func:`linear_block`: missing dosages mean-imputed, sum(g^2) from the dosages
    (the .bed kernel's ``sums[1]``, the number of 2s, becomes (sum(g^2) - sum g) / 2)."""
    g = dosages if plan.cols is None else dosages[:, plan.cols]
    missing = np.isnan(g)
    held = missing if missing.any() else None
    if held is not None:
        g = np.where(missing, 0.0, g)
    total = g.sum(axis=1)
    second = ((g * g).sum(axis=1) - total) / 2.0
    sums = (total, second, missing.sum(axis=1, dtype=np.int64))
    _block_stats(np.ascontiguousarray(g), held, plan, out, rows, sums=sums)


def linear_groups(
    source: GenotypeSource,
    phenotypes: Phenotypes,
    frame: pl.DataFrame,
    groups: Sequence[Sequence[str]],
    fam_ids: Sequence[str],
    within: Callable[[int, int, str], None] | None = None,
) -> list[pl.DataFrame]:
    """Regress every group of traits on every variant; one export-layout frame per group.
    ``fam_ids``: the .fam's sample ids (:func:`read_fam_ids`), which the caller has read;
    ``within`` is told the variants done so far, every :data:`REPORT_EVERY` blocks."""
    prefix = source.path
    bim = read_bim(prefix)
    index = {s: i for i, s in enumerate(fam_ids)}
    plans = [_plan(frame, traits, phenotypes.covariates, index) for traits in groups]
    stats = [_Stats.empty(len(bim), plan) for plan in plans]
    n = len(fam_ids)

    local = threading.local()

    def one_block(item: tuple[int, Array]) -> None:
        start, raw = item
        if not hasattr(local, "space"):  # this thread's buffers, reused block after block
            local.space = Space(BLOCK, raw.shape[1])
        space: Space = local.space
        sums = code_counts(padded_words(raw, n, out=space.words))
        counts = space.decoded(raw)[:, :n]
        missing = decode(raw, LUT_MISSING, n) if sums[2].any() else None
        rows = slice(start, start + len(raw))
        for plan, out in zip(plans, stats, strict=True):
            if plan.cols is None:
                _block_stats(counts, missing, plan, out, rows, sums=sums)
            else:
                m = None if missing is None else missing[:, plan.cols]
                _block_stats(counts[:, plan.cols], m, plan, out, rows)

    workers = max(1, min(os.cpu_count() or 1, 8))
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:  # type: ignore[no-untyped-call]
        blocks = bounded_map(pool, one_block, bed_blocks(prefix, n, len(bim)), ahead=2 * workers)
        for done, _ in enumerate(blocks, start=1):
            if within is not None and (done % REPORT_EVERY == 0 or done * BLOCK >= len(bim)):
                within(min(done * BLOCK, len(bim)), len(bim), "variants")
    recode = plink_recoding(source.build)
    meta = pl.DataFrame(
        {
            "contig": bim["chrom"].replace(recode),
            "position": bim["pos"],
            "ref": bim["a2"],
            "alt": bim["a1"],
        },
    )
    frames = []
    for plan, out in zip(plans, stats, strict=True):
        n_samples = plan.weights_t.shape[1]
        columns: dict[str, Any] = {}
        for t in range(plan.n_traits):
            columns.update(
                {
                    f"t{t}_beta": out.beta[:, t],
                    f"t{t}_se": out.se[:, t],
                    f"t{t}_p": out.p[:, t],
                    f"t{t}_n": pl.repeat(n_samples, len(bim), dtype=pl.Int64, eager=True),
                    f"t{t}_eaf": out.eaf,
                    f"t{t}_firth": pl.repeat(False, len(bim), eager=True),
                }
            )
        frames.append(meta.hstack(pl.DataFrame(columns)))
    return frames


def bounded_map(
    pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T], *, ahead: int
) -> Iterator[R]:
    """``pool.map`` that takes at most ``ahead`` items from ``items`` before yielding a result
    (``Executor.map`` reads the whole iterable first, here the whole .bed)."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _block_stats(
    g: Array,
    missing: Array | None,
    plan: _Plan,
    out: _Stats,
    rows: slice,
    *,
    sums: tuple[Array, Array, Array] | None = None,
) -> None:
    """Statistics of one block into ``out[rows]``: ``g`` is variants x samples A1 counts as
    float64 (missing as 0); ``sums`` its :func:`code_counts` when ``g`` has every sample."""
    k = plan.n_traits
    products = (plan.weights_t @ g.T).T  # variants x (traits + basis)
    if sums is None:
        n_miss = (
            np.zeros(len(g), dtype=np.int64)
            if missing is None
            else missing.sum(axis=1, dtype=np.int64)
        )
        sums = g.sum(axis=1), np.count_nonzero(g == 2, axis=1), n_miss
    total = sums[0].astype(np.float64)
    squares = total + 2.0 * sums[1]  # g^2 = g + 2 [g = 2]
    n_missing = sums[2].astype(np.float64)
    n_samples = g.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / (n_samples - n_missing)
        if missing is not None:
            # imputed g = g + mean * indicator: add the indicators' products and squares
            products += mean[:, None] * (missing.astype(np.float64) @ plan.weights_t.T)
            squares += mean**2 * n_missing
        basis = products[:, k:]
        gg = squares - (basis**2).sum(axis=1)
        gg = np.where(gg > 1e-8 * n_samples, gg, np.nan)  # constant genotype: not estimable
        beta = products[:, :k] / gg[:, None]
        se = np.sqrt((plan.yy[None, :] - beta**2 * gg[:, None]) / plan.dof / gg[:, None])
        out.beta[rows] = beta
        out.se[rows] = se
        out.p[rows] = t_two_sided_p(beta / se, plan.dof)
        out.eaf[rows] = mean / 2
