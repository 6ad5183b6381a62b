"""Own-files mode against Hail's regression test values (R lm/glm and EPACTS).

Expected values: ``tests/reference/hail_regression/EXPECTED_statgen.tsv``, every literal
from Hail's ``test_statgen.py`` with its tolerance (``places=K``: |a-b| < 0.5e-K, as
unittest's assertAlmostEqual; ``rel=R``: |a-b| <= R|b|, as pytest.approx). Inputs are read
in place. t/z statistics are checked as beta / standard_error of our output.

Each case runs on both engines: Hail, and the fast engine reading the same VCF (converted
to a PLINK 1 file set in its scratch folder, :mod:`promise.gwas.vcfbed`). Wald is
``--test wald`` there (and ``--firth never`` for Hail); Firth everywhere is ``--firth
always`` on both, whose p-value is the penalised likelihood-ratio test EPACTS reports.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from gwas.helpers import read_ssf, run_cli

pytestmark = [pytest.mark.reference, pytest.mark.integration]

COMMON = ["--skip-qc", "--pcs", "0", "--build", "GRCh37", "--min-cases", "1"]


def _cases(ref: Path) -> dict[str, list[str]]:
    """The promise gwas arguments that reproduce each Hail test's model."""
    lin = ["--vcf", ref / "regressionLinear.vcf", "--covar", ref / "regressionLinear.cov"]
    logi = ["--vcf", ref / "regressionLogistic.vcf", "--covar", ref / "regressionLogistic.cov"]
    epacts = [
        "--vcf", ref / "regressionLogisticEpacts.vcf", "--pheno", ref / "regressionLogisticEpacts.fam",
        "--covar", ref / "regressionLogisticEpacts.fam", "--covar", ref / "regressionLogisticEpacts.cov",
        "--covar-names", "is_female,PC1,PC2", "--binary",
    ]  # fmt: skip
    return {
        # y ~ 1 + x + Cov1 + Cov2, phenotype 0 = missing
        "test_linear_regression_with_cov": [
            *lin, "--pheno", ref / "regressionLinear.pheno", "--missing-code", "0", "--quantitative",
        ],
        # the same phenotype taken from column 6 of a .fam file
        "test_linear_regression_with_import_fam_quant": [
            *lin, "--pheno", ref / "regressionLinear.fam", "--missing-code", "0", "--quantitative",
        ],
        "test_logistic_regression_wald_test": [
            *logi, "--pheno", ref / "regressionLogisticBoolean.pheno", "--missing-code", "0",
            "--binary", "--firth", "never", "--test", "wald",
        ],
        "test_logistic_regression_epacts_wald": [*epacts, "--firth", "never", "--test", "wald"],
        "test_logistic_regression_epacts_firth": [*epacts, "--firth", "always"],
    }  # fmt: skip


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


def _actual(result: pd.DataFrame, key_kind: str, key: int, field: str) -> float:
    row = (
        result.iloc[key]
        if key_kind == "row_index"
        else result[result.base_pair_location == key].iloc[0]
    )
    if field in ("t_stat", "z_stat"):
        return float(row["beta"] / row["standard_error"])
    return float(row[field])


def _on_engine(args: list[object], engine: str, work: Path) -> list[object]:
    """``args`` for ``engine`` (the VCF read as it is by either)."""
    return [*args, "--engine", engine]


@pytest.mark.parametrize("engine", ["hail", "fast"])
@pytest.mark.parametrize(
    "test",
    [
        "test_linear_regression_with_cov",
        "test_linear_regression_with_import_fam_quant",
        "test_logistic_regression_wald_test",
        "test_logistic_regression_epacts_wald",
        "test_logistic_regression_epacts_firth",
    ],
)
def test_reproduces_hail_reference(
    test: str, engine: str, reference_dir: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if engine == "hail":
        request.getfixturevalue("hail_session")
    ref = reference_dir / "hail_regression"
    run_cli([*_on_engine(_cases(ref)[test], engine, tmp_path), *COMMON, "--out", tmp_path / "out"])
    (data,) = (tmp_path / "out").glob("*.tsv.gz")
    result = read_ssf(data)
    failures = []
    for row in _expected(ref, test).itertuples():
        actual = _actual(result, row.key_kind, int(row.key), row.field)
        if not _close(actual, float(row.expected), row.tolerance):
            failures.append(f"{row.key_kind} {row.key} {row.field}: {actual} != {row.expected}")
    assert not failures, "\n".join(failures)
    if engine == "fast" and "firth" in test:
        assert (result.test == "firth").all()


@pytest.mark.parametrize("engine", ["hail", "fast"])
def test_undefined_statistics_are_missing_not_numbers(
    engine: str, reference_dir: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Positions 6-10 of regressionLinear are constant or all-missing: no SE, no p, no beta.

    Position 3 of regressionLogistic separates cases from controls perfectly: the Wald fit
    does not converge, so it must not report numbers either.
    """
    if engine == "hail":
        request.getfixturevalue("hail_session")
    ref = reference_dir / "hail_regression"
    cases = _cases(ref)
    linear = _on_engine(cases["test_linear_regression_with_cov"], engine, tmp_path)
    run_cli([*linear, *COMMON, "--out", tmp_path / "lin"])
    result = read_ssf(tmp_path / "lin" / "Pheno.tsv.gz").set_index("base_pair_location")
    for pos in range(6, 11):
        for field in ("beta", "standard_error", "p_value"):
            assert math.isnan(result.loc[pos, field]), (pos, field)
    logistic = _on_engine(cases["test_logistic_regression_wald_test"], engine, tmp_path)
    run_cli([*logistic, *COMMON, "--out", tmp_path / "log"])
    result = read_ssf(tmp_path / "log" / "isCase.tsv.gz").set_index("base_pair_location")
    for field in ("beta", "standard_error", "p_value"):
        assert math.isnan(result.loc[3, field]), field
    assert (tmp_path / "lin" / "Pheno.tsv.gz").read_bytes()[:2] == b"\x1f\x8b"  # gzip
