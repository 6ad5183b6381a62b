"""The results browser's images: each trait's Manhattan and QQ plot (drawn by
:mod:`promise.gwas.plots`, one trait per image) and each top variant's PheWAS plot.

A PheWAS plot shows one variant's -log10 p in every trait, traits side by side grouped by
endpoint category (one colour per category, categories in the order given), an upward
triangle where the effect allele raises the trait or its risk (beta > 0), a downward one
where it lowers it, and the significance threshold as a dashed line; the most significant
traits below the threshold are labelled with their names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from promise.gwas import plots
from promise.gwas.plotworker import OTHER_CONTIG, TraitPoints

DPI = plots.DPI
LABELLED = 12  # traits below the threshold named on a PheWAS plot, the most significant first


def trait_points(frame: pl.DataFrame, *, trait: str, title: str, label: str) -> TraitPoints:
    """What :mod:`promise.gwas.plots` draws of one trait's GWAS-SSF frame."""
    chromosome = frame["chromosome"].cast(pl.Int64, strict=False).fill_null(OTHER_CONTIG)
    return TraitPoints(
        trait=trait,
        title=title,
        label=label,
        chromosome=chromosome.to_numpy(),
        position=frame["base_pair_location"].to_numpy(),
        p=frame["p_value"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
    )


def trait_images(points: TraitPoints, *, manhattan: Path, qq: Path) -> None:
    """One trait's Manhattan and QQ plot as PNG files."""
    plots.manhattan([points], manhattan)
    plots.qq([points], qq)


def phewas(
    rows: pl.DataFrame,
    *,
    categories: Sequence[str],
    threshold: float,
    title: str,
    path: Path,
) -> Path:
    """Draw one variant's PheWAS plot from ``rows`` (columns ``trait``, ``category``,
    ``p_value``, ``beta``; one row per trait, in plotting order, categories contiguous and
    in the order of ``categories``). Traits without a p-value are left out."""
    fig = Figure(figsize=(12, 4.4), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.06, right=0.99, top=0.91, bottom=0.34)
    ax = fig.subplots()
    shown = rows.with_row_index("x").filter(pl.col("p_value").is_not_null())
    palette = colormaps["tab10"]
    centres, names = [], []
    for i, category in enumerate(categories):
        group = shown.filter(pl.col("category") == category)
        members = rows.with_row_index("x").filter(pl.col("category") == category)["x"]
        if members.len():
            centres.append(float(members.mean()))  # type: ignore[arg-type]
            names.append(category)
        _draw_group(ax, group, palette(i % 10))
    line = -np.log10(threshold)
    ax.axhline(line, color="#c00000", lw=0.8, ls="--")
    ax.set_xlim(-1, max(rows.height, 1))
    top = float(plots.neglog10(shown["p_value"].to_numpy()).max()) if shown.height else 0.0
    ax.set_ylim(0, max(top, line) * 1.12 + 0.5)
    ax.set_xticks(centres, [_short(n) for n in names], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("-log10 p")
    ax.set_title(title, loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    _label_hits(ax, shown, threshold)
    fig.savefig(path, dpi=DPI)
    return path


def _draw_group(ax: Any, group: pl.DataFrame, colour: Any) -> None:
    """One category's points: triangles up (beta > 0), down (beta < 0), circles (no beta)."""
    y = plots.neglog10(group["p_value"].to_numpy())
    beta = group["beta"].fill_null(np.nan).to_numpy()
    x = group["x"].to_numpy()
    for marker, mask in (("^", beta > 0), ("v", beta < 0), ("o", ~(beta > 0) & ~(beta < 0))):
        if mask.any():
            ax.plot(x[mask], y[mask], ls="none", marker=marker, ms=6, mew=0, color=colour)


def _label_hits(ax: Any, shown: pl.DataFrame, threshold: float) -> None:
    """Name the :data:`LABELLED` most significant traits below ``threshold``."""
    hits = shown.filter(pl.col("p_value") < threshold).sort("p_value").head(LABELLED)
    for x, trait, p in hits.select("x", "trait", "p_value").iter_rows():
        y = float(plots.neglog10(np.array([p]))[0])
        ax.annotate(trait, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)


def _short(text: str, most: int = 38) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
