"""PLINK's phenotype conventions, held to PLINK 2's own reading of the same files.

For each file, ``plink2 --bfile G --pheno F --make-just-psam`` writes the phenotypes as
PLINK 2 read them (NA where missing, 1 control / 2 case for binary traits, the genotyped
samples only); promise must keep the same samples per trait, call the same ones cases and
detect the same kinds. The 0/1 coding is compared with ``plink2 --1``, the flag PLINK needs
for it (promise recognises it by itself).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console

from gwas.synthetic import write_bfile
from promise.commands.gwas import print_inspection
from promise.errors import PromiseError
from promise.gwas import preflight, traits
from promise.gwas.inputs import GenotypeSource

pytestmark = [pytest.mark.integration]

N_GENOTYPED = 60
plink2 = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 is not installed")


@pytest.fixture(scope="module")
def genotypes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 samples S0000..S0059 (FID = IID), 8 variants on chromosome 1."""
    prefix = tmp_path_factory.mktemp("conventions") / "g"
    write_bfile(prefix, np.random.default_rng(5).integers(0, 3, size=(N_GENOTYPED, 8)))
    return prefix


def _pheno_file(path: Path, *, header: bool = True, fid: str | None = None) -> Path:
    """Samples S0000..S0049 (10 genotyped samples have no row) and 5 ids that are not
    genotyped. Column A: 1/2 with 0 and -9 sprinkled in; B: 0/1/2 with 0 missing by
    PLINK's rule; Q: quantitative with -9 (missing) and 0 (a value)."""
    rng = np.random.default_rng(11)
    ids = [f"S{i:04d}" for i in range(50)] + [f"X{i}" for i in range(5)]
    a = rng.choice(["1", "2", "2", "0", "-9", "NA"], size=len(ids))
    b = rng.choice(["0", "1", "2"], size=len(ids))
    q = np.round(rng.normal(size=len(ids)), 3).astype(str)
    q[::7], q[3::11] = "-9", "0"
    lines = ["FID IID A B Q"] if header else []
    lines += [f"{fid or s} {s} {x} {y} {z}" for s, x, y, z in zip(ids, a, b, q, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _plink_reading(prefix: Path, pheno: Path, out: Path, *flags: str) -> tuple[pl.DataFrame, str]:
    """PLINK 2's .psam of the genotyped samples with the phenotypes, and its log."""
    subprocess.run(
        ["plink2", "--bfile", str(prefix), "--pheno", str(pheno), *flags,
         "--make-just-psam", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    psam = pl.read_csv(f"{out}.psam", separator="\t", infer_schema=False)
    return psam.rename({c: c.lstrip("#") for c in psam.columns}), Path(f"{out}.log").read_text()


def _promise_reading(prefix: Path, pheno: Path, **kwargs: object) -> preflight.Inspection:
    phenotypes = traits.from_files(pheno=[pheno], **kwargs)  # type: ignore[arg-type]
    return preflight.inspect(
        GenotypeSource(kind="bfile", path=prefix, build="GRCh37"), phenotypes, min_cases=None
    )


def _plink_binary_count(log: str) -> int:
    """Binary phenotypes PLINK 2 says it loaded ('3 phenotypes loaded (2 binary, 1
    quantitative)', or '1 binary phenotype loaded (...)')."""
    several = re.search(r"\d+ phenotypes loaded \((\d+) binary, \d+ quantitative\)", log)
    if several:
        return int(several.group(1))
    one = re.search(r"1 (binary|quantitative) phenotype loaded", log)
    assert one is not None, log
    return int(one.group(1) == "binary")


def _assert_same_reading(psam: pl.DataFrame, log: str, ours: preflight.Inspection) -> None:
    frame = ours.phenotypes.frame
    kinds = ours.phenotypes.kinds
    assert _plink_binary_count(log) == sum(k == "binary" for k in kinds.values())
    one = re.search(r"1 binary phenotype loaded \((\d+) cases, (\d+) controls\)", log)
    if one:  # PLINK 2 gives the counts of a lone binary trait in its log
        assert (ours.counts[0].cases, ours.counts[0].controls) == tuple(map(int, one.groups()))
    for trait in ours.phenotypes.traits:
        theirs = psam.filter(pl.col(trait) != "NA")
        mine = frame.filter(pl.col(trait).is_not_null() & pl.col("s").is_in(psam["IID"]))
        assert sorted(mine["s"]) == sorted(theirs["IID"]), trait  # same samples kept
        count = next(c for c in ours.counts if c.trait == trait)
        assert count.n == len(theirs)
        if kinds[trait] == "binary":  # same cases (PLINK writes 2 for a case)
            cases = sorted(theirs.filter(pl.col(trait) == "2")["IID"])
            assert sorted(mine.filter(pl.col(trait) == 1)["s"]) == cases, trait
            assert count.cases == len(cases) and count.controls == len(theirs) - len(cases)
        else:
            values = theirs.select("IID", pl.col(trait).cast(pl.Float64))
            joined = values.join(mine.select("s", trait), left_on="IID", right_on="s")
            np.testing.assert_allclose(joined[f"{trait}_right"], joined[trait])


@plink2
def test_minus_nine_and_zero_are_read_as_plink2_reads_them(genotypes: Path, tmp_path: Path) -> None:
    pheno = _pheno_file(tmp_path / "pheno.txt")
    psam, log = _plink_reading(genotypes, pheno, tmp_path / "plink")
    ours = _promise_reading(genotypes, pheno)
    assert ours.phenotypes.kinds == {"A": "binary", "B": "binary", "Q": "quantitative"}
    _assert_same_reading(psam, log, ours)
    # written out by hand: 60 genotyped, rows for S0000..S0049 and X0..X4
    assert ours.warnings == [
        "10 of 60 genotyped samples have no phenotype row and are left out.",
        "5 of 55 phenotype rows match no genotyped sample (e.g. 'X0') and are left out.",
    ]


@plink2
def test_zero_one_coding_is_read_as_plink2_with_flag_1(genotypes: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.choice(["0", "1", "1", "-9", "NA"], size=N_GENOTYPED)
    pheno = tmp_path / "zero_one.txt"
    pheno.write_text(
        "#FID IID D\n" + "".join(f"S{i:04d} S{i:04d} {v}\n" for i, v in enumerate(values))
    )
    psam, log = _plink_reading(genotypes, pheno, tmp_path / "plink", "--1")
    ours = _promise_reading(genotypes, pheno)
    assert ours.phenotypes.kinds == {"D": "binary"}
    assert "coded 0/1" in ours.counts[0].coding
    _assert_same_reading(psam, log, ours)
    assert ours.counts[0].cases == int((values == "1").sum())  # by hand, too


@plink2
def test_headerless_file_with_fid_zero_is_read_as_plink2_reads_it(
    genotypes: Path, tmp_path: Path
) -> None:
    """FID 0 on every row, no header: PLINK 2 names the columns PHENO1..; before, promise
    took the first line as a header and FID as the sample id ('Sample '0' appears twice')."""
    prefix = tmp_path / "fid0"
    for suffix in (".bed", ".bim"):
        shutil.copy(genotypes.with_suffix(suffix), prefix.with_suffix(suffix))
    fam = genotypes.with_suffix(".fam").read_text().splitlines()
    prefix.with_suffix(".fam").write_text(
        "".join(f"0 {line.split()[1]} 0 0 0 -9\n" for line in fam)
    )
    pheno = _pheno_file(tmp_path / "noheader.txt", header=False, fid="0")
    psam, log = _plink_reading(prefix, pheno, tmp_path / "plink")
    ours = _promise_reading(prefix, pheno)
    assert ours.phenotypes.traits == ["PHENO1", "PHENO2", "PHENO3"]
    _assert_same_reading(psam, log, ours)


def test_true_false_is_a_binary_trait_and_other_codes_are_refused_by_name(
    tmp_path: Path,
) -> None:
    pheno = tmp_path / "p.txt"
    pheno.write_text("FID IID T W\na a true 1\nb b false 3\nc c NA 2\nd d TRUE 1\n")
    ph = traits.from_files(pheno=[pheno], pheno_names=["T"])
    assert ph.kinds == {"T": "binary"} and ph.frame["T"].to_list() == [1.0, 0.0, None, 1.0]
    assert ph.info["T"].coding.startswith("coded true/false")
    assert traits.from_files(pheno=[pheno], pheno_names=["W"]).kinds == {"W": "quantitative"}
    with pytest.raises(PromiseError, match=r"Trait 'W' is not coded 1/2, 0/1 or true/false"):
        traits.from_files(pheno=[pheno], pheno_names=["W"], kind="binary")


def test_missing_code_options(tmp_path: Path) -> None:
    """-9 is missing by default; --missing-code replaces it; none with no codes."""
    pheno = tmp_path / "p.txt"
    pheno.write_text("FID IID Q\na a -9\nb b 0\nc c 1.5\nd d 7\n")
    read = traits.from_files(pheno=[pheno])
    assert read.frame["Q"].to_list() == [None, 0.0, 1.5, 7.0]  # 0 is a value here
    read = traits.from_files(pheno=[pheno], missing_codes=[7])
    assert read.frame["Q"].to_list() == [-9.0, 0.0, 1.5, None]
    assert traits.from_files(pheno=[pheno], missing_codes=[]).frame["Q"].null_count() == 0
    # covariates: -9 is missing as PLINK reads covariates, 0 stays a value (is_female)
    covar = tmp_path / "c.txt"
    covar.write_text("FID IID C is_female\na a -9 0\nb b 0 1\nc c 2.5 0\nd d 1 1\n")
    read = traits.from_files(pheno=[pheno], covar=[covar], missing_codes=[-9, 0])
    assert read.frame["C"].to_list() == [None, 0.0, 2.5, 1.0]
    assert read.frame["is_female"].to_list() == [0.0, 1.0, 0.0, 1.0]


@plink2
def test_console_shows_kind_coding_and_counts_per_trait(genotypes: Path, tmp_path: Path) -> None:
    """What ``promise gwas`` prints before the run, with PLINK 2's counts."""
    pheno = _pheno_file(tmp_path / "pheno.txt")
    psam, _ = _plink_reading(genotypes, pheno, tmp_path / "plink")
    console = Console(file=io.StringIO(), width=300)
    print_inspection(console, _promise_reading(genotypes, pheno))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    cases = {t: int((psam[t] == "2").sum()) for t in ("A", "B")}
    controls = {t: int((psam[t] == "1").sum()) for t in ("A", "B")}
    coding = "binary, coded 1/2 (1 control, 2 case; 0, -9, NA missing)"
    assert shown.splitlines() == [
        "traits among the 60 genotyped samples with every covariate:",
        f"  A: {coding}: {cases['A']} cases, {controls['A']} controls",
        f"  B: {coding}: {cases['B']} cases, {controls['B']} controls",
        f"  Q: quantitative, -9, NA missing: N = {int((psam['Q'] != 'NA').sum())}",
        "warning: 10 of 60 genotyped samples have no phenotype row and are left out.",
        "warning: 5 of 55 phenotype rows match no genotyped sample (e.g. 'X0') and are left out.",
    ]
