"""From an engine's per-group result frames to one :class:`TraitSummary` per trait.

Both engines hand back, per group of traits, a frame in the layout of
:func:`promise.gwas.results.export_group`; the summaries (GWAS-SSF frame, n, cases,
controls, lambda GC) are built here the same way for both, on two threads (Polars works
outside the GIL), each group's shared columns computed once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import polars as pl

from promise.gwas import results
from promise.gwas.association import TraitGroup
from promise.gwas.phenofiles import KEY
from promise.gwas.traits import Phenotypes, TraitError


def usable_samples(phenotypes: Phenotypes) -> pl.DataFrame:
    """Samples with every covariate and at least one trait defined."""
    defined = [pl.col(c).is_not_null() for c in phenotypes.covariates]
    ok = pl.any_horizontal(pl.col(t).is_not_null() for t in phenotypes.traits)
    ok = pl.all_horizontal(ok, *defined)
    columns = dict.fromkeys([KEY, *phenotypes.traits, *phenotypes.covariates])
    usable = phenotypes.frame.filter(ok).select(list(columns))
    if usable.is_empty():
        raise TraitError(
            "No sample has the trait and all covariates defined: check the sample ids and NA codes."
        )
    return usable


def group_summaries(
    groups: list[tuple[pl.DataFrame, TraitGroup]],
    counts: dict[str, tuple[int, int]],
) -> list[results.TraitSummary]:
    """Every trait's summary from its group's frame."""
    jobs: list[Callable[[], results.TraitSummary]] = []
    for raw, group in groups:
        base = results.ssf_base(raw)
        jobs += [
            partial(_summary, raw, ti, trait, group.kind, counts, base)
            for ti, trait in enumerate(group.traits)
        ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _summary(
    raw: pl.DataFrame,
    index: int,
    trait: str,
    kind: str,
    counts: dict[str, tuple[int, int]],
    base: results.SsfBase | None = None,
) -> results.TraitSummary:
    frame = results.ssf_frame(raw, index, kind=kind, base=base)
    largest = frame["n"].max()
    n = int(largest) if isinstance(largest, int) else 0
    cases, controls = counts.get(trait, (None, None))
    return results.TraitSummary(
        trait=trait,
        kind=kind,
        frame=frame,
        n=n,
        cases=cases,
        controls=controls,
        lambda_gc=results.lambda_gc(frame["p_value"]),
    )
