"""The fast engine's dosage path (issue 17.2): association on a BGEN's dosages, the
engines' sample keys with ``--sample``, the engine choice, and refusals.

Expected values come from PLINK 2 (``plink2 --bgen F ref-first --sample S --glm`` on the
same BGEN, which PLINK 2 itself wrote from a VCF of dosages made here from the synthetic
genotypes plus noise, so most dosages are not 0/1/2 and rounding them to hard calls would
change beta, SE and p) and from NumPy OLS written here (missing dosages). QC, PCA, kinship,
LOCO and Firth on dosages: test_dosage_qc.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gwas.dosagedata import assert_close as _assert_close
from gwas.dosagedata import noisy_ds_vcf
from gwas.dosagedata import run_plink2 as _plink2
from gwas.helpers import read_ssf, run_cli
from gwas.synthetic import write_synthetic
from promise.gwas.engines.interface import choose_engine
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions
from promise.gwas.traits import TraitError

pytestmark = [pytest.mark.integration, pytest.mark.reference]


@pytest.fixture(scope="module")
def bgen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A BGEN v1.2 (16 bits) PLINK 2 wrote from a DS VCF, its .sample, a quantitative-only
    phenotype file and the covariates."""
    base = tmp_path_factory.mktemp("dosage-fast")
    data = write_synthetic(base / "data")
    for name, missing in (("b", 0.0), ("holes", 0.02)):
        vcf = noisy_ds_vcf(data.vcf, base / f"{name}.vcf", missing=missing)
        _plink2("--vcf", vcf, "dosage=DS", "--export", "bgen-1.2", "bits=16", "ref-first",
                "--out", base / name)  # fmt: skip
    # 8-bit, the precision Hail reads (and UK Biobank's imputed files have)
    _plink2("--vcf", base / "b.vcf", "dosage=DS", "--export", "bgen-1.2", "bits=8",
            "ref-first", "--out", base / "b8")  # fmt: skip
    pheno = pd.read_csv(data.pheno, sep="\t")[["#IID", "Yq"]]
    pheno.to_csv(base / "pheno.txt", sep="\t", index=False)
    return {"bgen": base / "b.bgen", "sample": base / "b.sample", "pheno": base / "pheno.txt",
            "covar": data.covar, "base": base, "holes": base / "holes.bgen",
            "all": data.pheno, "bgen8": base / "b8.bgen", "sample8": base / "b8.sample"}  # fmt: skip


def _plink2_glm(files: dict[str, Path], bits: str = "") -> pd.DataFrame:
    prefix = files["base"] / f"plink2{bits}"
    _plink2("--bgen", files[f"bgen{bits}"], "ref-first", "--sample", files[f"sample{bits}"],
            "--pheno", files["pheno"], "--covar", files["covar"], "--glm", "hide-covar",
            "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
            "--covar-variance-standardize", "--out", prefix)  # fmt: skip
    return pd.read_csv(f"{prefix}.Yq.glm.linear", sep="\t", dtype={"A1": str})


def test_fast_engine_on_bgen_equals_plink2_glm(bgen: dict[str, Path], tmp_path: Path) -> None:
    """``--engine fast --skip-qc --pcs 0`` on the BGEN: beta, SE and p of every variant
    equal ``plink2 --glm``'s on the same file's dosages to relative 1e-4, the effect allele
    is plink2's A1 (ALT). No dosage is missing here: plink2 drops a sample with a missing
    dosage from that variant's model (OBS_CT < N), the fast engine mean-imputes it as it
    does for .bed files and Hail does (see the next test)."""
    theirs = _plink2_glm(bgen)
    out = tmp_path / "promise"
    # --sample: PLINK 2's .sample (ID_1 = 0), samples keyed by ID_2 as plink2 keys them
    run_cli(["--bgen", bgen["bgen"], "--sample", bgen["sample"], "--pheno", bgen["pheno"],
             "--covar", bgen["covar"], "--engine", "fast", "--skip-qc", "--pcs", "0",
             "--out", out])  # fmt: skip
    meta = yaml.safe_load((out / "Yq.tsv.gz-meta.yaml").read_text())
    assert meta["thresholds"]["engine"] == "fast"
    ours = read_ssf(out / "Yq.tsv.gz")
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == 120
    assert (merged.effect_allele == merged.A1).all()
    _assert_close(merged.beta, merged.standard_error, merged.p_value,
                  merged.BETA, merged.SE, merged.P)  # fmt: skip


