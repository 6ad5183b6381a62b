"""Manhattan, QQ and PCA plots as PNG files (matplotlib's object API, no pyplot state).

A genome-wide scan has hundreds of thousands of points per trait, most of them in the
uninformative band near -log10 p = 0, where the markers overlap many times over. Points
below :data:`THIN_BELOW` (-log10 p) are thinned to one per cell of a grid laid in the
figure's pixels (the axis limits are set before drawing, so the pixel scale is known):
cells of :data:`MANHATTAN_CELL` marker diameters, 0.84 px, keep the lowest point of each,
and every dropped point lies in a kept point's cell, under 1.2 px from it. Half a diameter
visibly roughened the band's edges; a quarter draws about 15,000 points a panel, not
70,000. Every point above the band is drawn. The QQ curve falls monotonically, so there
the points of a cell are a run along it, and cells of :data:`QQ_CELL` diameters (0.38 px)
cost a few hundred points a trait.

What is left is mostly matplotlib's text: the x and y ticks are drawn as matplotlib draws
them, to the pixel, without its Tick objects (:func:`_ticks`), and the PNG is written
with unfiltered rows (:func:`_save`).

A run draws the plots in a separate process (:class:`promise.gwas.plotworker.PlotWorker`),
from plain arrays (:class:`promise.gwas.plotdata.TraitPoints`).
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN, TICKLEFT

from promise.gwas.plotdata import OTHER_CONTIG, PcaPoints, TraitPoints

if TYPE_CHECKING:
    import pandas as pd

MAX_PANELS = 6
COLOURS = ("#1f4e79", "#6fa8dc")
GENOME_WIDE = 5e-8
THIN_BELOW = 2.0  # -log10 p under which points are thinned to one per grid cell
DPI = 110
MANHATTAN_MS = 2.2  # marker diameters, in points (2.2 pt is 3.4 px)
QQ_MS = 2.5
MANHATTAN_CELL = 0.25  # side of a thinning cell, in marker diameters
QQ_CELL = 0.1
_CELLS = (2000, 200)  # thin()'s grid without a cell: x cells over the x range, y over the band
MARGIN = 0.05  # matplotlib's default axes margins: the limits are set up front with them
PNG_LEVEL = 3  # zlib level: savefig's file size in a third of its time
Array = np.ndarray[Any, Any]


def thin(x: Array, y: Array, *, cell: tuple[float, float] | None = None) -> Array:
    """Indices of the points to draw, ascending: all with y >= THIN_BELOW and, below it,
    the lowest point in each cell of a grid (p-values near 1 pile up at the band's lower
    edge). ``cell`` is a cell's width and height in data units; by default the x range has
    2000 cells and the band 200."""
    low = np.flatnonzero(y < THIN_BELOW)
    if low.size == 0:
        return np.arange(x.size)
    if cell is None:
        cell = (max(float(np.ptp(x)), 1e-12) / _CELLS[0], THIN_BELOW / _CELLS[1])
    height = y[low]
    cx = ((x[low] - x.min()) / cell[0]).astype(np.int64)  # >= 0: truncation is floor
    cy = np.floor(height / cell[1]).astype(np.int64)
    cy -= cy.min()
    key = cx * (int(cy.max()) + 1) + cy
    if int(key.max()) < 16 * low.size:  # a slot per cell
        lowest = np.full(int(key.max()) + 1, np.inf)
        np.minimum.at(lowest, key, height)
        at = height == lowest[key]
        slot = np.full(lowest.size, -1, dtype=np.int64)
        slot[key[at]] = low[at]  # one of the lowest, should two tie
        chosen = slot[slot >= 0]
    else:  # a grid much finer than the points: sort them by cell, then height
        order = np.lexsort((height, key))
        starts = np.flatnonzero(np.diff(key[order], prepend=-1))
        chosen = low[order[starts]]
    keep = np.concatenate([chosen, np.flatnonzero(y >= THIN_BELOW)])
    keep.sort()
    return keep


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
    fig = Figure(figsize=(12, height), dpi=DPI)
    canvas: Any = FigureCanvasAgg(fig)
    # fixed margins in inches: tight_layout measured every tick label (a third of the time)
    fig.subplots_adjust(
        left=0.06, right=0.99, bottom=0.55 / height, top=1 - 0.35 / height, hspace=0.75 / 3.2
    )
    axes = fig.subplots(rows, 1, squeeze=False)
    for ax, points in zip(axes[:, 0], shown, strict=False):
        _manhattan_panel(ax, points, canvas.get_renderer())
    return _save(canvas, path)


def _manhattan_panel(ax: Any, points: TraitPoints, renderer: Any) -> None:
    ok = np.isfinite(points.p)
    chrom, pos = points.chromosome[ok], points.position[ok].astype(float)
    # chromosomes end to end in code order, 1e7 apart
    codes, index = np.unique(chrom, return_inverse=True)
    low = np.full(codes.size, np.inf)
    high = np.full(codes.size, -np.inf)
    np.minimum.at(low, index, pos)
    np.maximum.at(high, index, pos)
    start = np.concatenate([[0.0], np.cumsum(high - low + 1e7)[:-1]])
    x = pos + (start - low)[index]
    y = neglog10(points.p[ok])
    line = -np.log10(GENOME_WIDE)
    cell = None
    if x.size:
        xlim = _limits(float(x.min()), float(x.max()))
        ylim = _limits(min(float(y.min()), line), max(float(y.max()), line))
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        cell = _cell(ax, xlim, ylim, MANHATTAN_CELL * MANHATTAN_MS)
    even = chrom % 2 == 0
    for parity, colour in ((False, COLOURS[0]), (True, COLOURS[1])):
        group = np.flatnonzero(even == parity)  # thinned apart: no cell mixes the colours
        if cell is not None:
            group = group[thin(x[group], y[group], cell=cell)]
        ax.plot(x[group], y[group], ls="none", marker="o", ms=MANHATTAN_MS, mew=0,
                color=colour, rasterized=True)  # fmt: skip
    ax.axhline(line, color="#c00000", lw=0.8, ls="--")
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 p")
    labels = [str(c) if c != OTHER_CONTIG else "other" for c in codes]
    _ticks(ax, "x", renderer, start + (high - low) / 2, labels, fontsize=7)
    _ticks(ax, "y", renderer)
    # y=1 is where the automatic placement puts it, without measuring every tick label
    ax.set_title(points.title, loc="left", fontsize=10, y=1.0)
    ax.spines[["top", "right"]].set_visible(False)


def _ticks(
    ax: Any, name: str, renderer: Any, locs: Any = None, labels: Any = None, **text: Any
) -> None:
    """Ticks on the ``name`` ("x" or "y") axis of ``ax``, once its limits are set: at
    ``locs`` with ``labels``, by default where matplotlib would put them. Drawn as
    matplotlib draws them (marks, pads, fonts, and the axis label set clear of the tick
    labels), but as one line of tick marks and plain texts: matplotlib's Tick objects,
    three lines and two texts each, took a third of the Manhattan plot's time."""
    rc: Any = mpl.rcParams
    x = name == "x"
    axis = ax.xaxis if x else ax.yaxis
    if locs is None:
        lo, hi = sorted(axis.get_view_interval())
        locs = axis.get_majorticklocs()
        labels = axis.get_major_formatter().format_ticks(locs)
        shown = [i for i, loc in enumerate(locs) if _close_in(lo, hi, loc)]
        locs, labels = [locs[i] for i in shown], [labels[i] for i in shown]
    axis.set_ticks([])
    size = rc[f"{name}tick.major.size"]
    colour = rc[f"{name}tick.color"]
    zeros = np.zeros(len(locs))
    mark: Any = TICKDOWN if x else TICKLEFT
    ax.add_artist(
        Line2D(
            *((locs, zeros) if x else (zeros, locs)),
            transform=ax.get_xaxis_transform("tick1") if x else ax.get_yaxis_transform("tick1"),
            ls="none",
            marker=mark,
            ms=size,
            mew=rc[f"{name}tick.major.width"],
            color=colour,
            clip_on=False,
        )
    )
    pad = rc[f"{name}tick.major.pad"] + size
    transform, va, ha = (
        ax.get_xaxis_text1_transform(pad) if x else ax.get_yaxis_text1_transform(pad)
    )
    text.setdefault("fontsize", rc[f"{name}tick.labelsize"])
    if rc[f"{name}tick.labelcolor"] != "inherit":
        colour = rc[f"{name}tick.labelcolor"]
    boxes = [ax.spines["bottom" if x else "left"].get_window_extent(renderer)]
    for loc, label in zip(locs, labels, strict=True):
        xy = (loc, 0) if x else (0, loc)
        t = ax.text(*xy, label, transform=transform, va=va, ha=ha, color=colour, **text)
        boxes.append(t.get_window_extent(renderer))
    gap = axis.labelpad * DPI / 72
    lx, ly = axis.label.get_position()
    if x:
        ly = min(b.y0 for b in boxes) - gap
    else:
        lx = min(b.x0 for b in boxes) - gap
    axis.set_label_coords(lx, ly, axis.label.get_transform())


