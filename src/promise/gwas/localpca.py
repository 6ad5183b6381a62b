"""Population structure in process: LD pruning and HWE-normalised PCA with NumPy.

Hail's ``ld_prune`` and ``hwe_normalized_pca`` distribute their linear algebra over Spark,
which is what a cluster needs; on one machine the JVM does it without a native BLAS, and on
2 cores the demo's 5,000 x 20,000 genotypes spent more than 10 minutes in one LD product.
When the common variants fit in memory (:data:`MAX_ENTRIES`), promise exports them once from
Hail as a PLINK .bed (a streaming write), decodes it with the table of
:mod:`promise.gwas.fastlinear` and does both steps here, with NumPy's BLAS:

- **LD pruning**, greedy along each chromosome like PLINK's ``--indep-pairwise`` and the
  first (in-partition) pass of Hail's ``ld_prune``: a variant is kept when its squared
  correlation with every variant already kept within ``window_bp`` before it is below
  ``r2`` (missing calls mean-imputed);
- **PCA** of the HWE-normalised matrix exactly as Hail's ``hwe_normalized_pca`` defines it
  (variant i, sample j: ``(g_ij - 2 p_i) / sqrt(2 p_i (1 - p_i) m)``, missing -> 0,
  monomorphic variants dropped): eigenvalues of ``M M'`` and scores ``U S``, from one
  symmetric eigendecomposition of the smaller Gram matrix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from promise.gwas.fastlinear import (
    LUT_COUNT,
    LUT_MISSING,
    bed_blocks,
    decode,
    has_missing,
    read_plink_meta,
)

Array = np.ndarray[Any, Any]
#: samples x common variants above which PCA stays in Hail (float64 matrix of ~2.4 GiB)
MAX_ENTRIES = 300_000_000


@dataclass(frozen=True)
class Genotypes:
    """A variants x samples matrix of A1 counts with missing calls marked."""

    counts: Array  # uint8, missing decoded as 0
    missing: Array | None  # uint8 indicators, None when nothing is missing
    contigs: Array
    positions: Array
    samples: list[str]


def read_bed(prefix: Path) -> Genotypes:
    """Read a PLINK 1 file set (as written by ``hl.export_plink``) into memory."""
    bim, samples = read_plink_meta(prefix)
    n, m = len(samples), len(bim)
    blocks = [raw for _, raw in bed_blocks(prefix, n, m, block=max(m, 1))]
    raw = blocks[0] if blocks else np.empty((0, (n + 3) // 4), dtype=np.uint8)
    return Genotypes(
        counts=decode(raw, LUT_COUNT, n),
        missing=decode(raw, LUT_MISSING, n) if has_missing(raw) else None,
        contigs=bim["chrom"].to_numpy(),
        positions=bim["pos"].to_numpy().astype(np.int64),
        samples=samples,
    )


def standardized(g: Genotypes, rows: Array | None = None) -> tuple[Array, Array]:
    """Rows centred on their mean and scaled to unit length (missing -> 0); and the means.

    Constant rows come back as zeros.
    """
    counts = g.counts if rows is None else g.counts[rows]
    z = counts.astype(np.float64)
    called = np.full(len(z), float(z.shape[1]))
    if g.missing is not None:
        miss = g.missing if rows is None else g.missing[rows]
        called -= miss.sum(axis=1)
    mean = z.sum(axis=1) / np.maximum(called, 1.0)
    z -= mean[:, None]
    if g.missing is not None:
        z[miss.astype(bool)] = 0.0
    norm = np.sqrt((z**2).sum(axis=1))
    z /= np.where(norm > 0, norm, 1.0)[:, None]
    return z, mean


#: candidate variants whose correlations with the kept ones are one matrix product
PRUNE_BATCH = 256


def ld_prune(g: Genotypes, *, r2: float, window_bp: int, batch: int = PRUNE_BATCH) -> Array:
    """Indices of the variants kept by greedy windowed pruning (in input order).

    Along each contig in position order, a variant is kept when its squared correlation
    with every variant kept before it within ``window_bp`` is below ``r2``. The decisions
    are those of the one-variant-at-a-time loop (:func:`_ld_prune_one_by_one`); the
    correlations come in batches, in float32 (half the memory traffic and twice the
    products per cycle of float64): those of ``batch`` candidates with the kept variants
    before the batch from one matrix product (the kept variants' rows sit side by side in
    one buffer, so the window is a slice), those among the candidates from their own small
    Gram matrix. A float32 correlation of unit vectors of n entries is within (n + 2) u
    (u = 2^-24) of the float64 one whatever the order of summation (Higham, Accuracy and
    Stability of Numerical Algorithms, 3.1); a pair whose float32 value lies within that of
    the threshold is recomputed in float64, so every decision is the float64 one."""
    contigs = list(pd.unique(g.contigs))
    if not contigs:
        return np.zeros(0, dtype=np.int64)
    cores = os.cpu_count() or 1
    workers = max(1, min(cores, len(contigs), 8))

    def one(contig: Any) -> list[int]:
        rows = np.flatnonzero(g.contigs == contig)
        rows = rows[np.argsort(g.positions[rows], kind="stable")]
        z32 = np.empty((len(rows), len(g.samples)), dtype=np.float32)
        for s in range(0, len(rows), STANDARDIZE_ROWS):  # float64 a few rows at a time
            z32[s : s + STANDARDIZE_ROWS] = standardized(g, rows[s : s + STANDARDIZE_ROWS])[0]

        def exact(at: Array) -> Array:
            """float64 standardised rows (positions in the contig) for a re-check."""
            return standardized(g, rows[at])[0]

        kept = _prune_contig(z32, exact, g.positions[rows], r2, window_bp, batch)
        return [int(rows[k]) for k in kept]

    # contigs side by side, each product on one core: on a shared machine a BLAS call
    # split over all cores waits for its slowest thread (measured 90 s where 38 s alone)
    threads = max(1, cores // workers)
    with (
        threadpool_limits(limits=threads, user_api="blas"),  # type: ignore[no-untyped-call]
        ThreadPoolExecutor(workers) as pool,
    ):
        parts = list(pool.map(one, contigs))
    return np.sort(np.array([k for part in parts for k in part], dtype=np.int64))


#: rows standardised in float64 at once before their float32 copy (cache-sized pieces)
STANDARDIZE_ROWS = 256


def _bands(r2: float, n: int) -> tuple[float, float]:
    """Squared float32 correlations below ``lo`` are surely below ``r2`` in float64, those
    at or above ``hi`` surely not; in between, the float64 value decides."""
    delta = 1.01 * (n + 2) * 2.0**-24  # bound on |r32 - r64| for unit vectors (1% spare)
    t = float(np.sqrt(r2))
    return max(t - delta, 0.0) ** 2, (t + delta) ** 2


def _prune_contig(
    z32: Array, exact: Callable[[Array], Array], pos: Array, r2: float, window_bp: int, batch: int
) -> list[int]:
    """Positions (in ``z32``'s rows, sorted by ``pos``) kept on one contig; ``exact`` gives
    float64 rows for the pairs float32 cannot decide."""
    lo, hi = _bands(r2, z32.shape[1])
    kept_z = np.empty_like(z32)  # the kept rows, in the order kept
    kept_pos = np.empty(len(z32), dtype=np.int64)
    kept_at = np.empty(len(z32), dtype=np.int64)  # row of z32 of each kept variant
    products = np.empty((len(z32), batch), dtype=np.float32)
    count = 0
    for b0 in range(0, len(z32), batch):
        cand = z32[b0 : b0 + batch]
        cand_pos = pos[b0 : b0 + batch]
        edges = cand_pos - window_bp
        first = int(np.searchsorted(kept_pos[:count], edges[0], side="left"))
        window = kept_pos[first:count]
        starts = np.searchsorted(window, edges, side="left")  # per candidate, in the window
        # (kept in the window) x candidates, into one buffer: no page faults per batch
        before = np.matmul(kept_z[first:count], cand.T, out=products[: count - first, : len(cand)])
        before *= before
        passed = np.ones(len(cand), dtype=bool)
        if len(window):
            # largest r^2 of each candidate over the kept rows from its own window start:
            # the rows every candidate sees in one reduction, the few rows between the
            # first and last candidate's starts by suffix maxima
            last = int(starts[-1])
            worst = before[last:].max(axis=0) if last < len(window) else np.zeros(len(cand))
            if last > starts[0]:
                head = before[starts[0] : last][::-1]
                tails = np.maximum.accumulate(head, axis=0)[::-1]  # row i: max of rows >= i
                inside = starts < last
                cols = np.flatnonzero(inside)
                worst[cols] = np.maximum(worst[cols], tails[starts[cols] - starts[0], cols])
            passed = worst < lo
            for j in np.flatnonzero((worst >= lo) & (worst < hi)):
                near = starts[j] + np.flatnonzero(before[starts[j] :, j] >= lo)
                values = exact(kept_at[first + near]) @ exact(np.array([b0 + j]))[0]
                passed[j] = bool(np.max(values**2) < r2)
        among = cand @ cand.T
        among *= among
        order = np.arange(len(cand))
        in_window = (order[:, None] < order[None, :]) & (cand_pos[:, None] >= edges[None, :])
        conflict = in_window & (among >= lo)  # [i, j]: i might rule j out if i is kept
        chosen: list[int]
        if not conflict[:, passed].any():
            chosen = np.flatnonzero(passed).tolist()
        else:  # the batch's own decisions, one after the other
            chosen = []
            is_chosen = np.zeros(len(cand), dtype=bool)
            for j in np.flatnonzero(passed):
                rivals = np.flatnonzero(conflict[:, j] & is_chosen)
                if rivals.size:
                    if among[rivals, j].max() >= hi:
                        continue
                    values = exact(b0 + rivals) @ exact(np.array([b0 + j]))[0]
                    if np.max(values**2) >= r2:
                        continue
                chosen.append(int(j))
                is_chosen[j] = True
        for i in chosen:
            kept_z[count] = cand[i]
            kept_pos[count] = cand_pos[i]
            kept_at[count] = b0 + i
            count += 1
    return [int(k) for k in kept_at[:count]]


def _ld_prune_one_by_one(g: Genotypes, *, r2: float, window_bp: int) -> Array:
    """:func:`ld_prune` without batches (a variant's window copied at each step): the
    reference the batched one is tested against."""
    keep: list[int] = []
    for contig in pd.unique(g.contigs):
        rows = np.flatnonzero(g.contigs == contig)
        rows = rows[np.argsort(g.positions[rows], kind="stable")]
        z, _ = standardized(g, rows)  # one contig at a time: memory of one contig's rows
        kept: list[int] = []  # positions in ``rows`` kept on this contig, in position order
        first = 0  # first entry of ``kept`` still inside the window
        for at, i in enumerate(rows):
            while first < len(kept) and g.positions[rows[kept[first]]] < g.positions[i] - window_bp:
                first += 1
            window = kept[first:]
            if window and float(np.max((z[window] @ z[at]) ** 2)) >= r2:
                continue
            kept.append(at)
        keep.extend(int(rows[k]) for k in kept)
    return np.sort(np.array(keep, dtype=np.int64))


#: Gram matrices up to this size are decomposed whole (LAPACK); larger ones by Lanczos
DENSE_LIMIT = 2000


def hwe_normalized_pca(
    g: Genotypes, rows: Array, k: int, *, dense_limit: int = DENSE_LIMIT
) -> tuple[list[float], pd.DataFrame]:
    """Eigenvalues and sample scores (``PC1``..``PCk``) of the HWE-normalised matrix.

    Up to ``dense_limit`` samples or variants, from one symmetric eigendecomposition of
    the smaller Gram matrix; beyond, the k largest eigenpairs of M'M by ARPACK's Lanczos
    iteration (``eigsh``), which needs products with M'M only, not a full decomposition
    (the LAPACK one of a 5,000 x 5,000 Gram matrix took 50 s on this 2-core machine).
    The fast engine's PCs come from here; Hail's ``hwe_normalized_pca`` is the reference
    the dense path is tested against, and the Lanczos path against the dense one."""
    counts = g.counts[rows].astype(np.float64)
    called = np.full(len(counts), float(counts.shape[1]))
    miss = None if g.missing is None else g.missing[rows].astype(bool)
    if miss is not None:
        called -= miss.sum(axis=1)
    ac = counts.sum(axis=1)
    poly = (ac > 0) & (ac < 2 * called)
    counts, ac, called = counts[poly], ac[poly], called[poly]
    m = len(counts)
    mean = ac / called
    z = counts
    z -= mean[:, None]
    z /= np.sqrt(mean * (2 - mean) * m / 2)[:, None]
    if miss is not None:
        z[miss[poly]] = 0.0
    k = min(k, m, z.shape[1] - 1)
    from scipy import linalg  # here: the NumPy association engine never needs it

    if min(z.shape) > dense_limit and k < min(z.shape) - 1:
        values, vectors = _lanczos(z, k)
        scores = vectors * np.sqrt(np.clip(values, 0, None))
    else:
        small_side_samples = z.shape[1] <= m
        gram = z.T @ z if small_side_samples else z @ z.T
        size = gram.shape[0]
        values, vectors = linalg.eigh(gram, subset_by_index=[size - k, size - 1])
        values, vectors = values[::-1], vectors[:, ::-1]
        # scores U S of M = samples x variants: from M M' = U S^2 U', or as M V from M' M
        scores = (
            vectors * np.sqrt(np.clip(values, 0, None)) if small_side_samples else z.T @ vectors
        )
    frame = pd.DataFrame(
        scores,
        index=pd.Index(g.samples, name="s"),
        columns=[f"PC{i + 1}" for i in range(k)],
    )
    return [float(v) for v in values], frame


#: sample counts up to which Lanczos runs on the explicit samples x samples Gram matrix
#: (800 MB at 10,000), whose products are far cheaper than two with the genotype matrix
GRAM_LIMIT = 10_000


def _lanczos(z: Array, k: int) -> tuple[Array, Array]:
    """The k largest eigenvalues of z'z and their (sample-side) eigenvectors, largest first;
    a fixed start vector, so a run repeats exactly."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    n = z.shape[1]
    operator: Any
    if n <= GRAM_LIMIT:
        operator = z.T @ z
    else:
        operator = LinearOperator((n, n), matvec=lambda v: z.T @ (z @ v), dtype=np.float64)
    start = np.linspace(1.0, 2.0, n)
    values, vectors = eigsh(operator, k=k, which="LA", v0=start, tol=1e-10)
    order = np.argsort(values)[::-1]
    return values[order], vectors[:, order]
