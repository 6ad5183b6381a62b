"""The binary-trait engine (score test, Firth, Wald) against hand-derived cases, a few lines
of independent NumPy/SciPy, and PLINK 2.

Hand-derived (a 2x2 table: intercept and a 0/1 genotype, no covariates):
- the score statistic is Pearson's chi-square n (ad - bc)^2 / ((a+b)(c+d)(a+c)(b+d));
- the plain logistic estimate is the log odds ratio log(ad / bc) with SE
  sqrt(1/a + 1/b + 1/c + 1/d) (Woolf);
- the model is saturated, so Firth's estimate is the log odds ratio with 1/2 added to every
  cell (Haldane-Anscombe), and its Fisher-information variance at that estimate is
  1 / (n1 p1 (1 - p1)) + 1 / (n0 p0 (1 - p0)) with p1 = (a + 1/2) / (a + c + 1),
  p0 = (b + 1/2) / (b + d + 1) (carriers n1 = a + c, non-carriers n0 = b + d).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from promise.gwas.engines.binary import BinaryOptions, Method, associate_bed, associate_genotypes
from promise.gwas.engines.nullmodel import BinaryTraitError, fit_null

# cases: a carriers, b non-carriers; controls: c carriers, d non-carriers
A, B, C, D = 30, 70, 20, 180


def _two_by_two(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.array([1.0] * a + [0.0] * b + [1.0] * c + [0.0] * d)
    y = np.array([1.0] * (a + b) + [0.0] * (c + d))[:, None]
    return g[None, :], y, np.ones((len(g), 1))


@pytest.mark.unit
def test_two_by_two_score_is_pearson_chi_square() -> None:
    g, y, x = _two_by_two(A, B, C, D)
    result = associate_genotypes(fit_null(y, x, ["y"]), g, BinaryOptions(firth_p=0))
    n = A + B + C + D
    pearson = n * (A * D - B * C) ** 2 / ((A + B) * (C + D) * (A + C) * (B + D))  # = 19.2
    assert pearson == pytest.approx(19.2)
    assert result.chi2[0, 0] == pytest.approx(pearson, rel=1e-10)
    assert result.p[0, 0] == pytest.approx(stats.chi2.sf(19.2, 1), rel=1e-10)
    assert result.method[0, 0] == Method.SCORE


@pytest.mark.unit
def test_two_by_two_wald_is_woolf() -> None:
    g, y, x = _two_by_two(A, B, C, D)
    result = associate_genotypes(fit_null(y, x, ["y"]), g, BinaryOptions(test="wald"))
    assert result.beta[0, 0] == pytest.approx(math.log(A * D / (B * C)), rel=1e-9)
    # the SE is that of the last iterate, one step (< 1e-6) from the estimate
    assert result.se[0, 0] == pytest.approx(math.sqrt(1 / A + 1 / B + 1 / C + 1 / D), rel=1e-7)
    assert result.method[0, 0] == Method.WALD and not result.failed[0, 0]


@pytest.mark.unit
@pytest.mark.parametrize("cells", [(A, B, C, D), (0, 70, 20, 180)])
def test_two_by_two_firth_adds_one_half(cells: tuple[int, int, int, int]) -> None:
    """Also with an empty cell (no carrier among cases): plain logistic separates there,
    Firth stays finite."""
    a, b, c, d = cells
    g, y, x = _two_by_two(a, b, c, d)
    null = fit_null(y, x, ["y"])
    result = associate_genotypes(null, g, BinaryOptions(firth_p=1, firth_pvalue="wald"))
    half = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    p1, p0 = (a + 0.5) / (a + c + 1), (b + 0.5) / (b + d + 1)
    variance = 1 / ((a + c) * p1 * (1 - p1)) + 1 / ((b + d) * p0 * (1 - p0))
    assert result.beta[0, 0] == pytest.approx(half, rel=1e-7)
    assert result.se[0, 0] == pytest.approx(math.sqrt(variance), rel=1e-7)
    assert result.p[0, 0] == pytest.approx(
        2 * stats.norm.sf(abs(half) / math.sqrt(variance)), rel=1e-6
    )
    assert result.method[0, 0] == Method.FIRTH
    # PLINK 2 >= v2.00a4's SE: H = X'(1 + h)VX, and a saturated model's hat value is
    # 1 / (group size) for every member, so each group's information grows by (n_g + 1) / n_g
    hessian = associate_genotypes(
        null, g, BinaryOptions(firth_p=1, firth_se="hessian", firth_pvalue="wald")
    )
    smaller = 1 / ((a + c + 1) * p1 * (1 - p1)) + 1 / ((b + d + 1) * p0 * (1 - p0))
    assert hessian.se[0, 0] == pytest.approx(math.sqrt(smaller), rel=1e-7)
    wald = associate_genotypes(null, g, BinaryOptions(test="wald"))
    assert wald.failed[0, 0] == (a == 0)
    assert np.isnan(wald.p[0, 0]) == (a == 0)


def _penalised(
    beta: np.ndarray, x: np.ndarray, y: np.ndarray, offset: float | np.ndarray = 0.0
) -> float:
    """Firth's penalised log-likelihood, written out (the independent reference)."""
    eta = offset + x @ beta
    loglik = -np.sum(np.logaddexp(0, np.where(y > 0, -eta, eta)))
    p = 1 / (1 + np.exp(-eta))
    return float(loglik + 0.5 * np.linalg.slogdet((x * (p * (1 - p))[:, None]).T @ x)[1])


