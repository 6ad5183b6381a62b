"""Manhattan, QQ and PCA plots as PNG files (matplotlib's object API, no pyplot state).

A genome-wide scan has hundreds of thousands of points per trait, most of them in the
uninformative band near -log10 p = 0. Drawing each one costs seconds and changes no pixel,
so points below :data:`THIN_BELOW` (-log10 p) are thinned to one per plotted pixel cell;
every point above it is drawn. A run draws them in a separate process
(:class:`promise.gwas.plotworker.PlotWorker`), from plain arrays
(:class:`promise.gwas.plotworker.TraitPoints`).
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from promise.gwas.plotworker import OTHER_CONTIG, TraitPoints

if TYPE_CHECKING:
    import pandas as pd

MAX_PANELS = 6
COLOURS = ("#1f4e79", "#6fa8dc")
GENOME_WIDE = 5e-8
THIN_BELOW = 2.0  # -log10 p under which points are thinned to one per pixel cell
_CELLS = (2000, 200)  # x and y cells per panel used for thinning
DPI = 110
Array = np.ndarray[Any, Any]


def thin(x: Array, y: Array) -> Array:
    """Indices of the points to draw: all with y >= THIN_BELOW, one per cell below it."""
    low = np.flatnonzero(y < THIN_BELOW)
    if low.size == 0:
        return np.arange(x.size)
    span_x = max(float(np.ptp(x)), 1e-12)
    cx = ((x[low] - x.min()) / span_x * _CELLS[0]).astype(np.int64)
    cy = (y[low] / THIN_BELOW * _CELLS[1]).astype(np.int64)
    _, first = np.unique(cx * (_CELLS[1] + 1) + cy, return_index=True)
    keep = np.concatenate([low[first], np.flatnonzero(y >= THIN_BELOW)])
    return np.sort(keep)


def neglog10(p: Array) -> Array:
    """-log10 of the finite p-values, clipped at 1e-300."""
    values = np.clip(p[np.isfinite(p)], 1e-300, 1.0)
    result: Array = -np.log10(values)
    return result


def manhattan(traits: Sequence[TraitPoints], path: Path) -> Path:
    """One Manhattan panel per trait (at most six), chromosomes in alternating colours."""
    shown = list(traits)[:MAX_PANELS]
    rows = max(1, len(shown))
    height = 3.2 * rows
    fig = Figure(figsize=(12, height))
    # fixed margins in inches: tight_layout measured every tick label (a third of the time)
    fig.subplots_adjust(
        left=0.06, right=0.99, bottom=0.55 / height, top=1 - 0.35 / height, hspace=0.75 / 3.2
    )
    axes = fig.subplots(rows, 1, squeeze=False)
    for ax, points in zip(axes[:, 0], shown, strict=False):
        _manhattan_panel(ax, points)
    fig.savefig(path, dpi=DPI)
    return path


def _manhattan_panel(ax: Any, points: TraitPoints) -> None:
    ok = np.isfinite(points.p)
    chrom, pos = points.chromosome[ok], points.position[ok].astype(float)
    offsets = np.zeros(chrom.size)
    start = 0.0
    ticks, labels = [], []
    for c in np.unique(chrom):
        mask = chrom == c
        low, high = float(pos[mask].min()), float(pos[mask].max())
        offsets[mask] = start - low
        ticks.append(start + (high - low) / 2)
        labels.append(str(c) if c != OTHER_CONTIG else "other")
        start += high - low + 1e7
    x = pos + offsets
    y = neglog10(points.p[ok])
    shown = thin(x, y)
    x, y, even = x[shown], y[shown], chrom[shown] % 2 == 0
    for parity, colour in ((False, COLOURS[0]), (True, COLOURS[1])):
        mask = even == parity
        ax.plot(x[mask], y[mask], ls="none", marker="o", ms=2.2, mew=0, color=colour,
                rasterized=True)  # fmt: skip
    ax.axhline(-np.log10(GENOME_WIDE), color="#c00000", lw=0.8, ls="--")
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 p")
    ax.set_title(points.title, loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)


def qq(traits: Sequence[TraitPoints], path: Path) -> Path:
    """Observed against expected -log10 p for every trait, with lambda GC in the legend."""
    fig = Figure(figsize=(5.5, 5.5))
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.1, top=0.97)
    ax = fig.subplots()
    top = 1.0
    for points in traits:
        observed = np.sort(neglog10(points.p))[::-1]
        if observed.size == 0:
            continue
        expected = -np.log10((np.arange(1, observed.size + 1) - 0.5) / observed.size)
        shown = thin(expected, observed)
        ax.plot(expected[shown], observed[shown], ls="none", marker="o", ms=2.5, mew=0,
                rasterized=True, label=points.label)  # fmt: skip
        top = max(top, float(expected.max()))  # the diagonal spans the expected range
    ax.plot([0, top], [0, top], color="#7f7f7f", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.savefig(path, dpi=DPI)
    return path


def pca(scores: pd.DataFrame | None, path: Path, *, groups: pd.Series | None = None) -> Path:
    """PC1 against PC2 (and PC3 against PC4 when present), coloured by ``groups``."""
    pairs = [("PC1", "PC2"), ("PC3", "PC4")]
    if scores is None or "PC2" not in scores.columns:
        fig = Figure(figsize=(5, 2))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "PCA not run (--pcs 0 or too few samples)", ha="center", va="center")
        fig.savefig(path, dpi=DPI)
        return path
    pairs = [p for p in pairs if p[1] in scores.columns]
    fig = Figure(figsize=(5.5 * len(pairs), 5))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    labels = groups.reindex(scores.index).fillna("unknown") if groups is not None else None
    for ax, (a, b) in zip(axes[0], pairs, strict=True):
        if labels is None:
            ax.scatter(scores[a], scores[b], s=6, linewidths=0, color=COLOURS[0])
        else:
            for name in sorted(labels.unique()):
                mask = labels == name
                ax.scatter(scores[a][mask], scores[b][mask], s=6, linewidths=0, label=str(name))
            ax.legend(fontsize=7, frameon=False, markerscale=2)
        ax.set_xlabel(a)
        ax.set_ylabel(b)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def draw_all(
    traits: Sequence[TraitPoints], scores: pd.DataFrame | None, out: Path
) -> dict[str, Path]:
    """The run's three figures under ``out``, by the title the report gives them."""
    return {
        "Manhattan plot": manhattan(traits, out / "manhattan.png"),
        "QQ plot": qq(traits, out / "qq.png"),
        "Principal components": pca(scores, out / "pca.png"),
    }


def main() -> None:
    """The plotting process (:class:`promise.gwas.plotworker.PlotWorker`): read the pickled
    data on stdin, draw, write the paths as JSON on stdout."""
    traits, scores, out = pickle.loads(sys.stdin.buffer.read())
    drawn = draw_all(traits, scores, out)
    sys.stdout.write(json.dumps({name: str(path) for name, path in drawn.items()}))


if __name__ == "__main__":
    main()
