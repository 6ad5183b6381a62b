"""Binary traits with LOCO: the calibration slope of the offset (planted truth, statsmodels).

Step 2 takes a binary trait's LOCO prediction as an offset, with coefficient 1. Where the
prediction is overconfident (its true coefficient gamma < 1: part of it is noise), the null
model's weights mu (1 - mu) understate the variance of y - mu, and every score statistic is
inflated by about sum (y - mu)^2 / sum mu (1 - mu) (for a null genotype g independent of y,
E[(g'r)^2] = Var(g) sum r_i^2 against the score test's Var(g) sum w_i). On the synthetic
demo's E4_DM2 (three planted variants, no polygenic background) step 1's offsets had gamma
0.66-0.71 and lambda GC went from 1.048 to 1.068 with LOCO; with the offsets times gamma
(``promise.gwas.loco.calibrated``) 1.036 (docs/gwas.md, LOCO).

Expected values: the slope is statsmodels' logistic coefficient of the offset entered as a
covariate (an independent implementation), clipped to [0, 1]; the variance ratio is 1 for a
correctly specified model (planted: the true linear predictor as offset), and for the
planted overconfident offset (signal s of SD 0.5 plus noise of SD 0.5: gamma about 1/2) it
is above 1.05 raw and within 0.01 of 1 once scaled.

The ``promise gwas`` test uses the families cohort of ``test_loco_gwas`` with binary traits
(the top 22% of a liability): four of heritability 0.6 on chromosomes 1-9 and four driven
by chromosome 1's three planted variants only (5% of the liability each, no polygenic
background, like E4_DM2); chromosome 10 is null for all. Measured while writing it: lambda
GC on chromosome 10 without LOCO 1.082 (polygenic) and 0.990 (sparse); LOCO without the
slope 1.017 and 1.000; LOCO with it 1.009 and 0.994.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy import stats

from gwas.helpers import run_cli
from promise.gwas.engines.locobinary import fit_offset_null, offset_slope
from promise.gwas.loco import calibrated

from .test_loco_gwas import _write
from .test_step1_calibration import MEDIAN_CHI2, PLANTED, TRAITS, _cohort


def _planted(n: int, gamma_signal: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, covariates, offset) where logit P(y) = -1.3 + 0.3 sex + gamma_signal x offset."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n).astype(np.float64)
    x = np.column_stack([np.ones(n), sex])
    offset = rng.normal(0.0, 0.7, n)
    eta = -1.3 + 0.3 * sex + gamma_signal * offset
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    return y, x, offset


def _statsmodels_slope(y: np.ndarray, x: np.ndarray, offset: np.ndarray) -> float:
    fit = sm.GLM(y, np.column_stack([x, offset]), family=sm.families.Binomial()).fit()
    return float(fit.params[-1])


@pytest.mark.unit
@pytest.mark.parametrize(("gamma", "seed"), [(0.6, 1), (1.8, 2), (-0.5, 3), (0.0, 4)])
def test_offset_slope_is_the_logistic_coefficient_clipped(gamma: float, seed: int) -> None:
    y, x, offset = _planted(4000, gamma, seed)
    theirs = _statsmodels_slope(y, x, offset)
    assert offset_slope(y, x, offset) == pytest.approx(min(max(theirs, 0.0), 1.0), abs=1e-6)
    if gamma > 1.0:
        assert theirs > 1.0 and offset_slope(y, x, offset) == 1.0  # never amplified
    if gamma < 0.0:
        assert theirs < 0.0 and offset_slope(y, x, offset) == 0.0


@pytest.mark.unit
def test_overconfident_offset_understates_the_variance_and_the_slope_restores_it() -> None:
    rng = np.random.default_rng(19)
    n = 20000
    sex = rng.integers(0, 2, n).astype(np.float64)
    x = np.column_stack([np.ones(n), sex])
    signal = rng.normal(0.0, 0.5, n)
    offset = signal + rng.normal(0.0, 0.5, n)  # half of its variance is noise
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(-1.3 + 0.3 * sex + signal)))).astype(float)

    def ratio(o: np.ndarray) -> float:
        null = fit_offset_null(y, x, o)
        assert null is not None
        r = y - null.mu
        return float((r * r).sum() / null.weights.sum())

    assert ratio(signal) == pytest.approx(1.0, abs=0.01)  # correctly specified
    raw = ratio(offset)
    scaled = calibrated(y[:, None], x, offset[:, None])[:, 0]
    print(f"sum r^2 / sum w: raw offset {raw:.4f}, scaled {ratio(scaled):.4f}")
    assert raw > 1.05
    assert ratio(scaled) == pytest.approx(1.0, abs=0.01)
    assert offset_slope(y, x, offset) == pytest.approx(0.5, abs=0.05)


@pytest.mark.unit
def test_calibrated_leaves_a_trait_without_offset_alone() -> None:
    y, x, offset = _planted(2000, 0.5, 5)
    both = np.column_stack([offset, np.zeros_like(offset)])  # trait 2: step 1 did not converge
    out = calibrated(np.column_stack([y, y]), x, both)
    assert np.all(out[:, 1] == 0.0)
    assert out[:, 0] == pytest.approx(offset * _statsmodels_slope(y, x, offset), abs=1e-6)


def _binary_cohort(folder: Path) -> tuple[Path, Path, Path]:
    data = _cohort(seed=2026)
    rng = np.random.default_rng(7)
    liability, geno, sex = data["y"], data["geno"], data["x"][:, 1]
    n = liability.shape[0]
    y = np.empty_like(liability)
    for t in range(TRAITS):
        value = liability[:, t]
        if t >= 4:  # sparse: chromosome 1's planted variants, sex, noise
            value = 0.3 * sex + rng.standard_normal(n) * np.sqrt(0.85)
            for v in PLANTED:
                g = geno[v] - geno[v].mean()
                value = value + g / g.std() * np.sqrt(0.05)
        y[:, t] = (value > np.quantile(value, 0.78)).astype(np.float64)
    return _write({**data, "y": y}, folder)


def _lambdas(out: Path) -> tuple[float, float]:
    """lambda GC on null chromosome 10: (polygenic traits 0-3, sparse traits 4-7)."""
    chi2: list[np.ndarray] = []
    for t in range(TRAITS):
        frame = pl.read_csv(out / f"t{t}.tsv.gz", separator="\t", null_values="NA",
                            schema_overrides={"chromosome": pl.Utf8})  # fmt: skip
        assert (frame["test"] != "linear").all()
        p = frame.filter(pl.col("chromosome") == "10")["p_value"].to_numpy()
        assert len(p) == 4000
        chi2.append(stats.chi2.isf(p, 1))
    poly = np.median(np.concatenate(chi2[:4])) / MEDIAN_CHI2
    sparse = np.median(np.concatenate(chi2[4:])) / MEDIAN_CHI2
    return float(poly), float(sparse)


@pytest.mark.integration
@pytest.mark.slow
def test_loco_calibrates_binary_traits_on_families(tmp_path: Path) -> None:
    bfile, pheno, covar = _binary_cohort(tmp_path)
    common = ["--bfile", bfile, "--pheno", pheno, "--covar", covar, "--pcs", "0"]
    run_cli([*common, "--loco", "--out", tmp_path / "loco"])
    run_cli([*common, "--no-loco", "--out", tmp_path / "plain"])
    (poly, sparse), (poly0, sparse0) = _lambdas(tmp_path / "loco"), _lambdas(tmp_path / "plain")
    print(f"lambda GC, chromosome 10: polygenic {poly:.3f} with LOCO, {poly0:.3f} without; "
          f"sparse {sparse:.3f} with, {sparse0:.3f} without")  # fmt: skip
    assert poly0 > 1.05  # relatives share the polygenic background
    for with_loco, without in ((poly, poly0), (sparse, sparse0)):
        assert 0.98 <= with_loco <= 1.05
        assert abs(with_loco - 1.0) <= abs(without - 1.0) + 0.01
    for t in range(4, TRAITS):  # the planted variants still lead the sparse traits
        frame = pl.read_csv(tmp_path / "loco" / f"t{t}.tsv.gz", separator="\t",
                            null_values="NA", schema_overrides={"chromosome": pl.Utf8})  # fmt: skip
        top = frame.sort("p_value").head(len(PLANTED))
        planted = {("1", 1_000_000 + 10_000 * v) for v in PLANTED}
        assert set(zip(top["chromosome"], top["base_pair_location"], strict=True)) == planted
        assert (top["p_value"] < 5e-8).all()
