"""The plots' thinning, axis limits and hand-drawn ticks: fewer points, the same picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from promise.gwas import plots
from promise.gwas.plotdata import TraitPoints

pytestmark = pytest.mark.unit


def _band_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Manhattan-like points: dense near y = 0, a tail above THIN_BELOW."""
    x = np.sort(rng.uniform(0, 1000, n))
    y = -np.log10(rng.uniform(size=n))
    return x, y


def _nearest_in_cells(drop: np.ndarray, kept: np.ndarray, cell: tuple[float, float]) -> float:
    """Largest, over the dropped points, Chebyshev distance (in cells) to a kept point."""
    dx = np.abs(drop[:, None, 0] - kept[None, :, 0]) / cell[0]
    dy = np.abs(drop[:, None, 1] - kept[None, :, 1]) / cell[1]
    return float(np.maximum(dx, dy).min(axis=1).max())


def test_thin_keeps_every_high_point_and_the_lowest_of_each_cell() -> None:
    rng = np.random.default_rng(1)
    x, y = _band_points(rng, 4000)
    cell = (20.0, 0.2)
    kept = plots.thin(x, y, cell=cell)
    assert np.all(np.diff(kept) > 0)  # ascending, no repeats
    high = np.flatnonzero(y >= plots.THIN_BELOW)
    assert high.size > 0 and np.isin(high, kept).all()
    low = np.setdiff1d(np.flatnonzero(y < plots.THIN_BELOW), kept)
    assert low.size > 1000  # the test thins something
    # the grid thin() uses: from the smallest x and from y = 0
    cx = np.floor((x - x.min()) / cell[0]).astype(int)
    cy = np.floor(y / cell[1]).astype(int)
    kept_low = kept[y[kept] < plots.THIN_BELOW]
    cells = set(zip(cx[kept_low], cy[kept_low], strict=True))
    assert len(cells) == kept_low.size  # one a cell
    for i in low:  # each dropped point shares its cell with a kept, lower one
        assert (cx[i], cy[i]) in cells
    lowest = {(cx[i], cy[i]): y[i] for i in kept_low}
    assert all(y[i] >= lowest[cx[i], cy[i]] for i in low)
    # so it lies within one cell (1.2 px for a Manhattan cell of 0.84 px) of a kept point
    drop = np.column_stack([x[low], y[low]])
    keep = np.column_stack([x[kept_low], y[kept_low]])
    assert _nearest_in_cells(drop, keep, cell) < 1


def test_thin_with_a_grid_much_finer_than_the_points_drops_only_duplicates() -> None:
    x = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 3.0])
    y = np.array([0.5, 0.5, 0.25, 1.0, 3.0, 1.5])
    assert plots.thin(x, y, cell=(1e-6, 1e-6)).tolist() in ([0, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    assert plots.thin(x, y).size == 5  # the default grid (2000 x 200 cells)


def test_ascending_sorts_like_numpy() -> None:
    rng = np.random.default_rng(2)
    p = np.concatenate(
        [rng.uniform(size=5000), 10.0 ** -rng.uniform(5, 300, 50), [0.0, 1.0, 1.0, 0.5, 0.5]]
    )
    rng.shuffle(p)
    assert np.array_equal(plots._ascending(p), np.sort(p))


@pytest.mark.parametrize("cell", [(0.05, 0.02), (0.2, 0.005), (0.005, 0.2)])
def test_qq_points_are_exact_pairs_all_top_ones_and_a_cell_apart(
    cell: tuple[float, float],
) -> None:
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=3000), [1e-12, 3e-9, 1.0, 1.0, 1.0]])
    n = p.size
    observed = np.sort(plots.neglog10(p))[::-1]  # the full curve, as drawn unthinned
    expected = -np.log10((np.arange(1, n + 1) - 0.5) / n)
    e, o = plots._qq_points(plots._ascending(p), cell)
    rank = np.searchsorted(-expected, -e)  # expected falls along the curve
    assert np.array_equal(expected[rank], e) and np.array_equal(observed[rank], o)
    assert np.all(np.diff(rank) > 0)
    top = np.flatnonzero(observed >= plots.THIN_BELOW)
    assert np.isin(top, rank).all()
    dropped = np.setdiff1d(np.arange(n), rank)
    assert dropped.size > 2000
    # each dropped point is in the cell of the kept one before it along the curve
    before = rank[np.searchsorted(rank, dropped) - 1]
    dx = (expected[before] - expected[dropped]) / cell[0]
    dy = (observed[before] - observed[dropped]) / cell[1]
    assert np.all(np.maximum(dx, dy) < 1 + 1e-9)
    assert (
        _nearest_in_cells(
            np.column_stack([expected[dropped], observed[dropped]]), np.column_stack([e, o]), cell
        )
        < 1 + 1e-9
    )