def _close_in(lo: float, hi: float, value: float) -> bool:
    """Whether matplotlib draws a tick at ``value`` on an axis from ``lo`` to ``hi``."""
    slack = (hi - lo) * 1e-10
    return lo - slack <= value <= hi + slack


def qq(traits: Sequence[TraitPoints], path: Path) -> Path:
    """Observed against expected -log10 p for every trait, with lambda GC in the legend."""
    fig = Figure(figsize=(5.5, 5.5), dpi=DPI)
    canvas: Any = FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.1, top=0.97)
    ax = fig.subplots()
    curves = [(points.label, _ascending(points.p[np.isfinite(points.p)])) for points in traits]
    curves = [(label, p) for label, p in curves if p.size]
    # the diagonal spans the expected range; all values are >= 0
    top = max([1.0] + [float(np.log10(2 * p.size)) for _, p in curves])
    xlim = _limits(0.0, top)
    ylim = _limits(0.0, max([top] + [float(neglog10(p[:1])[0]) for _, p in curves]))
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    cell = _cell(ax, xlim, ylim, QQ_CELL * QQ_MS)
    for label, p in curves:
        expected, observed = _qq_points(p, cell)
        ax.plot(expected, observed, ls="none", marker="o", ms=QQ_MS, mew=0,
                rasterized=True, label=label)  # fmt: skip
    ax.plot([0, top], [0, top], color="#7f7f7f", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    _ticks(ax, "x", canvas.get_renderer())
    _ticks(ax, "y", canvas.get_renderer())
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(canvas, path)


def _ascending(p: Array) -> Array:
    """``p`` (finite) sorted. A stable sort by 16-bit buckets of p in [0, 1] first (a radix
    sort) leaves short runs that timsort merges: half the time of one ``np.sort``."""
    buckets = (np.clip(p, 0.0, 1.0) * 65535).astype(np.uint16)
    result: Array = np.sort(p[np.argsort(buckets, kind="stable")], kind="stable")
    return result


def _qq_points(p: Array, cell: tuple[float, float]) -> tuple[Array, Array]:
    """Expected and observed -log10 p of the QQ points to draw from ascending p-values
    (observed descending): every point with observed >= THIN_BELOW, and of the others the
    first in each cell of a grid from 0 with ``cell`` sides. The curve falls monotonically,
    so the points in a cell are consecutive: a new cell starts where the curve crosses a
    grid line, found by arithmetic for the expected and by bisection for the observed."""
    n = p.size
    # observed falls along p: the candidates for the top are the smallest p
    candidates = int(np.searchsorted(p, 10.0**-THIN_BELOW * 1.01, side="right"))
    top = int(np.count_nonzero(neglog10(p[:candidates]) >= THIN_BELOW))
    starts = [np.arange(top)]
    if top < n:
        # expected of rank r: -log10((r + 0.5) / n); first rank below the line j * width
        lines = np.arange(1, int(np.log10(2 * n) / cell[0]) + 1) * cell[0]
        across = np.floor(n * 10.0**-lines - 0.5).astype(np.int64) + 1
        lines = np.arange(1, int(THIN_BELOW / cell[1]) + 1) * cell[1]
        down = np.searchsorted(p, 10.0**-lines, side="right")
        runs = np.unique(np.concatenate([[top], across, down]))
        starts.append(runs[(runs >= top) & (runs < n)])
    kept = np.concatenate(starts)
    return -np.log10((kept + 0.5) / n), neglog10(p[kept])


def _limits(lo: float, hi: float) -> tuple[float, float]:
    """The view limits matplotlib's autoscaling gives data from ``lo`` to ``hi``."""
    if not hi > lo:  # a single value is widened first, as matplotlib does
        lo, hi = lo - (MARGIN * abs(lo) or MARGIN), hi + (MARGIN * abs(hi) or MARGIN)
    pad = (hi - lo) * MARGIN
    return lo - pad, hi + pad


def _cell(
    ax: Any, xlim: tuple[float, float], ylim: tuple[float, float], side: float
) -> tuple[float, float]:
    """A square of ``side`` points, as a width and a height in the data units of ``ax`` once
    its limits are ``xlim`` and ``ylim``, in the figure saved at :data:`DPI`."""
    box = ax.get_position()
    width, height = ax.get_figure().get_size_inches() * DPI
    pixels = side * DPI / 72
    return (
        pixels * (xlim[1] - xlim[0]) / (box.width * width),
        pixels * (ylim[1] - ylim[0]) / (box.height * height),
    )


def _save(canvas: Any, path: Path) -> Path:
    """Draw and write an RGBA PNG, the image ``savefig`` writes. Its encoder (Pillow's) tries
    five filters on every row, 90 ms for the Manhattan plot; unfiltered rows compress these
    flat-coloured plots as small, in a quarter of the time."""
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    height, width = rgba.shape[:2]
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)  # a 0 (no filter) per row
    rows[:, 1:] = rgba.reshape(height, -1)
    per_metre = round(DPI / 0.0254)
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),  # 8-bit RGBA
        (b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        (b"IDAT", zlib.compress(rows.data, PNG_LEVEL)),
        (b"IEND", b""),
    ]
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + b"".join(
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
            for tag, data in chunks
        )
    )
    return path


