"""The results browser of a GWAS run: ``top_hits.tsv`` and a static site under ``browser/``.

A run with many traits (``promise gwas --all-endpoints``) ends with :func:`write_browser`,
which reads the run's GWAS-SSF files back one trait at a time (memory holds one trait's
variants plus the hits), and writes

- ``<out>/top_hits.tsv``: every variant-trait pair below the threshold, most significant
  first, with the nearest gene and the locus (:mod:`promise.gwas.tophits`);
- ``<out>/browser/index.html``: the traits (cases, controls, lambda GC, loci) and the top
  variants, in sortable tables;
- ``<out>/browser/traits/<trait>.html``: a trait's Manhattan and QQ plot and top loci;
- ``<out>/browser/variants/<variant>.html``: a top variant's PheWAS plot and table, its
  p-value in every trait grouped by endpoint category.

Pages are plain HTML with PNG images beside them, linked by relative paths, so the folder
can be opened from a file system or copied anywhere. Counts follow the disclosure rule
(:func:`promise.gwas.browserhtml.shown_counts`). The site and table are built in a scratch
folder and moved into place at the end: a failed build leaves the previous ones as they were.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from promise.gwas import browserpages, browserplots, phewas, results, tophits
from promise.gwas.browserhtml import SORT_JS, STYLE, shown_counts
from promise.gwas.browserpages import TraitView
from promise.gwas.browsersite import (
    ReadTrait,
    endpoint_category,
    meta_build,
    meta_fields,
    slugs,
    swap_into_place,
)
from promise.gwas.genes import nearest_genes
from promise.gwas.tophits import BrowserError

__all__ = [
    "BrowserError",
    "BrowserTrait",
    "endpoint_category",
    "traits_from_meta",
    "write_browser",
]

Kind = Literal["binary", "quantitative"]
TOP_HITS = "top_hits.tsv"
BROWSER = "browser"
BEST_LOCI = 10  # loci listed on the page of a trait without any below the threshold


@dataclass(frozen=True, kw_only=True)
class BrowserTrait:
    """What the browser needs to know of one trait besides its summary statistics.

    Attributes
    ----------
    name:
        The trait's name (a FinnGen endpoint name such as ``I9_MI``, or a column name).
    ssf:
        Its GWAS-SSF file; a relative path is taken under the run's output folder.
    kind:
        ``binary`` or ``quantitative``.
    long_name, definition:
        The endpoint's long name and its definition (code patterns), or empty.
    category:
        Where the PheWAS pages group it; empty: from the FinnGen name prefix
        (:func:`endpoint_category`).
    cases, controls, n:
        Samples analysed: cases and controls of a binary trait, n of any trait.
    lambda_gc:
        Genomic inflation as the run computed it; None: computed from the file.
    """

    name: str
    ssf: Path
    kind: Kind
    long_name: str = ""
    definition: str = ""
    category: str = ""
    cases: int | None = None
    controls: int | None = None
    n: int | None = None
    lambda_gc: float | None = None


def traits_from_meta(out_dir: Path) -> list[BrowserTrait]:
    """The traits of a finished run, from its GWAS-SSF metadata files (``*-meta.yaml``,
    by file name): enough to build the browser again without the pipeline, though without
    long names and definitions, which the metadata do not hold."""
    found = []
    for meta in sorted(Path(out_dir).glob("*.tsv.gz-meta.yaml")):
        data = meta_fields(meta)
        names = data.get("trait_description") or [str(data["data_file_name"])]
        kind: Kind = "binary" if data.get("trait_kind") == "binary" else "quantitative"
        lam = data.get("lambda_gc")
        found.append(
            BrowserTrait(
                name=str(names[0]),
                ssf=meta.with_name(str(data["data_file_name"])),
                kind=kind,
                cases=data.get("case_count"),
                controls=data.get("control_count"),
                n=data.get("sample_size"),
                lambda_gc=float(lam) if isinstance(lam, int | float) else None,
            )  # fmt: skip
        )
    if not found:
        raise BrowserError(f"{out_dir} holds no GWAS-SSF metadata files (*.tsv.gz-meta.yaml).")
    return found


def write_browser(
    out_dir: Path,
    traits: Sequence[BrowserTrait],
    *,
    build: str | None = None,
    threshold: float = 5e-8,
    disclosure_threshold: int = 5,
    window_bp: int = 500_000,
    max_variant_pages: int = 1_000,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write ``top_hits.tsv`` and ``browser/`` under ``out_dir``; return ``browser/index.html``.

    The pipeline calls it once every trait's GWAS-SSF file is written, e.g.::

        write_browser(out, [BrowserTrait(name=s.trait, ssf=path, kind=s.kind,
                                          long_name=info.long_name, definition=info.definition,
                                          cases=s.cases, controls=s.controls, n=s.n,
                                          lambda_gc=s.lambda_gc)
                            for s, path in zip(summaries, paths)],
                      build=genotypes.build, threshold=options.significance,
                      disclosure_threshold=floor, progress=clock.within)

    ``build``: GRCh37 or GRCh38 for the nearest genes (default: the first trait's metadata,
    else GRCh38). ``window_bp``: the clumping distance of a locus. ``max_variant_pages``:
    PheWAS pages for at most this many lead variants, the most significant (the index says
    how many more there were). ``progress(done, total, unit)`` is told after each trait
    (unit ``traits``), then after each PheWAS page (``PheWAS pages``).
    Raises :class:`BrowserError` (one sentence) for a missing or unreadable file, no traits
    or a trait named twice."""
    out_dir = Path(out_dir).resolve()
    _check(traits)
    build = build or meta_build(out_dir, [t.ssf for t in traits]) or "GRCh38"
    stage = out_dir / f".browser-{os.getpid()}.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        for folder in ("assets", "traits", "variants"):
            (stage / folder).mkdir(parents=True)
        index = _build(out_dir, stage, traits, build=build, threshold=threshold,
                       disclosure=disclosure_threshold, window_bp=window_bp,
                       max_pages=max_variant_pages, progress=progress)  # fmt: skip
        (stage / "index.html").write_text(index, encoding="utf-8")
        (stage / "assets" / "style.css").write_text(STYLE, encoding="utf-8")
        (stage / "assets" / "sort.js").write_text(SORT_JS, encoding="utf-8")
        (stage / TOP_HITS).replace(out_dir / TOP_HITS)
        swap_into_place(stage, out_dir / BROWSER)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out_dir / BROWSER / "index.html"


