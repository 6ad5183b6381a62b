"""The fast engine's own parts: batches side by side, bad input, trait codings, endpoints.

Expected values are written out by hand here (the genotype matrices a merge must give,
which variants are not estimable) or come from another coding of the same trait.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from gwas.helpers import read_ssf, run_cli
from gwas.synthetic import write_bfile
from promise.gwas.allendpoints import choose_endpoints
from promise.gwas.bedset import open_bed, pack_codes, shared_variants, write_subset
from promise.gwas.localqc import codes_of

pytestmark = pytest.mark.integration

#: A1 count -> .bed code (0 two A1, 1 missing, 2 one, 3 none), missing written -1
CODE = {2: 0, -1: 1, 1: 2, 0: 3}


def _codes(geno: np.ndarray) -> np.ndarray:
    """variants x samples .bed codes of a samples x variants A1-count matrix."""
    return np.vectorize(CODE.get)(geno.T).astype(np.uint8)


@pytest.mark.parametrize("samples", [5, 8, 9])
def test_pack_codes_is_the_bed_layout(samples: int) -> None:
    """Four samples per byte, the first in the low bits (the .bed specification)."""
    rng = np.random.default_rng(samples)
    codes = rng.integers(0, 4, size=(3, samples)).astype(np.uint8)
    packed = pack_codes(codes)
    assert packed.shape == (3, (samples + 3) // 4)
    for v in range(3):
        for i in range(samples):
            assert (packed[v, i // 4] >> (2 * (i % 4))) & 3 == codes[v, i]


def test_batches_are_joined_on_shared_variants_with_samples_side_by_side(tmp_path: Path) -> None:
    """Batch B lists the variants in another order and lacks one; the merge holds the
    shared variants in A's order, A's chosen samples then B's, missing calls kept."""
    rng = np.random.default_rng(3)
    a = rng.integers(-1, 3, size=(7, 5))  # 7 samples x 5 variants
    b = rng.integers(-1, 3, size=(6, 5))
    write_bfile(tmp_path / "a", a)
    write_bfile(tmp_path / "b", b)
    # B's .bim: variants in reverse order, and the .bed rows to match; drop variant v2
    bim_b = (tmp_path / "b.bim").read_text().splitlines()
    keep = [4, 3, 1, 0]
    (tmp_path / "b.bim").write_text("".join(bim_b[j] + "\n" for j in keep))
    write_bfile(tmp_path / "b2", b[:, keep])
    (tmp_path / "b2.bim").write_text((tmp_path / "b.bim").read_text())
    (tmp_path / "b2.fam").write_text("".join(f"B{i} B{i} 0 0 0 -9\n" for i in range(6)))
    sets = [open_bed(tmp_path / "a"), open_bed(tmp_path / "b2")]
    rows = shared_variants(sets)
    assert rows[0].tolist() == [0, 1, 3, 4] and rows[1].tolist() == [3, 2, 1, 0]
    cols = [np.array([0, 2, 3, 6]), np.array([1, 5])]
    merged = write_subset(tmp_path / "m", sets, rows=rows, columns=cols)
    assert merged.samples == ["S0000", "S0002", "S0003", "S0006", "B1", "B5"]
    expected = np.concatenate([_codes(a[cols[0]][:, [0, 1, 3, 4]]),
                               _codes(b[cols[1]][:, [0, 1, 3, 4]])], axis=1)  # fmt: skip
    np.testing.assert_array_equal(codes_of(merged, np.arange(4), np.arange(6)), expected)


def test_a_sample_in_two_batches_is_refused(tmp_path: Path) -> None:
    from promise.gwas.engines.fastengine import _matched
    from promise.gwas.inputs import GenotypeInputError

    geno = np.zeros((4, 3), dtype=int)
    write_bfile(tmp_path / "a", geno)
    write_bfile(tmp_path / "b", geno)
    frame = pl.DataFrame({"s": ["S0000"]})
    with pytest.raises(GenotypeInputError, match="Sample S0000 is in two genotype batches"):
        _matched([open_bed(tmp_path / "a"), open_bed(tmp_path / "b")], frame, tmp_path)


def _files(tmp_path: Path, coding: str) -> tuple[Path, Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(9)
    n = 400
    geno = rng.binomial(2, 0.3, size=(n, 12))
    geno[:, 4] = 1  # monomorphic (every sample heterozygous)
    geno[:, 7] = -1  # all missing
    geno[rng.random(geno.shape) < 0.02] = -1
    geno[:, 4] = 1
    write_bfile(tmp_path / "g", geno)
    x = rng.normal(size=n)
    y = rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.5 * np.where(geno[:, 2] < 0, 0, geno[:, 2]))))
    word = {"01": ("1", "0"), "12": ("2", "1"), "tf": ("true", "false")}[coding]
    ids = [f"S{i:04d}" for i in range(n)]
    (tmp_path / "pheno.txt").write_text(
        "FID IID D\n"
        + "".join(f"{s} {s} {word[0] if c else word[1]}\n" for s, c in zip(ids, y, strict=False))
    )
    (tmp_path / "covar.txt").write_text(
        "FID IID C\n" + "".join(f"{s} {s} {v:.6f}\n" for s, v in zip(ids, x, strict=True))
    )
    return tmp_path / "g", tmp_path / "pheno.txt", tmp_path / "covar.txt"