def pca(points: PcaPoints | None, path: Path) -> Path:
    """PC1 against PC2 coloured by each of ``points.groups``' labellings (batch, declared
    ancestry), and PC3 against PC4 by the first; axes give the share of variance each PC
    explains."""
    if points is None or "PC2" not in points.scores.columns:
        fig = Figure(figsize=(5, 2))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "PCA not run (--pcs 0 or too few samples)", ha="center", va="center")
        fig.savefig(path, dpi=DPI)
        return path
    scores = points.scores
    titles: list[str | None] = list(points.groups.columns) if points.groups is not None else []
    panels = [("PC1", "PC2", t) for t in titles or [None]]
    if "PC4" in scores.columns:
        panels.append(("PC3", "PC4", titles[0] if titles else None))
    fig = Figure(figsize=(5.2 * len(panels), 4.8))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (a, b, title) in zip(axes[0], panels, strict=True):
        if title is None or points.groups is None:
            ax.scatter(scores[a], scores[b], s=6, linewidths=0, color=COLOURS[0])
        else:
            labels = points.groups[title].reindex(scores.index).fillna("unknown")
            for name in _ordered_levels(labels):
                mask = (labels == name).to_numpy()
                ax.scatter(scores[a][mask], scores[b][mask], s=6, linewidths=0, alpha=0.7,
                           label=f"{name} ({int(mask.sum()):,})")  # fmt: skip
            ax.legend(title=title, fontsize=7, title_fontsize=8, frameon=False, markerscale=2)
        ax.set_xlabel(_axis_label(a, points.explained))
        ax.set_ylabel(_axis_label(b, points.explained))
        ax.set_title(f"coloured by {title}" if title else "", fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def _ordered_levels(labels: pd.Series, most: int = 8) -> list[str]:
    """The labels by size, the largest first; past ``most`` levels the rest are 'other'."""
    counts = labels.value_counts()
    if len(counts) > most:
        labels.loc[~labels.isin(counts.index[: most - 1])] = "other"
        counts = labels.value_counts()
    return [str(v) for v in counts.index]


def _axis_label(pc: str, explained: Sequence[float]) -> str:
    index = int(pc.removeprefix("PC")) - 1
    if index < len(explained):
        return f"{pc} ({100 * explained[index]:.2g}% of variance)"
    return pc


def draw_all(
    traits: Sequence[TraitPoints], pca_points: PcaPoints | None, out: Path
) -> dict[str, Path]:
    """The run's three figures under ``out``, by the title the report gives them."""
    return {
        "Manhattan plot": manhattan(traits, out / "manhattan.png"),
        "QQ plot": qq(traits, out / "qq.png"),
        "Principal components": pca(pca_points, out / "pca.png"),
    }


def main() -> None:
    """The plotting process (:class:`promise.gwas.plotworker.PlotWorker`): read the pickled
    data on stdin, draw, write the paths as JSON on stdout."""
    traits, pca_points, out = pickle.loads(sys.stdin.buffer.read())
    drawn = draw_all(traits, pca_points, out)
    sys.stdout.write(json.dumps({name: str(path) for name, path in drawn.items()}))


if __name__ == "__main__":
    main()
