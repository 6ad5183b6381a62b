"""The results browser's images: each trait's Manhattan and QQ plot (drawn by
:mod:`promise.gwas.plots`, one trait per image) and each top variant's PheWAS plot.

A PheWAS plot shows one variant's -log10 p in every trait, traits side by side grouped by
endpoint category (one colour per category, categories in the order given, labelled
under the axis), an upward triangle where the effect allele raises the trait or its risk
(beta > 0), a downward one where it lowers it, a circle without a beta, and the threshold
as a dashed line; the most significant traits below the threshold are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from promise.gwas import plots
from promise.gwas.browsersite import short_category
from promise.gwas.plotdata import OTHER_CONTIG, TraitPoints

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
    """One trait's Manhattan and QQ plot as PNG files; a trait without any p-value (every
    variant undefined) gets an image that says so in their place."""
    if not np.isfinite(points.p).any():
        for path in (manhattan, qq):
            _notice(f"{points.title}: no variant has a p-value", path)
        return
    plots.manhattan([points], manhattan)
    plots.qq([points], qq)


def _notice(message: str, path: Path) -> Path:
    fig = Figure(figsize=(6, 1.2), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, message, ha="center", va="center", fontsize=10)
    fig.savefig(path, dpi=DPI)
    return path


class PhewasFigure:
    """The PheWAS plot of one run: the traits' places along x, the category labels and the
    axes are the same for every variant, so they are drawn once and kept as a background;
    each variant's plot draws only its points, y axis, threshold line, title and labels
    over a copy (matplotlib's blitting), a tenth of the time of a whole figure.

    ``categories``: each trait's category, traits in plotting order (categories
    contiguous, in the order of ``order``)."""

    def __init__(self, categories: Sequence[str], order: Sequence[str], threshold: float) -> None:
        self.fig: Any = Figure(figsize=(12, 4.4), dpi=DPI)
        self.canvas: Any = cast(Any, FigureCanvasAgg(self.fig))
        self.fig.subplots_adjust(left=0.09, right=0.99, top=0.91, bottom=0.3)
        self.ax: Any = self.fig.subplots()
        self.threshold = threshold
        index = {c: i for i, c in enumerate(order)}
        palette = colormaps["tab10"]
        self.colours = np.array([palette(index[c] % 10) for c in categories]).reshape(-1, 4)
        self.x = np.arange(len(categories), dtype=float)
        centres = [float(self.x[[c == name for c in categories]].mean()) for name in order]
        self.ax.set_xlim(-1, max(len(categories), 1))
        labels = [short_category(n) for n in order]
        self.ax.set_xticks(centres, labels, rotation=35, ha="right", fontsize=8)
        self.ax.spines[["top", "right"]].set_visible(False)
        self.ax.set_ylabel("-log10 p")
        self.title = self.ax.set_title(" ", loc="left", fontsize=10)
        self.marks: dict[str, Any] = {m: self.ax.scatter([], [], marker=m, s=36, linewidths=0, animated=True)
                      for m in ("^", "v", "o")}  # fmt: skip
        self.line = self.ax.axhline(-np.log10(threshold), color="#c00000", lw=0.8, ls="--",
                                    animated=True)  # fmt: skip
        self.ax.yaxis.set_visible(False)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.ax.yaxis.set_visible(True)

    def draw(self, p: np.ndarray[Any, Any], beta: np.ndarray[Any, Any], *, names: Sequence[str],
             title: str, path: Path) -> Path:  # fmt: skip
        """One variant's plot from its p-values and betas in plotting order (NaN where the
        trait's file lacks it); ``names`` label the most significant traits."""
        self.canvas.restore_region(self.background)
        tested = np.isfinite(p)
        y = np.where(tested, -np.log10(np.clip(p, 1e-300, 1.0)), np.nan)
        top = float(np.nanmax(y)) if tested.any() else 0.0
        self.ax.set_ylim(0, max(top, -np.log10(self.threshold)) * 1.12 + 0.5)
        self.title.set_text(title)
        shown = [self.ax.yaxis, self.line, self.title]
        for marker, mask in (("^", beta > 0), ("v", beta < 0), ("o", ~(beta > 0) & ~(beta < 0))):
            keep = mask & tested
            self.marks[marker].set_offsets(np.column_stack([self.x[keep], y[keep]]))
            self.marks[marker].set_facecolors(self.colours[keep])
            shown.append(self.marks[marker])
        hits = np.flatnonzero(tested & (p < self.threshold))
        hits = hits[np.argsort(p[hits], kind="stable")][:LABELLED]
        labels = [self.ax.annotate(names[int(i)], (self.x[i], y[i]), xytext=(4, 3),
                                   textcoords="offset points", fontsize=7, animated=True)
                  for i in hits]  # fmt: skip
        for artist in shown + labels:
            self.ax.draw_artist(artist)
        for label in labels:
            label.remove()
        rgba = np.asarray(self.canvas.buffer_rgba())
        Image.fromarray(rgba[..., :3]).save(path, compress_level=1)
        return path
