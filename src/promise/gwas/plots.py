"""Manhattan, QQ and PCA plots as PNG files (matplotlib's object API, no pyplot state).

A genome-wide scan has hundreds of thousands of points per trait, most of them in the
uninformative band near -log10 p = 0. Drawing each one costs seconds and changes no pixel,
so points below :data:`THIN_BELOW` (-log10 p) are thinned to one per plotted pixel cell;
every point above it is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from promise.gwas.results import TraitSummary

MAX_PANELS = 6
COLOURS = ("#1f4e79", "#6fa8dc")
GENOME_WIDE = 5e-8
THIN_BELOW = 2.0  # -log10 p under which points are thinned to one per pixel cell
_CELLS = (2000, 200)  # x and y cells per panel used for thinning


def thin(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
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


def _neglog10(p: pd.Series) -> np.ndarray[Any, Any]:
    values = p.to_numpy(dtype=float)
    values = np.clip(values[np.isfinite(values)], 1e-300, 1.0)
    result: np.ndarray[Any, Any] = -np.log10(values)
    return result


def manhattan(summaries: Sequence[TraitSummary], path: Path) -> Path:
    """One Manhattan panel per trait (at most six), chromosomes in alternating colours."""
    shown = list(summaries)[:MAX_PANELS]
    fig = Figure(figsize=(12, 3.2 * max(1, len(shown))))
    axes = fig.subplots(max(1, len(shown)), 1, squeeze=False)
    for ax, summary in zip(axes[:, 0], shown, strict=False):
        _manhattan_panel(ax, summary)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _manhattan_panel(ax: Any, summary: TraitSummary) -> None:
    frame = summary.frame.dropna(subset=["p_value"])
    chrom = pd.to_numeric(frame["chromosome"], errors="coerce").fillna(99).astype(int)
    offsets: dict[int, float] = {}
    start = 0.0
    ticks, labels = [], []
    for c in sorted(chrom.unique()):
        pos = frame["base_pair_location"][chrom == c]
        offsets[c] = start - float(pos.min())
        ticks.append(start + (float(pos.max()) - float(pos.min())) / 2)
        labels.append(str(c))
        start += float(pos.max()) - float(pos.min()) + 1e7
    x = frame["base_pair_location"].to_numpy(dtype=float) + chrom.map(offsets).to_numpy()
    y = -np.log10(np.clip(frame["p_value"].to_numpy(dtype=float), 1e-300, 1.0))
    shown = thin(x, y)
    x, y, even = x[shown], y[shown], chrom.to_numpy()[shown] % 2 == 0
    for parity, colour in ((False, COLOURS[0]), (True, COLOURS[1])):
        mask = even == parity
        ax.plot(x[mask], y[mask], ls="none", marker="o", ms=2.2, mew=0, color=colour,
                rasterized=True)  # fmt: skip
    ax.axhline(-np.log10(GENOME_WIDE), color="#c00000", lw=0.8, ls="--")
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 p")
    ax.set_title(f"{summary.trait} ({summary.kind}, n = {summary.n:,})", loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)


def qq(summaries: Sequence[TraitSummary], path: Path) -> Path:
    """Observed against expected -log10 p for every trait, with lambda GC in the legend."""
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.subplots()
    top = 1.0
    for summary in summaries:
        observed = np.sort(_neglog10(summary.frame["p_value"]))[::-1]
        if observed.size == 0:
            continue
        expected = -np.log10((np.arange(1, observed.size + 1) - 0.5) / observed.size)
        shown = thin(expected, observed)
        ax.plot(
            expected[shown],
            observed[shown],
            ls="none",
            marker="o",
            ms=2.5,
            mew=0,
            rasterized=True,
            label=f"{summary.trait}: λGC = {summary.lambda_gc:.3f}",
        )
        top = max(top, float(expected.max()), float(observed.max()))
    ax.plot([0, top], [0, top], color="#7f7f7f", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def pca(scores: pd.DataFrame | None, path: Path, *, groups: pd.Series | None = None) -> Path:
    """PC1 against PC2 (and PC3 against PC4 when present), coloured by ``groups``."""
    pairs = [("PC1", "PC2"), ("PC3", "PC4")]
    if scores is None or "PC2" not in scores.columns:
        fig = Figure(figsize=(5, 2))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "PCA not run (--pcs 0 or too few samples)", ha="center", va="center")
        fig.savefig(path, dpi=110)
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
    fig.savefig(path, dpi=110)
    return path
