"""The fast engine's dosage path with QC, PCA, kinship, LOCO and Firth (issue 17.2), on
tests/gwas/dosagedata.py's data (a planted case of every QC filter, two populations,
planted relatives; 8-bit BGEN and the VCF of DS it came from).

Expected values come from PLINK 2 on the same files (``--hard-call-threshold 0.1
--make-bed``, the QC flags of :data:`PLINK2_QC`, ``--glm`` with promise's PCs as
covariates, ``--glm firth``), from planted truth (relatives, QC cases) and, for LOCO, from
the .bed path on PLINK 2's .bed of exact dosages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gwas.dosagedata import assert_close as _assert_close
from gwas.dosagedata import run_plink2 as _plink2
from gwas.helpers import read_ssf, run_cli
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions, PcaSettings

pytestmark = [pytest.mark.integration, pytest.mark.reference]

#: the QC thresholds of both tools: promise's defaults, and their PLINK 2 flags; the call
#: rates count missing dosages ('dosage'), HWE uses hard calls (--hard-call-threshold 0.1)
PLINK2_QC = ["--hard-call-threshold", "0.1", "--mind", "0.03", "dosage", "--geno", "0.05",
             "dosage", "--maf", "0.01", "--mac", "5", "--hwe", "1e-6", "midp"]  # fmt: skip
GLM_COLUMNS = "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p"
#: 8-bit BGEN: measured max relative difference 1.1e-4 on p (1,494 variants) against
#: plink2, which holds the k/255 dosages in units of 1/16384; NumPy OLS on the dosages
#: rounded to 1/16384 gives plink2's p to 2e-5, on the exact dosages promise's to 1e-7.
#: A VCF's three-decimal DS values are rounded to 1/16384 by plink2 just the same.
RTOL_PLINK2_DOSAGE = 3e-4


@pytest.fixture(scope="module")
def qcset(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from gwas.dosagedata import write_dosage_set

    return write_dosage_set(tmp_path_factory.mktemp("dosage-qc"))


def _engine_run(
    qcset: Any, tmp: Path, *, traits: list[str], kind: str = "bgen", **options: Any
) -> Any:
    """The fast engine's output on the BGEN, or with ``kind`` "vcf" on the VCF of DS it was
    written from (PCs are not written to a file: run it here)."""
    from promise.gwas import traits as traitfiles
    from promise.gwas.engines.fastengine import FastEngine
    from promise.gwas.options import QcThresholds
    from promise.gwas.pipeline import StepClock

    phenotypes = traitfiles.from_files(pheno=[qcset.pheno], covar=[qcset.covar],
                                       pheno_names=traits)  # fmt: skip
    source = (
        GenotypeSource(kind="bgen", path=qcset.bgen, sample_file=qcset.sample)
        if kind == "bgen"
        else GenotypeSource(kind="vcf", path=qcset.vcf)
    )
    # the heterozygosity filter is promise's own (PLINK 2 has none; Hail's definition is held
    # in test_localqc): off here
    options.setdefault("loco", False)
    settings = GwasOptions(engine="fast", qc=QcThresholds(het_sd=100.0), **options)
    scratch = tmp / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    return FastEngine().run(genotypes=source, phenotypes=phenotypes, options=settings,
                            scratch=scratch, say=StepClock(lambda _m: None))  # fmt: skip


def _plink2_input(qcset: Any, kind: str) -> list[object]:
    """PLINK 2's flags reading the BGEN (ALT counted) or the VCF's DS."""
    if kind == "bgen":
        return ["--bgen", qcset.bgen, "ref-first", "--sample", qcset.sample]
    return ["--vcf", qcset.vcf, "dosage=DS"]


@pytest.mark.parametrize("kind", ["bgen", "vcf"])
def test_hard_calls_equal_plink2_make_bed(qcset: Any, tmp_path: Path, kind: str) -> None:
    """The hard-call .bed the dosage path writes for QC, pruning, PCA, KING and step 1 is
    the one ``plink2 --bgen F ref-first --hard-call-threshold 0.1 --make-bed`` writes from
    the same BGEN (or ``--vcf F dosage=DS``), code for code; each sample's count of
    non-missing dosages is the number of variants less PLINK 2's ``MISSING_DOSAGE_CT``, of
    hard calls less its ``MISSING_CT``, of heterozygous calls those of PLINK 2's .bed.
    The VCF holds three-decimal dosages, some exactly 0.1 from a call (0.900, 1.100):
    PLINK 2 calls them, and so must promise."""
    from promise.gwas.bedset import bed_matrix, open_bed
    from promise.gwas.engines.dosagesource import open_dosages
    from promise.gwas.engines.hardcalls import write_hard_calls
    from promise.gwas.localqc import codes_of

    source = (
        GenotypeSource(kind="bgen", path=qcset.bgen, sample_file=qcset.sample)
        if kind == "bgen"
        else GenotypeSource(kind="vcf", path=qcset.vcf)
    )
    calls = write_hard_calls(open_dosages(source), tmp_path / "ours")
    if kind == "vcf":
        d = qcset.dosages
        assert np.isclose(np.abs(d - np.round(d)), 0.1).sum() > 10  # the edge case is there
    _plink2(*_plink2_input(qcset, kind), "--hard-call-threshold",
            "0.1", "--make-bed", "--missing", "sample-only", "scols=+nmissdosage",
            "--out", tmp_path / "theirs")  # fmt: skip
    theirs = open_bed(tmp_path / "theirs")
    assert calls.bed.samples == theirs.samples
    assert list(calls.bed.bim["a1"]) == list(theirs.bim["a1"])  # ALT counted by both
    assert list(calls.bed.bim["pos"]) == list(theirs.bim["pos"])
    rows, cols = np.arange(theirs.n_variants), np.arange(len(theirs.samples))
    ours_codes, their_codes = codes_of(calls.bed, rows, cols), codes_of(theirs, rows, cols)
    np.testing.assert_array_equal(ours_codes, their_codes)
    assert bed_matrix(calls.bed).shape == bed_matrix(theirs).shape
    assert (their_codes == 1).mean() > 0.1  # uncertain dosages: missing hard calls
    smiss = pd.read_csv(tmp_path / "theirs.smiss", sep="\t")
    expected = theirs.n_variants - smiss["MISSING_DOSAGE_CT"].to_numpy()
    np.testing.assert_array_equal(calls.counts.dosages, expected)
    hard = theirs.n_variants - smiss["MISSING_CT"].to_numpy()
    np.testing.assert_array_equal(calls.counts.called, hard)
    np.testing.assert_array_equal(calls.counts.het, (their_codes == 0b10).sum(axis=0))
    assert (smiss["MISSING_CT"] > smiss["MISSING_DOSAGE_CT"]).all()  # the two counts differ


@pytest.mark.parametrize("kind", ["bgen", "vcf"])
def test_qc_and_pcs_on_dosages_equal_plink2(qcset: Any, tmp_path: Path, kind: str) -> None:
    """Sample and variant QC (promise's default thresholds) and 2 PCs on the 8-bit BGEN
    (and on the VCF of DS it was written from, against ``plink2 --vcf F dosage=DS``):
    the kept samples and variants are exactly those of ``plink2 --mind 0.03 dosage --geno
    0.05 dosage --maf 0.01 --mac 5 --hwe 1e-6 midp --hard-call-threshold 0.1``; beta, SE
    and p equal ``plink2 --glm`` with promise's PCs given to it as covariates."""
    from gwas.dosagedata import BAD_SAMPLES, DOSAGE_MAF_VARIANT

    output = _engine_run(qcset, tmp_path, traits=["Yq"], kind=kind, pca=PcaSettings(pcs=2))
    prefix = tmp_path / "plink2"
    scores = output.pcs.scores
    covar = pd.read_csv(qcset.covar, sep="\t").set_index("#IID")
    both = covar.join(scores.rename_axis("#IID"), how="inner")
    both.reset_index().to_csv(tmp_path / "covar_pcs.txt", sep="\t", index=False)
    _plink2(*_plink2_input(qcset, kind), *PLINK2_QC,
            "--pheno", qcset.pheno, "--pheno-name", "Yq", "--covar", tmp_path / "covar_pcs.txt",
            "--glm", "hide-covar", GLM_COLUMNS, "--covar-variance-standardize",
            "--write-samples", "--write-snplist", "--out", prefix)  # fmt: skip
    kept_samples = pd.read_csv(f"{prefix}.id", sep="\t")["#IID"].tolist()
    kept_variants = Path(f"{prefix}.snplist").read_text().split()
    assert sorted(scores.index) == sorted(kept_samples) and len(kept_samples) == output.n_samples
    assert not {f"S{i:04d}" for i in BAD_SAMPLES} & set(kept_samples)
    ours = output.summaries[0].frame.to_pandas()
    # variant v{j} sits at 10,000 + 2,000 j (dosagedata)
    expected_pos = sorted(10_000 + 2_000 * int(v[1:]) for v in kept_variants)
    assert sorted(ours.base_pair_location) == expected_pos
    assert 1400 < len(kept_variants) < 1500  # planted removals and Wahlund-effect HWE
    assert f"v{DOSAGE_MAF_VARIANT}" in kept_variants  # MAF from dosages, not hard calls
    theirs = pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str})
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) and (merged.n == merged.OBS_CT).all()
    assert (merged.effect_allele == merged.A1).all() or _flip(merged)
    _assert_close(merged.beta, merged.standard_error, merged.p_value,
                  merged.BETA, merged.SE, merged.P, rtol=RTOL_PLINK2_DOSAGE)  # fmt: skip


