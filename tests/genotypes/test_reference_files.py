"""The readers on files from other projects: regenie's example (the same genotypes as a .bed
and as a BGEN) and Hail's regression-test VCFs and Oxford .gen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from promise.genotypes import open_genotypes
from promise.genotypes.plink import read_fam_ids

from .plink2 import as_a1, exported_dosages, run

pytestmark = [pytest.mark.reference, pytest.mark.integration]
Array = np.ndarray[Any, Any]


def _all(path: Path, kind: Any, build: str = "GRCh37", **options: Any) -> tuple[Any, Array]:
    with open_genotypes(path, kind, build, **options) as reader:
        blocks = [b for _, b in reader.dosage_blocks(block=128)]
        return reader, np.hstack(blocks)


def test_regenie_example_bgen_and_bed_hold_the_same_genotypes(reference_dir: Path) -> None:
    """regenie ships example.bed and example.bgen as the same 500 x 1000 genotypes. The
    .bed counts its .bim's fifth column ('1'); the BGEN's first allele is that same '1'
    (REF under ref-first), so its a1 is '2' and the dosages are 2 - those of the .bed."""
    ref = reference_dir / "regenie_example"
    bed, from_bed = _all(ref / "example", "bfile")
    bgen, from_bgen = _all(ref / "example.bgen", "bgen")
    assert from_bed.shape == from_bgen.shape == (500, 1000)
    cols = ["chrom", "pos", "id"]
    assert bed.variants.select(cols).equals(bgen.variants.select(cols))
    assert bed.variants["a1"].to_list() == bgen.variants["a2"].to_list()
    np.testing.assert_array_equal(from_bgen, 2.0 - from_bed)
    # the BGEN's sample block holds FID_IID of the .fam (FID = IID there)
    assert bgen.samples == [f"{s}_{s}" for s in read_fam_ids(ref / "example")]


@pytest.mark.parametrize(
    "name", ["regressionLinear.vcf", "regressionLogistic.vcf", "regressionLogisticEpacts.vcf"]
)
def test_hail_vcfs_equal_plink2(reference_dir: Path, tmp_path: Path, name: str) -> None:
    """Hail's test VCFs (hard calls, missing calls) read as PLINK 2 reads them."""
    path = reference_dir / "hail_regression" / name
    reader, ours = _all(path, "vcf")
    assert reader.field == "GT" and reader.split_sites == 0
    # the VCFs have no variant ids ('.'): plink2 names them chrom:pos
    named = ("--set-all-var-ids", "@:#")
    iids, ids, counted, values = exported_dosages(tmp_path / "x", "--vcf", str(path), *named)
    variants = reader.variants
    assert reader.samples == iids
    assert ids == [f"{c}:{p}" for c, p in variants.select("chrom", "pos").iter_rows()]
    expected = as_a1(values, counted, variants["a1"].to_list(), variants["a2"].to_list())
    np.testing.assert_array_equal(ours, expected)


def test_hail_gen_through_bgen_equals_its_probabilities(
    reference_dir: Path, tmp_path: Path
) -> None:
    """Hail's regressionLinear.gen (Oxford GEN: per sample P(AA), P(AB), P(BB), all 0 when
    missing), converted by PLINK 2 to a 16-bit BGEN with A first, reads back as the expected
    count of B computed here from the text: P(AB) + 2 P(BB), to 16-bit resolution."""
    source = reference_dir / "hail_regression"
    out = run(tmp_path / "gen", "--gen", str(source / "regressionLinear.gen"), "ref-first",
              "--sample", str(source / "regressionLinear.sample"),
              "--export", "bgen-1.2", "bits=16", "ref-first")  # fmt: skip
    # the BGEN's sample block holds FID_IID ('A_A'); its .sample gives ID_2, which wins
    reader, ours = _all(Path(f"{out}.bgen"), "bgen", sample_file=Path(f"{out}.sample"))
    rows = [line.split() for line in (source / "regressionLinear.gen").read_text().splitlines()]
    probs = np.array([[float(v) for v in row[6:]] for row in rows]).reshape(len(rows), -1, 3)
    expected = (probs[:, :, 1] + 2 * probs[:, :, 2]).T
    expected[(probs.sum(axis=2) == 0).T] = np.nan
    assert reader.variants["a1"].to_list() == [row[5] for row in rows]
    lines = (source / "regressionLinear.sample").read_text().splitlines()[2:]
    assert reader.samples == [line.split()[1] for line in lines]
    assert len(reader.samples) == probs.shape[1]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)


def test_packed_codes_are_the_fast_engines(reference_dir: Path) -> None:
    """The .bed reader's packed blocks are the codes the fast engine decodes (its tables
    now live in promise.genotypes.plink, fastlinear's names pointing there): decoded with
    the count and missing tables they give the reader's dosages."""
    from promise.genotypes.plink import LUT_COUNT, LUT_MISSING, BedReader, decode
    from promise.gwas import fastlinear

    assert fastlinear.decode is decode and fastlinear.LUT_COUNT is LUT_COUNT
    prefix = reference_dir / "regenie_example" / "example"
    reader = open_genotypes(prefix, "bfile", "GRCh37")
    assert isinstance(reader, BedReader)
    with reader:
        dosages = np.hstack([b for _, b in reader.dosage_blocks(block=300)])
        n = len(reader.samples)
        starts, counts = [], []
        for start, raw in reader.packed_blocks(block=256):
            starts.append(start)
            count = decode(raw, LUT_COUNT, n).astype(np.float64)
            count[decode(raw, LUT_MISSING, n) == 1] = np.nan
            counts.append(count.T)
    assert starts == [0, 256, 512, 768]
    np.testing.assert_array_equal(np.hstack(counts), dosages)