def test_missing_dosages_mean_imputed(bgen: dict[str, Path], tmp_path: Path) -> None:
    """With 2% of dosages missing, beta/SE/p equal ordinary least squares written here in
    NumPy, each missing dosage replaced by its variant's mean over the non-missing samples,
    t on n - p - 1 df. The dosages are P(het) + 2 P(hom ALT) of the probabilities the
    ``bgen`` library decodes (``--export A`` of PLINK 2 prints five digits, too few for
    1e-6); which samples are missing is checked against PLINK 2's export."""
    import bgen as library
    from scipy import stats

    with library.BgenReader(str(bgen["holes"]), delay_parsing=False) as reader:
        ids = list(reader.samples)
        variants = [reader[i] for i in range(len(reader))]
        assert all(v.alleles[1] for v in variants)
        probs = [v.probabilities.astype(float) for v in variants]
        alts = [v.alleles[1] for v in variants]
    x = np.column_stack([p[:, 1] + 2 * p[:, 2] for p in probs])
    assert np.mean(np.abs(x - np.round(x)) > 0.01) > 0.5  # dosages, not hard calls
    raw_prefix = tmp_path / "raw"
    _plink2("--bgen", bgen["holes"], "ref-first", "--export", "A", "--out", raw_prefix)
    raw = pd.read_csv(f"{raw_prefix}.raw", sep="\t", na_values="NA")
    assert list(raw.IID) == ids
    np.testing.assert_array_equal(np.isnan(x), raw.iloc[:, 6:].isna().to_numpy())
    y = pd.read_csv(bgen["pheno"], sep="\t").set_index("#IID").loc[ids, "Yq"].to_numpy()
    cov = pd.read_csv(bgen["covar"], sep="\t").set_index("#IID").loc[ids].to_numpy(float)
    out = tmp_path / "promise"
    run_cli(["--bgen", bgen["holes"], "--pheno", bgen["pheno"], "--covar", bgen["covar"],
             "--engine", "fast", "--skip-qc", "--pcs", "0", "--out", out])  # fmt: skip
    ours = read_ssf(out / "Yq.tsv.gz")
    assert list(ours.effect_allele) == alts
    base = np.column_stack([np.ones(len(y)), cov])
    expected = []
    for j in range(x.shape[1]):
        g = x[:, j].copy()
        g[np.isnan(g)] = np.nanmean(g)
        design = np.column_stack([g, base])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        dof = len(y) - design.shape[1]
        se = np.sqrt(resid @ resid / dof * np.linalg.inv(design.T @ design)[0, 0])
        expected.append((coef[0], se, 2 * stats.t.sf(abs(coef[0] / se), dof)))
    assert np.isnan(x).mean() > 0.01  # the test has missing dosages to impute
    beta, se, p = np.array(expected).T
    # the library's probabilities are float32 (7 digits): beta to 1e-5 of its SE
    assert np.all(np.abs(ours.beta - beta) <= 1e-5 * se)
    np.testing.assert_allclose(ours.standard_error, se, rtol=1e-5)
    np.testing.assert_allclose(ours.p_value, p, rtol=1e-5)


