"""promise gwas against independent implementations: regenie's output and PLINK 2 --glm."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gwas.helpers import read_ssf, run_cli
from gwas.synthetic import write_bfile, write_synthetic

pytestmark = pytest.mark.integration


@pytest.mark.reference
def test_regenie_example_y1(reference_dir: Path, tmp_path: Path) -> None:
    """Y1 of regenie's example, the same 6 samples removed (494 kept), through ``promise
    gwas`` on the fast engine with regenie's Firth threshold (``--firth-p 0.01``).

    N and A1FREQ are exact in regenie's output. regenie's LOCO ridge offset is negligible
    on this null example, so where both report the score test BETA, SE and LOG10P agree to
    regenie's printed digits; its Firth is the approximate one (covariate effects fixed at
    the null fit), so there only the rank agreement and a bound on the difference are asked.
    """
    ref = reference_dir / "regenie_example"
    run_cli(
        [
            "--bfile", ref / "example", "--pheno", ref / "phenotype_bin.txt", "--pheno-name", "Y1",
            "--covar", ref / "covariates.txt", "--remove", ref / "fid_iid_to_remove.txt",
            "--skip-qc", "--pcs", "0", "--binary", "--firth-p", "0.01", "--out", tmp_path,
        ]
    )  # fmt: skip
    ours = read_ssf(tmp_path / "Y1.tsv.gz")
    theirs = pd.read_csv(ref / "test_bin_out_firth_Y1.regenie", sep=" ", dtype={"ALLELE1": str})
    merged = theirs.merge(
        ours.assign(GENPOS=ours.base_pair_location, CHROM=ours.chromosome.astype(int)),
        on=["CHROM", "GENPOS"],
        validate="one_to_one",
    )
    assert len(merged) == len(theirs) == 1000
    assert (merged.effect_allele == merged.ALLELE1).all()
    assert (merged.n == merged.N).all() and (merged.N == 494).all()
    eaf6 = merged.effect_allele_frequency.map(lambda v: float(f"{v:.6g}"))
    assert np.allclose(eaf6, merged.A1FREQ, rtol=0, atol=1e-12)
    log10p = -np.log10(merged.p_value)
    assert stats.spearmanr(log10p, merged.LOG10P).statistic >= 0.99
    assert float(np.max(np.abs(log10p - merged.LOG10P))) < 0.25
    score = merged.test == "score"
    assert score.sum() >= 950 and set(merged.test) == {"score", "firth"}
    np.testing.assert_allclose(merged.beta[score], merged.BETA[score], rtol=1e-4)
    np.testing.assert_allclose(merged.standard_error[score], merged.SE[score], rtol=1e-4)
    np.testing.assert_allclose(log10p[score], merged.LOG10P[score], atol=1e-4)
    strong = merged[merged.LOG10P > 2]
    assert len(strong) > 0 and (np.sign(strong.beta) == np.sign(strong.BETA)).all()


@pytest.mark.reference
def test_bgen_equals_bfile(reference_dir: Path, hail_session: object, tmp_path: Path) -> None:
    """regenie's example as BGEN v1.2 (ids FID_IID) and as PLINK bed: the same statistics."""
    ref = reference_dir / "regenie_example"
    common = [
        "--pheno", ref / "phenotype.txt", "--pheno-name", "Y1", "--covar", ref / "covariates.txt",
        "--skip-qc", "--pcs", "0",
    ]  # fmt: skip
    run_cli(["--bfile", ref / "example", *common, "--out", tmp_path / "bed"])
    run_cli(
        ["--bgen", ref / "example.bgen", *common, "--engine", "hail", "--out", tmp_path / "bgen"]
    )
    bed, bgen = (read_ssf(tmp_path / d / "Y1.tsv.gz") for d in ("bed", "bgen"))
    assert len(bed) == len(bgen) == 1000 and (bed.n == 500).all() and (bgen.n == 500).all()
    # BGEN lists the alleles the other way round from the .bim: align the tested allele.
    same = bgen.effect_allele == bed.effect_allele
    assert (same | (bgen.effect_allele == bed.other_allele)).all()
    sign = np.where(same, 1.0, -1.0)
    eaf = np.where(same, bgen.effect_allele_frequency, 1 - bgen.effect_allele_frequency)
    np.testing.assert_allclose(bgen.beta * sign, bed.beta, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(eaf, bed.effect_allele_frequency, rtol=1e-4, atol=1e-6)
    for field in ("standard_error", "p_value"):
        np.testing.assert_allclose(bgen[field], bed[field], rtol=1e-4, atol=1e-6)


def _plink2() -> str:
    path = shutil.which("plink2")
    if path is None:
        message = "plink2 is not installed: run scripts/ensure-plink2.sh (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def _plink2_glm(plink2: str, data: object, out: Path) -> dict[str, pd.DataFrame]:
    prefix = out / "plink2"
    subprocess.run(
        [
            plink2, "--vcf", data.vcf, "--pheno", data.pheno, "--covar", data.covar,  # type: ignore[attr-defined]
            "--glm", "hide-covar", "no-firth", "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
            "--covar-variance-standardize", "--threads", "1", "--memory", "1000", "--out", prefix,
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return {
        "Yq": pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str}),
        "Yb": pd.read_csv(f"{prefix}.Yb.glm.logistic", sep="\t", dtype={"A1": str}),
    }


def test_equals_plink2_glm(hail_session: object, tmp_path: Path) -> None:
    """Linear and logistic-Wald beta, SE and p equal PLINK 2's to relative 1e-4."""
    plink2 = _plink2()
    data = write_synthetic(tmp_path / "data")
    expected = _plink2_glm(plink2, data, tmp_path)
    run_cli(
        [
            "--vcf", data.vcf, "--pheno", data.pheno, "--covar", data.covar, "--skip-qc",
            "--pcs", "0", "--firth", "never", "--test", "wald", "--min-cases", "10",
            "--engine", "hail", "--out", tmp_path / "promise",
        ]
    )  # fmt: skip
    for trait, theirs in expected.items():
        ours = read_ssf(tmp_path / "promise" / f"{trait}.tsv.gz")
        merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
        assert len(merged) == len(theirs) == 120
        flip = np.where(merged.effect_allele == merged.A1, 1.0, -1.0)  # align the tested allele
        assert ((merged.effect_allele == merged.A1) | (merged.other_allele == merged.A1)).all()
        np.testing.assert_allclose(merged.beta * flip, merged.BETA, rtol=1e-4)
        np.testing.assert_allclose(merged.standard_error, merged.SE, rtol=1e-4)
        np.testing.assert_allclose(merged.p_value, merged.P, rtol=1e-4)
        assert (merged.n == merged.OBS_CT).all()
    assert read_ssf(tmp_path / "promise" / "Yq.tsv.gz").test.eq("linear").all()
    assert read_ssf(tmp_path / "promise" / "Yb.tsv.gz").test.eq("wald").all()


def test_numpy_engine_equals_plink2_glm(tmp_path: Path) -> None:
    """The JVM-free engine on the same data as a PLINK 1 file set: PLINK 2's numbers too."""
    plink2 = _plink2()
    data = write_synthetic(tmp_path / "data")
    expected = _plink2_glm(plink2, data, tmp_path)["Yq"]
    bfile = tmp_path / "data" / "synthetic"
    subprocess.run(
        [plink2, "--vcf", data.vcf, "--make-bed", "--out", bfile], check=True, capture_output=True
    )
    run_cli(
        [
            "--bfile", bfile, "--pheno", data.pheno, "--pheno-name", "Yq", "--covar", data.covar,
            "--skip-qc", "--pcs", "0", "--engine", "numpy", "--out", tmp_path / "numpy",
        ]
    )  # fmt: skip
    ours = read_ssf(tmp_path / "numpy" / "Yq.tsv.gz")
    merged = expected.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == 120
    assert (merged.effect_allele == merged.A1).all()
    np.testing.assert_allclose(merged.beta, merged.BETA, rtol=1e-4)
    np.testing.assert_allclose(merged.standard_error, merged.SE, rtol=1e-4)
    np.testing.assert_allclose(merged.p_value, merged.P, rtol=1e-4)
    assert (merged.n == merged.OBS_CT).all()


def test_numpy_engine_equals_hail_with_missing_calls(hail_session: object, tmp_path: Path) -> None:
    """Missing calls (mean-imputed), traits with their own missing values (two sample sets),
    a monomorphic variant: the NumPy engine gives Hail's linear_regression_rows numbers."""
    rng = np.random.default_rng(11)
    samples, variants = 301, 150  # 301: the last .bed byte holds one sample
    geno = rng.binomial(2, rng.uniform(0.02, 0.5, variants), size=(samples, variants))
    geno[:, 7] = 0  # monomorphic: not estimable
    geno[rng.random(geno.shape) < 0.05] = -1
    prefix = tmp_path / "data"
    write_bfile(prefix, geno)
    ids = [f"S{i:04d}" for i in range(samples)]
    c1 = rng.normal(size=samples)
    y1 = 0.5 * np.where(geno[:, 3] < 0, 0, geno[:, 3]) + c1 + rng.normal(size=samples)
    y2 = rng.normal(size=samples)
    y2_text = [f"{v:.6f}" if rng.random() > 0.2 else "NA" for v in y2]
    (tmp_path / "pheno.txt").write_text(
        "FID IID Y1 Y2\n"
        + "".join(f"{s} {s} {a:.6f} {b}\n" for s, a, b in zip(ids, y1, y2_text, strict=True))
    )
    (tmp_path / "covar.txt").write_text(
        "FID IID C1\n" + "".join(f"{s} {s} {c:.6f}\n" for s, c in zip(ids, c1, strict=True))
    )
    common = [
        "--bfile", prefix, "--pheno", tmp_path / "pheno.txt", "--pheno-name", "Y1,Y2",
        "--covar", tmp_path / "covar.txt", "--quantitative", "--skip-qc", "--pcs", "0",
    ]  # fmt: skip
    run_cli([*common, "--engine", "hail", "--out", tmp_path / "hail"])
    run_cli([*common, "--engine", "numpy", "--out", tmp_path / "numpy"])
    for trait, n in (("Y1", samples), ("Y2", y2_text.count("NA"))):
        hail, ours = (read_ssf(tmp_path / d / f"{trait}.tsv.gz") for d in ("hail", "numpy"))
        assert len(hail) == len(ours) == variants
        assert (ours.n == (n if trait == "Y1" else samples - n)).all()
        assert (hail.variant_id == ours.variant_id).all()
        assert ours.beta.isna().sum() == hail.beta.isna().sum() == 1
        for field in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
            np.testing.assert_allclose(ours[field], hail[field], rtol=1e-7, atol=0)
        assert (ours.n == hail.n).all()
