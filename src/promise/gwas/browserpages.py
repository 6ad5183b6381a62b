"""The results browser's three kinds of page: the index of traits and top variants, one page
per trait (plots and top loci) and one PheWAS page per top variant.

Pages get plain data (:class:`TraitView`, Polars frames of hits and look-ups) and return
HTML text; :mod:`promise.gwas.browser` decides what is computed and where files go.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import polars as pl

from promise.gwas.browserhtml import (
    Cell,
    ShownCounts,
    cards,
    effect,
    effect_heading,
    fmt_number,
    link,
    number,
    page,
    table,
    text,
)


@dataclass(frozen=True, kw_only=True)
class TraitView:
    """What the pages say about one trait."""

    name: str
    slug: str
    long_name: str
    category: str
    kind: str
    definition: str
    counts: ShownCounts
    lambda_gc: float
    tested: int
    loci: int
    best_p: float | None
    top_gene: str


def trait_href(view: TraitView, root: str) -> str:
    return f"{root}traits/{quote(view.slug)}.html"


def variant_href(slug: str, root: str) -> str:
    return f"{root}variants/{quote(slug)}.html"


def _p(value: float | None, threshold: float) -> Cell:
    cell = number(value)
    return (
        cell if value is None or value >= threshold else Cell(f"<b>{cell.html}</b>", cell.key, True)
    )


def index_page(
    views: Sequence[TraitView],
    variants: pl.DataFrame,
    variant_slugs: Mapping[str, str],
    *,
    threshold: float,
    build: str,
    disclosure_threshold: int,
    omitted: int,
) -> str:
    """The index: every trait (with counts, lambda GC and loci) and every top variant.

    ``variants``: one row per top variant with ``variant_id``, ``nearest_gene``,
    ``traits`` (how many below the threshold), ``p_value`` (the best) and ``trait`` (its
    trait). ``omitted``: lead variants left without a PheWAS page by the page limit."""
    head = ["trait", "description", "category", "kind", "cases", "controls", "n",
            "lambda GC", "variants tested", f"loci p<{threshold:g}", "best p", "top gene"]  # fmt: skip
    rows = [
        [
            link(v.name, trait_href(v, "")),
            text(v.long_name),
            text(v.category),
            text(v.kind),
            v.counts.cases,
            v.counts.controls,
            v.counts.n,
            number(v.lambda_gc),
            number(float(v.tested), f"{v.tested:,}"),
            number(float(v.loci), str(v.loci)),
            _p(v.best_p, threshold),
            text(v.top_gene),
        ]  # fmt: skip
        for v in views
    ]
    top = [
        [
            link(r["variant_id"], variant_href(variant_slugs[r["variant_id"]], "")),
            text(r["nearest_gene"]),
            number(float(r["traits"]), str(r["traits"])),
            _p(r["p_value"], threshold),
            text(r["trait"]),
        ]  # fmt: skip
        for r in variants.iter_rows(named=True)
    ]
    loci = sum(v.loci for v in views)
    top_head = ["variant", "nearest gene", f"traits p<{threshold:g}", "best p", "in trait"]
    top_table = (
        table(top_head, top)
        if top
        else f"<p>No variant reached p &lt; {threshold:g} in any trait.</p>"
    )
    more = (
        f" {omitted:,} further lead variants (the least significant) have no page, by the "
        "page limit; they are in top_hits.tsv."
        if omitted
        else ""
    )
    body = f"""<section><h2>Traits</h2>{table(head, rows)}
<p class="note">Click a column heading to sort. lambda GC = median 1-df chi-square statistic
(from the p-values) / 0.4549. Loci: variants with p &lt; {threshold:g} clumped by distance
(the most significant leads, others within the window join it). Counts from 1 to
{disclosure_threshold - 1} are shown as &lt;{disclosure_threshold}, and then the trait's
other counts are hidden, as they would give the small one away.</p></section>
<section><h2>Top variants (PheWAS)</h2>
<p class="note">The lead variant of every locus; each page shows its p-value in every trait,
grouped by endpoint category.{html.escape(more)}</p>
{top_table}
<p class="note">Every variant-trait pair below the threshold: <a href="../top_hits.tsv">top_hits.tsv</a>.</p>
</section>"""
    subtitle = (
        f"{len(views):,} traits, {loci:,} loci at p &lt; {threshold:g}, positions in "
        f"{html.escape(build)}; nearest gene from GENCODE 32"
    )
    return page(title="GWAS results", heading="GWAS results browser", subtitle=subtitle,
                body=body, root="")  # fmt: skip


def trait_page(
    view: TraitView,
    loci: pl.DataFrame,
    variant_slugs: Mapping[str, str],
    *,
    threshold: float,
    significant: bool,
) -> str:
    """One trait: its figures, what it is, Manhattan and QQ plot, and its top loci.

    ``loci``: the lead of each locus with ``nearest_gene`` and ``hits`` (variants of the
    locus below the threshold); ``significant`` False when none reached the threshold and
    ``loci`` holds the best leads instead."""
    figures = cards([("kind", html.escape(view.kind)), ("cases", view.counts.cases.html),
                     ("controls", view.counts.controls.html), ("n", view.counts.n.html),
                     ("lambda GC", fmt_number(view.lambda_gc)),
                     ("variants tested", f"{view.tested:,}"), ("loci", str(view.loci))])  # fmt: skip
    about = f"<p><b>category:</b> {html.escape(view.category)}</p>"
    if view.definition:
        about += f'<p class="def"><b>definition:</b> {html.escape(view.definition)}</p>'
    head = ["#", "lead variant", "chromosome", "position", "effect/other allele", "EAF",
            effect_heading(view.kind), "p", "nearest gene", "variants in locus"]  # fmt: skip
    rows = []
    for rank, r in enumerate(loci.iter_rows(named=True), 1):
        slug = variant_slugs.get(r["variant_id"])
        rows.append(
            [
                number(float(rank), str(rank)),
                link(r["variant_id"], variant_href(slug, "../") if slug else None),
                text(r["chromosome"]),
                number(float(r["base_pair_location"]), f"{r['base_pair_location']:,}"),
                text(f"{r['effect_allele']}/{r['other_allele']}"),
                number(r["effect_allele_frequency"]),
                effect(view.kind, r["beta"], r["standard_error"]),
                _p(r["p_value"], threshold),
                text(r["nearest_gene"]),
                number(float(r["hits"]), str(r["hits"])),
            ]  # fmt: skip
        )
    note = (
        f"Loci with p &lt; {threshold:g}, one row per locus (its most significant variant)."
        if significant
        else f"No variant reached p &lt; {threshold:g}; the best loci are shown instead."
    )
    body = f"""<p><a href="../index.html">&larr; all traits</a></p>