def test_limits_are_matplotlibs_autoscaled_ones() -> None:
    for lo, hi in [(0.0, 41.3), (-3.0, 7.3), (7.3, 7.3), (0.0, 0.0)]:
        ax = Figure().subplots()
        ax.plot([lo, hi], [hi, lo])
        assert ax.get_xlim() == pytest.approx(plots._limits(lo, hi), abs=1e-12)


def test_cell_is_the_stated_number_of_points_on_screen() -> None:
    fig = Figure(figsize=(12, 6.4), dpi=plots.DPI)
    fig.subplots_adjust(left=0.06, right=0.99, hspace=0.3)
    ax = fig.subplots(2, 1)[1]
    xlim, ylim = (-1e8, 3.2e9), (-2.0, 43.0)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    width, height = plots._cell(ax, xlim, ylim, 0.55)
    corners = ax.transData.transform([(0.0, 0.0), (width, height)])
    assert corners[1] - corners[0] == pytest.approx([0.55 * plots.DPI / 72] * 2)


def _axes_pixels(hand_drawn: bool) -> np.ndarray:
    fig = Figure(figsize=(6, 2.5), dpi=plots.DPI)
    canvas: Any = FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.15, bottom=0.3)
    ax = fig.subplots()
    ax.set_xlim(-5e7, 1.05e9)
    ax.set_ylim(-1.9, 38.7)
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 p")
    ticks, labels = [1e8, 4e8, 7.5e8, 1e9], ["1", "2", "22", "other"]
    if hand_drawn:
        plots._ticks(ax, "x", canvas.get_renderer(), ticks, labels, fontsize=7)
        plots._ticks(ax, "y", canvas.get_renderer())
    else:
        ax.set_xticks(ticks, labels, fontsize=7)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_hand_drawn_ticks_are_matplotlibs_to_the_pixel() -> None:
    assert np.array_equal(_axes_pixels(True), _axes_pixels(False))


def test_png_holds_the_drawn_pixels(tmp_path: Path) -> None:
    fig = Figure(figsize=(3, 2), dpi=plots.DPI)
    canvas: Any = FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1, 2], [2, 0, 1], marker="o")
    path = plots._save(canvas, tmp_path / "f.png")
    with Image.open(path) as image:
        assert image.info["dpi"] == pytest.approx((plots.DPI, plots.DPI), abs=0.01)
        assert np.array_equal(np.asarray(image.convert("RGBA")), np.asarray(canvas.buffer_rgba()))


def test_manhattan_panel_draws_every_high_point_within_the_autoscaled_limits() -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    chrom = np.repeat([1, 2, 3, 99], n // 4)
    pos = rng.integers(1, 5_000_000, n)
    p = rng.uniform(size=n)
    p[::997] = 1e-12
    p[5] = np.nan
    points = TraitPoints("Y", "Y (quantitative, n = 10)", "Y", chrom, pos, p)
    fig = Figure(figsize=(12, 3.2), dpi=plots.DPI)
    canvas: Any = FigureCanvasAgg(fig)
    ax = fig.subplots()
    plots._manhattan_panel(ax, points, canvas.get_renderer())
    drawn = np.concatenate([line.get_ydata() for line in ax.lines[:2]])
    y = plots.neglog10(p)
    assert np.sort(drawn[drawn >= plots.THIN_BELOW]).tolist() == np.sort(y[y >= 2]).tolist()
    assert 0 < drawn.size < n / 2
    assert ax.get_ylim() == pytest.approx(plots._limits(float(y.min()), float(y.max())))


def test_plots_of_odd_inputs_are_drawn(tmp_path: Path) -> None:
    def trait(p: list[float]) -> TraitPoints:
        k = len(p)
        return TraitPoints("Y", "Y", "Y", np.arange(k) % 2 + 1, np.arange(k) * 10, np.array(p))

    odd = [trait([0.5, 1e-9, float("nan"), 0.2]), trait([float("nan")] * 3), trait([0.3])]
    for drawn in (
        plots.manhattan(odd, tmp_path / "m.png"),
        plots.manhattan([], tmp_path / "none.png"),
        plots.qq(odd, tmp_path / "q.png"),
    ):
        assert drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_and_plotworker_do_not_import_each_other() -> None:
    """The plotting process imports the plots without the worker, the run imports the worker
    without matplotlib: their shared data lives in plotdata.py (no import cycle)."""
    import subprocess
    import sys

    code = (
        "import sys, promise.gwas.{0}; "
        "print('promise.gwas.{1}' in sys.modules, 'matplotlib' in sys.modules)"
    )
    plots = subprocess.run([sys.executable, "-c", code.format("plots", "plotworker")],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    worker = subprocess.run([sys.executable, "-c", code.format("plotworker", "plots")],
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert plots == ["False", "True"]
    assert worker == ["False", "False"]
