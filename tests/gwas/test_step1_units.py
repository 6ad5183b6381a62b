"""Step 1's kernels against brute force: every ridge fit redone by refitting without the
held-out samples (NumPy's solver on the normal equations, SciPy's optimiser for the
penalised logistic), the block plan and shrinkage values derived by hand from regenie's
rules, and the ways step 1 refuses input or gives up on a trait."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from promise.gwas.engines import blockridge, logisticstack, ridgestack
from promise.gwas.engines.blockridge import Step1Error
from promise.gwas.engines.kinshipcalibration import relatedness_factor
from promise.gwas.engines.locobinary import fit_offset_null, score_block
from promise.gwas.engines.step1 import (
    Step1Options,
    adjust_quantitative,
    fit_step1_bed,
    fit_step1_genotypes,
)
from promise.gwas.engines.step1data import plan_blocks, scaled_residuals
from promise.gwas.inputs import GenotypeInputError

pytestmark = pytest.mark.unit

RNG = np.random.default_rng(11)


def _standardise(pred: np.ndarray) -> np.ndarray:
    centred = pred - pred.mean(axis=0)
    return centred / centred.std(axis=0, ddof=1)


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    return np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)


def test_shrinkage_and_folds_follow_regenie() -> None:
    """lambda = M (1 - h2) / h2; folds of floor(n / K) samples, the last taking the rest."""
    np.testing.assert_allclose(
        blockridge.shrinkage(blockridge.H2_GRID, 1000), [99000, 3000, 1000, 1000 / 3, 1000 / 99]
    )
    assert blockridge.fold_slices(53, 5) == [
        slice(0, 10),
        slice(10, 20),
        slice(20, 30),
        slice(30, 40),
        slice(40, 53),
    ]
    with pytest.raises(Step1Error, match="cannot be split"):
        blockridge.fold_slices(4, 5)
    with pytest.raises(Step1Error, match="strictly between 0 and 1"):
        blockridge.shrinkage((0.5, 1.0), 10)


def test_fold_indices_file_order_or_permuted() -> None:
    """'file' is regenie's contiguous runs; 'shuffled' the same sizes over a fixed
    permutation, every sample in exactly one fold, the same folds on every call."""
    file = blockridge.fold_indices(53, 5, "file")
    assert [f.tolist() for f in file] == [
        list(range(s.start, s.stop)) for s in blockridge.fold_slices(53, 5)
    ]
    shuffled = blockridge.fold_indices(53, 5)
    assert [len(f) for f in shuffled] == [10, 10, 10, 10, 13]
    assert sorted(np.concatenate(shuffled).tolist()) == list(range(53))
    assert any(f.tolist() != g.tolist() for f, g in zip(shuffled, file, strict=True))
    assert all(
        (f == g).all() for f, g in zip(shuffled, blockridge.fold_indices(53, 5), strict=True)
    )


def test_relatedness_factor_by_hand() -> None:
    """r = (1, 1, -1, 0), samples 0 and 1 full siblings (phi 1/4): r'Phi r = 3 + 2 (1/2) = 4,
    r'r = 3, factor 4/3; a second trait r = (1, -1, 0, 0): (2 - 1) / 2 = 1/2."""
    r = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        relatedness_factor(r, np.array([0]), np.array([1]), np.array([0.25])), [4 / 3, 0.5]
    )
    with pytest.raises(ValueError, match="two different samples"):
        relatedness_factor(r, np.array([2]), np.array([2]), np.array([0.25]))


def test_block_plan_cuts_each_chromosome_run() -> None:
    """250 variants on chromosome 1 and 120 on 2, blocks of 100, variants 5 and 260 left
    out: 1 -> 100, 100, 49; 2 -> 100, 19 (regenie's get_block_size, last block the rest)."""
    chroms = ["1"] * 250 + ["2"] * 120
    keep = np.ones(370, dtype=bool)
    keep[[5, 260]] = False
    names, blocks = plan_blocks(chroms, keep, 100)
    assert names == ["1", "2"]
    assert [(b.group, len(b.variants)) for b in blocks] == [
        (0, 100),
        (0, 100),
        (0, 49),
        (1, 100),
        (1, 19),
    ]
    assert (
        5 not in blocks[0].variants
        and blocks[3].variants[0] == 250
        and 260 not in blocks[3].variants
    )


