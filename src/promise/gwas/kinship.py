"""KING-robust kinship in process, from a PLINK .bed or a matrix of genotype codes.

KING-robust (Manichaikul et al. 2010, Bioinformatics 26:2867, the between-family estimator
that PLINK 2's ``--make-king-table`` reports) needs, for each pair of samples i and j, over
the variants both have called: ``N`` = (both heterozygous) - 2 x (opposite homozygotes,
IBS0), and each one's heterozygote count ``H_i``, ``H_j``. Then

    kinship = (2 N - |H_i - H_j|) / (4 min(H_i, H_j))

0.5 for a duplicate, 0.25 for a parent and child or full siblings, 0.125 for second-degree
relatives, about 0 for unrelated people whatever their ancestries.

All pairs come from one symmetric matrix product. With d = (alternate-allele count - 1) for
a called genotype (-1, 0, +1) and 0 for a missing one, ``S = D D'`` counts, per pair, same
homozygotes minus opposite homozygotes; with T = (variants both called) - S, which counts
the variants where either is heterozygous plus twice the opposite homozygotes, the kinship
is ``3/4 + (max(H_i, H_j) - 2 T) / (4 min(H_i, H_j))``. Computed with each sample's own
heterozygote and missing-call counts in place of the pair's (a pair's both-called count is
at least ``m - m_i - m_j``, its heterozygote counts at most each sample's), this is an
upper bound of the true kinship below 3/4, so every pair at or above ``min_kinship`` is
among the pairs the bound keeps; those few are then counted exactly from the codes
(call count, HETHET, IBS0 and kinship as PLINK 2 computes them). The product is float32
BLAS (exact for counts below 2^24): ``syrk`` over chunks of variants into samples x samples,
or, when that would not fit ``max_bytes``, row panels of ``gemm``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.errors import PromiseError
from promise.gwas.fastlinear import bed_blocks, read_plink_meta

Array = np.ndarray[Any, Any]

#: KING's degree boundaries (Manichaikul et al. 2010, Table 1): 2^-1.5, 2^-2.5, 2^-3.5, 2^-4.5
DUPLICATE, FIRST, SECOND, THIRD = 2**-1.5, 2**-2.5, 2**-3.5, 2**-4.5
#: the default table filter: third-degree relatives and closer (PLINK 2's 0.0442)
MIN_KINSHIP = THIRD
#: first-degree pairs with an IBS0 proportion below this are parent and offspring (UK Biobank,
#: Bycroft et al. 2018, after Manichaikul et al.), above it full siblings
PARENT_OFFSPRING_MAX_IBS0 = 0.0012
MISSING = 3  # genotype code of a missing call; 0, 1, 2 are alternate-allele counts
CHUNK = 2048  # variants per product
BLOCK = 1024  # samples per row block of a panel's products
MAX_BYTES = 2 * 1024**3  # the accumulator of one panel
KINSHIP_SCHEMA: dict[str, pl.DataType] = {
    "id1": pl.Utf8(),
    "id2": pl.Utf8(),
    "nsnp": pl.Int64(),
    "hethet": pl.Float64(),
    "ibs0": pl.Float64(),
    "kinship": pl.Float64(),
    "degree": pl.Int8(),
    "relationship": pl.Utf8(),
}

# code -> d (called: alternate-allele count - 1; missing: 0)
_D = np.array([-1, 0, 1, 0], dtype=np.float32)
# .bed byte (four 2-bit codes, low bits first: 00 two A1, 01 missing, 10 one A1, 11 no A1)
# -> the four samples' codes (A1 count or MISSING) packed in one little-endian uint32
_PAIRS = (np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3
_BYTE_TO_CODES = (
    np.array([2, MISSING, 1, 0], dtype=np.uint32)[_PAIRS] << (8 * np.arange(4, dtype=np.uint32))
).sum(axis=1, dtype=np.uint32)


class KinshipError(PromiseError):
    """Genotypes that kinship cannot be computed from."""


def bed_codes(prefix: Path) -> tuple[Array, list[str]]:
    """Variants x samples genotype codes (A1 counts, :data:`MISSING`) and the sample ids of a
    PLINK 1 .bed/.bim/.fam set."""
    bim, samples = read_plink_meta(prefix)
    n, m = len(samples), bim.height
    codes = np.empty((m, n), dtype=np.uint8)
    for start, raw in bed_blocks(prefix, n, m, block=4096):
        decoded = _BYTE_TO_CODES[raw].view(np.uint8).reshape(raw.shape[0], -1)
        codes[start : start + raw.shape[0]] = decoded[:, :n]
    return codes, samples


def king_robust_bed(prefix: Path, *, min_kinship: float = MIN_KINSHIP) -> pl.DataFrame:
    """:func:`king_robust` of the samples of a PLINK 1 file set over all its variants."""
    codes, samples = bed_codes(prefix)
    return king_robust(codes, samples, min_kinship=min_kinship)


def king_robust(
    codes: Array,
    samples: Sequence[str],
    *,
    min_kinship: float = MIN_KINSHIP,
    chunk: int = CHUNK,
    block: int = BLOCK,
    max_bytes: int = MAX_BYTES,
) -> pl.DataFrame:
    """Pairs of samples whose KING-robust kinship is at least ``min_kinship``.

    ``codes`` is variants x samples, uint8: 0, 1, 2 alternate (or A1) alleles, or
    :data:`MISSING` (:func:`bed_codes` reads a .bed so). Returns ``id1, id2, nsnp, hethet,
    ibs0, kinship, degree, relationship`` (:data:`KINSHIP_SCHEMA`; ``hethet`` and ``ibs0``
    as proportions of ``nsnp``, as PLINK 2 writes them), one row per pair, ``id1`` before
    ``id2`` in sample order, sorted by that order.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[1] != len(samples):
        raise KinshipError(
            f"kinship needs a variants x samples matrix of genotype codes: {codes.shape} for "
            f"{len(samples)} samples."
        )
    if len(set(samples)) != len(samples):
        raise KinshipError("kinship needs distinct sample ids; the genotypes repeat one.")
    if int(codes.max(initial=0)) > MISSING:
        raise KinshipError(f"genotype codes must be 0, 1, 2 or {MISSING} (missing).")
    het = np.count_nonzero(codes == 1, axis=0)
    missing = np.count_nonzero(codes == MISSING, axis=0)
    firsts, seconds = [], []
    for rows in _panels(len(samples), max_bytes):
        same = _same_minus_opposite(codes, rows, chunk=chunk, block=block)
        i, j = _candidates(same, rows, het, missing, codes.shape[0], min_kinship)
        firsts.append(i)
        seconds.append(j)
    table = _table(codes, list(samples), np.concatenate(firsts), np.concatenate(seconds))
    return table.filter(pl.col("kinship") >= min_kinship)