def _flip(merged: pd.DataFrame) -> bool:
    """Where plink2 (v2.00a3) reports REF as A1 (the minor allele), flip its beta."""
    other = merged.effect_allele != merged.A1
    assert (merged.other_allele[other] == merged.A1[other]).all()
    merged.loc[other, "BETA"] = -merged.BETA[other]
    return True


def test_related_drop_on_bgen_finds_the_planted_relatives(qcset: Any, tmp_path: Path) -> None:
    """KING-robust kinship on the hard calls: the planted duplicate (kinship 1/2) and
    parent-child pair (1/4) are the only pairs above the second-degree cutoff (0.0884, KING's
    own), within 0.06 of their kinship (about 1,500 variants, of which 30-50% of calls are
    missing after hard-calling); ``--related drop`` removes one of each pair."""
    from gwas.dosagedata import PARENT_CHILD, TWINS

    output = _engine_run(qcset, tmp_path, traits=["Yq"], pca=PcaSettings(pcs=0),
                         related="drop")  # fmt: skip
    related = output.relatedness
    table = related.table.to_pandas()
    close = table[table.kinship > 0.0884]
    pairs = {tuple(sorted((a, b))): k for a, b, k in
             zip(close.iloc[:, 0], close.iloc[:, 1], close.kinship, strict=True)}  # fmt: skip
    twins, family = (tuple(f"S{i:04d}" for i in pair) for pair in (TWINS, PARENT_CHILD))
    assert set(pairs) == {twins, family}
    assert abs(pairs[twins] - 0.5) < 0.06 and abs(pairs[family] - 0.25) < 0.06
    assert len(related.samples) - len(related.kept) == 2
    assert output.n_samples == len(related.kept)


