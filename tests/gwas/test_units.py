"""Pure functions of the GWAS part: phenotype files, trait kinds, warehouse phenotypes, lambda GC."""

from __future__ import annotations

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
    assert table["s"].to_list() == ["a", "b"] and table.columns == ["s", "Y1", "Y2"]
    coded = phenofiles.numeric_columns(table, ["Y1"], missing_codes=[-9])
    assert coded.columns == ["s", "Y1"] and coded["Y1"].to_list() == [1.5, None]
    assert phenofiles.numeric_columns(table, ["Y2"])["Y2"].to_list() == [None, 2.0]


def test_bom_crlf_and_tabs_with_spaces_are_read(tmp_path: Path) -> None:
    f = tmp_path / "p.txt"
    f.write_bytes(b"\xef\xbb\xbfFID\tIID  Y\r\nf1\t a\t1.5\r\n\r\n f2 b  NA \r\n")
    table = phenofiles.read_sample_table(f)
    assert table.columns == ["s", "Y"] and table.rows() == [("a", "1.5"), ("b", "NA")]


def test_ragged_line_is_a_clear_error(tmp_path: Path) -> None:
    f = _write(tmp_path / "p.txt", "FID IID Y\nf1 a 1\n\nf2 b\n")
    with pytest.raises(PromiseError, match="Line 4 of .* has 2 fields where 3"):
        phenofiles.read_sample_table(f)


def test_sample_column_and_hash_header(tmp_path: Path) -> None:
    a = phenofiles.read_sample_table(_write(tmp_path / "a.tsv", "x\tSample\n1\tS1\n"))
    b = phenofiles.read_sample_table(_write(tmp_path / "b.tsv", "#IID\tx\nS1\t1\n"))
    assert a["s"].to_list() == b["s"].to_list() == ["S1"] and a.columns == b.columns == ["s", "x"]


def test_fam_gives_pheno_and_register_sex(tmp_path: Path) -> None:
    f = _write(tmp_path / "x.fam", "F1 A 0 0 1 2\nF2 B 0 0 2 1\nF3 C 0 0 0 -9\n")
    table = phenofiles.read_sample_table(f)
    assert table["s"].to_list() == ["A", "B", "C"]
    assert table["is_female"].to_list() == ["0", "1", "NA"]
    assert phenofiles.fid_iid_aliases(f) == {"F1_A": "A", "F2_B": "B", "F3_C": "C"}


def test_missing_code_applies_to_literal_zero_not_to_false() -> None:
    table = pl.DataFrame({"s": list("abc"), "isCase": ["true", "false", "0"]})
    out = phenofiles.numeric_columns(table, ["isCase"], missing_codes=[0])
    assert out["isCase"].to_list() == [1.0, 0.0, None]


def test_non_numeric_phenotype_is_a_clear_error() -> None:
    with pytest.raises(PromiseError, match="non-numeric value 'high'"):
        phenofiles.numeric_columns(pl.DataFrame({"s": ["a", "b"], "Y": ["1", "high"]}), ["Y"])


@pytest.mark.parametrize(
    ("values", "name", "recode"),
    [
        # PLINK 2's reading (checked against plink2 in test_phenotype_conventions.py):
        # {0, 1, 2} with a 2 is 1 control / 2 case, 0 missing; {0, 1} is the --1 coding
        ([0, 1, 1], "0/1", {0.0: 0.0, 1.0: 1.0}),
        ([1, 2, 2], "1/2", {1.0: 0.0, 2.0: 1.0}),
        ([0, 1, 2], "1/2", {1.0: 0.0, 2.0: 1.0}),
        ([0.5, 1], None, None),
        ([1, 2, 3], None, None),
    ],
)
def test_binary_coding(values: list[float], name: str | None, recode: dict | None) -> None:
    coding = traits.binary_coding(pl.Series(values, dtype=pl.Float64))
    assert (coding and coding.name, coding and coding.recode) == (name, recode)