def test_level0_kfold_equals_refits() -> None:
    g = RNG.standard_normal((7, 53))
    y = RNG.standard_normal((53, 2))
    folds = blockridge.fold_slices(53, 5)
    lambdas = np.array([300.0, 20.0, 0.5])
    ours = blockridge.level0_kfold(g, y, folds, lambdas)  # T x n x R
    for t in range(2):
        expected = np.empty((53, 3))
        for f in folds:
            rest = np.setdiff1d(np.arange(53), np.arange(53)[f])
            for r, lam in enumerate(lambdas):
                expected[f, r] = g[:, f].T @ _ridge(g[:, rest].T, y[rest, t], lam)
        np.testing.assert_allclose(ours[t], _standardise(expected), rtol=1e-9, atol=1e-10)


def test_level0_kfold_on_projected_counts_equals_refits() -> None:
    """The scaled-late path (counts with a missing call and a constant SNP, covariates
    projected out, the scale applied to the Gram matrix instead of the genotypes) gives the
    refits on genotypes standardised by hand: mean-imputed, covariates regressed out by
    least squares, scaled to norm sqrt(n - k); the constant SNP is reported and left out."""
    n = 60
    counts = RNG.binomial(2, 0.3, (6, n)).astype(float)
    counts[4] = 1.0  # constant: nothing left once the intercept is out
    missing = np.zeros_like(counts, dtype=bool)
    missing[1, [3, 17]] = True
    counts[1, [3, 17]] = 7.0  # any value at a missing call
    covariates = np.column_stack([np.ones(n), RNG.standard_normal(n)])
    basis, _ = np.linalg.qr(covariates)
    y = RNG.standard_normal((n, 2))
    folds = blockridge.fold_slices(n, 5)
    lambdas = np.array([400.0, 30.0, 2.0])
    g = blockridge.projected_genotypes(counts, missing, basis)
    ours, varying = blockridge.level0_kfold_projected(g, y, folds, lambdas, 2)
    assert varying.tolist() == [True, True, True, True, False, True]
    imputed = counts.copy()
    imputed[1, [3, 17]] = np.delete(counts[1], [3, 17]).mean()
    fit = np.linalg.lstsq(covariates, imputed[varying].T, rcond=None)[0]
    resid = imputed[varying] - (covariates @ fit).T
    std = resid / np.linalg.norm(resid, axis=1, keepdims=True) * np.sqrt(n - 2)
    for t in range(2):
        expected = np.empty((n, 3))
        for f in folds:
            rest = np.setdiff1d(np.arange(n), np.arange(n)[f])
            for r, lam in enumerate(lambdas):
                expected[f, r] = std[:, f].T @ _ridge(std[:, rest].T, y[rest, t], lam)
        np.testing.assert_allclose(ours[t], _standardise(expected), rtol=1e-8, atol=1e-9)


def test_multishift_conjugate_gradients_match_each_solve() -> None:
    """One Krylov run for all shifts, in an order that is not sorted: each column of each
    shift is the solution of its own system (float64, to 1e-8)."""
    g = RNG.standard_normal((30, 200))
    a = g @ g.T
    b = RNG.standard_normal((30, 4))
    lambdas = np.array([900.0, 60000.0, 300.0, 5000.0])
    x, ok = blockridge.conjugate_gradients(a, lambdas, b)
    assert ok.all()
    for r, lam in enumerate(lambdas):
        np.testing.assert_allclose(x[:, r], np.linalg.solve(a + lam * np.eye(30), b), rtol=1e-8)


def test_conjugate_gradients_solve_or_give_way_to_cholesky() -> None:
    """Large shrinkage: the solution of (A + lambda I) x = b to 1e-10; a tiny one on an A
    whose 40 eigenvalues spread from 1e-3 to 1e4 does not converge in the allowed
    iterations and returns None."""
    g = RNG.standard_normal((40, 200))
    a = g @ g.T
    b = RNG.standard_normal((40, 3))
    x, ok = blockridge.conjugate_gradients(a, np.array([5000.0, 800.0]), b)
    assert ok.all()
    np.testing.assert_allclose(x[:, 0], np.linalg.solve(a + 5000.0 * np.eye(40), b), rtol=1e-8)
    np.testing.assert_allclose(x[:, 1], np.linalg.solve(a + 800.0 * np.eye(40), b), rtol=1e-8)
    q, _ = np.linalg.qr(RNG.standard_normal((40, 40)))
    spread = (q * np.logspace(-3, 4, 40)) @ q.T
    _, ok = blockridge.conjugate_gradients(spread, np.array([1e5, 1e-3]), b)
    assert ok.tolist() == [True, False]