@pytest.mark.parametrize("test", ["score", "wald"])
def test_monomorphic_and_all_missing_variants_are_na(test: str, tmp_path: Path) -> None:
    bfile, pheno, covar = _files(tmp_path, "01")
    run_cli(["--bfile", bfile, "--pheno", pheno, "--covar", covar, "--skip-qc", "--pcs", "0",
             "--test", test, "--firth-p", "1", "--out", tmp_path / "out"])  # fmt: skip
    result = read_ssf(tmp_path / "out" / "D.tsv.gz").set_index("variant_id")
    for vid in ("chr1:1040:G:A", "chr1:1070:G:A"):
        for field in ("beta", "standard_error", "p_value"):
            assert math.isnan(result.loc[vid, field]), (vid, field)
    others = result.drop(index=["chr1:1040:G:A", "chr1:1070:G:A"])
    assert others.p_value.notna().all()
    assert set(others.test) == ({"firth"} if test == "score" else {"wald"})


def test_binary_codings_give_the_same_statistics(tmp_path: Path) -> None:
    """0/1, 1/2 (PLINK) and true/false files of the same trait: the same GWAS."""
    results = []
    for coding in ("01", "12", "tf"):
        bfile, pheno, covar = _files(tmp_path / coding, coding)
        out = tmp_path / coding / "out"
        run_cli(["--bfile", bfile, "--pheno", pheno, "--covar", covar, "--skip-qc", "--pcs", "0",
                 "--out", out])  # fmt: skip
        results.append(read_ssf(out / "D.tsv.gz"))
    for other in results[1:]:
        np.testing.assert_array_equal(other.p_value, results[0].p_value)
        np.testing.assert_array_equal(other.beta, results[0].beta)


def test_endpoint_choice_follows_finngens_rule() -> None:
    """Evaluated endpoints with >= min cases and controls among samples with every
    covariate; a sample without a covariate does not count; named ones are kept."""
    n = 200
    mart = pl.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "sample_id": [f"s{i}" for i in range(n)],
            "batch": ["b1"] * n,
            "sex": ["female"] * n,
            "is_female": [1] * n,
            "age": [None if i < 10 else 50.0 for i in range(n)],  # 10 without a covariate
            "birth_year": [1970] * n,
            "E_COMMON": [1 if i < 60 else 0 for i in range(n)],  # 50 usable cases
            "E_RARE": [1 if 10 <= i < 59 else 0 for i in range(n)],  # 49 cases
            "E_PARTIAL": [1 if i < 100 else 0 for i in range(n)],  # not evaluated in full
            "E_NONE": [0] * n,
            "LDL_C": [1.0] * n,
        }
    )
    evaluated = {"E_COMMON", "E_RARE", "E_NONE"}
    choice = choose_endpoints(mart, evaluated, min_cases=50)
    assert choice.chosen == ["E_COMMON"]
    assert choice.skipped == [("E_RARE", 49, 141), ("E_NONE", 0, 190)]
    assert choice.not_evaluated == 1
    lines = choice.lines(50)
    assert lines[0].startswith("skipped E_RARE: 49 cases and 141 controls")
    assert "1 evaluated endpoints without a case" in lines[1]
    assert choose_endpoints(mart, evaluated, min_cases=50, named=["E_RARE"]).chosen == [
        "E_RARE", "E_COMMON"
    ]  # fmt: skip


def test_case_allele_frequency_is_counted_over_called_cases(tmp_path: Path) -> None:
    """``effect_allele_frequency_cases``: A1 copies / (2 x called cases), counted here from
    the matrix written to the .bed."""
    rng = np.random.default_rng(4)
    n = 300
    geno = rng.binomial(2, 0.3, size=(n, 3))
    geno[rng.random(geno.shape) < 0.05] = -1
    write_bfile(tmp_path / "g", geno)
    case = rng.random(n) < 0.4
    ids = [f"S{i:04d}" for i in range(n)]
    (tmp_path / "p.txt").write_text(
        "FID IID D\n" + "".join(f"{s} {s} {int(c)}\n" for s, c in zip(ids, case, strict=True))
    )
    run_cli(["--bfile", tmp_path / "g", "--pheno", tmp_path / "p.txt", "--skip-qc", "--pcs", "0",
             "--out", tmp_path / "out"])  # fmt: skip
    result = read_ssf(tmp_path / "out" / "D.tsv.gz")
    for j in range(3):
        called = geno[case, j][geno[case, j] >= 0]
        expected = called.sum() / (2 * len(called))
        assert result.effect_allele_frequency_cases[j] == pytest.approx(expected, rel=1e-9)