<section>{figures}{about}</section>
<section><h2>Manhattan plot</h2><img alt="Manhattan plot of {html.escape(view.name)}"
 src="{quote(view.slug)}-manhattan.png"><p class="note">-log10 p by position; the dashed line
 is genome-wide significance (5e-8).</p></section>
<section><h2>QQ plot</h2><img alt="QQ plot of {html.escape(view.name)}"
 src="{quote(view.slug)}-qq.png" style="max-width:520px"></section>
<section><h2>Top loci</h2><p class="note">{note}</p>{table(head, rows)}</section>"""
    heading = html.escape(view.name + (f": {view.long_name}" if view.long_name else ""))
    return page(title=view.name, heading=heading, root="../", body=body,
                subtitle=html.escape(f"{view.category} · {view.kind}"))  # fmt: skip


def variant_page(
    lead: Mapping[str, Any],
    slug: str,
    groups: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    views: Mapping[str, TraitView],
    *,
    threshold: float,
    tested: int,
    left_out: int = 0,
    table_p: float = 0.01,
) -> str:
    """One variant's PheWAS page: the plot and, per category, its statistics in each trait.

    ``lead``: the variant's row of the top variants; ``groups``: per category, the rows of
    its statistics (``trait``, ``beta``, ``standard_error``, ``effect_allele_frequency``,
    ``p_value``); ``tested``: traits whose file has the variant, of which ``left_out``
    (with p >= ``table_p``) are not in the tables."""
    variant = str(lead["variant_id"])
    sections = [
        f"<h3>{html.escape(category)}</h3>" + _phewas_table(rows, views, threshold)
        for category, rows in groups
    ]
    notes = []
    if left_out:
        notes.append(f"{left_out:,} traits with p &ge; {table_p:g} are in the plot only.")
    if tested < len(views):
        notes.append(f"Not tested in {len(views) - tested:,} of the {len(views):,} traits "
                     "(not in their files).")  # fmt: skip
    note = "".join(f'<p class="note">{n}</p>' for n in notes)
    body = f"""<p><a href="../index.html">&larr; all traits</a></p>
<section><h2>PheWAS</h2><img alt="PheWAS plot of {html.escape(variant)}" src="{quote(slug)}-phewas.png">
<p class="note">-log10 p of the effect allele in every trait, grouped by endpoint category;
&#9650; the effect allele raises the trait or its risk, &#9660; lowers it; dashed line
p = {threshold:g}.</p></section>
<section><h2>By category</h2>{"".join(sections)}{note}</section>"""
    subtitle = (
        f"chromosome {lead['chromosome']}, position {lead['base_pair_location']:,}, effect "
        f"allele {lead['effect_allele']}, other allele {lead['other_allele']}; nearest gene "
        f"{lead['nearest_gene'] or 'none'}"
    )
    return page(title=variant, heading=html.escape(variant), subtitle=html.escape(subtitle),
                body=body, root="../")  # fmt: skip


def _phewas_table(
    group: Sequence[Mapping[str, Any]], views: Mapping[str, TraitView], threshold: float
) -> str:
    head = ["trait", "description", "kind", "cases", "controls", "n", "EAF",
            "effect (OR or beta)", "p"]  # fmt: skip
    rows, marked = [], []
    for r in group:
        view = views[r["trait"]]
        rows.append(
            [
                link(view.name, trait_href(view, "../")),
                text(view.long_name),
                text(view.kind),
                view.counts.cases,
                view.counts.controls,
                view.counts.n,
                number(r["effect_allele_frequency"]),
                effect(view.kind, r["beta"], r["standard_error"]),
                _p(r["p_value"], threshold),
            ]  # fmt: skip
        )
        marked.append(r["p_value"] is not None and r["p_value"] < threshold)
    return table(head, rows, marked=marked, fixed=True)
