"""The Hail path reads a VCF's FORMAT DS (``promise.gwas.inputs``), as the fast engine does.

Expected values come from PLINK 2 (``plink2 --vcf F dosage=DS --glm`` on the same file, and
``plink2 --vcf F --glm`` on its GT calls to show that the two differ) and, for the small
cases (multi-allelic DS of Number=A, Number=1, haploid calls, a missing DS, a file without
GT, warehouse batches), from the dosages written into the hand-made VCFs here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gwas.dosagedata import assert_close, noisy_ds_vcf, run_plink2
from gwas.helpers import read_ssf, run_cli
from gwas.synthetic import write_synthetic
from promise.gwas.inputs import GenotypeSource, load_genotypes

pytestmark = [pytest.mark.integration, pytest.mark.reference]

#: PLINK 2 holds the three-decimal dosages in units of 1/16384 (test_vcf_fast's tolerance)
RTOL = 3e-4


def _gt_and_ds(gt_vcf: Path, ds_vcf: Path, out: Path) -> Path:
    """One VCF with ``gt_vcf``'s GT and ``ds_vcf``'s DS per call (FORMAT GT:DS; a DS of
    '.' stays, so that call's dosage is its GT), as PLINK 2 and imputation servers write."""
    lines = []
    for gt, ds in zip(gt_vcf.read_text().splitlines(), ds_vcf.read_text().splitlines(), strict=True):  # fmt: skip
        if gt.startswith("##FORMAT"):
            lines += [gt, ds]
        elif gt.startswith("#"):
            lines.append(gt)
        else:
            g, d = gt.split("\t"), ds.split("\t")
            calls = [f"{a}:{b}" for a, b in zip(g[9:], d[9:], strict=True)]
            lines.append("\t".join([*g[:8], "GT:DS", *calls]))
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The synthetic GT VCF, its noisy DS twin (DS only), a GT:DS VCF with 5% of DS
    missing, the Yq phenotype and the covariates."""
    base = tmp_path_factory.mktemp("hail-vcf-dosage")
    data = write_synthetic(base / "data")
    holes = noisy_ds_vcf(data.vcf, base / "holes.vcf", missing=0.05, seed=9)
    pheno = base / "yq.txt"
    pd.read_csv(data.pheno, sep="\t")[["#IID", "Yq"]].to_csv(pheno, sep="\t", index=False)
    return {"base": base, "gt": data.vcf, "ds": noisy_ds_vcf(data.vcf, base / "ds.vcf"),
            "gt_ds": _gt_and_ds(data.vcf, holes, base / "gt_ds.vcf"), "pheno": pheno,
            "covar": data.covar}  # fmt: skip


def _plink2_glm(files: dict[str, Path], vcf: Path, name: str, *dosage: str) -> pd.DataFrame:
    prefix = files["base"] / name
    run_plink2("--vcf", vcf, *dosage, "--pheno", files["pheno"], "--covar", files["covar"],
               "--glm", "hide-covar", "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
               "--covar-variance-standardize", "--out", prefix)  # fmt: skip
    return pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str})


def _hail(files: dict[str, Path], vcf: Path, out: Path) -> pd.DataFrame:
    run_cli(["--vcf", vcf, "--pheno", files["pheno"], "--covar", files["covar"],
             "--engine", "hail", "--skip-qc", "--pcs", "0", "--out", out])  # fmt: skip
    return read_ssf(out / "Yq.tsv.gz")


def _against(theirs: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """plink2's rows beside ours, plink2's BETA turned to count ALT (its A1 is the minor
    allele, promise's effect allele ALT)."""
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == 120 and (merged.effect_allele == merged.ALT).all()
    return merged.assign(BETA=np.where(merged.A1 == merged.ALT, 1.0, -1.0) * merged.BETA)


def test_hail_reads_ds_of_gt_ds_vcf_as_plink2(
    files: dict[str, Path], hail_session: object, tmp_path: Path
) -> None:
    """``--engine hail`` on a GT:DS VCF whose DS is missing for 5% of the calls: beta/SE/p
    equal ``plink2 --vcf F dosage=DS --glm`` (which takes the GT where DS is missing: every
    sample in every model), and differ from plink2's on the GT calls alone, which the Hail
    path used to analyse."""
    ours = _hail(files, files["gt_ds"], tmp_path / "hail")
    merged = _against(_plink2_glm(files, files["gt_ds"], "dosage", "dosage=DS"), ours)
    assert (merged.OBS_CT == 400).all() and (merged.n == 400).all()
    assert_close(merged.beta, merged.standard_error, merged.p_value,
                 merged.BETA, merged.SE, merged.P, rtol=RTOL)  # fmt: skip
    calls = _against(_plink2_glm(files, files["gt_ds"], "calls"), ours)
    far = np.abs(calls.p_value / calls.P - 1) > 10 * RTOL
    assert far.sum() >= 100, f"only {far.sum()} of 120 p values differ from the GT calls'"


def test_hail_reads_a_vcf_of_ds_only(
    files: dict[str, Path], hail_session: object, tmp_path: Path
) -> None:
    """A VCF whose FORMAT is DS alone (no GT): the Hail path reads its dosages (it used to
    fail on the missing GT field) and equals ``plink2 --vcf F dosage=DS --glm``."""
    merged = _against(
        _plink2_glm(files, files["ds"], "ds-only", "dosage=DS"),
        _hail(files, files["ds"], tmp_path / "hail"),
    )
    assert_close(merged.beta, merged.standard_error, merged.p_value,
                 merged.BETA, merged.SE, merged.P, rtol=RTOL)  # fmt: skip


HEAD = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
    "##contig=<ID=chrX,length=156040895>\n{formats}"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC\n"
)
GT = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
DS_A = '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n'
DS_1 = '##FORMAT=<ID=DS,Number=1,Type=Float,Description="ALT dosage">\n'


def _dosages(hl: Any, source: GenotypeSource, work_dir: Path) -> dict[tuple[int, str], list]:
    """{(position, ALT): [dosage of A, B, C]} of the loaded MatrixTable (None: missing)."""
    mt = load_genotypes(hl, source, work_dir=work_dir)
    rows = (
        mt.select_rows(alt=mt.alleles[1], d=hl.agg.collect(hl.struct(s=mt.s, d=mt.dosage)))
        .rows()
        .collect()
    )
    return {(r.locus.position, r.alt): [x.d for x in sorted(r.d, key=lambda x: x.s)] for r in rows}


def _calls(mt: Any) -> Any:
    """The ALT counts of ``mt``'s GT, samples in key order (None: missing)."""
    import hail as hl

    order = hl.agg.collect(hl.struct(s=mt.s, c=mt.GT.n_alt_alleles()))
    return hl.sorted(order, key=lambda x: x.s).map(lambda x: x.c)


def _vcf(path: Path, formats: str, lines: list[str]) -> Path:
    path.write_text(HEAD.format(formats=formats) + "\n".join(lines) + "\n")
    return path


def test_ds_rules_on_small_vcfs(hail_session: Any, tmp_path: Path) -> None:
    """The fast reader's rules, by hand: DS where present, else the GT's ALT count; a
    haploid DS or GT doubled; at a multi-allelic site (split) each ALT's own DS (Number=A);
    Number=1; a file without GT; a file without DS reads its GT as before."""
    site = "\t.\tA\tG\t.\tPASS\t."
    gt_ds = _vcf(tmp_path / "a.vcf", GT + DS_A, [
        f"chr1\t100{site}\tGT:DS\t0/1:0.6\t1/1:.\t0/0:0.25",
        "chr1\t200\t.\tA\tG,T\t.\tPASS\t.\tGT:DS\t1/2:0.9,1.1\t0/2:.\t./.:0.2,.",
        f"chrX\t300{site}\tGT:DS\t1:0.9\t0:.\t1/1:1.7",
        f"chrX\t400{site}\tGT\t1\t0/1\t./.",
    ])  # fmt: skip
    got = _dosages(hail_session, GenotypeSource(kind="vcf", path=gt_ds), tmp_path / "w1")
    assert got == {
        (100, "G"): [0.6, 2.0, 0.25],
        (200, "G"): [0.9, 0.0, 0.2],  # B: 0/2 holds no G
        (200, "T"): [1.1, 1.0, None],
        (300, "G"): [1.8, 0.0, 1.7],
        (400, "G"): [2.0, 1.0, None],  # no DS on this line: the GT, haploid doubled
    }
    number_1 = _vcf(tmp_path / "b.vcf", DS_1, [
        f"chr1\t100{site}\tDS\t0.6\t.\t1.95",
        f"chr1\t200{site}\tDS\t1.1\t0.09\t0.89",
    ])  # fmt: skip
    got = _dosages(hail_session, GenotypeSource(kind="vcf", path=number_1), tmp_path / "w2")
    assert got == {(100, "G"): [0.6, None, 1.95], (200, "G"): [1.1, 0.09, 0.89]}
    # no GT in the file: PLINK 2's hard calls (within 0.1 of 0, 1, 2, 0.1 included), for QC
    mt = load_genotypes(hail_session, GenotypeSource(kind="vcf", path=number_1),
                        work_dir=tmp_path / "w2")  # fmt: skip
    calls = mt.select_rows(c=_calls(mt)).rows().collect()
    assert [r.c for r in calls] == [[None, None, 2], [1, 0, None]]
    plain = _vcf(tmp_path / "c.vcf", GT, [f"chr1\t100{site}\tGT\t0/1\t1/1\t./."])
    got = _dosages(hail_session, GenotypeSource(kind="vcf", path=plain), tmp_path / "w3")
    assert got == {(100, "G"): [1.0, 2.0, None]}


def test_warehouse_batch_with_ds(hail_session: Any, tmp_path: Path) -> None:
    """Warehouse mode: a batch MatrixTable holding a VCF's DS entry (as ingestion writes
    it: ``hl.import_vcf`` of the batch, every FORMAT field kept) is read on its DS, the GT
    where DS is missing; a batch of GT alone beside it on its calls."""
    hl = hail_session
    site = "\t.\tA\tG\t.\tPASS\t."
    ds = _vcf(tmp_path / "ds.vcf", GT + DS_A, [
        f"chr1\t100{site}\tGT:DS\t0/1:0.6\t1/1:.\t0/0:0.25",
        "chr1\t200\t.\tA\tG,T\t.\tPASS\t.\tGT:DS\t1/2:0.9,1.1\t0/2:.\t0/0:0.2,0.1",
    ])  # fmt: skip
    gt = _vcf(tmp_path / "gt.vcf", GT, [
        f"chr1\t100{site}\tGT\t0/1\t1/1\t./.",
        "chr1\t200\t.\tA\tG,T\t.\tPASS\t.\tGT\t1/2\t0/2\t2/2",
    ])  # fmt: skip
    wh = tmp_path / "wh"
    for name, vcf, prefix in (("b1", ds, "d"), ("b2", gt, "g")):
        mt = hl.import_vcf(str(vcf), reference_genome="GRCh38")
        mt = mt.key_cols_by(s=prefix + mt.s)  # sample keys differ between batches
        mt.write(str(wh / "genotypes" / f"{name}.mt"))
    got = _dosages(hl, GenotypeSource(kind="warehouse", path=wh), tmp_path / "w")
    # samples dA, dB, dC, gA, gB, gC in key order
    assert got == {
        (100, "G"): [0.6, 2.0, 0.25, 1.0, 2.0, None],
        (200, "G"): [0.9, 0.0, 0.2, 1.0, 0.0, 0.0],
        (200, "T"): [1.1, 1.0, 0.1, 1.0, 1.0, 2.0],
    }
