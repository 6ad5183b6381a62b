"""The binary-trait engine against reference values from outside the project.

- Hail's regression tests (R ``glm`` and EPACTS values, ``tests/reference/hail_regression``,
  read as ``test_reference_hail.py`` reads them, with their stated tolerances): logistic
  Wald, score test and Firth (EPACTS' Firth p is the penalised likelihood-ratio p).
- regenie's example (``tests/reference/regenie_example``): Y1 with Firth below score p 0.01,
  the listed samples removed. N and A1FREQ are exact there; regenie's LOCO ridge offset is
  negligible on this example, so where both use the score test BETA, SE and LOG10P agree
  to regenie's printed digits, while its Firth is the approximate one (``--approx``:
  covariate effects fixed at the null Firth fit), so there only rank agreement and a
  bound on the difference are asked.

The engine is called directly on genotypes parsed here (the pipeline comes later).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from promise.gwas.engines.binary import BinaryOptions, Method, associate_bed, associate_genotypes
from promise.gwas.engines.nullmodel import fit_null
from promise.gwas.fastlinear import read_fam_ids

pytestmark = [pytest.mark.reference, pytest.mark.integration]


def _vcf_alt_counts(path: Path) -> tuple[list[str], np.ndarray]:
    """Sample ids and variants x samples ALT-allele counts of a VCF's GT (NaN = missing)."""
    rows = []
    samples: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("##"):
            continue
        fields = line.split("\t")
        if line.startswith("#"):
            samples = fields[9:]
            continue
        calls = [field.split(":")[0].replace("|", "/").split("/") for field in fields[9:]]
        rows.append([math.nan if "." in gt else sum(a != "0" for a in gt) for gt in calls])
    return samples, np.array(rows, dtype=float)


def _expected(ref: Path, test: str) -> pd.DataFrame:
    table = pd.read_csv(ref / "EXPECTED_statgen.tsv", sep="\t")
    rows = table[table["test_function"] == test]
    assert not rows.empty, f"no expected values for {test}"
    return rows


def _close(actual: float, expected: float, tolerance: str) -> bool:
    kind, _, value = tolerance.partition("=")
    if kind == "places":
        return round(abs(actual - expected), int(value)) == 0
    return abs(actual - expected) <= float(value) * abs(expected) + 1e-12


