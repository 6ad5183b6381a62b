"""Each reader against PLINK 2 reading the same file.

One data set, made by ``plink2 --dummy`` (60 samples, every other one male; 50 variants,
the last 14 moved to X; 5% missing calls; half the dosages fractional), is written by
PLINK 2 as a .bed, a BGEN v1.2 with 8-bit probabilities (zlib), a BGEN v1.3 with 16-bit
probabilities (zstd), a VCF with DS (BGZF) and a VCF of hard calls (plain text). PLINK 2
reads each back (``--export A``); promise's reader must give the same dosage of each
variant's ``a1`` for every sample: exactly for hard calls, to PLINK 2's own dosage
resolution (1/16384, printed to ~5 digits: 1e-4) for dosages. The males' X genotypes are
haploid in the BGEN and VCF files, so PLINK 2's convention for them (counted as homozygous,
0 or 2) is checked too.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from promise.genotypes import open_genotypes
from promise.genotypes.samplefiles import read_bgen_header

from .plink2 import as_a1, dummy, exported_dosages, run

pytestmark = [pytest.mark.reference, pytest.mark.integration]
Array = np.ndarray[Any, Any]
N_SAMPLES, N_VARIANTS, N_X = 60, 50, 14
#: PLINK 2 stores dosages in units of 1/16384 and prints about five significant digits
DOSAGE_ATOL = 1e-4


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every format of the one data set, written by PLINK 2."""
    base = tmp_path_factory.mktemp("plink2-formats")
    d = dummy(base, N_SAMPLES, N_VARIANTS, "0.05", "dosage-freq=0.5", "acgt", "--seed", "11",
              on_x=N_X)  # fmt: skip
    pfile = ("--pfile", str(d))
    run(base / "bed", *pfile, "--make-bed")
    run(base / "b8", *pfile, "--export", "bgen-1.2", "bits=8", "ref-first")
    run(base / "b16", *pfile, "--export", "bgen-1.3", "bits=16", "ref-first")
    run(base / "ds", *pfile, "--export", "vcf", "vcf-dosage=DS", "bgz")
    run(base / "gt", *pfile, "--export", "vcf")
    return {
        "base": base,
        "bed": base / "bed",
        "b8": base / "b8.bgen",
        "b16": base / "b16.bgen",
        "ds": base / "ds.vcf.gz",
        "gt": base / "gt.vcf",
    }


def _ours(path: Path, kind: Any, **blocks: Any) -> tuple[list[str], Any, Array]:
    with open_genotypes(path, kind, "GRCh37") as reader:
        parts = list(reader.dosage_blocks(block=7, **blocks))
        starts = [s for s, _ in parts]
        assert starts == list(range(0, 7 * len(parts), 7))
        return reader.samples, reader.variants, np.hstack([b for _, b in parts])


def _assert_same(ours: tuple[list[str], Any, Array], theirs: Any, atol: float) -> None:
    samples, variants, dosage = ours
    iids, ids, counted, values = theirs
    assert samples == iids
    assert variants["id"].to_list() == ids
    expected = as_a1(values, counted, variants["a1"].to_list(), variants["a2"].to_list())
    np.testing.assert_array_equal(np.isnan(dosage), np.isnan(expected))
    np.testing.assert_allclose(dosage, expected, rtol=0, atol=atol, equal_nan=True)


def test_bed_equals_plink2(files: dict[str, Path]) -> None:
    ours = _ours(files["bed"], "bfile")
    theirs = exported_dosages(files["base"] / "x-bed", "--bfile", str(files["bed"]))
    _assert_same(ours, theirs, atol=0.0)
    assert set(np.unique(ours[2][~np.isnan(ours[2])])) == {0.0, 1.0, 2.0}
    assert ours[1]["chrom"].unique().sort().to_list() == ["1", "X"]