def _reference_firth_lrt(
    g: np.ndarray, y: np.ndarray, x: np.ndarray, offset: float | np.ndarray = 0.0
) -> tuple[float, float]:
    """Firth beta and penalised-LRT chi2 by a general-purpose optimiser (BFGS)."""
    full = np.column_stack([x, g])
    fit1 = optimize.minimize(
        lambda b: -_penalised(b, full, y, offset),
        np.zeros(full.shape[1]),
        method="BFGS",
        options={"gtol": 1e-9},
    )
    fit0 = optimize.minimize(
        lambda b: -_penalised(np.r_[b, 0.0], full, y, offset),
        np.zeros(x.shape[1]),
        method="BFGS",
        options={"gtol": 1e-9},
    )
    return float(fit1.x[-1]), float(2 * (fit0.fun - fit1.fun))  # fmt: skip


@pytest.mark.unit
def test_firth_lrt_equals_general_optimiser() -> None:
    """Penalised LRT of rare and common variants, 2 covariates, 4% cases: beta and chi2 as
    a BFGS maximisation of the penalised likelihood gives them. The fourth variant is
    carried by two cases only (complete separation): the plain Newton iteration without
    step halving does not settle there, the careful retry does."""
    rng = np.random.default_rng(4)
    n = 600
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    g = rng.binomial(2, [[0.01], [0.03], [0.3], [0.0]], size=(4, n)).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-3.4 + 0.9 * g[1] + 0.4 * x[:, 1])))).astype(float)
    g[3, np.flatnonzero(y)[:2]] = 2.0
    result = associate_genotypes(fit_null(y[:, None], x, ["y"]), g, BinaryOptions(firth_p=1))
    assert not result.failed.any() and result.iterations[3, 0] > 25
    for j in range(4):
        beta, chi2 = _reference_firth_lrt(g[j], y, x)
        assert result.beta[j, 0] == pytest.approx(beta, rel=1e-5, abs=1e-6)
        assert result.chi2[j, 0] == pytest.approx(chi2, rel=1e-5, abs=1e-7)
        assert result.se[j, 0] == pytest.approx(abs(beta) / math.sqrt(chi2), rel=1e-4)
        assert result.p[j, 0] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-4)


def _numpy_score(g: np.ndarray, y: np.ndarray, x: np.ndarray) -> float:
    """Score chi2 of one variant: null fitted by a general optimiser, U and V written out."""
    fit0 = optimize.minimize(
        lambda b: float(np.sum(np.logaddexp(0, x @ b)) - y @ (x @ b)), np.zeros(x.shape[1]),
        jac=lambda b: x.T @ (1 / (1 + np.exp(-(x @ b))) - y), method="BFGS", options={"gtol": 1e-10},
    )  # fmt: skip
    mu = 1 / (1 + np.exp(-(x @ fit0.x)))
    w = mu * (1 - mu)
    u = g @ (y - mu)
    xwx = (x * w[:, None]).T @ x
    v = g @ (w * g) - (g * w) @ x @ np.linalg.solve(xwx, x.T @ (w * g))
    return float(u * u / v)