def _logistic_case(ref: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hail's regressionLogistic: isCase (0 = missing), Cov1, Cov2; the samples with all."""
    samples, geno = _vcf_alt_counts(ref / "regressionLogistic.vcf")
    pheno = pd.read_csv(ref / "regressionLogisticBoolean.pheno", sep="\t", dtype=str)
    cov = pd.read_csv(ref / "regressionLogistic.cov", sep="\t").set_index("Sample")
    y = pheno[pheno.isCase != "0"].set_index("Sample").isCase.map({"true": 1.0, "false": 0.0})
    kept = [s for s in samples if s in y.index and s in cov.index]
    cols = [samples.index(s) for s in kept]
    x = np.column_stack([np.ones(len(kept)), cov.loc[kept, ["Cov1", "Cov2"]].to_numpy()])
    return geno[:, cols], y.loc[kept].to_numpy()[:, None], x


def _epacts_case(ref: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EPACTS: y = .fam column 6 == 2, covariates is_female (.fam column 5 == 2), PC1, PC2."""
    samples, geno = _vcf_alt_counts(ref / "regressionLogisticEpacts.vcf")
    fam = pd.read_csv(ref / "regressionLogisticEpacts.fam", sep=r"\s+", header=None, dtype=str)
    fam = fam.set_index(1)
    cov = pd.read_csv(ref / "regressionLogisticEpacts.cov", sep="\t").set_index("IND_ID")
    kept = [s for s in samples if s in fam.index and s in cov.index]
    cols = [samples.index(s) for s in kept]
    y = (fam.loc[kept, 5] == "2").to_numpy(dtype=float)[:, None]
    female = (fam.loc[kept, 4] == "2").to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(kept)), female, cov.loc[kept, ["PC1", "PC2"]].to_numpy()])
    return geno[:, cols], y, x


def _field(result: object, field: str, j: int) -> float:
    if field in ("z_stat", "t_stat"):
        return float(result.beta[j, 0] / result.se[j, 0])  # type: ignore[attr-defined]
    name = {"standard_error": "se", "p_value": "p", "chi_sq_stat": "chi2"}.get(field, field)
    return float(getattr(result, name)[j, 0])


@pytest.mark.parametrize(
    ("test", "case", "options"),
    [
        ("test_logistic_regression_wald_test", "logistic", BinaryOptions(test="wald")),
        ("test_logistic_regression_score", "logistic", BinaryOptions(firth_p=0)),
        ("test_logistic_regression_epacts_wald", "epacts", BinaryOptions(test="wald")),
        ("test_logistic_regression_epacts_score", "epacts", BinaryOptions(firth_p=0)),
        ("test_logistic_regression_epacts_firth", "epacts", BinaryOptions(firth_p=1)),
    ],
)
def test_reproduces_hail_reference(
    test: str, case: str, options: BinaryOptions, reference_dir: Path
) -> None:
    """Wald, score and Firth (penalised-LRT p) statistics equal R's and EPACTS' values."""
    ref = reference_dir / "hail_regression"
    geno, y, x = (_logistic_case if case == "logistic" else _epacts_case)(ref)
    result = associate_genotypes(fit_null(y, x, ["y"]), geno, options)
    failures = []
    for row in _expected(ref, test).itertuples():
        j = int(row.key) - 1 if row.key_kind == "position" else int(row.key)
        actual = _field(result, row.field, j)
        if not _close(actual, float(row.expected), row.tolerance):
            failures.append(f"{row.key_kind} {row.key} {row.field}: {actual} != {row.expected}")
    assert not failures, "\n".join(failures)


def test_separated_variant_gives_no_wald_numbers(reference_dir: Path) -> None:
    """Position 3 of regressionLogistic separates cases from controls: plain logistic does
    not converge there, so Wald reports NaN and the failure flag, not numbers."""
    geno, y, x = _logistic_case(reference_dir / "hail_regression")
    result = associate_genotypes(fit_null(y, x, ["y"]), geno, BinaryOptions(test="wald"))
    assert result.failed[2, 0] and result.method[2, 0] == Method.WALD
    assert np.isnan([result.beta[2, 0], result.se[2, 0], result.p[2, 0]]).all()
    assert np.isfinite(result.p[:2, 0]).all() and not result.failed[:2, 0].any()


def _regenie_inputs(ref: Path) -> tuple[np.ndarray, np.ndarray, list[int]]:
    fam_ids = read_fam_ids(ref / "example")
    removed = set(pd.read_csv(ref / "fid_iid_to_remove.txt", sep=r"\s+", header=None, dtype=str)[1])
    pheno = pd.read_csv(ref / "phenotype_bin.txt", sep=r"\s+", dtype={"IID": str}).set_index("IID")
    cov = pd.read_csv(ref / "covariates.txt", sep=r"\s+", dtype={"IID": str}).set_index("IID")
    kept = [s for s in fam_ids if s not in removed and s in pheno.index and s in cov.index]
    y = pheno.loc[kept, ["Y1"]].to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(kept)), cov.loc[kept, ["V1", "V2", "V3"]].to_numpy()])
    return y, x, [fam_ids.index(s) for s in kept]


def test_regenie_example_y1(reference_dir: Path) -> None:
    """Y1 with Firth below score p 0.01 (regenie's --pThresh there), penalised-LRT p.
    Measured: Spearman 0.99999998, largest |LOG10P difference| 0.075 (a Firth variant)."""
    ref = reference_dir / "regenie_example"
    y, x, cols = _regenie_inputs(ref)
    bim = pd.read_csv(ref / "example.bim", sep="\t", header=None)
    result = associate_bed(
        ref / "example",
        fit_null(y, x, ["Y1"]),
        n_fam=len(read_fam_ids(ref / "example")),
        n_variants=len(bim),
        sample_cols=np.array(cols),
        options=BinaryOptions(firth_p=0.01),
    )
    theirs = pd.read_csv(ref / "test_bin_out_firth_Y1.regenie", sep=" ")
    assert len(theirs) == len(bim) == 1000
    assert (theirs.ALLELE1.astype(str) == bim[4].astype(str)).all()  # A1 = .bim column 5
    assert (result.n_obs == theirs.N).all() and (theirs.N == 494).all()
    np.testing.assert_array_equal(
        np.array([float(f"{v:.6g}") for v in result.a1_freq]), theirs.A1FREQ
    )
    ours = -np.log10(result.p[:, 0])
    rho = stats.spearmanr(ours, theirs.LOG10P).statistic
    largest = float(np.max(np.abs(ours - theirs.LOG10P)))
    firth = int((result.method[:, 0] == Method.FIRTH).sum())
    print(
        f"regenie Y1: Spearman {rho:.8f}, largest |LOG10P difference| {largest:.3f}, Firth on {firth}"
    )
    assert rho >= 0.99, rho
    assert largest < 0.25, largest
    # Where both report the score test (regenie's ridge offset is negligible on this null
    # example), the numbers are regenie's to its 6 printed digits.
    score = result.method[:, 0] == Method.SCORE
    assert score.sum() == 1000 - firth
    np.testing.assert_allclose(result.beta[score, 0], theirs.BETA[score], rtol=1e-4)
    np.testing.assert_allclose(result.se[score, 0], theirs.SE[score], rtol=1e-4)
    np.testing.assert_allclose(ours[score], theirs.LOG10P[score], atol=1e-4)
    strong = theirs.LOG10P.to_numpy() > 2
    assert strong.any() and (np.sign(result.beta[strong, 0]) == np.sign(theirs.BETA[strong])).all()