def test_text_covariates_are_one_hot_with_first_level_dropped() -> None:
    table = pl.DataFrame({"s": list("wxyz"), "batch": ["b1", "b2", "b3", "NA"]})
    out = phenofiles.covariate_columns(table, ["batch"])
    assert out.columns == ["s", "batch_b2", "batch_b3"]
    assert out.rows() == [("w", 0.0, 0.0), ("x", 1.0, 0.0), ("y", 0.0, 1.0), ("z", None, None)]


def test_numeric_covariates_stay_numbers_with_nan_as_missing() -> None:
    table = pl.DataFrame({"s": list("abc"), "age": ["50", "nan", "61.5"]})
    out = phenofiles.covariate_columns(table, ["age"])
    assert out["age"].to_list() == [50.0, None, 61.5]


def test_from_files_remove_and_kind(tmp_path: Path) -> None:
    pheno = _write(tmp_path / "p.txt", "FID IID Y\n1 a 1\n2 b 2\n3 c 2\n")
    covar = _write(tmp_path / "c.txt", "FID IID C\n1 a 0.1\n2 b 0.2\n3 c 0.3\n")
    remove = _write(tmp_path / "r.txt", "3 c\n")
    ph = traits.from_files(pheno=[pheno], covar=[covar], remove=remove)
    assert ph.kinds == {"Y": "binary"} and ph.frame["s"].to_list() == ["a", "b"]
    assert ph.frame["Y"].to_list() == [0.0, 1.0]  # PLINK 1 = control, 2 = case
    assert ph.covariates == ["C"] and ph.frame["C"].to_list() == [0.1, 0.2]
    q = traits.from_files(pheno=[pheno], covar=[covar], kind="quantitative")
    assert q.frame["Y"].to_list() == [1.0, 2.0, 2.0]


def test_too_few_cases_is_refused() -> None:
    with pytest.raises(PromiseError, match="has 3 cases"):
        traits.check_case_counts({"E": (3, 900)}, min_cases=50)
    traits.check_case_counts({"E": (60, 900)}, min_cases=50)