@pytest.mark.parametrize(("name", "compression", "bits"), [("b8", 1, 8), ("b16", 2, 16)])
def test_bgen_equals_plink2_ref_first(
    files: dict[str, Path], name: str, compression: int, bits: int
) -> None:
    """a1 is the second allele: PLINK 2's ALT under ``--bgen ... ref-first``."""
    path = files[name]
    assert read_bgen_header(path).compression == compression  # 1 zlib, 2 zstd
    ours = _ours(path, "bgen")
    source = ("--bgen", str(path), "ref-first")
    theirs = exported_dosages(files["base"] / f"x-{name}", *source)
    _assert_same(ours, theirs, atol=DOSAGE_ATOL)
    dosage = ours[2]
    # 8-bit probabilities: every dosage is a whole number of 1/255ths
    if bits == 8:
        finite = dosage[~np.isnan(dosage)] * 255
        np.testing.assert_allclose(finite, np.round(finite), atol=1e-3)
    assert np.isnan(dosage).any() and (dosage % 1 != 0)[~np.isnan(dosage)].any()


def test_bgen_haploid_males_count_double(files: dict[str, Path]) -> None:
    """PLINK 2 wrote the males' X genotypes with ploidy 1; a haploid ALT counts 2."""
    samples, variants, dosage = _ours(files["b8"], "bgen")
    x = (variants["chrom"] == "X").to_numpy()
    males = np.arange(len(samples)) % 2 == 1
    male_x = dosage[np.ix_(males, x)]
    hard = male_x[~np.isnan(male_x) & (male_x % 1 == 0)]
    assert set(np.unique(hard)) <= {0.0, 2.0} and 2.0 in hard


@pytest.mark.parametrize("name", ["ds", "gt"])
def test_vcf_equals_plink2(files: dict[str, Path], name: str) -> None:
    path = files[name]
    ours = _ours(path, "vcf")
    field = ("dosage=DS",) if name == "ds" else ()
    theirs = exported_dosages(files["base"] / f"x-{name}", "--vcf", str(path), *field)
    _assert_same(ours, theirs, atol=DOSAGE_ATOL if name == "ds" else 0.0)


def test_plain_gzip_vcf_reads_as_the_text(files: dict[str, Path], tmp_path: Path) -> None:
    """A VCF gzipped whole (not BGZF) reads like its text."""
    packed = tmp_path / "gt.vcf.gz"
    packed.write_bytes(gzip.compress(files["gt"].read_bytes()))
    np.testing.assert_array_equal(_ours(packed, "vcf")[2], _ours(files["gt"], "vcf")[2])


@pytest.mark.parametrize(("name", "kind"), [("bed", "bfile"), ("b8", "bgen"), ("ds", "vcf")])
def test_selected_variants_and_samples_are_the_full_matrix_cut(
    files: dict[str, Path], name: str, kind: Any
) -> None:
    """Selection by index gives the same numbers as cutting the full matrix: variants in
    file order, samples in the order asked (here reversed, every third)."""
    full = _ours(files[name], kind)[2]
    variants = np.array([0, 3, 4, 5, 17, 30, 31, 49])
    samples = np.arange(N_SAMPLES)[::-3]
    cut = _ours(files[name], kind, variant_index=variants, sample_index=samples)[2]
    np.testing.assert_array_equal(cut, full[np.ix_(samples, variants)])


def test_phased_bgen_equals_plink2(tmp_path: Path) -> None:
    """Phased probabilities (per haplotype P(REF), P(ALT)): the dosage is the sum of the two
    haplotypes' P(ALT), a haploid male's doubled."""
    d = dummy(tmp_path, 30, 20, "0.05", "dosage-freq=0.5", "phase-freq=1", "acgt", "--seed", "5",
              on_x=6)  # fmt: skip
    bgen = run(
        tmp_path / "phased", "--pfile", str(d), "--export", "bgen-1.2", "bits=8", "ref-first"
    )
    path = Path(f"{bgen}.bgen")
    import bgen as library

    with library.BgenReader(str(path), delay_parsing=False) as raw:
        assert all(raw[i].is_phased for i in range(len(raw)))
    ours = _ours(path, "bgen")
    theirs = exported_dosages(tmp_path / "x", "--bgen", str(path), "ref-first")
    _assert_same(ours, theirs, atol=DOSAGE_ATOL)
