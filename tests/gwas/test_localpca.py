"""In-process LD pruning and PCA: planted LD structure, and Hail's own hwe_normalized_pca."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from promise.gwas import localpca


def _genotypes(rows: list[np.ndarray], contigs: list[str], positions: list[int]) -> Any:
    counts = np.array(rows)
    missing = counts < 0
    return localpca.Genotypes(
        counts=np.where(missing, 0, counts).astype(np.uint8),
        missing=missing.astype(np.uint8) if missing.any() else None,
        contigs=np.array(contigs),
        positions=np.array(positions),
        samples=[f"s{i}" for i in range(counts.shape[1])],
    )


@pytest.mark.unit
def test_ld_prune_drops_copies_inside_the_window_only() -> None:
    rng = np.random.default_rng(5)
    a, b, c = (rng.binomial(2, 0.3, 400) for _ in range(3))
    a_missing = a.copy()
    a_missing[:40] = -1  # a copy of a with missing calls: r^2 with a still ~0.9
    flipped = 2 - a  # perfect negative correlation: r^2 = 1
    g = _genotypes(
        [a, a.copy(), b, flipped, a_missing, a.copy(), c, a.copy()],
        ["chr1"] * 6 + ["chr2"] * 2,
        [1_000, 2_000, 3_000, 400_000, 450_000, 1_600_000, 1_000, 2_000],
    )
    # kept by construction: 0 (first), 2 (independent), 5 (1.1 Mb from the last copy kept,
    # outside the 500 kb window), 6 (independent, chr2), 7 (chr2: a's copies are on chr1)
    kept = localpca.ld_prune(g, r2=0.2, window_bp=500_000)
    assert kept.tolist() == [0, 2, 5, 6, 7]
    # with a wider window the far copy of a is pruned too
    assert localpca.ld_prune(g, r2=0.2, window_bp=2_000_000).tolist() == [0, 2, 6, 7]


@pytest.mark.integration
def test_hwe_normalized_pca_equals_hails(hail_session: Any, tmp_path: Path) -> None:
    """Three populations, 2% missing calls: Hail's eigenvalues and scores (up to sign)."""
    hl = hail_session
    mt = hl.balding_nichols_model(3, 240, 400, fst=[0.05, 0.1, 0.2])
    mt = mt.key_cols_by(s=hl.str(mt.sample_idx))
    mt = mt.annotate_entries(GT=hl.or_missing(hl.rand_bool(0.98), mt.GT))
    mt = mt.select_rows().select_cols().checkpoint(str(tmp_path / "bn.mt"))
    values, table, _ = hl.hwe_normalized_pca(mt.GT, k=4)
    theirs = {r.s: list(r.scores) for r in table.collect()}
    hl.export_plink(mt, str(tmp_path / "bn"), ind_id=mt.s)
    g = localpca.read_bed(tmp_path / "bn")
    assert g.missing is not None and 0.015 < g.missing.mean() < 0.025
    ours_values, scores = localpca.hwe_normalized_pca(g, np.arange(len(g.counts)), 4)
    np.testing.assert_allclose(ours_values, values, rtol=1e-8)
    expected = np.array([theirs[s] for s in scores.index])
    signs = np.sign((expected * scores.to_numpy()).sum(axis=0))
    np.testing.assert_allclose(scores.to_numpy() * signs, expected, rtol=0, atol=1e-8)
    # the population structure is what the first two components show
    assert values[0] > 3 * values[2]


def test_lanczos_gives_the_dense_decomposition() -> None:
    """Large cohorts take the Lanczos path: the same eigenvalues and scores (up to sign) as
    the dense eigendecomposition, on 300 samples x 500 variants with missing calls."""
    rng = np.random.default_rng(5)
    pops = np.repeat([0, 1, 2], 100)
    freqs = rng.uniform(0.1, 0.9, (3, 500))
    counts = rng.binomial(2, freqs[pops].T).astype(np.uint8)
    missing = (rng.random(counts.shape) < 0.02).astype(np.uint8)
    counts[missing == 1] = 0
    g = localpca.Genotypes(counts=counts, missing=missing, contigs=np.array(["chr1"] * 500),
                           positions=np.arange(500), samples=[f"S{i}" for i in range(300)])  # fmt: skip
    rows = np.arange(500)
    dense_values, dense = localpca.hwe_normalized_pca(g, rows, 4)
    values, scores = localpca.hwe_normalized_pca(g, rows, 4, dense_limit=0)
    np.testing.assert_allclose(values, dense_values, rtol=1e-9)
    signs = np.sign((dense.to_numpy() * scores.to_numpy()).sum(axis=0))
    np.testing.assert_allclose(scores.to_numpy() * signs, dense.to_numpy(), atol=1e-8)