@pytest.mark.unit
def test_missing_calls_monomorphic_and_two_traits() -> None:
    """Missing calls are mean-imputed over the called samples, frequencies count only the
    called samples, a monomorphic and an all-missing variant give NaN (never a number),
    and two traits of one group equal each trait on its own."""
    rng = np.random.default_rng(9)
    n, m = 400, 30
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    geno = rng.binomial(2, rng.uniform(0.05, 0.5, (m, 1)), size=(m, n)).astype(float)
    geno[rng.random((m, n)) < 0.05] = np.nan
    geno[3] = 1.0  # every sample heterozygous: constant
    geno[4] = np.nan  # all missing
    geno[5, :] = 0.0
    geno[5, :10] = np.nan  # constant among the called samples
    y = (rng.random((n, 2)) < [0.1, 0.35]).astype(float)
    both = associate_genotypes(fit_null(y, x, ["a", "b"]), geno, BinaryOptions(firth_p=0))
    for t in range(2):
        alone = associate_genotypes(fit_null(y[:, [t]], x, ["a"]), geno, BinaryOptions(firth_p=0))
        np.testing.assert_allclose(both.chi2[:, t], alone.chi2[:, 0], rtol=1e-10)
    for j in (3, 4, 5):
        for field in (both.beta, both.se, both.p, both.chi2):
            assert np.isnan(field[j]).all()
        assert (both.method[j] == Method.NONE).all()
    assert np.isnan(both.a1_freq[4]) and both.n_obs[4] == 0 and both.n_obs[5] == n - 10
    called = ~np.isnan(geno)
    for j in (0, 1, 2, 10):
        imputed = np.where(called[j], geno[j], np.nanmean(geno[j]))
        assert both.chi2[j, 0] == pytest.approx(_numpy_score(imputed, y[:, 0], x), rel=1e-6)
        cases = called[j] & (y[:, 0] == 1)
        controls = called[j] & (y[:, 0] == 0)
        assert both.a1_freq_cases[j, 0] == pytest.approx(geno[j, cases].mean() / 2, rel=1e-12)
        assert both.a1_freq_controls[j, 0] == pytest.approx(geno[j, controls].mean() / 2, rel=1e-12)
        assert both.a1_freq[j] == pytest.approx(np.nanmean(geno[j]) / 2, rel=1e-12)
        assert both.n_obs[j] == called[j].sum()
    wald = associate_genotypes(fit_null(y, x, ["a", "b"]), geno, BinaryOptions(test="wald"))
    assert np.isnan(wald.p[[3, 4, 5]]).all() and not wald.failed[[3, 4, 5]].any()


