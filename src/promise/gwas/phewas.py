"""PheWAS pages: each top variant's statistics in every trait of the run.

The top variants are the locus leads of ``top_hits.tsv``; their statistics in the other
traits come from a second read of every trait's GWAS-SSF file that keeps only their rows
(top variants x traits rows in memory, not the run's variants). Each variant gets a PNG
plot (:class:`promise.gwas.browserplots.PhewasFigure`) and a page with a table per
endpoint category.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.gwas import browserpages, tophits
from promise.gwas.browserpages import TraitView
from promise.gwas.browserplots import PhewasFigure
from promise.gwas.browsersite import ReadTrait, category_order

#: beyond this many traits, a PheWAS page's tables list only the traits with p below
#: :data:`TABLE_P` (the plot still shows every trait): 2,500 endpoints x 1,000 variants
#: would otherwise make a gigabyte of HTML
MAX_TABLE_TRAITS = 300
TABLE_P = 0.01


def top_variants(table: pl.DataFrame) -> pl.DataFrame:
    """One row per locus lead of ``table`` (the top hits), most significant first: its
    position, alleles and gene, ``traits`` (how many traits have it below the threshold),
    its best ``p_value`` and that p-value's ``trait``."""
    leads = table.filter(pl.col("is_lead")).select("variant_id").unique()
    rows = table.join(leads, on="variant_id", how="semi").sort("p_value", "trait")
    first = ["chromosome", "base_pair_location", "effect_allele", "other_allele",
             "nearest_gene", "p_value", "trait"]  # fmt: skip
    return (
        rows.group_by("variant_id", maintain_order=True)
        .agg(pl.first(*first), traits=pl.len())
        .sort("p_value", "variant_id")
    )


def write_variant_pages(
    folder: Path,
    read: Sequence[ReadTrait],
    variants: pl.DataFrame,
    variant_slugs: dict[str, str],
    views: dict[str, TraitView],
    *,
    threshold: float,
    progress: Callable[[int, int, str], None] | None = None,
) -> None:
    """Write ``<slug>.html`` and ``<slug>-phewas.png`` into ``folder`` for each row of
    ``variants`` (:func:`top_variants`)."""
    if not variants.height:
        return
    found = pl.concat([tophits.lookup(r.path, r.trait.name, variants["variant_id"]) for r in read])
    categories = category_order({r.category for r in read})
    rank = {c: i for i, c in enumerate(categories)}
    ordered = sorted(read, key=lambda r: (rank[r.category], r.trait.name))
    names = [r.trait.name for r in ordered]
    figure = PhewasFigure([r.category for r in ordered], categories, threshold)
    place = {name: i for i, name in enumerate(names)}
    by_variant = found.partition_by("variant_id", as_dict=True, include_key=False)
    for done, lead in enumerate(variants.iter_rows(named=True), 1):
        variant, slug = lead["variant_id"], variant_slugs[lead["variant_id"]]
        part = by_variant.get((variant,))
        rows = part.to_dicts() if part is not None else []
        p, beta = _aligned(rows, place)
        gene = lead["nearest_gene"] or "no gene"
        figure.draw(p, beta, names=names, title=f"{variant} ({gene})",
                    path=folder / f"{slug}-phewas.png")  # fmt: skip
        listed = rows
        if len(read) > MAX_TABLE_TRAITS:
            listed = [r for r in rows if r["p_value"] is not None and r["p_value"] < TABLE_P]
        page = browserpages.variant_page(
            lead, slug, _grouped(listed, views, categories), views, threshold=threshold,
            tested=len(rows), left_out=len(rows) - len(listed), table_p=TABLE_P,
        )  # fmt: skip
        (folder / f"{slug}.html").write_text(page, encoding="utf-8")
        if progress:
            progress(done, variants.height, "PheWAS pages")


def _aligned(
    rows: Sequence[dict[str, Any]], place: dict[str, int]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """p-values and betas of one variant in plotting order, NaN where missing."""
    p = np.full(len(place), np.nan)
    beta = np.full(len(place), np.nan)
    for row in rows:
        i = place[row["trait"]]
        p[i] = math.nan if row["p_value"] is None else row["p_value"]
        beta[i] = math.nan if row["beta"] is None else row["beta"]
    return p, beta


def _grouped(
    rows: Sequence[dict[str, Any]], views: dict[str, TraitView], categories: Sequence[str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The rows by category, in the order of ``categories``, each by p-value (missing last)."""
    groups: dict[str, list[dict[str, Any]]] = {c: [] for c in categories}
    for row in rows:
        groups[views[row["trait"]].category].append(row)
    return [
        (c, sorted(g, key=lambda r: (r["p_value"] is None, r["p_value"] or 0.0, r["trait"])))
        for c, g in groups.items()
        if g
    ]
