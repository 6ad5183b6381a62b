"""Calibration with LOCO through ``promise gwas`` on a cohort with families (planted truth).

The cohort is the one of ``test_step1_calibration`` (2,000 unrelated people and 100 families
of two parents and three children, 2,500 samples; chromosomes 1-9 carry an infinitesimal
genetic value, heritability 0.6, for 8 traits; chromosome 10, 4,000 variants, carries none;
trait 0 has three planted variants on chromosome 1, each explaining 2.5% of its variance),
written as a PLINK 1 file set (ids ``S0000``..), a phenotype file and a covariate file (sex).
``promise gwas --bfile`` runs its QC, kinship, step 1 on the LD-pruned variants and step 2.

Expected (from outside promise): lambda GC on the null chromosome 10, computed here from the
written p-values (median chi2 / 0.4549 over 8 x 4,000 statistics), in [0.98, 1.05] with
LOCO, above 1.06 without (relatives share the polygenic background: the standalone test
measured 1.12 on this cohort); the planted variants at p < 5e-8, ahead of every other variant.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats

from gwas.helpers import run_cli

from .test_step1_calibration import MEDIAN_CHI2, PLANTED, TRAITS, _cohort

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BED_CODE = np.array([3, 2, 0], dtype=np.uint8)  # 0, 1, 2 copies of A1 as .bed bit pairs


def _write(data: dict[str, np.ndarray], folder: Path) -> tuple[Path, Path, Path]:
    geno = data["geno"].astype(np.int64)  # variants x samples
    m, n = geno.shape
    ids = [f"S{i:04d}" for i in range(n)]
    chroms = data["chroms"]
    position = np.zeros(m, dtype=np.int64)
    for c in np.unique(chroms):
        rows = np.flatnonzero(chroms == c)
        position[rows] = 1_000_000 + 10_000 * np.arange(len(rows))  # unlinked at 500 kb r2
    prefix = folder / "cohort"
    Path(f"{prefix}.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    Path(f"{prefix}.bim").write_text(
        "".join(
            f"{c}\tv{j}\t0\t{p}\tG\tA\n"
            for j, (c, p) in enumerate(zip(chroms, position, strict=True))
        )
    )
    padded = np.zeros((m, (n + 3) // 4 * 4), dtype=np.uint8)
    padded[:, :n] = BED_CODE[geno]
    q = padded.reshape(m, -1, 4)
    packed = q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)
    Path(f"{prefix}.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + packed.tobytes())
    y, sex = data["y"], data["x"][:, 1]
    names = [f"t{t}" for t in range(TRAITS)]
    pheno = folder / "pheno.txt"
    pheno.write_text(
        "FID\tIID\t" + "\t".join(names) + "\n"
        + "".join(f"{s}\t{s}\t" + "\t".join(f"{v:.6f}" for v in y[i]) + "\n"
                  for i, s in enumerate(ids))
    )  # fmt: skip
    covar = folder / "covar.txt"
    covar.write_text(
        "FID\tIID\tsex\n" + "".join(f"{s}\t{s}\t{int(x)}\n" for s, x in zip(ids, sex, strict=True))
    )
    return prefix, pheno, covar


@pytest.fixture(scope="module")
def cohort_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return _write(_cohort(seed=2026), tmp_path_factory.mktemp("loco"))


def _lambda_null(out: Path) -> float:
    chi2 = []
    for t in range(TRAITS):
        frame = pl.read_csv(out / f"t{t}.tsv.gz", separator="\t", null_values="NA",
                            schema_overrides={"chromosome": pl.Utf8})  # fmt: skip
        p = frame.filter(pl.col("chromosome") == "10")["p_value"].to_numpy()
        assert len(p) == 4000
        chi2.append(stats.chi2.isf(p, 1))
    return float(np.median(np.concatenate(chi2)) / MEDIAN_CHI2)


def test_loco_through_promise_gwas_calibrates_relatives(
    cohort_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    bfile, pheno, covar = cohort_files
    common = ["--bfile", bfile, "--pheno", pheno, "--covar", covar, "--pcs", "0"]
    run_cli([*common, "--loco", "--out", tmp_path / "loco"])
    run_cli([*common, "--no-loco", "--out", tmp_path / "plain"])
    with_loco, without = _lambda_null(tmp_path / "loco"), _lambda_null(tmp_path / "plain")
    print(f"lambda GC on the null chromosome: with LOCO {with_loco:.3f}, without {without:.3f}")
    assert 0.98 <= with_loco <= 1.05
    assert without > 1.06

    frame = pl.read_csv(tmp_path / "loco" / "t0.tsv.gz", separator="\t", null_values="NA",
                        schema_overrides={"chromosome": pl.Utf8})  # fmt: skip
    top = frame.sort("p_value").head(len(PLANTED))
    print(top.select("chromosome", "base_pair_location", "p_value"))
    # chromosome 1's variant j is at 1,000,000 + 10,000 j (written above)
    planted = {("1", 1_000_000 + 10_000 * v) for v in PLANTED}
    assert set(zip(top["chromosome"], top["base_pair_location"], strict=True)) == planted
    assert (top["p_value"] < 5e-8).all()

    meta = yaml.safe_load((tmp_path / "loco" / "t0.tsv.gz-meta.yaml").read_text())
    assert meta["loco"]["used"] is True and meta["loco"]["choice"] == "--loco"
    assert meta["thresholds"]["loco"] is True
    plain = yaml.safe_load((tmp_path / "plain" / "t0.tsv.gz-meta.yaml").read_text())
    assert plain["loco"]["used"] is False
    report = (tmp_path / "loco" / "report.html").read_text()
    assert "Whole-genome regression (LOCO)" in report and "Used (--loco) for 8 trait(s)" in report
    assert "Not used (--no-loco)" in (tmp_path / "plain" / "report.html").read_text()

    # own files: off unless asked for
    run_cli([*common, "--pheno-name", "t1", "--out", tmp_path / "default"])
    default = yaml.safe_load((tmp_path / "default" / "t1.tsv.gz-meta.yaml").read_text())
    assert default["loco"] == {"used": False, "choice": "default in own-files mode",
                               "step1_variants": 0, "kinship_calibration": False, "note": None}  # fmt: skip