def test_level0_loo_equals_refits() -> None:
    g = RNG.standard_normal((6, 30))
    y = RNG.standard_normal((30, 1))
    lambdas = np.array([50.0, 2.0])
    ours = blockridge.level0_loo(g, y, lambdas)
    expected = np.empty((30, 2))
    for j in range(30):
        rest = np.arange(30) != j
        for r, lam in enumerate(lambdas):
            expected[j, r] = g[:, j] @ _ridge(g[:, rest].T, y[rest, 0], lam)
    np.testing.assert_allclose(ours[0], _standardise(expected), rtol=1e-9, atol=1e-10)


def test_standardised_genotypes_mean_impute_and_drop_constants() -> None:
    """A missing call takes the mean of the called (2, 0, 1 -> 1); a variant constant once
    the covariates are out is left out."""
    counts = np.array([[2.0, 0.0, 1.0, 9.0], [1.0, 1.0, 1.0, 1.0]])
    missing = np.array([[False, False, False, True], [False, False, False, False]])
    basis = np.full((4, 1), 0.5)  # the intercept, orthonormal
    g, kept = blockridge.standardize_genotypes(counts, missing, basis)
    assert kept.tolist() == [True, False]
    np.testing.assert_allclose(g[0], np.array([1.0, -1.0, 0.0, 0.0]) * np.sqrt(3 / 2))


