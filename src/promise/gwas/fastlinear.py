"""The NumPy engine: linear regression straight from a PLINK .bed, no JVM.

For files a researcher has already cleaned (``--skip-qc --pcs 0``) and quantitative traits,
the whole GWAS is a few dense matrix products. With C the covariates (with intercept), Q an
orthonormal basis of C, y_k a trait with C projected out and g_j a variant's genotypes
(missing calls mean-imputed), Frisch-Waugh-Lovell gives, for every variant j and trait k,

    g'y   = g_j' y_k                        (y_k is orthogonal to C already)
    g'g   = sum(g_j^2) - |Q' g_j|^2         (the genotype with C projected out)
    beta  = g'y / g'g,   se = sqrt((y_k' y_k - beta^2 g'g) / (n - p - 1) / g'g)

with p the number of covariate columns and a t statistic on n - p - 1 degrees of freedom
(its p-value from :func:`t_two_sided_p`).
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
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl
from scipy import special
from threadpoolctl import threadpool_limits

from promise.gwas.inputs import GenotypeInputError, GenotypeSource, plink_recoding
from promise.gwas.phenofiles import KEY, read_fields
from promise.gwas.traits import Phenotypes

BLOCK = 256
REPORT_EVERY = 64  # blocks between progress reports (16,384 variants)
BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
Array = np.ndarray[Any, Any]
T = TypeVar("T")
R = TypeVar("R")

# Two bits per sample, low bits first: 00 = two A1, 01 = missing, 10 = one A1, 11 = no A1.
_CODES = (np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3
_LANES = (8 * np.arange(4)).astype(np.uint32)
#: byte -> the four samples' A1 counts packed in one little-endian uint32 (missing -> 0)
LUT_COUNT = (np.array([2, 0, 1, 0], dtype=np.uint32)[_CODES] << _LANES).sum(axis=1, dtype=np.uint32)
#: byte -> the four samples' missing-call indicators, packed the same way
LUT_MISSING = (np.array([0, 1, 0, 0], dtype=np.uint32)[_CODES] << _LANES).sum(
    axis=1, dtype=np.uint32
)

#: every low bit of the 2-bit codes in a 64-bit word
LOW_BITS = np.uint64(0x5555555555555555)

#: degrees of freedom from which :func:`t_two_sided_p` uses Hill's approximation
HILL_MIN_DOF = 3000


def t_two_sided_p(t: Array, dof: int) -> Array:
    """P(|T| >= |t|) for Student's t on ``dof`` degrees of freedom.

    From :data:`HILL_MIN_DOF` degrees of freedom on, through the normal deviate of Hill's
    large-sample transform (G. W. Hill, 1970, ACM Algorithm 395: y = a log(1 + t^2/dof),
    a = dof - 1/2, and a short series in y / (48 a^2)): about a ninth of the time of SciPy's
    ``stdtr``, which the tests hold it to (relative error under 2e-9 for every p above
    1e-300 at 3,000 degrees of freedom, under 1e-10 at 4,996). Below, ``stdtr`` itself.
    An infinite ``t`` (a perfect fit) gives 0, NaN gives NaN."""
    if dof < HILL_MIN_DOF:
        result: Array = 2.0 * special.stdtr(dof, -np.abs(t))
        return result
    a = dof - 0.5
    b = 48.0 * a * a
    with np.errstate(over="ignore", invalid="ignore"):
        y = a * np.log1p(t * t / dof)
        series = (((-0.4 * y - 3.3) * y - 24.0) * y - 85.5) / (0.8 * y * y + 100.0 + b)
        z = ((series + y + 3.0) / b + 1.0) * np.sqrt(y)
    p: Array = 2.0 * special.ndtr(-z)
    p[np.isinf(t)] = 0.0
    return p


def decode(raw: Array, lut: Array, n_samples: int) -> Array:
    """(variants x bytes) .bed codes -> (variants x samples) uint8 through a packed table."""
    return lut[raw].view(np.uint8).reshape(raw.shape[0], -1)[:, :n_samples]


def padded_words(raw: Array, n_samples: int, out: Array | None = None) -> Array:
    """The codes of ``raw`` as rows of 64-bit words: each row padded to a whole word, and
    every padding bit (the last byte's unused samples included, whatever a writer left
    there) set to 1, so that padding reads as code 11 (no A1, not missing)."""
    per = raw.shape[1]
    width = (per + 7) // 8 * 8
    if out is None:
        out = np.empty((raw.shape[0], width), dtype=np.uint8)
    padded = out[: raw.shape[0]]
    padded[:, :per] = raw
    padded[:, per:] = 0xFF
    rest = n_samples - 4 * (n_samples // 4)
    if rest:
        padded[:, per - 1] |= np.uint8(0xFF & ~((1 << (2 * rest)) - 1))
    return padded.view(np.uint64)


def code_counts(words: Array) -> tuple[Array, Array, Array]:
    """Per row of :func:`padded_words`: the A1 count summed over samples, the number of
    samples with two A1 (code 00) and the number of missing calls (code 01), by counting
    bits of the packed codes (an eighth of the elements of the decoded matrix)."""
    high = words >> np.uint64(1)
    low_zero = np.bitwise_count(~words & LOW_BITS).sum(axis=1, dtype=np.int64)  # 00 or 10
    twos = np.bitwise_count(~(words | high) & LOW_BITS).sum(axis=1, dtype=np.int64)
    missing = np.bitwise_count(words & ~high & LOW_BITS).sum(axis=1, dtype=np.int64)
    return low_zero + twos, twos, missing


def has_missing(raw: Array) -> bool:
    """True when any 2-bit code in ``raw`` is 01 (a missing call)."""
    return bool(np.any(raw & ~(raw >> 1) & 0x55))


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


BIM_COLUMNS = ("chrom", "id", "cm", "pos", "a1", "a2")


def read_fam_ids(prefix: Path) -> list[str]:
    """The sample ids (IID, column 2) of a PLINK .fam file."""
    fam = read_fields(Path(f"{prefix}.fam"), header=False)
    if fam.width < 2:
        raise GenotypeInputError(f"{prefix}.fam needs at least two columns (FID IID ...).")
    return fam.to_series(1).to_list()


def read_bim(prefix: Path) -> pl.DataFrame:
    """The .bim as columns ``chrom id cm pos a1 a2`` (text; ``pos`` Int64)."""
    bim = read_fields(Path(f"{prefix}.bim"), header=False, names=BIM_COLUMNS)
    return bim.with_columns(pl.col("pos").cast(pl.Int64))


def read_plink_meta(prefix: Path) -> tuple[pl.DataFrame, list[str]]:
    """:func:`read_bim` and :func:`read_fam_ids`."""
    return read_bim(prefix), read_fam_ids(prefix)


def bed_blocks(
    prefix: Path, n_samples: int, n_variants: int, *, block: int = BLOCK
) -> Iterator[tuple[int, Array]]:
    """(first variant, variants x bytes codes) per block of a checked SNP-major .bed."""
    per = (n_samples + 3) // 4
    path = Path(f"{prefix}.bed")
    expected = len(BED_MAGIC) + per * n_variants
    if path.stat().st_size != expected:
        raise GenotypeInputError(
            f"{path} has {path.stat().st_size:,} bytes where the .bim and .fam imply "
            f"{expected:,}: the three files do not belong together."
        )
    with path.open("rb") as fh:
        if fh.read(3) != BED_MAGIC:
            raise GenotypeInputError(f"{path} is not a SNP-major PLINK 1 .bed file.")
        for start in range(0, n_variants, block):
            count = min(block, n_variants - start)
            yield start, np.frombuffer(fh.read(per * count), dtype=np.uint8).reshape(count, per)


def _plan(
    frame: pl.DataFrame, traits: Sequence[str], covariates: Sequence[str], index: dict[str, int]
) -> _Plan:
    kept = frame.filter(pl.col(traits[0]).is_not_null() & pl.col(KEY).is_in(list(index)))
    cols = np.array([index[s] for s in kept[KEY]], dtype=np.int64)
    covs = kept.select(pl.col(c).cast(pl.Float64) for c in covariates).to_numpy()
    c = np.column_stack([np.ones(len(kept)), covs.reshape(len(kept), len(covariates))])
    q, _ = np.linalg.qr(c)
    y = kept.select(pl.col(t).cast(pl.Float64) for t in traits).to_numpy()
    y = y - q @ (q.T @ y)
    in_order = len(cols) == len(index) and bool(np.all(cols == np.arange(len(index))))
    return _Plan(
        cols=None if in_order else cols,
        weights_t=np.ascontiguousarray(np.column_stack([y, q]).T),
        yy=(y**2).sum(axis=0),
        n_traits=len(traits),
        dof=len(kept) - c.shape[1] - 1,
    )


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