def _panels(n: int, max_bytes: int) -> Iterator[range]:
    """Row ranges whose float32 accumulator (rows x samples) and one product's result fit
    ``max_bytes``."""
    rows = max(1, min(n, max_bytes // max(1, 8 * n)))
    for start in range(0, n, rows):
        yield range(start, min(n, start + rows))


def _same_minus_opposite(codes: Array, rows: range, *, chunk: int, block: int) -> Array:
    """``D[rows] D[rows.start:]'`` (float32, rows x samples from ``rows.start``; D samples x
    variants), exact where the column is after the row: when ``rows`` are all samples, one
    symmetric product (BLAS ``syrk``) per chunk of variants, else row blocks of ``sgemm``."""
    p0, n = rows.start, codes.shape[1]
    out = np.zeros((len(rows), n - p0), dtype=np.float32)
    for c0 in range(0, codes.shape[0], chunk):
        d = _D[codes[c0 : c0 + chunk, p0:]]  # variants x samples
        if len(rows) == n:
            out += d.T @ d  # NumPy hands a matrix times its own transpose to BLAS syrk
            continue
        for b0 in range(0, len(rows), block):
            b1 = min(len(rows), b0 + block)
            out[b0:b1, b0:] += d[:, b0:b1].T @ d[:, b0:]
    return out


def _candidates(
    same: Array, rows: range, het: Array, missing: Array, m: int, min_kinship: float
) -> tuple[Array, Array]:
    """(i, j), j > i, whose kinship bound (module docstring) reaches ``min_kinship``."""
    p0 = rows.start
    cols = np.arange(p0, het.size)
    hj = het[cols][None, :].astype(np.float64)
    firsts, seconds = [], []
    for r0 in range(0, len(rows), 256):
        i = np.arange(p0 + r0, p0 + min(len(rows), r0 + 256))
        hi = het[i][:, None].astype(np.float64)
        t0 = (m - missing[i][:, None] - missing[cols][None, :]) - same[i - p0]
        smaller = np.minimum(hi, hj)
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = 0.75 + (np.maximum(hi, hj) - 2.0 * t0) / (4.0 * smaller)
        keep = (cols[None, :] > i[:, None]) & (smaller > 0) & (bound >= min_kinship)
        a, b = np.nonzero(keep)
        firsts.append(i[a])
        seconds.append(cols[b])
    return np.concatenate(firsts), np.concatenate(seconds)


def kinship_from_counts(numer: Array, het_i: Array, het_j: Array) -> Array:
    """KING-robust kinship from hethet - 2 ibs0 and the two heterozygote counts over the
    pair's variants (NaN where a sample has no heterozygote among them)."""
    smaller = np.minimum(het_i, het_j).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        kin = (2.0 * numer - np.abs(het_i.astype(np.float64) - het_j)) / (4.0 * smaller)
    return np.where(smaller > 0, kin, np.nan)


def _table(codes: Array, samples: list[str], first: Array, second: Array) -> pl.DataFrame:
    """The pairs with their counts worked out exactly from the codes, a batch at a time."""
    counts = np.zeros((6, first.size), dtype=np.int64)
    for s in range(0, first.size, 256):
        a, b = codes[:, first[s : s + 256]], codes[:, second[s : s + 256]]
        both = (a != MISSING) & (b != MISSING)
        hethet = ((a == 1) & (b == 1)).sum(axis=0)
        ibs0 = (((a == 0) & (b == 2)) | ((a == 2) & (b == 0))).sum(axis=0)
        het_a, het_b = ((a == 1) & both).sum(axis=0), ((b == 1) & both).sum(axis=0)
        counts[:, s : s + 256] = [both.sum(axis=0), hethet, ibs0, hethet - 2 * ibs0, het_a, het_b]
    nsnp, hethet, ibs0, numer, het_a, het_b = counts
    names = np.array(samples, dtype=object)
    frame = pl.DataFrame(
        {
            "id1": names[first].tolist(),
            "id2": names[second].tolist(),
            "nsnp": nsnp,
            "hethet": hethet / np.maximum(nsnp, 1),
            "ibs0": ibs0 / np.maximum(nsnp, 1),
            "kinship": kinship_from_counts(numer, het_a, het_b),
        },
        schema={k: KINSHIP_SCHEMA[k] for k in ("id1", "id2", "nsnp", "hethet", "ibs0", "kinship")},
    )
    return frame.with_columns(
        degree_expr(pl.col("kinship")).alias("degree"),
        relationship_expr(pl.col("kinship"), pl.col("ibs0")).alias("relationship"),
    )


def degree(kinship: float) -> int | None:
    """KING's degree of relationship for one kinship: 0 (duplicate or monozygotic twin),
    1, 2, 3, or None (more distant or unrelated)."""
    for k, bound in enumerate((DUPLICATE, FIRST, SECOND, THIRD)):
        if kinship > bound:
            return k
    return None


def degree_expr(kinship: pl.Expr) -> pl.Expr:
    """:func:`degree` for a column (null below the third degree)."""
    return (
        pl.when(kinship > DUPLICATE)
        .then(0)
        .when(kinship > FIRST)
        .then(1)
        .when(kinship > SECOND)
        .then(2)
        .when(kinship > THIRD)
        .then(3)
        .otherwise(None)
        .cast(pl.Int8)
    )


def relationship_expr(kinship: pl.Expr, ibs0: pl.Expr) -> pl.Expr:
    """``duplicate``, ``parent_offspring``, ``full_siblings`` (first degree, told apart by
    IBS0), ``second_degree``, ``third_degree`` or null."""
    first = pl.when(ibs0 < PARENT_OFFSPRING_MAX_IBS0).then(pl.lit("parent_offspring"))
    return (
        pl.when(kinship > DUPLICATE)
        .then(pl.lit("duplicate"))
        .when(kinship > FIRST)
        .then(first.otherwise(pl.lit("full_siblings")))
        .when(kinship > SECOND)
        .then(pl.lit("second_degree"))
        .when(kinship > THIRD)
        .then(pl.lit("third_degree"))
        .otherwise(None)
    )


def write_kinship(table: pl.DataFrame, path: Path) -> Path:
    """``kinship.tsv``: the table as tab-separated text (kinship to 5 decimals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.with_columns(pl.col("hethet", "ibs0", "kinship").round(5)).write_csv(
        path, separator="\t", null_value="NA"
    )
    return path