def _check(traits: Sequence[BrowserTrait]) -> None:
    if not traits:
        raise BrowserError("there are no traits to show in the results browser.")
    seen: set[str] = set()
    for trait in traits:
        if trait.name in seen:
            raise BrowserError(f"trait {trait.name} is given twice to the results browser.")
        seen.add(trait.name)


def _build(
    out_dir: Path,
    stage: Path,
    traits: Sequence[BrowserTrait],
    *,
    build: str,
    threshold: float,
    disclosure: int,
    window_bp: int,
    max_pages: int,
    progress: Callable[[int, int, str], None] | None,
) -> str:
    """Write the images, trait and variant pages and top_hits.tsv; return the index page."""
    trait_slugs = slugs(t.name for t in traits)
    read = []
    for done, trait in enumerate(traits, 1):
        read.append(_read_trait(out_dir, stage, trait, trait_slugs[trait.name],
                                threshold=threshold, window_bp=window_bp))  # fmt: skip
        if progress:
            progress(done, len(traits), "traits")
    table = tophits.combine([r.hits for r in read], build)
    by_trait = table.partition_by("trait", as_dict=True)
    mine = {r.trait.name: by_trait.get((r.trait.name,), table.clear()) for r in read}
    views = {r.trait.name: _view(r, mine[r.trait.name], disclosure) for r in read}
    hidden = [name for name, view in views.items() if view.counts.withheld]
    tophits.write_top_hits(table, stage / TOP_HITS, hidden_n=hidden)  # moved out at the end
    tops = phewas.top_variants(table)
    paged = tops.head(max_pages)
    variant_slugs = slugs(paged["variant_id"].to_list())
    for r in read:
        loci, significant = _trait_loci(r, mine[r.trait.name], build)
        html_text = browserpages.trait_page(views[r.trait.name], loci, variant_slugs,
                                            threshold=threshold, significant=significant)  # fmt: skip
        (stage / "traits" / f"{r.slug}.html").write_text(html_text, encoding="utf-8")
    phewas.write_variant_pages(stage / "variants", read, paged, variant_slugs, views,
                               threshold=threshold, progress=progress)  # fmt: skip
    return browserpages.index_page(
        list(views.values()), paged, variant_slugs, threshold=threshold, build=build,
        disclosure_threshold=disclosure, omitted=tops.height - paged.height,
    )  # fmt: skip


