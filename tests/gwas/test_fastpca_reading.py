"""The common variants pruning starts from, read from a .bed written by hand
(``gwas.synthetic.write_bfile``): the A1 counts and missing calls planted, the MAF filter
computed here with NumPy over the called samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from promise.gwas import fastpca
from promise.gwas.bedset import open_bed
from promise.gwas.options import PcaSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("subset", [False, True])
def test_common_variants_and_their_codes_are_the_planted_ones(tmp_path: Path, subset: bool) -> None:
    """Thirty variants over 37 samples (not a multiple of four: the last byte is padded),
    some rare, one monomorphic, missing calls on a few; over every sample and over a
    shuffled subset of samples (whose missing calls are then all outside it for one
    variant)."""
    from gwas.synthetic import write_bfile

    rng = np.random.default_rng(3)
    n, m = 37, 30
    geno = rng.binomial(2, rng.uniform(0.0, 0.5, m), (n, m))
    geno[:, 4] = 0  # monomorphic
    geno[:, 7] = 0
    geno[0, 7] = 1  # one copy: MAF 1/74 over everyone
    missing = rng.random((n, m)) < 0.05
    geno[missing] = -1
    geno[:, 9] = 0  # one copy among 17 called of 37: MAF 1/34 = 0.029 over the called,
    geno[0, 9] = 1  # 1/74 = 0.014 were the missing calls counted as called
    geno[20:, 9] = -1
    prefix = tmp_path / "r"
    write_bfile(prefix, geno)
    bed = open_bed(prefix)
    cols = rng.permutation(n)[:25] if subset else np.arange(n)
    sub = geno[cols]
    called = (sub >= 0).sum(axis=0)
    af = np.where(sub >= 0, sub, 0).sum(axis=0) / (2 * called)
    expected = np.flatnonzero((af >= 0.02) & (af <= 0.98))
    assert 4 not in expected and 0 < len(expected) < m
    assert (9 in expected) == (not subset or 0 in cols)
    rows = np.arange(m)
    assert fastpca.common_rows(bed, rows, cols, 0.02).tolist() == expected.tolist()
    pruned = fastpca.pruned_set(bed, rows, cols, settings=PcaSettings(min_maf=0.02),
                                build="GRCh37", samples=[f"S{i}" for i in cols],
                                prune=False)  # fmt: skip
    g = pruned.genotypes
    assert pruned.rows.tolist() == expected.tolist()
    np.testing.assert_array_equal(g.counts, np.where(sub >= 0, sub, 0).T[expected])
    assert g.missing is not None
    np.testing.assert_array_equal(g.missing, (sub < 0).T[expected].astype(np.uint8))