def _level1_inputs(n: int = 60, p: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = RNG.standard_normal((n, p))
    y = x[:, :3].sum(axis=1) * 0.3 + RNG.standard_normal(n)
    indicator = ridgestack.group_matrix(np.array([0, 0, 0, 1, 1, 2, 2, 2]), 3)
    return x, y, indicator


def test_level1_linear_kfold_equals_refits() -> None:
    """Per tau, MSE of out-of-fold predictions; LOCO = prediction without a chromosome's
    columns, coefficients of the fold's own fit."""
    x, y, indicator = _level1_inputs()
    taus = np.array([40.0, 4.0, 0.4])
    folds = blockridge.fold_slices(60, 5)
    fit = ridgestack.stack_linear_kfold(x, y, folds, taus, indicator)
    pred = np.empty((3, 60))
    betas = []
    for f in folds:
        rest = np.setdiff1d(np.arange(60), np.arange(60)[f])
        b = np.column_stack([_ridge(x[rest], y[rest], tau) for tau in taus])
        pred[:, f] = (x[f] @ b).T
        betas.append(b)
    np.testing.assert_allclose(fit.loss, ((pred - y) ** 2).mean(axis=1), rtol=1e-10)
    assert fit.best == int(np.argmin(fit.loss))
    for f, b in zip(folds, betas, strict=True):
        coef = b[:, fit.best]
        for c, cols in enumerate([[0, 1, 2], [3, 4], [5, 6, 7]]):
            others = np.setdiff1d(np.arange(8), cols)
            np.testing.assert_allclose(
                fit.loco[c, f], x[f][:, others] @ coef[others], rtol=1e-9, atol=1e-12
            )
        np.testing.assert_allclose(fit.total[f], x[f] @ coef, rtol=1e-9, atol=1e-12)


def test_level1_linear_loo_equals_refits() -> None:
    x, y, indicator = _level1_inputs(n=25)
    taus = np.array([10.0, 1.0])
    fit = ridgestack.stack_linear_loo(x, y, taus, indicator)
    coefs = np.empty((2, 25, 8))
    for j in range(25):
        rest = np.arange(25) != j
        for r, tau in enumerate(taus):
            coefs[r, j] = _ridge(x[rest], y[rest], tau)
    pred = np.einsum("rjp,jp->rj", coefs, x)
    np.testing.assert_allclose(fit.loss, ((pred - y) ** 2).mean(axis=1), rtol=1e-9)
    chosen = coefs[fit.best]
    np.testing.assert_allclose(
        fit.loco[1],
        (x[:, [0, 1, 2, 5, 6, 7]] * chosen[:, [0, 1, 2, 5, 6, 7]]).sum(axis=1),
        rtol=1e-9,
        atol=1e-12,
    )


def _penalised_fit(x: np.ndarray, y: np.ndarray, offset: np.ndarray, tau: float) -> np.ndarray:
    """argmin of the deviance + tau |b|^2 by SciPy's BFGS (regenie's objective, -2 f(b))."""

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = offset + x @ b
        p = 1.0 / (1.0 + np.exp(-eta))
        value = -2.0 * float((y * eta - np.logaddexp(0.0, eta)).sum()) + tau * float(b @ b)
        return value, -2.0 * (x.T @ (y - p)) + 2.0 * tau * b

    return optimize.minimize(
        objective, np.zeros(x.shape[1]), jac=True, method="BFGS", options={"gtol": 1e-10}
    ).x


def test_level1_logistic_kfold_equals_optimiser() -> None:
    x, latent, indicator = _level1_inputs(n=80)
    y = (latent + RNG.standard_normal(80) > 0.3).astype(float)
    offset = RNG.normal(0, 0.3, 80)
    taus = np.array([30.0, 3.0])
    folds = blockridge.fold_slices(80, 4)
    fit = logisticstack.stack_logistic_kfold(x, y, offset, folds, taus, indicator)
    assert fit.converged
    loss = np.zeros(2)
    for f in folds:
        rest = np.setdiff1d(np.arange(80), np.arange(80)[f])
        for r, tau in enumerate(taus):
            b = _penalised_fit(x[rest], y[rest], offset[rest], tau)
            p = np.clip(1.0 / (1.0 + np.exp(-(offset[f] + x[f] @ b))), 1e-5, 1 - 1e-5)
            loss[r] -= (y[f] * np.log(p) + (1 - y[f]) * np.log(1 - p)).sum()
            if r == fit.best:
                np.testing.assert_allclose(fit.total[f], x[f] @ b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fit.loss, loss / 80, rtol=1e-5)


def test_level1_logistic_loo_close_to_refits() -> None:
    """regenie's one-step downdate approximates each leave-one-out refit."""
    x, latent, indicator = _level1_inputs(n=120)
    y = (latent + RNG.standard_normal(120) > 0).astype(float)
    offset = np.zeros(120)
    fit = logisticstack.stack_logistic_loo(x, y, offset, np.array([20.0]), indicator)
    full = _penalised_fit(x, y, offset, 20.0)
    for j in (0, 7, 50):
        rest = np.arange(120) != j
        b = _penalised_fit(x[rest], y[rest], offset[rest], 20.0)
        assert abs(fit.total[j] - x[j] @ b) < 0.02 * abs(x[j] @ (b - full)) + 1e-3


def test_offset_null_and_score_test_with_offset() -> None:
    """The null fit with an offset maximises the likelihood (SciPy), and U, V are the score
    and its variance with the covariates projected out in the W metric (explicit matrices)."""
    n = 200
    x = np.column_stack([np.ones(n), RNG.standard_normal(n)])
    offset = RNG.normal(0, 0.5, n)
    y = (RNG.random(n) < 1 / (1 + np.exp(-(offset + 0.4 * x[:, 1] - 0.5)))).astype(float)
    null = fit_offset_null(y, x, offset)
    assert null is not None
    b = _penalised_fit(x, y, offset, 0.0)
    np.testing.assert_allclose(null.mu, 1 / (1 + np.exp(-(offset + x @ b))), rtol=1e-6)
    g = RNG.binomial(2, 0.3, (3, n)).astype(float)
    u, v = score_block(g - g.mean(axis=1, keepdims=True), y, null)
    w = np.diag(null.weights)
    project = np.eye(n) - x @ np.linalg.solve(x.T @ w @ x, x.T @ w)
    np.testing.assert_allclose(u, g @ (y - null.mu), rtol=1e-8)
    np.testing.assert_allclose(
        v, np.einsum("ij,jk,ik->i", g @ project.T, w, g @ project.T), rtol=1e-8
    )


def test_quantitative_offset_gives_the_regression_with_covariates() -> None:
    """g' adjust(y) / g~'g~ is the coefficient of g in the least-squares fit of
    y - offset on the covariates and g."""
    n = 100
    x = np.column_stack([np.ones(n), RNG.standard_normal(n)])
    q, _ = np.linalg.qr(x)
    y = RNG.standard_normal(n)
    offset = RNG.standard_normal(n)
    g = RNG.binomial(2, 0.4, n).astype(float)
    adjusted = adjust_quantitative(y - q @ (q.T @ y), offset, q)
    g_tilde = g - q @ (q.T @ g)
    expected = np.linalg.lstsq(np.column_stack([x, g]), y - offset, rcond=None)[0][-1]
    assert g @ adjusted / (g_tilde @ g_tilde) == pytest.approx(expected, rel=1e-10)


def _small_cohort(n: int = 120, m: int = 60) -> tuple[np.ndarray, np.ndarray, list[str]]:
    geno = RNG.binomial(2, 0.3, (m, n)).astype(float)
    x = np.column_stack([np.ones(n), RNG.standard_normal(n)])
    return geno, x, ["1"] * (m // 2) + ["2"] * (m - m // 2)


def test_shuffled_folds_return_results_in_the_callers_order() -> None:
    """Shuffled folds are the file-order folds of the permuted samples: fitting the permuted
    cohort with file-order folds and putting the rows back gives the same LOCO predictions;
    single precision (level 0's default) agrees with double to 1e-4 of their spread."""
    geno, x, chroms = _small_cohort()
    y = RNG.standard_normal((120, 2))
    common = {"names": ["a", "b"], "binary": False, "chromosomes": chroms}
    double = Step1Options(block=10, precision="double")
    shuffled = fit_step1_genotypes(geno, y=y, covariates=x, options=double, **common)  # type: ignore[arg-type]
    order = np.concatenate(blockridge.fold_indices(120, 5))
    permuted = fit_step1_genotypes(
        geno[:, order],
        y=y[order],
        covariates=x[order],
        options=Step1Options(block=10, fold_order="file", precision="double"),
        **common,  # type: ignore[arg-type]
    )
    np.testing.assert_allclose(
        shuffled.offset("2")[order], permuted.offset("2"), rtol=1e-8, atol=1e-12
    )
    np.testing.assert_allclose(shuffled.total[order], permuted.total, rtol=1e-8, atol=1e-12)
    single = fit_step1_genotypes(geno, y=y, covariates=x, options=Step1Options(block=10), **common)  # type: ignore[arg-type]
    spread = shuffled.total.std(axis=0)
    assert (np.abs(single.total - shuffled.total).max(axis=0) < 1e-4 * spread).all()


def test_trait_that_does_not_converge_is_named_and_left_without_loco() -> None:
    """A covariate that separates cases from controls: the trait's null model (the offset of
    level 1) has no estimate, so step 1 gives up on it, says so in one sentence, and its
    LOCO predictions are zero; the other trait is fitted."""
    geno, x, chroms = _small_cohort()
    separated = (x[:, 1] > 0).astype(float)
    ordinary = (RNG.random(120) < 0.4).astype(float)
    result = fit_step1_genotypes(
        geno,
        y=np.column_stack([separated, ordinary]),
        covariates=x,
        names=["sep", "ok"],
        binary=True,
        chromosomes=chroms,
        options=Step1Options(block=10),
    )
    assert result.converged.tolist() == [False, True]
    assert result.not_converged == ("sep",)
    assert result.messages() == [
        "Whole-genome regression (step 1) did not converge for trait sep; it is tested without LOCO predictions."
    ]
    assert (
        not result.offset("1")[:, 0].any()
        and np.isnan(result.h2[0])
        and result.h2[1] in blockridge.H2_GRID
    )
    assert result.offset("1")[:, 1].any()


def test_level1_breakdown_counts_as_not_converged() -> None:
    """Level 0 predictors that are not finite (or a system that cannot be solved) leave the
    trait unfitted, flagged, with zero LOCO predictions, rather than raising or passing on
    NaN."""
    from promise.gwas.engines.step1 import _level1

    x, y, indicator = _level1_inputs()
    x[3, 2] = np.inf
    fit = _level1(
        x, y[:, None], y[:, None], 0, None, blockridge.fold_slices(60, 5), Step1Options(), indicator
    )
    assert not fit.converged and not fit.loco.any() and np.isnan(fit.loss).all()


def test_bad_inputs_are_refused_in_one_sentence(tmp_path: Path) -> None:
    geno, x, chroms = _small_cohort()
    y = RNG.standard_normal((120, 1))
    common = {"covariates": x, "names": ["q"], "binary": False, "chromosomes": chroms}
    bad_y = y.copy()
    bad_y[3] = np.nan
    with pytest.raises(Step1Error, match="complete samples x traits"):
        fit_step1_genotypes(geno, y=bad_y, **common)  # type: ignore[arg-type]
    with pytest.raises(Step1Error, match="include the intercept"):
        fit_step1_genotypes(geno, y=y, **{**common, "covariates": x[:, 1:]})  # type: ignore[arg-type]
    with pytest.raises(Step1Error, match="not coded 0/1"):
        fit_step1_genotypes(geno, y=y, **{**common, "binary": True})  # type: ignore[arg-type]
    with pytest.raises(Step1Error, match="does not vary"):
        fit_step1_genotypes(geno, y=x[:, :1] * 3, **common)  # type: ignore[arg-type]
    with pytest.raises(Step1Error, match="all were excluded"):
        fit_step1_genotypes(geno, y=y, keep=np.zeros(60, dtype=bool), **common)  # type: ignore[arg-type]
    (tmp_path / "g.bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + b"\x00" * 10)
    with pytest.raises(GenotypeInputError, match="do not belong together"):
        fit_step1_bed(tmp_path / "g", y=y, n_fam=120, **common)  # type: ignore[arg-type]
    with pytest.raises(Step1Error, match="does not vary"):
        scaled_residuals(np.ones((5, 1)), np.full((5, 1), 1 / np.sqrt(5)), ["c"])