def test_loco_on_bgen(qcset: Any, tmp_path: Path) -> None:
    """``--loco`` on the BGEN: step 1 runs on the hard calls of the kept variants, the
    association on the dosages with each chromosome's out-of-chromosome prediction. The
    planted variant (v100, on chr2) stays the top hit, and its statistic grows over the
    run without LOCO (the prediction removes the polygenic and population signal, which
    is noise for a single variant: Yq has 0.8 x population)."""
    plain = _engine_run(qcset, tmp_path / "plain", traits=["Yq"], pca=PcaSettings(pcs=0))
    loco = _engine_run(qcset, tmp_path / "loco", traits=["Yq"], pca=PcaSettings(pcs=0),
                       loco=True)  # fmt: skip
    assert loco.loco.used and not plain.loco.used
    with_loco, without = (o.summaries[0].frame.to_pandas() for o in (loco, plain))
    at = 10_000 + 2_000 * 100
    assert with_loco.sort_values("p_value").base_pair_location.iloc[0] == at
    assert (with_loco.n == without.n).all() and len(with_loco) == len(without)
    p_loco = with_loco.set_index("base_pair_location").p_value[at]
    p_plain = without.set_index("base_pair_location").p_value[at]
    assert p_loco < p_plain
    assert not np.allclose(with_loco.beta, without.beta)


