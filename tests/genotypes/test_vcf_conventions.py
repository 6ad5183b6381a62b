"""VCF conventions on a hand-written file, every expected dosage derived by hand below.

PLINK 2's rules (checked against plink2 2.00a3.5 while writing this, and in
test_against_plink2.py on its own files): a haploid call counts as homozygous (``1`` -> 2),
a haploid DS is doubled; a half call (``./1``) is missing under ``--vcf-half-call missing``;
DS is used where present, the GT where a sample's DS is absent. A multi-allelic site is
split as Hail's ``split_multi_hts`` splits it: one variant per ALT allele, counting copies
of that allele only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from promise.genotypes import open_genotypes
from promise.genotypes.vcf import VcfReader

pytestmark = pytest.mark.unit
nan = np.nan

HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3\ts4\n"
)
LINES = [
    "1\t100\tbi\tA\tG\t.\t.\t.\tGT:DS\t0/0:0.1\t0/1\t1|1:1.8\t./.:.",
    "1\t200\tmulti\tA\tG,T\t.\t.\t.\tGT\t0/0\t0/1\t1/2\t2/2",
    "1\t300\thalf\tA\tG\t.\t.\t.\tGT\t./1\t0/.\t1/1\t0|1",
    "X\t5000000\thap\tC\tT\t.\t.\t.\tGT:DS\t0:0.2\t1\t0/1:1.1\t.",
]
#: samples x variants (bi, multi->G, multi->T, half, hap), reading DS
WITH_DS = np.array(
    [
        # bi: DS 0.1; G: 0/0 has none; T: none; half ./1 missing; hap: haploid DS 0.2 doubled
        [0.1, 0, 0, nan, 0.4],
        # bi: no DS, GT 0/1 -> 1; 0/1 one G, no T; 0/. missing; haploid 1 -> 2 (no DS)
        [1.0, 1, 0, nan, 2.0],
        # bi: DS 1.8; 1/2 one G and one T; 1/1 -> 2; diploid DS 1.1 as written
        [1.8, 1, 1, 2.0, 1.1],
        # bi: ./. and DS '.' missing; 2/2 no G, two T; 0|1 -> 1; '.' missing
        [nan, 0, 2, 1.0, nan],
    ]
)
#: the same reading GT only: bi 0/0 0/1 1|1 ./. -> 0 1 2 NaN; hap 0 1 0/1 . -> 0 2 1 NaN
WITH_GT = WITH_DS.copy()
WITH_GT[:, 0] = [0, 1, 2, nan]
WITH_GT[:, 4] = [0, 2, 1, nan]


@pytest.fixture
def vcf(tmp_path: Path) -> Path:
    path = tmp_path / "hand.vcf"
    path.write_text(HEADER + "\n".join(LINES) + "\n")
    return path


def test_variants_split_the_multi_allelic_site(vcf: Path) -> None:
    with open_genotypes(vcf, "vcf", "GRCh38") as reader:
        variants = reader.variants
        assert reader.samples == ["s1", "s2", "s3", "s4"]
        assert isinstance(reader, VcfReader) and reader.split_sites == 1
    assert variants.rows() == [
        ("chr1", 100, "bi", "G", "A"),
        ("chr1", 200, "multi", "G", "A"),
        ("chr1", 200, "multi", "T", "A"),
        ("chr1", 300, "half", "G", "A"),
        ("chrX", 5_000_000, "hap", "T", "C"),
    ]


@pytest.mark.parametrize(
    ("field", "expected"), [("auto", WITH_DS), ("DS", WITH_DS), ("GT", WITH_GT)]
)
def test_dosages_follow_plink2s_conventions(vcf: Path, field: str, expected: np.ndarray) -> None:  # type: ignore[type-arg]
    reader = VcfReader(vcf, "GRCh37", field=field)  # type: ignore[arg-type]
    blocks = list(reader.dosage_blocks(block=2))
    assert [start for start, _ in blocks] == [0, 2, 4]
    got = np.hstack([b for _, b in blocks])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)  # DS read as float32


def test_without_a_ds_header_gt_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gt.vcf"
    path.write_text(HEADER.replace('##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n', "")
                    + LINES[2] + "\n")  # fmt: skip
    reader = VcfReader(path, "GRCh37")
    assert reader.field == "GT"
    np.testing.assert_array_equal(next(iter(reader.dosage_blocks()))[1][:, 0], [nan, nan, 2, 1])