MART = pl.DataFrame(
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
    assert ph.frame["s"].to_list() == ["p1", "p2", "p3"] and ph.frame["E4_DM2"][2] is None
    q = cohort.warehouse_phenotypes(MART, traits=["LDL_C"])
    assert q.kinds == {"LDL_C": "quantitative"}
    both = cohort.warehouse_phenotypes(MART, endpoints=["E4_DM2"], traits=["LDL_C"])
    assert both.kinds == {"E4_DM2": "binary", "LDL_C": "quantitative"}
    assert both.traits == ["E4_DM2", "LDL_C"] and both.frame["E4_DM2"].to_list() == [1, 0, None]
    assert both.frame["batch_batch2"].to_list() == [0.0, 1.0, 1.0]


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


def _top_loci_by_hand(frame: pl.DataFrame, limit: int, window: int) -> list[int]:
    rows = sorted(
        (p, i, c, pos)
        for i, (c, pos, p) in enumerate(
            frame.select("chromosome", "base_pair_location", "p_value").iter_rows()
        )
    )
    leads: list[tuple[str, int]] = []
    for _, _, c, pos in rows:
        if all(c != c2 or abs(pos - p2) > window for c2, p2 in leads):
            leads.append((c, pos))
        if len(leads) == limit:
            break
    return [pos for _, pos in leads]


@pytest.mark.parametrize("crowded", [False, True])
def test_top_loci_of_many_variants_equal_a_full_search(crowded: bool) -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    positions = np.arange(n) * 10_000
    p = rng.uniform(size=n)
    if crowded:  # the 2,000 smallest p-values all in one window: the partial search must widen
        p[:2_000] = rng.uniform(0, 1e-9, size=2_000)
        positions[:2_000] = np.arange(2_000) * 100
    frame = pl.DataFrame({"chromosome": ["1"] * n, "base_pair_location": positions, "p_value": p})
    leads = results.top_loci(frame, limit=10)
    assert leads["base_pair_location"].to_list() == _top_loci_by_hand(frame, 10, 500_000)


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


@pytest.mark.parametrize(
    ("dof", "bound"), [(3000, 2e-9), (4996, 1e-10), (20_000, 1e-11), (500_000, 1e-11)]
)
def test_t_p_values_match_scipy_stdtr(dof: int, bound: float) -> None:
    """Hill's approximation against SciPy's t distribution (an independent implementation),
    on a dense grid of |t| up to 45 and both signs, wherever p is a normal number."""
    from scipy import special

    from promise.gwas import fastlinear

    t = np.concatenate([np.linspace(-45, 45, 180_001), np.geomspace(1e-9, 1, 500)])
    ours = fastlinear.t_two_sided_p(t, dof)
    scipy_p = 2 * special.stdtr(dof, -np.abs(t))
    normal = scipy_p > 1e-300
    assert normal.sum() > 100_000  # the grid reaches far into the tail
    np.testing.assert_allclose(ours[normal], scipy_p[normal], rtol=bound, atol=0)
    assert np.all(ours[~normal] < 1e-290)


def test_t_p_values_edges_and_small_samples() -> None:
    from scipy import special

    from promise.gwas import fastlinear

    t = np.array([[np.inf, -np.inf], [np.nan, 0.0]])
    p = fastlinear.t_two_sided_p(t, 10_000)
    assert p[0].tolist() == [0.0, 0.0] and np.isnan(p[1, 0]) and p[1, 1] == pytest.approx(1.0)
    few = np.linspace(-12, 12, 101)  # below HILL_MIN_DOF: SciPy's own values
    dof = fastlinear.HILL_MIN_DOF - 1
    assert np.array_equal(fastlinear.t_two_sided_p(few, dof), 2 * special.stdtr(dof, -abs(few)))


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
    floats = ["beta", "standard_error", "effect_allele_frequency", "p_value"]
    assert back.drop(floats).equals(frame.drop(floats))
    for name in floats:  # ten significant digits, NA where missing
        for got, want in zip(back[name].to_list(), frame[name].to_list(), strict=True):
            assert (got is None) == (want is None)
            assert want is None or got == pytest.approx(want, rel=5e-10, abs=0)
    assert b"0.3333333333\t" in gzip.decompress(fast.read_bytes())  # 1/3 rounded
    # a frame whose shared columns differ is written from its own columns
    for changed in ("base_pair_location", "effect_allele_frequency"):
        other = frame.with_columns(pl.col(changed) * 2)
        results.write_ssf(other, fast, shared)
        back = pl.read_csv(fast, separator="\t", null_values="NA", schema=frame.schema)
        np.testing.assert_allclose(back[changed].to_numpy(), other[changed].to_numpy(), rtol=5e-10)
    empty = frame.clear()
    results.write_ssf(empty, fast, results.shared_text(empty))
    assert gzip.decompress(fast.read_bytes()).decode() == "\t".join(frame.columns) + "\n"


@pytest.mark.parametrize("contigs", [["chr2", "chr10", "chrX"], ["chrX", "chr2", "chr10"]])
def test_ssf_frame_is_in_chromosome_and_position_order(contigs: list[str]) -> None:
    raw = pl.DataFrame(
        {
            "contig": contigs,
            "position": [300, 200, 100],
            "ref": ["A", "C", "G"],
            "alt": ["T", "G", "C"],
            "t0_beta": [0.1, 0.2, 0.3],
            "t0_se": [1.0, 1.0, 1.0],
            "t0_p": [0.5, 0.6, 0.7],
            "t0_n": [9, 9, 9],
            "t0_eaf": [0.1, 0.2, 0.3],
            "t0_firth": [False, False, False],
        }
    )
    frame = results.ssf_frame(raw, 0, kind="quantitative")
    assert frame["chromosome"].to_list() == ["2", "10", "23"]  # X is 23, after the autosomes
    beta = dict(zip(raw["contig"], raw["t0_beta"], strict=True))
    where = dict(zip(raw["contig"], raw["position"], strict=True))
    assert frame["beta"].to_list() == [beta["chr2"], beta["chr10"], beta["chrX"]]
    assert frame["base_pair_location"].to_list() == [where["chr2"], where["chr10"], where["chrX"]]