def _read_trait(
    out_dir: Path, stage: Path, trait: BrowserTrait, slug: str, *, threshold: float, window_bp: int
) -> ReadTrait:
    """Read one trait's file: its hits, figures, best loci when it has no hit, and plots."""
    path = trait.ssf if trait.ssf.is_absolute() else out_dir / trait.ssf
    frame = tophits.read_ssf(path, trait.name)
    category = trait.category or endpoint_category(trait.name, trait.kind)
    hits = tophits.trait_hits(frame, trait=trait.name, category=category,
                              threshold=threshold, window_bp=window_bp)  # fmt: skip
    lam = trait.lambda_gc
    if lam is None or not math.isfinite(lam):
        lam = results.lambda_gc(frame["p_value"])
    title = trait.name + (f": {trait.long_name}" if trait.long_name else "")
    points = browserplots.trait_points(frame, trait=trait.name, title=title,
                                       label=f"{trait.name}: λGC = {lam:.3f}")  # fmt: skip
    browserplots.trait_images(points, manhattan=stage / "traits" / f"{slug}-manhattan.png",
                              qq=stage / "traits" / f"{slug}-qq.png")  # fmt: skip
    best = None if hits.height else results.top_loci(frame, limit=BEST_LOCI, window_bp=window_bp)
    p = frame["p_value"].min()
    return ReadTrait(trait=trait, path=path, slug=slug, category=category, lambda_gc=lam,
                     tested=int(frame["p_value"].is_not_null().sum()),
                     best_p=float(p) if isinstance(p, int | float) else None,
                     hits=hits, best=best)  # fmt: skip


def _view(read: ReadTrait, hits: pl.DataFrame, disclosure: int) -> TraitView:
    """What the pages say of a trait, from its first read and its rows of the top hits."""
    t = read.trait
    leads = hits.filter(pl.col("is_lead"))
    return TraitView(
        name=t.name, slug=read.slug, long_name=t.long_name, category=read.category,
        kind=t.kind, definition=t.definition,
        counts=shown_counts(t.kind, t.cases, t.controls, t.n, disclosure),
        lambda_gc=read.lambda_gc, tested=read.tested, loci=leads.height, best_p=read.best_p,
        top_gene=leads["nearest_gene"][0] if leads.height else "",
    )  # fmt: skip


def _trait_loci(read: ReadTrait, hits: pl.DataFrame, build: str) -> tuple[pl.DataFrame, bool]:
    """The trait's locus leads with their hit counts (from its rows of the top hits), or
    its best loci when it has none."""
    if read.best is not None:
        best = read.best
        genes = nearest_genes(best["chromosome"].to_list(),
                              best["base_pair_location"].to_list(), build)  # fmt: skip
        return best.with_columns(nearest_gene=pl.Series(genes, dtype=pl.String),
                                 hits=pl.lit(0)), False  # fmt: skip
    counts = hits.group_by("locus_id").len("hits")
    leads = hits.filter(pl.col("is_lead")).join(counts, on="locus_id", how="left")
    return leads.sort("p_value", "chromosome", "base_pair_location"), True
