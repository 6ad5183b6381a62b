"""Sample QC's sex check: chrX genotypes against the register sex, on planted mismatches.

Runs on the fast engine (the VCF as a PLINK 1 file set written by PLINK 2); that its sex
check is Hail's, sample for sample, is tests/gwas/test_localqc.py's comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from gwas.helpers import read_ssf, run_cli, vcf_to_bfile

pytestmark = pytest.mark.integration

SAMPLES, AUTOSOMAL, CHRX = 200, 150, 150
SWAPPED = (3, 50, 101, 160)  # register sex written the wrong way round for these samples


def _write(folder: Path) -> tuple[Path, Path, Path]:
    """Females diploid on chrX, males hemizygous (homozygous calls); one register per sample."""
    rng = np.random.default_rng(8)
    female = np.arange(SAMPLES) % 2 == 0
    ids = [f"S{i:03d}" for i in range(SAMPLES)]
    lines = []
    for j in range(AUTOSOMAL + CHRX):
        p = rng.uniform(0.2, 0.5)
        diploid = rng.binomial(2, p, SAMPLES)
        if j < AUTOSOMAL:
            calls, contig, pos = diploid, "chr1", 1_000_000 + 10_000 * j
        else:  # outside the pseudo-autosomal regions of GRCh38
            calls = np.where(female, diploid, 2 * rng.binomial(1, p, SAMPLES))
            contig, pos = "chrX", 5_000_000 + 100_000 * (j - AUTOSOMAL)
        gts = "\t".join(("0/0", "0/1", "1/1")[g] for g in calls)
        lines.append(f"{contig}\t{pos}\t.\tA\tG\t.\tPASS\t.\tGT\t{gts}\n")
    vcf = folder / "sex.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
        "##contig=<ID=chrX,length=156040895>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n"
        + "".join(lines)
    )  # fmt: skip
    register = female.copy()
    register[list(SWAPPED)] = ~register[list(SWAPPED)]
    covar = folder / "covar.txt"
    covar.write_text(
        "IID is_female\n" + "".join(f"{s} {int(f)}\n" for s, f in zip(ids, register, strict=True))
    )
    pheno = folder / "pheno.txt"
    y = rng.normal(size=SAMPLES)
    pheno.write_text("IID Y\n" + "".join(f"{s} {v:.5f}\n" for s, v in zip(ids, y, strict=True)))
    return vcf, pheno, covar


def test_sex_check_removes_exactly_the_planted_mismatches(tmp_path: Path) -> None:
    vcf, pheno, covar = _write(tmp_path)
    bfile = vcf_to_bfile(vcf, tmp_path / "bfile" / "sex")
    run_cli(
        ["--bfile", bfile, "--pheno", pheno, "--covar", covar, "--quantitative", "--pcs", "0",
         "--engine", "fast", "--out", tmp_path / "out"]
    )  # fmt: skip
    meta = yaml.safe_load((tmp_path / "out" / "Y.tsv.gz-meta.yaml").read_text())
    steps = {(s["on"], s["filter"]): s for s in meta["qc"]}
    sex = steps[("samples", "sex check")]
    assert sex["removed"] == len(SWAPPED), sex
    assert sex["rule"].startswith("chrX F")
    assert (read_ssf(tmp_path / "out" / "Y.tsv.gz").n == SAMPLES - len(SWAPPED)).all()
