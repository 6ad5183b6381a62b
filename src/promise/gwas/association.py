"""Per-variant regressions: linear for quantitative traits, logistic Wald / Firth for binary.

Genotypes enter as the alternate-allele dosage (``dosage`` entry field; the count from
``GT`` for hard calls); Hail mean-imputes a missing dosage over the samples of that
regression. Traits that share the same set of non-missing samples are tested together in
one pass over the genotypes (``hl.linear_regression_rows`` with a list of responses), and
all groups of quantitative traits share one pass (a list of lists).

Each group's result is a Hail Table keyed by ``locus``/``alleles`` with flat fields
``t{i}_beta``, ``t{i}_se``, ``t{i}_p``, ``t{i}_n``, ``t{i}_eaf``, ``t{i}_firth`` for the
group's i-th trait (``eaf`` = mean dosage / 2 over the called samples of that trait).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from promise.gwas.options import AssociationSettings
from promise.gwas.phenofiles import KEY
from promise.gwas.traits import Phenotypes


@dataclass(frozen=True, kw_only=True)
class TraitGroup:
    """Traits of one kind with identical non-missing samples, tested in one regression."""

    kind: str
    traits: list[str]


@dataclass(frozen=True, kw_only=True)
class GroupResult:
    """The checkpointed result table of one group and the traits it holds, in order."""

    group: TraitGroup
    table: Any


def aligned(frame: pl.DataFrame, samples: Sequence[str]) -> pl.DataFrame:
    """The rows of ``frame`` for ``samples``, in that order (nulls for a sample it lacks)."""
    order = pl.DataFrame({KEY: list(samples)}, schema={KEY: pl.String})
    return order.join(frame, on=KEY, how="left", maintain_order="left")


def trait_groups(phenotypes: Phenotypes, samples: Sequence[str]) -> list[TraitGroup]:
    """Group traits by kind and missingness pattern over ``samples``."""
    frame = aligned(phenotypes.frame, samples)
    groups: dict[tuple[str, bytes], list[str]] = {}
    for trait in phenotypes.traits:
        pattern = frame[trait].is_not_null().to_numpy().tobytes()
        groups.setdefault((phenotypes.kinds[trait], pattern), []).append(trait)
    return [TraitGroup(kind=k, traits=t) for (k, _), t in groups.items()]


def case_counts(phenotypes: Phenotypes, samples: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Cases and controls of each binary trait among ``samples``."""
    frame = aligned(phenotypes.frame, samples)
    out: dict[str, tuple[int, int]] = {}
    for trait in phenotypes.traits:
        if phenotypes.kinds[trait] == "binary":
            values = frame[trait]
            out[trait] = (int((values == 1).sum()), int((values == 0).sum()))
    return out


def run_groups(
    hl: Any,
    mt: Any,
    *,
    groups: Sequence[TraitGroup],
    covariates: Sequence[str],
    settings: AssociationSettings,
    case_fractions: dict[str, float],
    tmp: str,
) -> list[GroupResult]:
    """Run every group's regression; results are checkpointed under ``tmp``."""
    covs = list(covariates)
    results: list[GroupResult] = []
    linear = [g for g in groups if g.kind == "quantitative"]
    if linear:
        results.extend(_linear(hl, mt, groups=linear, covs=covs, settings=settings, tmp=tmp))
    for i, group in enumerate(g for g in groups if g.kind == "binary"):
        results.append(
            _logistic(
                hl,
                mt,
                group=group,
                covs=covs,
                settings=settings,
                case_fraction=min(case_fractions[t] for t in group.traits),
                tmp=f"{tmp}/logistic{i}",
            )
        )
    return results


def _linear(
    hl: Any,
    mt: Any,
    *,
    groups: Sequence[TraitGroup],
    covs: list[str],
    settings: AssociationSettings,
    tmp: str,
) -> list[GroupResult]:
    ys = [[mt.pheno[t] for t in g.traits] for g in groups]
    ht = hl.linear_regression_rows(
        y=ys,
        x=mt.dosage,
        covariates=_cov_exprs(mt, covs),
        block_size=settings.block_size,
        pass_through=[],
    )
    ht = ht.checkpoint(f"{tmp}/linear-all.ht", overwrite=True)
    out = []
    for gi, group in enumerate(groups):
        fields = {}
        for ti in range(len(group.traits)):
            fields.update(
                {
                    f"t{ti}_beta": ht.beta[gi][ti],
                    f"t{ti}_se": ht.standard_error[gi][ti],
                    f"t{ti}_p": ht.p_value[gi][ti],
                    f"t{ti}_n": ht.n[gi],
                    f"t{ti}_eaf": ht.sum_x[gi] / (2 * ht.n[gi]),
                    f"t{ti}_firth": False,
                }
            )
        out.append(GroupResult(group=group, table=ht.select(**fields)))
    return out


