"""The fast engine reads a VCF of hard calls (GT) itself: converted losslessly to a PLINK 1
file set in the run's scratch folder, with PLINK 2's ``--vcf ... --make-bed`` conventions.

Expected values come from PLINK 2: its .bed of the same VCF (multi-allelic sites split by
hand into the VCF lines Hail's ``split_multi_hts`` makes of them, since a .bed holds no
multi-allelic variant and ``plink2 --make-bed`` refuses them), its ``--glm`` on the VCF,
and the fast engine's run on PLINK 2's conversion (whose QC ``test_localqc`` holds to Hail's).
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import yaml

from gwas.dosagedata import noisy_ds_vcf
from gwas.helpers import plink2, read_ssf, run_cli, vcf_to_bfile
from gwas.synthetic import write_synthetic
from gwas.test_localqc import _write as write_qc_vcf
from promise.cli import main
from promise.genotypes import recode_contigs
from promise.gwas.engines.interface import choose_engine, fast_applies
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions
from promise.gwas.traits import TraitError
from promise.gwas.vcfbed import vcf_to_bed

pytestmark = pytest.mark.integration

HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
    "##contig=<ID=chrX,length=156040895>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\tD\tE\n"
)
# a multi-allelic site, a half call, phased calls, '.' ids, a record without GT (all
# missing), haploid (male X) calls, missing
LINES = (
    "chr1\t100\trs1\tA\tG,T\t.\tPASS\t.\tGT\t0/1\t1/2\t2/2\t./.\t0/0\n"
    "chr1\t200\t.\tC\tG\t.\tPASS\t.\tGT\t./1\t0|1\t1/1\t0/0\t.\n"
    "chr1\t300\tg1\tT\tC\t.\tPASS\t.\tGQ\t30\t20\t10\t5\t1\n"
    "chrX\t3000000\tx1\tA\tG\t.\tPASS\t.\tGT\t0\t1\t0/1\t1/1\t.\n"
)
# rs1 split by hand as split_multi_hts does: each ALT counted, the other ALT as not it
SPLIT = (
    "chr1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/1\t0/0\t./.\t0/0\n"
    "chr1\t100\trs1\tA\tT\t.\tPASS\t.\tGT\t0/0\t0/1\t1/1\t./.\t0/0\n"
)


def test_conversion_equals_plink2_make_bed(tmp_path: Path) -> None:
    """The .bed bytes, .bim and .fam PLINK 2 writes (``--vcf-half-call missing``)."""
    vcf, split = tmp_path / "m.vcf", tmp_path / "split.vcf"
    vcf.write_text(HEADER + LINES)
    split.write_text(HEADER + SPLIT + LINES.split("\n", 1)[1])
    subprocess.run(
        [plink2(), "--vcf", split, "--vcf-half-call", "missing", "--make-bed",
         "--out", tmp_path / "theirs", "--threads", "1", "--memory", "1000"],
        check=True, capture_output=True,
    )  # fmt: skip
    ours = vcf_to_bed(vcf, "GRCh38", tmp_path / "scratch" / "ours")
    theirs_bed = (tmp_path / "theirs.bed").read_bytes()
    assert (tmp_path / "scratch" / "ours.bed").read_bytes() == theirs_bed
    names = ["chrom", "id", "cm", "pos", "a1", "a2"]
    bim = pd.read_csv(tmp_path / "theirs.bim", sep="\t", names=names, dtype=str)
    assert list(ours.bim["pos"]) == [int(p) for p in bim.pos]
    for column in ("id", "a1", "a2"):
        assert list(ours.bim[column]) == list(bim[column]), column
    theirs_chrom = recode_contigs(pl.Series(bim.chrom), "GRCh38").to_list()
    assert recode_contigs(ours.bim["chrom"], "GRCh38").to_list() == theirs_chrom
    assert ours.samples == ["A", "B", "C", "D", "E"]
    fam = (tmp_path / "theirs.fam").read_text().split()
    assert ours.samples == fam[1::6]
    for suffix in (".bed", ".bim", ".fam"):
        mode = stat.S_IMODE((tmp_path / "scratch" / f"ours{suffix}").stat().st_mode)
        assert mode == 0o600, suffix


def _plink2_glm(data: object, out: Path) -> dict[str, pd.DataFrame]:
    prefix = out / "plink2"
    subprocess.run(
        [
            plink2(), "--vcf", data.vcf, "--pheno", data.pheno, "--covar", data.covar,  # type: ignore[attr-defined]
            "--glm", "hide-covar", "no-firth", "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
            "--covar-variance-standardize", "--threads", "1", "--memory", "1000", "--out", prefix,
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return {
        "Yq": pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str}),
        "Yb": pd.read_csv(f"{prefix}.Yb.glm.logistic", sep="\t", dtype={"A1": str}),
    }


def test_default_engine_on_vcf_equals_plink2_glm(tmp_path: Path) -> None:
    """``promise gwas --vcf`` without ``--engine`` runs the fast engine, and its linear and
    logistic-Wald (``--test wald --firth never``) beta/SE/p equal ``plink2 --vcf --glm``'s
    to relative 1e-4 (as test_independent asks of Hail). Nothing is left in tmp/."""
    data = write_synthetic(tmp_path / "data")
    expected = _plink2_glm(data, tmp_path)
    out = tmp_path / "promise"
    run_cli(
        [
            "--vcf", data.vcf, "--pheno", data.pheno, "--covar", data.covar, "--skip-qc",
            "--pcs", "0", "--firth", "never", "--test", "wald", "--min-cases", "10", "--out", out,
        ]
    )  # fmt: skip
    for trait, theirs in expected.items():
        meta = yaml.safe_load((out / f"{trait}.tsv.gz-meta.yaml").read_text())
        assert meta["thresholds"]["engine"] == "fast"
        ours = read_ssf(out / f"{trait}.tsv.gz")
        merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
        assert len(merged) == len(theirs) == 120
        assert (merged.effect_allele == merged.A1).all() and (merged.n == merged.OBS_CT).all()
        np.testing.assert_allclose(merged.beta, merged.BETA, rtol=1e-4)
        np.testing.assert_allclose(merged.standard_error, merged.SE, rtol=1e-4)
        np.testing.assert_allclose(merged.p_value, merged.P, rtol=1e-4)
    assert read_ssf(out / "Yb.tsv.gz").test.eq("wald").all()
    assert not (out / "tmp").exists()


def _qc(out: Path) -> dict[tuple[str, str], tuple[int, int]]:
    meta = yaml.safe_load((out / "D.tsv.gz-meta.yaml").read_text())
    return {(s["on"], s["filter"]): (s["removed"], s["remaining"]) for s in meta["qc"]}


def test_vcf_qc_equals_plink2_conversion(tmp_path: Path) -> None:
    """test_localqc's VCF (a planted case of every QC filter, chrX and its PAR): the VCF
    read by the default engine and PLINK 2's .bed of it remove the same samples and variants
    (test_localqc holds the latter to Hail's QC) and give the same statistics."""
    vcf, pheno, covar = write_qc_vcf(tmp_path)
    common = ["--pheno", pheno, "--covar", covar, "--binary", "--pcs", "0", "--min-cases", "10"]
    run_cli(["--vcf", vcf, *common, "--out", tmp_path / "vcf"])
    bfile = vcf_to_bfile(vcf, tmp_path / "bfile" / "qc")
    run_cli(["--bfile", bfile, *common, "--engine", "fast", "--out", tmp_path / "bed"])
    assert _qc(tmp_path / "vcf") == _qc(tmp_path / "bed")
    assert _qc(tmp_path / "vcf")[("samples", "sex check")][0] == 2
    ours, theirs = (read_ssf(tmp_path / d / "D.tsv.gz") for d in ("vcf", "bed"))
    assert list(ours.variant_id) == list(theirs.variant_id) and (ours.n == theirs.n).all()
    for field in ("beta", "standard_error", "p_value"):
        np.testing.assert_allclose(ours[field], theirs[field], rtol=1e-9)


def _ds_vcf(path: Path) -> Path:
    path.write_text(
        HEADER.replace(
            "#CHROM",
            '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">\n#CHROM',
        ).replace("\tA\tB\tC\tD\tE", "\tA\tB")
        + "chr1\t200\t.\tC\tG\t.\tPASS\t.\tGT:DS\t0/1:0.9\t1/1:1.7\n"
    )
    return path


def test_engine_choice(tmp_path: Path) -> None:
    """GT VCF, DS VCF and BGEN: the fast engine by default (dosages read as dosages, see
    test_dosage_fast); with a Spark master the Spark kernels for hard calls, Hail for
    dosages; Hail when asked for."""
    gt = tmp_path / "gt.vcf"
    gt.write_text(HEADER + LINES)
    ds = _ds_vcf(tmp_path / "ds.vcf")
    options = GwasOptions()
    for kind, path in (("vcf", gt), ("vcf", ds), ("bgen", tmp_path / "x.bgen")):
        source = GenotypeSource(kind=kind, path=path)  # type: ignore[arg-type]
        assert fast_applies(source) is None and choose_engine(options, source) == "fast"
        assert choose_engine(GwasOptions(engine="fast"), source) == "fast"
        cluster = "spark" if path == gt else "hail"  # the Spark kernels take hard calls only
        assert choose_engine(options, source, spark_master="spark://x:7077") == cluster
        assert choose_engine(GwasOptions(engine="hail"), source) == "hail"
        with pytest.raises(TraitError, match=r"^--engine fast runs in this process"):
            choose_engine(GwasOptions(engine="fast"), source, spark_master="spark://x:7077")


def test_engine_fast_on_dosage_vcf_equals_plink2_dosages(tmp_path: Path) -> None:
    """``--engine fast`` on a VCF declaring DS reads the dosages (not hard calls): beta/SE/p
    equal ``plink2 --vcf F dosage=DS --glm`` (SE and p to relative 3e-4, beta to 3e-4 of
    its SE: plink2 holds the three-decimal dosages in units of 1/16384, see
    test_dosage_qc.RTOL_PLINK2_DOSAGE), and differ from the GT calls' statistics."""
    data = write_synthetic(tmp_path / "data")
    ds = noisy_ds_vcf(data.vcf, tmp_path / "ds.vcf")
    prefix = tmp_path / "plink2"
    subprocess.run([plink2(), "--vcf", ds, "dosage=DS", "--pheno", data.pheno, "--pheno-name",
                    "Yq", "--covar", data.covar, "--glm", "hide-covar",
                    "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
                    "--covar-variance-standardize", "--threads", "1", "--memory", "1000",
                    "--out", prefix], check=True, capture_output=True)  # fmt: skip
    theirs = pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str})
    out = tmp_path / "promise"
    run_cli(["--vcf", ds, "--pheno", data.pheno, "--pheno-name", "Yq", "--covar", data.covar,
             "--engine", "fast", "--skip-qc", "--pcs", "0", "--out", out])  # fmt: skip
    ours = read_ssf(out / "Yq.tsv.gz")
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == 120
    sign = np.where(merged.effect_allele == merged.A1, 1.0, -1.0)  # plink2 a3: A1 is minor
    assert (np.abs(merged.beta - sign * merged.BETA) <= 3e-4 * merged.SE).all()
    np.testing.assert_allclose(merged.standard_error, merged.SE, rtol=3e-4)
    np.testing.assert_allclose(merged.p_value, merged.P, rtol=3e-4)
    calls = _plink2_glm(data, tmp_path)["Yq"]  # the GT calls of the same samples
    assert np.median(np.abs(calls.P.to_numpy() / merged.P.to_numpy() - 1)) > 0.01


def test_conversion_failure_leaves_no_scratch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A VCF line htslib cannot parse (found while converting) ends the run in one
    sentence naming the line, and the scratch copy is gone."""
    data = write_synthetic(tmp_path / "data", samples=60, variants=30)
    text = data.vcf.read_text().splitlines(keepends=True)
    text[-1] = text[-1].replace("\tGT\t0/0", "\tGT\t0/Z", 1).replace("\tGT\t0/1", "\tGT\t0/Z", 1)
    text[-1] = text[-1].replace("\tGT\t1/1", "\tGT\t0/Z", 1)
    data.vcf.write_text("".join(text))
    out = tmp_path / "out"
    rc = main(["gwas", "--vcf", str(data.vcf), "--pheno", str(data.pheno), "--pheno-name", "Yq",
               "--skip-qc", "--pcs", "0", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err, err
    assert "Line 34 of synthetic.vcf cannot be parsed as VCF" in err, err  # htslib, converting
    assert not (out / "tmp").exists()