def test_firth_on_dosages_equals_plink2_glm_firth(qcset: Any, tmp_path: Path) -> None:
    """The score test with Firth below p 0.05 (Firth's p as a Wald test, as PLINK 2 gives
    it) on the BGEN's dosages, every sample but the planted low-call-rate ones, every
    variant without missing dosages (PLINK 2 drops, promise imputes): on the variants
    Firth was applied to, beta and SE within relative 1e-3 and p within 1e-2 of ``plink2
    --glm firth`` (issue 17's tolerances, those of the .bed path's kernel test)."""
    from gwas.dosagedata import BAD_SAMPLES, MISSING_VARIANTS
    from promise.gwas import association
    from promise.gwas import traits as traitfiles
    from promise.gwas.engines import fastassoc
    from promise.gwas.engines.binaryresults import BinaryOptions
    from promise.gwas.engines.dosagesource import open_dosages
    from promise.gwas.engines.groupinputs import group_inputs
    from promise.gwas.summaries import usable_samples

    source = open_dosages(GenotypeSource(kind="bgen", path=qcset.bgen, sample_file=qcset.sample))
    bad = {f"S{i:04d}" for i in BAD_SAMPLES}
    holes = {f"v{j}" for j in MISSING_VARIANTS}
    rows = np.flatnonzero(~source.bim["id"].is_in(list(holes)).to_numpy())
    cols = np.array([i for i, s in enumerate(source.samples) if s not in bad])
    source = source.subset(rows, cols)
    phenotypes = traitfiles.from_files(pheno=[qcset.pheno], covar=[qcset.covar],
                                       pheno_names=["Yb"])  # fmt: skip
    frame = association.aligned(usable_samples(phenotypes), source.samples)
    groups = association.trait_groups(phenotypes, source.samples)
    inputs = group_inputs(groups, frame, np.arange(len(source.samples)), ["c1"])
    options = BinaryOptions(firth_p=0.05, firth_pvalue="wald")
    ours = fastassoc.associate(source, inputs, options)[0].to_pandas()
    (tmp_path / "keep.txt").write_text("".join(f"{s}\n" for s in source.samples))
    (tmp_path / "extract.txt").write_text("".join(f"{v}\n" for v in source.bim["id"]))
    prefix = tmp_path / "plink2"
    _plink2("--bgen", qcset.bgen, "ref-first", "--sample", qcset.sample,
            "--keep", tmp_path / "keep.txt", "--extract", tmp_path / "extract.txt",
            "--pheno", qcset.pheno, "--pheno-name", "Yb", "--covar", qcset.covar,
            "--glm", "hide-covar", "firth", "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
            "--covar-variance-standardize", "--out", prefix)  # fmt: skip
    theirs = pd.read_csv(f"{prefix}.Yb.glm.firth", sep="\t", dtype={"A1": str})
    merged = theirs.merge(ours, left_on="POS", right_on="position")
    assert len(merged) == len(theirs) == len(rows)
    other = merged.alt != merged.A1  # plink2 v2.00a3 reports the minor allele as A1
    sign = np.where(other, -1.0, 1.0)
    applied = merged.t0_firth.to_numpy() & merged.P.notna().to_numpy()
    assert applied.sum() >= 50  # the causal variant, chance hits and the rare variants
    for field, expected, rel in (("t0_beta", merged.BETA * sign, 1e-3),
                                 ("t0_se", merged.SE, 1e-3),
                                 ("t0_p", merged.P, 1e-2)):  # fmt: skip
        worst = np.max(np.abs(merged[field][applied] / expected[applied] - 1))
        print(f"Firth on {applied.sum()} variants: {field} max relative difference {worst:.2g}")
        np.testing.assert_allclose(merged[field][applied], expected[applied], rtol=rel,
                                   err_msg=field)  # fmt: skip


def test_default_binary_on_bgen_ranks_as_plink2_logistic(qcset: Any, tmp_path: Path) -> None:
    """The default binary test through the engine (QC, score test, Firth's penalised LRT
    below p 0.05) on the BGEN: Spearman of -log10 p >= 0.99 against ``plink2 --glm``
    (logistic Wald on dosages) after the same QC, over the variants both test."""
    from scipy import stats

    output = _engine_run(qcset, tmp_path, traits=["Yb"], pca=PcaSettings(pcs=0),
                         association=_min_cases(10))  # fmt: skip
    ours = output.summaries[0].frame.to_pandas()
    assert {"score", "firth"} <= set(ours.test)
    prefix = tmp_path / "plink2"
    _plink2("--bgen", qcset.bgen, "ref-first", "--sample", qcset.sample, *PLINK2_QC,
            "--pheno", qcset.pheno, "--pheno-name", "Yb", "--covar", qcset.covar,
            "--glm", "hide-covar", "no-firth", GLM_COLUMNS, "--covar-variance-standardize",
            "--out", prefix)  # fmt: skip
    theirs = pd.read_csv(f"{prefix}.Yb.glm.logistic", sep="\t", dtype={"A1": str})
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    # promise tests HWE in the controls of a binary trait (as the Hail path), plink2 in
    # everyone: a few population-structure (Wahlund) variants differ, the rest is shared
    assert len(merged) == len(theirs) and 0 <= len(ours) - len(theirs) <= 5
    both = merged.P.notna()
    rho = stats.spearmanr(-np.log10(merged.p_value[both]), -np.log10(merged.P[both])).statistic
    print(f"Spearman of -log10 p against plink2 --glm: {rho:.5f} ({both.sum()} variants)")
    assert rho >= 0.99, rho