def test_sample_file_keyed_by_id_2_everywhere(bgen: dict[str, Path]) -> None:
    """PLINK 2 writes a .sample whose ID_1 is 0 for every sample and whose ID_2 is the IID:
    the preflight's ids and the dosage reader's are both ID_2 (as ``plink2 --sample``)."""
    from promise.genotypes import open_genotypes
    from promise.gwas.genofiles import sample_ids

    rows = [line.split() for line in bgen["sample"].read_text().splitlines()[2:]]
    assert {r[0] for r in rows} == {"0"}  # the case the preflight used to key by
    iids = list(pd.read_csv(bgen["pheno"], sep="\t")["#IID"])
    source = GenotypeSource(kind="bgen", path=bgen["bgen"], sample_file=bgen["sample"])
    with open_genotypes(bgen["bgen"], "bgen", "GRCh38", sample_file=bgen["sample"]) as r:
        assert sample_ids(source) == list(r.samples) == [r[1] for r in rows] == iids


def _options(**kw: object) -> GwasOptions:
    return GwasOptions(engine="fast", **kw)  # type: ignore[arg-type]


def test_engine_choice_on_dosages(bgen: dict[str, Path], tmp_path: Path) -> None:
    """``auto`` sends a BGEN to the fast engine on one machine (with QC, PCs, LOCO, relatives),
    to Hail with a Spark master; the CLI's run on it says so in its metadata."""
    source = GenotypeSource(kind="bgen", path=bgen["bgen"], sample_file=bgen["sample"])
    assert choose_engine(GwasOptions(), source) == "fast"
    eight = GenotypeSource(kind="bgen", path=bgen["bgen8"], sample_file=bgen["sample8"])
    assert choose_engine(GwasOptions(), eight, spark_master="spark://x:7077") == "hail"
    assert choose_engine(_options(loco=True, related="drop"), source) == "fast"
    out = tmp_path / "auto"
    run_cli(["--bgen", bgen["bgen"], "--sample", bgen["sample"], "--pheno", bgen["pheno"],
             "--covar", bgen["covar"], "--pcs", "0", "--out", out])  # fmt: skip
    meta = yaml.safe_load((out / "Yq.tsv.gz-meta.yaml").read_text())
    assert meta["thresholds"]["engine"] == "fast"
    assert not (out / "tmp").exists()  # the hard-call copy is gone with the scratch folder


def test_binary_on_bgen_equals_plink2_logistic(bgen: dict[str, Path], tmp_path: Path) -> None:
    """A binary trait on the BGEN's dosages, ``--test wald --firth never``: beta, SE and p
    equal ``plink2 --glm no-firth`` (logistic on dosages) within :func:`_assert_close`."""
    prefix = tmp_path / "plink2"
    _plink2("--bgen", bgen["bgen"], "ref-first", "--sample", bgen["sample"],
            "--pheno", bgen["all"], "--pheno-name", "Yb", "--covar", bgen["covar"],
            "--glm", "hide-covar", "no-firth", "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p",
            "--covar-variance-standardize", "--out", prefix)  # fmt: skip
    theirs = pd.read_csv(f"{prefix}.Yb.glm.logistic", sep="\t", dtype={"A1": str})
    pheno = tmp_path / "yb.txt"
    pd.read_csv(bgen["all"], sep="\t")[["#IID", "Yb"]].to_csv(pheno, sep="\t", index=False)
    out = tmp_path / "promise"
    run_cli(["--bgen", bgen["bgen"], "--pheno", pheno, "--covar", bgen["covar"],
             "--engine", "fast", "--skip-qc", "--pcs", "0", "--test", "wald",
             "--firth", "never", "--min-cases", "10", "--out", out])  # fmt: skip
    ours = read_ssf(out / "Yb.tsv.gz")
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == 120
    assert (merged.effect_allele == merged.A1).all()
    _assert_close(merged.beta, merged.standard_error, merged.p_value,
                  merged.BETA, merged.SE, merged.P)  # fmt: skip


