"""In-process QC (the fast engine) removes the same samples and variants as the Hail path.

One synthetic VCF with a planted case of every filter: samples with many missing calls, an
all-heterozygous sample, register sexes written the wrong way round (chrX, with variants
in the pseudo-autosomal region that the sex check must ignore), variants with many missing
calls, rare variants (MAF < 1%, MAC < 5), variants out of Hardy-Weinberg equilibrium in the
controls, and one out of equilibrium only among the cases (kept: HWE is tested in controls).
``promise gwas`` runs it on Hail (``--engine hail``, the reference: Hail's ``sample_qc``,
``impute_sex``, ``variant_qc`` and ``hardy_weinberg_test``) and on the fast engine (the
same VCF as a PLINK 1 file set written by PLINK 2); both must report the same counts per
filter and test the same variants on the same samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from gwas.helpers import read_ssf, run_cli, vcf_to_bfile
from promise.gwas.hardyweinberg import hwe_midp

pytestmark = pytest.mark.integration

N = 300
SWAPPED = (4, 77)  # register sex the wrong way round
LOW_CALL_SAMPLES = (10, 11, 12)  # 10% of their calls missing
HET_SAMPLE = 20  # heterozygous everywhere


def _write(folder: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(21)
    female = np.arange(N) % 2 == 0
    case = rng.random(N) < 0.3
    rows: list[tuple[str, int, np.ndarray]] = []
    for j in range(400):
        g = rng.binomial(2, rng.uniform(0.1, 0.5), N).astype(float)
        rows.append(("chr1", 1_000_000 + 5_000 * j, g))
    for j in range(10):  # rare: 0, 1, ..., 9 minor alleles
        g = np.zeros(N)
        g[rng.choice(N, j, replace=False)] = 1
        rows.append(("chr2", 1_000_000 + 5_000 * j, g))
    for j in range(5):  # 8% missing calls
        g = rng.binomial(2, 0.3, N).astype(float)
        g[rng.choice(N, 24, replace=False)] = np.nan
        rows.append(("chr3", 1_000_000 + 5_000 * j, g))
    for j in range(4):  # out of HWE in controls: no homozygote of the minor allele, many hets
        g = np.where(rng.random(N) < 0.7, 1.0, 0.0)
        rows.append(("chr4", 1_000_000 + 5_000 * j, g))
    g = np.where(case, np.where(rng.random(N) < 0.9, 1.0, 0.0), rng.binomial(2, 0.3, N))
    rows.append(("chr4", 2_000_000, g.astype(float)))  # out of HWE among cases only
    for j in range(120):  # chrX: females diploid, males homozygous
        p = rng.uniform(0.2, 0.5)
        g = np.where(female, rng.binomial(2, p, N), 2 * rng.binomial(1, p, N)).astype(float)
        rows.append(("chrX", 5_000_000 + 100_000 * j, g))
    for j in range(20):  # PAR1: diploid in everyone, ignored by the sex check
        rows.append(("chrX", 100_000 + 10_000 * j, rng.binomial(2, 0.4, N).astype(float)))
    matrix = np.array([g for _, _, g in rows])
    for s in LOW_CALL_SAMPLES:
        matrix[rng.random(len(rows)) < 0.1, s] = np.nan
    matrix[:, HET_SAMPLE] = 1.0
    ids = [f"S{i:03d}" for i in range(N)]
    text = {0.0: "0/0", 1.0: "0/1", 2.0: "1/1"}
    lines = [
        f"{c}\t{pos}\t.\tA\tG\t.\tPASS\t.\tGT\t"
        + "\t".join("./." if np.isnan(v) else text[v] for v in values)
        + "\n"
        for (c, pos, _), values in zip(rows, matrix, strict=True)
    ]
    order = sorted(range(len(lines)), key=lambda i: (rows[i][0], rows[i][1]))
    vcf = folder / "qc.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n" + "".join(
            f"##contig=<ID={c},length={n}>\n"
            for c, n in (("chr1", 248956422), ("chr2", 242193529), ("chr3", 198295559),
                         ("chr4", 190214555), ("chrX", 156040895))
        )
        + '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n"
        + "".join(lines[i] for i in order)
    )  # fmt: skip
    register = female.copy()
    register[list(SWAPPED)] = ~register[list(SWAPPED)]
    covar = folder / "covar.txt"
    covar.write_text(
        "IID is_female\n" + "".join(f"{s} {int(f)}\n" for s, f in zip(ids, register, strict=True))
    )
    pheno = folder / "pheno.txt"
    pheno.write_text("IID D\n" + "".join(f"{s} {int(c)}\n" for s, c in zip(ids, case, strict=True)))
    return vcf, pheno, covar


def _qc(out: Path) -> dict[tuple[str, str], tuple[int, int]]:
    meta = yaml.safe_load((out / "D.tsv.gz-meta.yaml").read_text())
    return {(s["on"], s["filter"]): (s["removed"], s["remaining"]) for s in meta["qc"]}


def test_fast_qc_removes_what_hails_removes(hail_session: object, tmp_path: Path) -> None:
    vcf, pheno, covar = _write(tmp_path)
    common = ["--pheno", pheno, "--covar", covar, "--binary", "--pcs", "0", "--min-cases", "10"]
    run_cli(["--vcf", vcf, *common, "--engine", "hail", "--out", tmp_path / "hail"])
    bfile = vcf_to_bfile(vcf, tmp_path / "bfile" / "qc")
    run_cli(["--bfile", bfile, *common, "--engine", "fast", "--out", tmp_path / "fast"])
    hail, fast = _qc(tmp_path / "hail"), _qc(tmp_path / "fast")
    assert fast == hail
    # every planted defect was caught, each by its own filter
    assert hail[("samples", "call rate")][0] == len(LOW_CALL_SAMPLES)
    assert hail[("samples", "heterozygosity")][0] == 1
    assert hail[("samples", "sex check")][0] == len(SWAPPED)
    assert hail[("variants", "call rate")][0] == 5
    assert hail[("variants", "Hardy-Weinberg")][0] >= 4  # and chrX, hemizygous in males
    ours, theirs = (read_ssf(tmp_path / d / "D.tsv.gz") for d in ("fast", "hail"))
    assert list(ours.variant_id) == list(theirs.variant_id)
    assert not {f"chr4:{1_000_000 + 5_000 * j}:A:G" for j in range(4)} & set(ours.variant_id)
    assert (ours.n == theirs.n).all()
    assert "chr4:2000000:A:G" in set(ours.variant_id)  # out of HWE in cases only: kept


def test_hwe_midp_by_hand() -> None:
    """Levene-Haldane probabilities worked out by hand.

    n = 2 samples with one copy of the minor allele: the only outcome is one heterozygote,
    so its mid-p is 1/2. n = 2, two copies (n_A = 2): 0 hets (AA, BB) has probability
    2! 2! 2! / (1! 0! 1! 4!) = 8/24 = 1/3, 2 hets has 2^2 2! 2! 2! / (0! 2! 0! 4!) = 2/3; so
    observing 0 hets gives 1/2 * 1/3 = 1/6 and 2 hets 1/3 + 1/2 * 2/3 = 2/3. No calls:
    the single outcome, 1/2 (Hail's value)."""
    p = hwe_midp(np.array([1, 1, 0, 0]), np.array([1, 0, 2, 0]), np.array([0, 1, 0, 0]))
    np.testing.assert_allclose(p, [0.5, 1 / 6, 2 / 3, 0.5], rtol=1e-12)
