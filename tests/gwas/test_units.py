"""Pure functions of the GWAS part: phenotype files, trait kinds, warehouse phenotypes, lambda GC."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from promise.errors import PromiseError
from promise.gwas import cohort, phenofiles, results, traits

pytestmark = pytest.mark.unit


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_plink_style_file_keys_on_iid_and_reads_na(tmp_path: Path) -> None:
    f = _write(tmp_path / "p.txt", "FID IID Y1 Y2\nf1 a 1.5 NA\nf2 b -9 2\n")
    table = phenofiles.read_sample_table(f)
    assert list(table.index) == ["a", "b"] and list(table.columns) == ["Y1", "Y2"]
    y1 = phenofiles.numeric_column(table["Y1"], missing_codes=[-9])
    assert y1["a"] == 1.5 and math.isnan(y1["b"])
    assert math.isnan(phenofiles.numeric_column(table["Y2"])["a"])


def test_sample_column_and_hash_header(tmp_path: Path) -> None:
    a = phenofiles.read_sample_table(_write(tmp_path / "a.tsv", "x\tSample\n1\tS1\n"))
    b = phenofiles.read_sample_table(_write(tmp_path / "b.tsv", "#IID\tx\nS1\t1\n"))
    assert list(a.index) == list(b.index) == ["S1"]


def test_fam_gives_pheno_and_register_sex(tmp_path: Path) -> None:
    f = _write(tmp_path / "x.fam", "F1 A 0 0 1 2\nF2 B 0 0 2 1\nF3 C 0 0 0 -9\n")
    table = phenofiles.read_sample_table(f)
    assert table.loc["A", "is_female"] == "0" and table.loc["B", "is_female"] == "1"
    assert table.loc["C", "is_female"] == "NA"
    assert phenofiles.fid_iid_aliases(f) == {"F1_A": "A", "F2_B": "B", "F3_C": "C"}


def test_missing_code_applies_to_literal_zero_not_to_false() -> None:
    values = pd.Series(["true", "false", "0"], name="isCase")
    out = phenofiles.numeric_column(values, missing_codes=[0])
    assert out.tolist()[:2] == [1.0, 0.0] and math.isnan(out.iloc[2])


def test_non_numeric_phenotype_is_a_clear_error() -> None:
    with pytest.raises(PromiseError, match="non-numeric value 'high'"):
        phenofiles.numeric_column(pd.Series(["1", "high"], name="Y"))


@pytest.mark.parametrize(
    ("values", "coding"),
    [([0, 1, 1], {0.0: 0.0, 1.0: 1.0}), ([1, 2, 2], {1.0: 0.0, 2.0: 1.0}), ([0.5, 1], None)],
)
def test_binary_coding(values: list[float], coding: dict[float, float] | None) -> None:
    assert phenofiles.binary_coding(pd.Series(values, dtype=float)) == coding


def test_text_covariates_are_one_hot_with_first_level_dropped() -> None:
    table = pd.DataFrame({"batch": ["b1", "b2", "b3", "NA"]}, index=list("wxyz"))
    out = phenofiles.covariate_columns(table, ["batch"])
    assert list(out.columns) == ["batch_b2", "batch_b3"]
    assert out.loc["x"].tolist() == [1.0, 0.0] and out.loc["w"].tolist() == [0.0, 0.0]
    assert out.loc["z"].isna().all()


def test_from_files_remove_and_kind(tmp_path: Path) -> None:
    pheno = _write(tmp_path / "p.txt", "FID IID Y\n1 a 1\n2 b 2\n3 c 2\n")
    covar = _write(tmp_path / "c.txt", "FID IID C\n1 a 0.1\n2 b 0.2\n3 c 0.3\n")
    remove = _write(tmp_path / "r.txt", "3 c\n")
    ph = traits.from_files(pheno=[pheno], covar=[covar], remove=remove)
    assert ph.kinds == {"Y": "binary"} and list(ph.frame.index) == ["a", "b"]
    assert ph.frame["Y"].tolist() == [0.0, 1.0]  # PLINK 1 = control, 2 = case
    q = traits.from_files(pheno=[pheno], covar=[covar], kind="quantitative")
    assert q.frame["Y"].tolist() == [1.0, 2.0, 2.0]


def test_too_few_cases_is_refused() -> None:
    with pytest.raises(PromiseError, match="has 3 cases"):
        traits.check_case_counts({"E": (3, 900)}, min_cases=50)
    traits.check_case_counts({"E": (60, 900)}, min_cases=50)


MART = pd.DataFrame(
    {
        "person_id": ["p1", "p2", "p3"],
        "sample_id": ["s1", "s2", "s3"],
        "batch": ["batch1", "batch2", "batch2"],
        "sex": ["male", "female", "female"],
        "is_female": [0, 1, 1],
        "age": [50.0, 61.0, 47.0],
        "birth_year": [1975, 1964, 1978],
        "E4_DM2": [1, 0, None],
        "LDL_C": [3.1, None, 2.5],
    }
)


def test_warehouse_endpoint_and_covariates() -> None:
    ph = cohort.warehouse_phenotypes(MART, endpoints=["E4_DM2"])
    assert ph.kinds == {"E4_DM2": "binary"} and ph.female_column == "is_female"
    assert ph.covariates == ["is_female", "age", "batch_batch2"]
    assert list(ph.frame.index) == ["p1", "p2", "p3"] and math.isnan(ph.frame.loc["p3", "E4_DM2"])
    q = cohort.warehouse_phenotypes(MART, traits=["LDL_C"])
    assert q.kinds == {"LDL_C": "quantitative"}
    both = cohort.warehouse_phenotypes(MART, endpoints=["E4_DM2"], traits=["LDL_C"])
    assert both.kinds == {"E4_DM2": "binary", "LDL_C": "quantitative"}
    assert both.traits == ["E4_DM2", "LDL_C"] and both.frame.loc["p2", "E4_DM2"] == 0


def test_warehouse_unknown_endpoint_names_what_exists() -> None:
    with pytest.raises(PromiseError, match="Unknown endpoint 'I9_XYZ'.*E4_DM2"):
        cohort.warehouse_phenotypes(MART, endpoints=["I9_XYZ"])
    with pytest.raises(PromiseError, match="--endpoint NAME or --trait COLUMN"):
        cohort.warehouse_phenotypes(MART)


def test_lambda_gc_of_uniform_p_is_one_and_of_doubled_chi2_is_two() -> None:
    from scipy import stats

    p = pd.Series((np.arange(1, 100_001) - 0.5) / 100_000)
    assert results.lambda_gc(p) == pytest.approx(1.0, abs=1e-3)
    # chi2 scaled by 2 -> median / 0.4549 = 2 (hand: lambda is a ratio of medians)
    doubled = pd.Series(stats.chi2.sf(2 * stats.chi2.isf(p, 1), 1))
    assert results.lambda_gc(doubled) == pytest.approx(2.0, abs=1e-3)


def test_top_loci_keeps_one_lead_per_window() -> None:
    frame = pl.DataFrame(
        {
            "chromosome": ["1", "1", "1", "2", "2"],
            "base_pair_location": [100, 200_000, 2_000_000, 100, 5_000_000],
            "p_value": [1e-10, 1e-9, 1e-6, 1e-7, None],
        }
    )
    leads = results.top_loci(frame, limit=10)
    assert leads["base_pair_location"].to_list() == [100, 100, 2_000_000]
    assert results.top_loci(frame, limit=1)["p_value"].to_list() == [1e-10]


@pytest.mark.parametrize("n", [999, 1000])
def test_lambda_gc_is_the_median_chi2_for_odd_and_even_counts(n: int) -> None:
    from scipy import stats

    p = pd.Series(np.random.default_rng(n).uniform(0, 1, n) ** 1.3)  # inflated
    expected = np.median(stats.chi2.isf(p.to_numpy(), 1)) / stats.chi2.ppf(0.5, 1)
    assert results.lambda_gc(p) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("samples", [8, 9, 10, 11, 37])
def test_code_counts_count_a1_twos_and_missing_ignoring_padding(samples: int) -> None:
    from promise.gwas import fastlinear

    rng = np.random.default_rng(samples)
    geno = rng.integers(-1, 3, size=(7, samples))  # variants x samples, -1 = missing call
    code = {2: 0b00, -1: 0b01, 1: 0b10, 0: 0b11}  # the .bed encoding
    per = (samples + 3) // 4
    raw = np.zeros((7, per), dtype=np.uint8)
    for v in range(7):
        for i in range(samples):
            raw[v, i // 4] |= code[int(geno[v, i])] << (2 * (i % 4))
        for i in range(samples, 4 * per):  # padding left as garbage: 00 would read as two A1
            raw[v, i // 4] |= int(rng.integers(0, 4)) << (2 * (i % 4))
    total, twos, missing = fastlinear.code_counts(fastlinear.padded_words(raw, samples))
    assert total.tolist() == np.where(geno > 0, geno, 0).sum(axis=1).tolist()
    assert twos.tolist() == (geno == 2).sum(axis=1).tolist()
    assert missing.tolist() == (geno == -1).sum(axis=1).tolist()


def _ssf(alleles: list[str]) -> pl.DataFrame:
    n = len(alleles)
    return pl.DataFrame(
        {
            "chromosome": ["1"] * n,
            "base_pair_location": list(range(100, 100 + n)),
            "effect_allele": alleles,
            "other_allele": ["G"] * n,
            "beta": [0.1, None, -2.5e-300][:n],
            "standard_error": [0.05, None, 1.0][:n],
            "effect_allele_frequency": [0.25, 0.5, 1 / 3][:n],
            "p_value": [1e-30, None, 0.999999][:n],
            "variant_id": [f"1:{100 + i}:G:{a}" for i, a in enumerate(alleles)],
            "n": [10, None, 12][:n],
            "test": ["linear"] * n,
        }
    )


@pytest.mark.parametrize("alleles", [["A", "C", "T"], ["A", "C,T", 'T"']])
def test_ssf_file_reads_back_the_same_values_with_or_without_shared_text(
    tmp_path: Path, alleles: list[str]
) -> None:
    import gzip

    frame = _ssf(alleles)
    shared = results.shared_text(frame)
    assert (shared is None) == ('T"' in alleles)  # a quote makes the shared text unusable
    plain, fast = tmp_path / "plain.tsv.gz", tmp_path / "fast.tsv.gz"
    results.write_ssf(frame, plain)
    results.write_ssf(frame, fast, shared)
    assert gzip.decompress(plain.read_bytes()) == gzip.decompress(fast.read_bytes())
    back = pl.read_csv(fast, separator="\t", null_values="NA", schema=frame.schema)
    assert back.equals(frame)  # every float back to the same float64, NA where missing
    # a frame whose shared columns differ is written from its own columns
    other = frame.with_columns(pl.col("base_pair_location") + 1)
    results.write_ssf(other, fast, shared)
    assert pl.read_csv(fast, separator="\t", null_values="NA", schema=frame.schema).equals(other)