def test_hail_engine_keys_sample_file_by_id_2(
    bgen: dict[str, Path], hail_session: object, tmp_path: Path
) -> None:
    """``--engine hail --bgen F --sample S`` (8 bits, as Hail reads) on PLINK 2's .sample
    (ID_1 = 0 for everyone):
    Hail's import keys by ID_1, the run re-keys by ID_2, so every sample matches its
    phenotype and the statistics equal ``plink2 --glm`` (within :func:`_assert_close`)."""
    theirs = _plink2_glm(bgen, "8")
    out = tmp_path / "hail"
    run_cli(["--bgen", bgen["bgen8"], "--sample", bgen["sample8"], "--pheno", bgen["pheno"],
             "--covar", bgen["covar"], "--engine", "hail", "--skip-qc", "--pcs", "0",
             "--out", out])  # fmt: skip
    ours = read_ssf(out / "Yq.tsv.gz")
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == 120 and (merged.n == merged.OBS_CT).all()
    # 8 bits: measured max relative 1.9e-4 on p against plink2 (which holds the k/255
    # probabilities as dosages in 1/16384 units); a wrong keying would scramble every value
    _assert_close(merged.beta, merged.standard_error, merged.p_value,
                  merged.BETA, merged.SE, merged.P, rtol=1e-3)  # fmt: skip


@pytest.mark.reliability
def test_repeated_sample_id_is_one_sentence(
    bgen: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .sample that lists one ID_2 twice: the dosage path cannot tell the two columns
    apart, so the run stops in one sentence that names the file and no id, and leaves no
    hard-call copy behind."""
    from promise.cli import main

    lines = bgen["sample"].read_text().splitlines()
    first = lines[2].split()
    lines[3] = " ".join([first[0], first[1], *lines[3].split()[2:]])
    twice = tmp_path / "twice.sample"
    twice.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    rc = main(["gwas", "--bgen", str(bgen["bgen"]), "--sample", str(twice), "--pheno",
               str(bgen["pheno"]), "--covar", str(bgen["covar"]), "--pcs", "0",
               "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    assert "appears twice" in err and first[1] not in err
    assert not (out / "tmp").exists()


@pytest.mark.reliability
def test_qc_removing_every_sample_is_one_sentence(
    bgen: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --het-sd 0 no sample's heterozygosity rate (on the hard calls) is within 0 SD
    of the mean: the run says so in one sentence naming the filter, instead of failing
    inside the association."""
    from promise.cli import main

    rc = main(["gwas", "--bgen", str(bgen["holes"]), "--pheno", str(bgen["pheno"]),
               "--covar", str(bgen["covar"]), "--pcs", "0", "--het-sd", "0",
               "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    assert "Sample QC removed all 400 samples (call rate " in err  # 2% missing dosages
    line = next(line for line in err.splitlines() if "Sample QC removed" in line)
    assert "heterozygosity" in line and line.endswith(".") and ". " not in line


def test_hail_is_refused_a_bgen_it_cannot_read(bgen: dict[str, Path]) -> None:
    """Hail's ``import_bgen`` reads 8-bit BGEN only (a 16-bit one ends in a Java traceback
    after minutes): the bits are read from the first variant (plink2 wrote these files with
    ``bits=16`` and ``bits=8``) and a 16-bit file sent to Hail, by ``--engine hail`` or on
    a cluster, is refused in one sentence before anything starts."""
    from promise.genotypes.bgen import first_bit_depth

    assert first_bit_depth(bgen["bgen"]) == 16
    assert first_bit_depth(bgen["bgen8"]) == 8
    source = GenotypeSource(kind="bgen", path=bgen["bgen"], sample_file=bgen["sample"])
    for options, master in ((GwasOptions(engine="hail"), None), (GwasOptions(), "spark://x:7077")):
        with pytest.raises(TraitError, match=r"8-bit BGEN files only .* 16-bit") as refused:
            choose_engine(options, source, spark_master=master)
        assert "\n" not in str(refused.value)
    eight = GenotypeSource(kind="bgen", path=bgen["bgen8"], sample_file=bgen["sample8"])
    assert choose_engine(GwasOptions(engine="hail"), eight) == "hail"
