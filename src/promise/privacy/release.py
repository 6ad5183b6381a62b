"""Disclosure control of one result table before it leaves: counts in, releasable counts out.

A result is a table of cells named by its dimension columns (one row a cell). Each count-like
column is laid out as an n-way array over the dimensions that vary (absent combinations
count 0) and passed to :func:`promise.privacy.disclosure.protect`: primary suppression of
counts from 1 to ``threshold - 1``, secondary suppression until no suppressed cell follows
from the released cells and any margin (a reader may know totals from elsewhere), then
rounding. Person-time is rounded to whole years first and then treated like a count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from promise.privacy.disclosure import protect
from promise.privacy.policy import DisclosureError

#: Cells of the laid-out table at most: secondary suppression checks every suppressed
#: cell against every margin, which grows quickly (a 1,000-cell 2-way table takes seconds).
MAX_CELLS = 500
SUPPRESSED = "_suppressed"


@dataclass(frozen=True)
class Layout:
    """Which columns of a result name cells, which are counts, which follow along."""

    dimensions: list[str]
    counts: list[str]
    person_time: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def measures(self) -> list[str]:
        return [*self.counts, *self.person_time]


@dataclass(frozen=True)
class Released:
    """The releasable table and what disclosure control did to it."""

    frame: pl.DataFrame
    cells: int
    primary: dict[str, int]
    secondary: dict[str, int]

    @property
    def suppressed(self) -> int:
        return sum(self.primary.values()) + sum(self.secondary.values())


def release(frame: pl.DataFrame, layout: Layout, *, threshold: int, round_to: int) -> Released:
    """Protect every count-like column of ``frame``; other columns are dropped.

    Output: the dimension and label columns, then for each count column its released value
    (NULL when suppressed) and ``<column>_suppressed``.
    """
    _check_columns(frame, layout)
    varying = [d for d in layout.dimensions if frame[d].n_unique() > 1]
    index, shape = _positions(frame, varying)
    if math.prod(shape) > MAX_CELLS:
        raise DisclosureError(
            f"the table has {math.prod(shape):,} cells ({' x '.join(map(str, shape))} over "
            f"{', '.join(varying)}); exports hold at most {MAX_CELLS:,}: group more coarsely."
        )
    out = frame.select([*layout.dimensions, *layout.labels])
    primary: dict[str, int] = {}
    secondary: dict[str, int] = {}
    for column in layout.measures():
        values = _counts(frame, column, person_time=column in layout.person_time)
        grid = np.zeros(shape, dtype=np.int64)
        grid[index] = values
        table = protect(grid, threshold=threshold, round_to=round_to if round_to > 1 else None)
        hidden = table.suppressed[index]
        small = table.primary[index]
        released = table.released[index]
        primary[column] = int(small.sum())
        secondary[column] = int((hidden & ~small).sum())
        out = out.with_columns(
            pl.Series(column, np.where(hidden, np.nan, released), dtype=pl.Float64)
            .fill_nan(None)
            .round(0)
            .cast(pl.Int64),
            pl.Series(column + SUPPRESSED, hidden, dtype=pl.Boolean),
        )
    return Released(
        frame=out, cells=out.height * len(layout.measures()), primary=primary, secondary=secondary
    )


def _check_columns(frame: pl.DataFrame, layout: Layout) -> None:
    wanted = [*layout.dimensions, *layout.labels, *layout.measures()]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DisclosureError(
            f"the result has no column {', '.join(missing)} (it has {', '.join(frame.columns)})."
        )
    if not layout.measures():
        raise DisclosureError("the result has no count column: exports release counts of people.")
    if layout.dimensions and frame.select(layout.dimensions).is_duplicated().any():
        raise DisclosureError(
            f"the result has several rows for one cell of {', '.join(layout.dimensions)}; "
            "group by every dimension column so that each row is one cell."
        )
    if not layout.dimensions and frame.height > 1:
        raise DisclosureError("a result of several rows needs dimension columns naming them.")


def _positions(
    frame: pl.DataFrame, varying: Sequence[str]
) -> tuple[tuple[np.ndarray, ...], tuple[int, ...]]:
    """Each row's index along every varying dimension, and the table's shape."""
    if not varying:
        return (np.zeros(frame.height, dtype=np.int64),), (1,)
    index, shape = [], []
    for name in varying:
        levels = frame[name].unique().sort(nulls_last=True)  # not row order: reproducible
        codes = {value: i for i, value in enumerate(levels.to_list())}
        index.append(np.array([codes[v] for v in frame[name].to_list()], dtype=np.int64))
        shape.append(len(levels))
    return tuple(index), tuple(shape)


def _counts(frame: pl.DataFrame, column: str, *, person_time: bool) -> np.ndarray:
    series = frame[column]
    if series.null_count():
        raise DisclosureError(f"column {column} has empty values; a count must be a number.")
    if not series.dtype.is_numeric():
        raise DisclosureError(f"column {column} is {series.dtype}, not a count.")
    values = series.cast(pl.Float64).to_numpy()
    if (values < 0).any():
        raise DisclosureError(f"column {column} has negative values; counts cannot be negative.")
    if not person_time and not np.allclose(values, np.round(values)):
        raise DisclosureError(
            f"column {column} has fractions; only whole counts of people are released (declare "
            "person-time with --person-time)."
        )
    rounded: np.ndarray = np.rint(values).astype(np.int64)
    return rounded