def _min_cases(n: int) -> Any:
    from promise.gwas.options import AssociationSettings

    return AssociationSettings(min_cases=n)


def test_exact_dosages_run_as_their_bed(tmp_path: Path) -> None:
    """Dosages that are all 0, 1, 2 or missing hold nothing their hard calls do not: the
    whole run on the BGEN (QC, 2 PCs, KING and --related drop, LOCO step 1, association)
    equals the run on PLINK 2's .bed of it (``--bfile``, the path held to PLINK 2, Hail and
    regenie elsewhere): the same QC counts, samples and variants, beta/SE/p to relative
    1e-9 (the same arithmetic on the same numbers, blocks of another size). This holds the
    dosage path's wiring (kept rows and columns, chromosome labels of the LOCO offsets,
    the related samples dropped) to the .bed path's."""
    from gwas.dosagedata import write_dosage_set

    data = write_dosage_set(tmp_path / "data", exact=True)
    _plink2("--bgen", data.bgen, "ref-first", "--sample", data.sample, "--make-bed",
            "--out", tmp_path / "bed")  # fmt: skip
    common = ["--pheno", data.pheno, "--pheno-name", "Yq", "--covar", data.covar,
              "--pcs", "2", "--loco", "--related", "drop", "--het-sd", "100"]  # fmt: skip
    run_cli(["--bgen", data.bgen, "--sample", data.sample, *common, "--out", tmp_path / "a"])
    run_cli(["--bfile", tmp_path / "bed", *common, "--out", tmp_path / "b"])
    metas = [yaml.safe_load((tmp_path / d / "Yq.tsv.gz-meta.yaml").read_text()) for d in "ab"]
    assert metas[0]["qc"] == metas[1]["qc"] and metas[0]["loco"] == metas[1]["loco"]
    assert metas[0]["loco"]["used"] and metas[0]["covariates"] == ["c1", "PC1", "PC2"]
    dropped = [q for q in metas[0]["qc"] if q["filter"] == "relatedness"]
    assert dropped and dropped[0]["removed"] == 2
    ours, theirs = (read_ssf(tmp_path / d / "Yq.tsv.gz") for d in "ab")
    assert list(ours.base_pair_location) == list(theirs.base_pair_location)
    assert (ours.n == theirs.n).all() and len(ours) > 1400
    for field in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
        np.testing.assert_allclose(ours[field], theirs[field], rtol=1e-9, err_msg=field)


def test_dosage_counts_over_kept_samples(qcset: Any, tmp_path: Path) -> None:
    """The variant QC's counts over a subset of samples (the hard-call pass counts every
    sample, the samples left out are subtracted) equal NumPy's over that subset, computed
    here from the dosages: sums and non-missing counts; hom REF / het / hom ALT hard calls
    (within 0.1 of 0 / 1 / 2) among the 'controls'."""
    from promise.genotypes import open_genotypes
    from promise.gwas.engines.dosagesource import open_dosages
    from promise.gwas.engines.hardcalls import dosage_counts, write_hard_calls

    source = GenotypeSource(kind="bgen", path=qcset.bgen, sample_file=qcset.sample)
    calls = write_hard_calls(open_dosages(source), tmp_path / "calls")
    rng = np.random.default_rng(1)
    cols = np.flatnonzero(rng.random(len(calls.bed.samples)) < 0.9)
    controls = rng.random(len(cols)) < 0.7
    ours = dosage_counts(calls, cols, controls)
    with open_genotypes(qcset.bgen, "bgen", "GRCh38", sample_file=qcset.sample) as reader:
        d = np.concatenate([b for _, b in reader.dosage_blocks(block=4096)], axis=1)  # samples x
    kept = d[cols]
    np.testing.assert_allclose(ours.sums, np.nansum(kept, axis=0), rtol=1e-12)
    np.testing.assert_array_equal(ours.called, (~np.isnan(kept)).sum(axis=0))
    tested = kept[controls]
    near = np.abs(tested - np.round(tested)) <= 0.1
    expected = np.column_stack([(near & (np.round(tested) == k)).sum(axis=0) for k in (0, 1, 2)])
    np.testing.assert_array_equal(ours.hwe, expected)
    assert expected[:, 1].sum() > 0 and (~near).sum() > 0  # hets and uncalled dosages
