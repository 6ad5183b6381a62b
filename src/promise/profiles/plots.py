"""The profile's figures, drawn from released values only (a suppressed cell draws nothing).

Matplotlib's object API (no pyplot state), PNG files beside the pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from promise.profiles.release import FloatArray, rate

SEXES = ("men", "women")
COLOURS = ("#2b6cb0", "#c05621")
DPI = 100


def _figure(width: float = 6.4, height: float = 3.4) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e3e8ef", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})  # a little larger, much faster
    return path


def onset_histogram(counts: FloatArray, labels: Sequence[str], path: Path) -> Path:
    """Cases by 10-year band of age at first event, men and women side by side.

    ``counts`` is the released table with margins (bands + total) x (men, women, total).
    """
    fig, ax = _figure()
    x = np.arange(len(labels))
    for s, (name, colour) in enumerate(zip(SEXES, COLOURS, strict=True)):
        heights = counts[: len(labels), s]
        shown = ~np.isnan(heights)
        ax.bar(x[shown] + (s - 0.5) * 0.4, heights[shown], width=0.4, color=colour, label=name)
        for k in np.flatnonzero(~shown):
            ax.text(x[k] + (s - 0.5) * 0.4, 0, "–", ha="center", va="bottom", color=colour)
    ax.set_xticks(x, labels)
    ax.set_xlabel("age at first event (years)")
    ax.set_ylabel("cases")
    ax.legend(frameon=False)
    return _save(fig, path)


def rate_plot(events: FloatArray, years: FloatArray, labels: Sequence[str], xlabel: str, path: Path) -> Path:  # fmt: skip
    """Incidence per 1,000 person-years with 95% CIs by ``labels`` (rows), men and women.

    ``events``/``years`` are released (label x sex) tables; a suppressed cell draws no point.
    """
    fig, ax = _figure()
    x = np.arange(len(labels))
    for s, (name, colour) in enumerate(zip(SEXES, COLOURS, strict=True)):
        points = [rate(events[k, s], years[k, s]) for k in range(len(labels))]
        where = [k for k, p in enumerate(points) if p is not None]
        if not where:
            continue
        value = np.array([points[k][0] for k in where])  # type: ignore[index]
        low = np.array([points[k][1] for k in where])  # type: ignore[index]
        high = np.array([points[k][2] for k in where])  # type: ignore[index]
        ax.errorbar(x[where] + (s - 0.5) * 0.12, value, yerr=[value - low, high - value], fmt="o-",
                    color=colour, label=name, capsize=3, markersize=4, linewidth=1.2)  # fmt: skip
    ax.set_xticks(x, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("per 1,000 person-years")
    ax.set_ylim(bottom=0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "every cell suppressed", transform=ax.transAxes, ha="center")
    return _save(fig, path)


def ratio_plot(rows: Sequence[tuple[str, float, float, float]], path: Path) -> Path:
    """Hazard ratios with 95% CIs on a log axis (a forest plot), one row each."""
    fig, ax = _figure(6.4, 0.45 * len(rows) + 1.0)
    y = np.arange(len(rows))[::-1]
    for k, (_, ratio, low, high) in enumerate(rows):
        ax.plot([low, high], [y[k], y[k]], color="#1f4e79", linewidth=1.5)
        ax.plot([ratio], [y[k]], "s", color="#1f4e79", markersize=5)
    ax.axvline(1.0, color="#9aa5b1", linewidth=1, linestyle="--")
    ax.set_xscale("log")
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_xlabel("hazard ratio (95% CI)")
    ax.grid(axis="y", visible=False)
    low, high = min(r[2] for r in rows), max(r[3] for r in rows)
    left, right = min(0.5, low / 1.2), max(2.0, high * 1.2) if math.isfinite(high) else 10.0
    ax.set_xlim(left, right)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200) if left <= t <= right]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    return _save(fig, path)