def _logistic(
    hl: Any,
    mt: Any,
    *,
    group: TraitGroup,
    covs: list[str],
    settings: AssociationSettings,
    case_fraction: float,
    tmp: str,
) -> GroupResult:
    first = mt.pheno[group.traits[0]]
    in_group = hl.is_defined(first) & hl.all(*[hl.is_defined(mt.pheno[c]) for c in covs])
    called = hl.is_defined(mt.dosage)
    mt = mt.annotate_rows(
        _n=hl.agg.count_where(in_group),
        _ac=hl.agg.filter(in_group & called, hl.agg.sum(mt.dosage)),
        _an=2 * hl.agg.count_where(in_group & called),
    )
    stats = mt.rows().select("_n", "_ac", "_an").checkpoint(f"{tmp}/stats.ht", overwrite=True)
    mt = mt.drop("_n", "_ac", "_an")
    all_firth = settings.firth == "always"
    unbalanced = case_fraction < settings.firth_case_fraction
    ys = list(group.traits)
    fields: dict[str, Any] = {}
    if all_firth:
        firth = _firth(hl, mt, ys=ys, covs=covs, settings=settings, tmp=f"{tmp}/firth.ht")
        wald = None
    else:
        wald = hl.logistic_regression_rows(
            test="wald",
            y=[mt.pheno[y] for y in ys],
            x=mt.dosage,
            covariates=_cov_exprs(mt, covs),
            max_iterations=settings.max_iterations,
            tolerance=settings.tolerance,
        )
        wald = wald.checkpoint(f"{tmp}/wald.ht", overwrite=True)
        firth = None
        if settings.firth == "auto":
            mac = hl.min(stats._ac, stats._an - stats._ac)
            fits = wald[stats.key].logistic_regression
            doubtful = fits.any(
                lambda r: ~hl.is_finite(hl.or_else(r.p_value, hl.float64("nan")))
                | (r.p_value < settings.firth_p)
            )
            rare = (mac < settings.firth_mac) | hl.bool(unbalanced)
            rare = stats.filter(rare & hl.or_else(doubtful, True))
            firth = _firth(
                hl,
                mt.semi_join_rows(rare),
                ys=ys,
                covs=covs,
                settings=settings,
                tmp=f"{tmp}/firth.ht",
            )
    base = stats
    for ti in range(len(group.traits)):
        w = wald[base.key].logistic_regression[ti] if wald is not None else None
        f = firth[base.key].logistic_regression[ti] if firth is not None else None
        use_firth = hl.is_defined(f) if f is not None else hl.bool(False)
        beta = _pick(
            hl, use_firth, f.beta if f is not None else None, w.beta if w is not None else None
        )
        se_firth = hl.abs(f.beta) / hl.sqrt(f.chi_sq_stat) if f is not None else None
        se = _pick(hl, use_firth, se_firth, w.standard_error if w is not None else None)
        p = _pick(
            hl,
            use_firth,
            f.p_value if f is not None else None,
            w.p_value if w is not None else None,
        )
        fields.update(
            {
                f"t{ti}_beta": beta,
                f"t{ti}_se": se,
                f"t{ti}_p": p,
                f"t{ti}_n": base._n,
                f"t{ti}_eaf": base._ac / base._an,
                f"t{ti}_firth": use_firth,
            }
        )
    return GroupResult(group=group, table=base.select(**fields))


def _pick(hl: Any, use_firth: Any, firth: Any | None, wald: Any | None) -> Any:
    if firth is None:
        return hl.float64(wald)
    if wald is None:
        return hl.float64(firth)
    return hl.if_else(use_firth, firth, wald)


def _cov_exprs(mt: Any, covs: list[str]) -> list[Any]:
    return [1.0] + [mt.pheno[c] for c in covs]


def _firth(
    hl: Any, mt: Any, *, ys: list[str], covs: list[str], settings: AssociationSettings, tmp: str
) -> Any:
    ht = hl.logistic_regression_rows(
        test="firth",
        y=[mt.pheno[y] for y in ys],
        x=mt.dosage,
        covariates=_cov_exprs(mt, covs),
        max_iterations=settings.max_iterations,
        tolerance=settings.tolerance,
    )
    return ht.checkpoint(tmp, overwrite=True)