@pytest.mark.integration
def test_ld_prune_agrees_with_plink2_indep_pairwise(tmp_path: Path) -> None:
    """Blocks of correlated variants: our greedy pruning and ``plink2 --indep-pairwise
    500kb 1 0.2`` keep sets of comparable size, largely the same variants, and in both no
    two kept variants within 500 kb reach r^2 0.2.

    The algorithms differ by design: ours keeps the first variant of a correlated pair
    (Hail's ``ld_prune`` and localpca's docstring), PLINK 2 drops the one with the lower
    MAF, which on these blocks keeps more variants (measured: 116 ours, 148 PLINK 2's, 80
    in both); so the sets are compared by size and overlap, and by the property both promise."""
    from gwas.helpers import plink2
    from gwas.synthetic import write_bfile

    rng = np.random.default_rng(17)
    n, blocks, size = 600, 60, 5
    columns = []
    for _ in range(blocks):
        base = rng.binomial(2, rng.uniform(0.2, 0.5), n)
        for j in range(size):
            copy = base.copy()
            redraw = rng.random(n) < 0.15 * j  # weaker LD further along the block
            copy[redraw] = rng.binomial(2, 0.35, int(redraw.sum()))
            columns.append(copy)
    geno = np.column_stack(columns)
    prefix = tmp_path / "ld"
    write_bfile(prefix, geno)
    # blocks 50 kb apart along one chromosome, so windows of 500 kb span several
    bim = [f"1\tv{j}\t0\t{1000 + 50_000 * (j // size) + 10 * (j % size)}\tA\tG\n"
           for j in range(geno.shape[1])]  # fmt: skip
    (tmp_path / "ld.bim").write_text("".join(bim))
    positions = [int(line.split("\t")[3]) for line in bim]
    subprocess.run([plink2(), "--bfile", str(prefix), "--indep-pairwise", "500kb", "1", "0.2",
                    "--threads", "1", "--memory", "1000", "--out", str(tmp_path / "p")],
                   check=True, capture_output=True)  # fmt: skip
    theirs = {int(v[1:]) for v in (tmp_path / "p.prune.in").read_text().split()}
    g = localpca.read_bed(prefix)
    ours = set(localpca.ld_prune(g, r2=0.2, window_bp=500_000).tolist())
    assert 0.7 * len(theirs) <= len(ours) <= len(theirs), (len(ours), len(theirs))
    assert len(ours & theirs) >= 0.6 * len(ours), (len(ours & theirs), len(ours))

    corr = np.corrcoef(geno.T)
    for kept in (ours, theirs):
        idx = sorted(kept)
        for a in idx:
            for b in idx:
                if a < b and positions[b] - positions[a] <= 500_000:
                    assert corr[a, b] ** 2 < 0.2, (a, b, corr[a, b] ** 2)


@pytest.mark.unit
@pytest.mark.parametrize("batch", [1, 7, 64, 256])
def test_batched_pruning_keeps_what_one_by_one_pruning_keeps(batch: int) -> None:
    """Haplotype blocks (variants copied with noise, so r^2 spans the threshold), windows
    that end inside batches, two contigs, missing calls: the batched pruning decides as the
    plain greedy loop (each variant against its window of kept ones, copied)."""
    rng = np.random.default_rng(11)
    n, m = 300, 900
    base = rng.binomial(2, 0.35, (m // 6, n))
    rows = np.repeat(base, 6, axis=0)
    noise = rng.random(rows.shape) < rng.uniform(0.02, 0.5, (m, 1))
    rows = np.where(noise, rng.binomial(2, 0.35, rows.shape), rows)
    rows[rng.random(rows.shape) < 0.01] = -1
    positions = np.sort(rng.integers(1, 3_000_000, m))
    contigs = ["chr1"] * 500 + ["chr2"] * 400
    g = _genotypes(list(rows), contigs, list(positions))
    plain = localpca._ld_prune_one_by_one(g, r2=0.2, window_bp=250_000)
    batched = localpca.ld_prune(g, r2=0.2, window_bp=250_000, batch=batch)
    assert 100 < len(plain) < m - 100  # the threshold bites
    assert batched.tolist() == plain.tolist()


@pytest.mark.unit
@pytest.mark.parametrize("side", [-1e-9, 1e-9])
def test_pruning_decides_a_pair_at_the_threshold_in_float64(side: float) -> None:
    """A threshold 1e-9 away from a pair's r^2 (np.corrcoef, float64): far inside float32's
    rounding of a correlation over 3,000 samples (about 2e-4), so the float32 products
    cannot decide and the pair is recomputed. Threshold just below r^2: the second variant
    of the pair goes, both against the kept window (first in an earlier batch) and within a
    batch; just above: both stay."""
    rng = np.random.default_rng(23)
    n = 3000
    a = rng.binomial(2, 0.4, n)
    b = np.where(rng.random(n) < 0.45, rng.binomial(2, 0.4, n), a)
    r2 = float(np.corrcoef(a, b)[0, 1] ** 2)
    assert 0.1 < r2 < 0.5
    filler = [rng.binomial(2, 0.4, n) for _ in range(3)]
    g = _genotypes([a, *filler, b], ["1"] * 5, [100, 200, 300, 400, 500])
    threshold = r2 + side
    expected = [0, 1, 2, 3] if side < 0 else [0, 1, 2, 3, 4]
    assert localpca._ld_prune_one_by_one(g, r2=threshold, window_bp=1000).tolist() == expected
    for batch in (2, 256):  # b against the kept buffer, then within its own batch
        kept = localpca.ld_prune(g, r2=threshold, window_bp=1000, batch=batch)
        assert kept.tolist() == expected