def _write_bed(prefix: Path, geno: np.ndarray) -> None:
    """PLINK 1 files from a variants x samples matrix of A1 counts (NaN = missing)."""
    m, n = geno.shape
    ids = [f"S{i:04d}" for i in range(n)]
    Path(f"{prefix}.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    Path(f"{prefix}.bim").write_text(
        "".join(f"1\tv{j}\t0\t{1000 + 10 * j}\tA\tG\n" for j in range(m))
    )
    code = np.where(np.isnan(geno), 1, np.choose(np.nan_to_num(geno).astype(int), [3, 2, 0]))
    per = (n + 3) // 4
    padded = np.full((m, 4 * per), 3, dtype=np.uint8)  # padding reads as "no A1"
    padded[:, :n] = code
    quads = padded.reshape(m, per, 4)
    packed = quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6
    Path(f"{prefix}.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + packed.astype(np.uint8).tobytes())


@pytest.mark.unit
def test_bed_equals_float_genotypes_with_subset_and_threads(tmp_path: Path) -> None:
    """The .bed path (2-bit decoding, missing calls, a reordered subset of the .fam samples,
    two threads, blocks smaller than the file) gives the float path's numbers, and reports
    progress block by block."""
    rng = np.random.default_rng(12)
    n, m = 301, 90
    geno = rng.binomial(2, rng.uniform(0.02, 0.5, (m, 1)), size=(m, n)).astype(float)
    geno[rng.random((m, n)) < 0.03] = np.nan
    _write_bed(tmp_path / "d", geno)
    cols = rng.permutation(n)[:250]
    x = np.column_stack([np.ones(250), rng.normal(size=250)])
    y = (rng.random((250, 2)) < [0.08, 0.3]).astype(float)
    null = fit_null(y, x, ["a", "b"])
    options = BinaryOptions(firth_p=0.2, block=32, threads=2)
    seen: list[int] = []
    bed = associate_bed(
        tmp_path / "d", null, n_fam=n, n_variants=m, sample_cols=cols, options=options,
        progress=seen.append,
    )  # fmt: skip
    assert sum(seen) == m and len(seen) == 3  # blocks of 32: 32 + 32 + 26
    ref = associate_genotypes(null, geno[:, cols], BinaryOptions(firth_p=0.2, threads=1))
    assert (bed.method == Method.FIRTH).sum() > 5
    for field in ("beta", "se", "p", "chi2", "a1_freq", "a1_freq_cases", "a1_freq_controls"):
        np.testing.assert_allclose(getattr(bed, field), getattr(ref, field), rtol=1e-9, atol=1e-12)
    for field in ("method", "failed", "n_obs"):
        np.testing.assert_array_equal(getattr(bed, field), getattr(ref, field))


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("y", "x", "message"),
    [
        ([[1.0], [2.0], [1.0]], [[1.0], [1.0], [1.0]], "Trait y is not coded 0/1"),
        ([[0.0], [0.0], [0.0]], [[1.0], [1.0], [1.0]], "Trait y has no cases"),
        ([[1.0], [0.0], [1.0]], [[0.3], [1.0], [2.0]], "must include the intercept"),
        ([[1.0], [0.0], [1.0]], [[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], "collinear"),
        (
            [[1.0], [0.0], [1.0], [0.0]],
            [[1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 0.0]],
            "separate",
        ),
        ([[1.0], [0.0], [math.nan]], [[1.0], [1.0], [1.0]], "Trait y is not coded 0/1"),
        ([[1.0], [0.0], [1.0]], [[1.0, 0.2], [1.0, math.nan], [1.0, 0.1]], "missing or infinite"),
    ],
)
def test_bad_traits_are_refused_in_one_sentence(y: list, x: list, message: str) -> None:
    with pytest.raises(BinaryTraitError, match=message) as caught:
        fit_null(np.array(y), np.array(x), ["y"])
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")


# --- against PLINK 2 ------------------------------------------------------------------------


def _plink2() -> str:
    path = shutil.which("plink2")
    if path is None:
        message = "plink2 is not installed: run scripts/ensure-plink2.sh (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def plink_case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """3,000 samples x 800 variants (A1 frequency 0.3% to 50%, no missing calls), 2
    covariates, 4 traits of prevalence 1%, 5%, 15% and 30% with causal variants; PLINK 2's
    ``--glm firth`` and ``--glm no-firth`` results for each trait."""
    plink2 = _plink2()
    out = tmp_path_factory.mktemp("plink")
    rng = np.random.default_rng(2024)
    n, m = 3000, 800
    geno = rng.binomial(2, rng.uniform(0.003, 0.5, (m, 1)), size=(m, n)).astype(float)
    _write_bed(out / "d", geno)
    covar = rng.normal(size=(n, 2))
    names, columns = [], []
    for t, prevalence in enumerate((0.01, 0.05, 0.15, 0.30)):
        causal = geno[8 * t : 8 * t + 8]
        effect = 1.0 if prevalence < 0.05 else 0.5  # the rarest trait needs more to reach p < 1e-6
        score = (
            effect * (causal - causal.mean(axis=1, keepdims=True)).sum(axis=0) + 0.4 * covar[:, 0]
        )
        score += rng.logistic(size=n)
        names.append(f"P{t}")
        columns.append(score > np.quantile(score, 1 - prevalence))
    y = np.column_stack(columns).astype(float)
    ids = [f"S{i:04d}" for i in range(n)]
    (out / "pheno.txt").write_text(
        "FID IID " + " ".join(names) + "\n"
        + "".join(f"{s} {s} " + " ".join(str(int(v) + 1) for v in row) + "\n" for s, row in zip(ids, y, strict=True))
    )  # fmt: skip
    (out / "covar.txt").write_text(
        "FID IID C1 C2\n"
        + "".join(f"{s} {s} {a:.17g} {b:.17g}\n" for s, (a, b) in zip(ids, covar, strict=True))
    )
    plink: dict[str, dict[str, pd.DataFrame]] = {"firth": {}, "no-firth": {}}
    for mode in plink:
        subprocess.run(
            [plink2, "--bfile", out / "d", "--pheno", out / "pheno.txt", "--covar", out / "covar.txt",
             "--glm", mode, "hide-covar", "--threads", "1", "--memory", "1000", "--out", out / mode],
            check=True, capture_output=True,
        )  # fmt: skip
        for name in names:
            ext = "firth" if mode == "firth" else "logistic"
            table = pd.read_csv(out / f"{mode}.{name}.glm.{ext}", sep="\t", na_values=["NA"])
            sign = np.where(table.A1 == "A", 1.0, -1.0)  # PLINK 2 may test the other allele
            table["beta"] = np.log(table.OR) * sign
            plink[mode][name] = table
    null = fit_null(y, np.column_stack([np.ones(n), covar]), names)
    return {"prefix": out / "d", "n": n, "m": m, "null": null, "plink": plink, "names": names}


def _run(case: dict, options: BinaryOptions) -> object:
    return associate_bed(case["prefix"], case["null"], n_fam=case["n"], n_variants=case["m"], sample_cols=None, options=options)  # fmt: skip


@pytest.mark.integration
def test_firth_equals_plink2_glm_firth(plink_case: dict) -> None:
    """Every pair where the engine applied Firth (score p < 0.05 or undefined): beta and SE
    within relative 1e-3 and p within relative 1e-2 of ``plink2 --glm firth`` (p as PLINK
    2 computes it: Wald on the penalised estimate)."""
    result = _run(plink_case, BinaryOptions(firth_pvalue="wald"))
    applied_total, separated, worst = 0, 0, dict.fromkeys(("beta", "LOG(OR)_SE", "P"), 0.0)
    for t, name in enumerate(plink_case["names"]):
        theirs = plink_case["plink"]["firth"][name]
        applied = result.method[:, t] == Method.FIRTH  # type: ignore[attr-defined]
        assert not result.failed[applied, t].any()  # type: ignore[attr-defined]
        assert theirs.P[applied].notna().all()
        applied_total += applied.sum()
        separated += (applied & plink_case["plink"]["no-firth"][name].P.isna()).sum()
        for ours, field, rel in ((result.beta, "beta", 1e-3), (result.se, "LOG(OR)_SE", 1e-3), (result.p, "P", 1e-2)):  # type: ignore[attr-defined]  # fmt: skip
            expected = theirs[field][applied].to_numpy()
            worst[field] = max(worst[field], float(np.max(np.abs(ours[applied, t] / expected - 1))))
            np.testing.assert_allclose(
                ours[applied, t], expected, rtol=rel, err_msg=f"{name} {field}"
            )
    print(f"Firth applied to {applied_total} of {result.p.size} pairs ({separated} where plain "  # type: ignore[attr-defined]
          f"logistic separates); largest relative differences {worst}")  # fmt: skip
    assert applied_total > 100 and separated > 0


@pytest.mark.integration
def test_default_p_agrees_with_plink2_logistic(plink_case: dict) -> None:
    """Default engine (score test, Firth penalised-LRT p below 0.05) against plain
    ``plink2 --glm`` over all variants: Spearman of -log10 p >= 0.99, and no variant with
    PLINK 2 p < 1e-6 above 1e-5 here."""
    result = _run(plink_case, BinaryOptions())
    strong_total = 0
    for t, name in enumerate(plink_case["names"]):
        theirs = plink_case["plink"]["no-firth"][name]
        ours = result.p[:, t]  # type: ignore[attr-defined]
        assert np.isfinite(ours).all()  # no monomorphic variant here, no failed fit
        both = theirs.P.notna().to_numpy()  # PLINK 2 gives NA where logistic separates
        rho = stats.spearmanr(-np.log10(ours[both]), -np.log10(theirs.P[both])).statistic
        strong = theirs.P.to_numpy() < 1e-6
        largest = ours[strong].max() if strong.any() else math.nan
        print(
            f"{name}: cases {result.cases[t]}, Spearman {rho:.4f}, PLINK 2 NA {(~both).sum()}, PLINK 2 p < 1e-6: {strong.sum()}, largest p of ours there {largest:.2g}"
        )  # type: ignore[attr-defined]
        assert rho >= 0.99, (name, rho)
        assert (ours[strong] <= 1e-5).all(), (name, ours[strong])
        strong_total += strong.sum()
        firth = result.method[:, t] == Method.FIRTH  # type: ignore[attr-defined]
        ratio = ours[firth] / plink_case["plink"]["firth"][name].P[firth]
        print(
            f"   penalised-LRT p / PLINK 2 Firth Wald p where Firth applied: {ratio.min():.3f} to {ratio.max():.3f}"
        )
    assert strong_total >= 10


@pytest.mark.integration
def test_firth_everywhere_equals_plink2(plink_case: dict) -> None:
    """Firth on every pair (``firth_p=1``), rare variants and separations included: SE to
    relative 1e-3, p to relative 1e-2, beta to relative 1e-3 or, for betas near 0, within
    2e-3 SE (PLINK 2 v2.00a3 fits in single precision to a 1e-4 step)."""
    result = _run(plink_case, BinaryOptions(firth_p=1, firth_pvalue="wald"))
    for t, name in enumerate(plink_case["names"]):
        theirs = plink_case["plink"]["firth"][name]
        ok = theirs.P.notna().to_numpy()
        assert ok.mean() > 0.99 and not result.failed[ok, t].any()  # type: ignore[attr-defined]
        beta, se, p = (v[ok, t] for v in (result.beta, result.se, result.p))  # type: ignore[attr-defined]
        np.testing.assert_allclose(se, theirs["LOG(OR)_SE"][ok], rtol=1e-3, err_msg=name)
        np.testing.assert_allclose(p, theirs.P[ok], rtol=1e-2, err_msg=name)
        assert (np.abs(beta - theirs.beta[ok]) <= 1e-3 * np.abs(theirs.beta[ok]) + 2e-3 * se).all()


@pytest.mark.unit
def test_genotype_equal_to_a_covariate_is_flagged_not_numbered() -> None:
    """A variant that is a covariate (here the sex column, as a 0/1 genotype): its score
    variance is 0, so the score test is undefined and Firth is tried, which cannot separate
    the two collinear columns either: NaN and the failure flag, never a number."""
    rng = np.random.default_rng(21)
    n = 300
    sex = rng.integers(0, 2, n).astype(float)
    x = np.column_stack([np.ones(n), sex])
    y = (rng.random((n, 1)) < 0.3).astype(float)
    geno = np.vstack([sex, rng.binomial(2, 0.3, n)]).astype(float)
    result = associate_genotypes(fit_null(y, x, ["y"]), geno, BinaryOptions())
    assert result.method[0, 0] == Method.FIRTH and result.failed[0, 0]
    assert np.isnan([result.beta[0, 0], result.se[0, 0], result.p[0, 0]]).all()
    assert not result.failed[1, 0] and np.isfinite(result.p[1, 0])


@pytest.mark.unit
def test_offset_score_and_firth_against_references() -> None:
    """A LOCO-like offset in the linear predictor: an offset that is a combination of the
    covariates changes nothing (the coefficients absorb it); a general one gives the score
    statistics of ``locobinary``'s NumPy null fit and score (written separately, for
    regenie's step 2) and the Firth LRT of a BFGS maximisation with that offset."""
    from promise.gwas.engines.locobinary import fit_offset_null, score_block

    rng = np.random.default_rng(31)
    n = 500
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    g = rng.binomial(2, [[0.02], [0.2], [0.4]], size=(3, n)).astype(float)
    loco = 0.6 * rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + loco + 0.7 * g[0])))).astype(float)
    options = BinaryOptions(firth_p=1)
    plain = associate_genotypes(fit_null(y[:, None], x, ["y"]), g, options)
    absorbed = associate_genotypes(
        fit_null(y[:, None], x, ["y"], offset=(x @ [0.5, -0.3])[:, None]), g, options
    )
    np.testing.assert_allclose(absorbed.chi2, plain.chi2, rtol=1e-7)
    np.testing.assert_allclose(absorbed.beta, plain.beta, rtol=1e-7)
    with_offset = fit_null(y[:, None], x, ["y"], offset=loco[:, None])
    score = associate_genotypes(with_offset, g, BinaryOptions(firth_p=0))
    reference = fit_offset_null(y, x, loco)
    assert reference is not None
    u, v = score_block(g - g.mean(axis=1, keepdims=True), y, reference)
    np.testing.assert_allclose(score.chi2[:, 0], u * u / v, rtol=1e-7)
    firth = associate_genotypes(with_offset, g, options)
    for j in range(3):
        beta, chi2 = _reference_firth_lrt(g[j], y, x, loco)
        assert firth.beta[j, 0] == pytest.approx(beta, rel=1e-5, abs=1e-6)
        assert firth.chi2[j, 0] == pytest.approx(chi2, rel=1e-5, abs=1e-7)
    assert np.abs(firth.chi2 - plain.chi2).max() > 1e-3  # the offset did change the fits
