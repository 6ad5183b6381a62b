"""Disclosure control for aggregate tables leaving the warehouse.

A count between 1 and ``threshold - 1`` identifies too few people to publish. Such cells are
suppressed (primary suppression); then further cells are suppressed (secondary suppression)
until no suppressed cell can be recomputed from what is released: every row, column and
higher-dimensional line of the table, including its totals, is an additive constraint
``sum(cells) = total``, and a suppressed cell is safe only when those constraints leave it
undetermined. Zeros are released (a zero is not a person), and complements are always
positive cells, so an undetermined cell can also move continuously: its feasible interval is
never a single point. Optionally every released count is rounded to a multiple of ``round_to``.

The table is an n-dimensional array of interior counts; :func:`protect` adds the margins
(index ``n_i`` along axis ``i`` is the total over that axis) and returns both. The dbt macro
``disclosure_protect`` applies the simpler one-way rules in SQL inside the warehouse;
what leaves it goes through :mod:`promise.privacy.export`, which applies these.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_THRESHOLD = 5

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ProtectedTable:
    """A table with margins: the true counts, what is suppressed, and what may be released."""

    counts: IntArray
    suppressed: BoolArray
    released: FloatArray
    threshold: int

    @property
    def primary(self) -> BoolArray:
        """Cells suppressed because they are small."""
        return (self.counts > 0) & (self.counts < self.threshold)


def with_margins(interior: npt.ArrayLike) -> IntArray:
    """The table with totals appended along every axis (last index = total)."""
    table = np.asarray(interior, dtype=np.int64)
    for axis in range(table.ndim):
        table = np.concatenate([table, table.sum(axis=axis, keepdims=True)], axis=axis)
    return table


def lines(shape: tuple[int, ...]) -> list[list[tuple[int, ...]]]:
    """Every additive constraint of a table with margins: the cells of one line, total last."""
    out: list[list[tuple[int, ...]]] = []
    for axis, size in enumerate(shape):
        others = [range(n) for i, n in enumerate(shape) if i != axis]
        for rest in itertools.product(*others):
            line = [(*rest[:axis], j, *rest[axis:]) for j in range(size)]
            out.append(line)
    return out


def protect(
    interior: npt.ArrayLike, *, threshold: int = DEFAULT_THRESHOLD, round_to: int | None = None
) -> ProtectedTable:
    """Suppress small counts and their complements in a table and its margins.

    Parameters
    ----------
    interior
        Non-negative integer counts, any number of dimensions.
    threshold
        Counts from 1 to ``threshold - 1`` are suppressed (default 5).
    round_to
        If given, released counts are rounded to the nearest multiple (e.g. 5).
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    counts = with_margins(interior)
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")
    suppressed = (counts > 0) & (counts < threshold)
    constraints = lines(counts.shape)
    while True:
        changed = _close_single_suppressions(counts, suppressed, constraints)
        changed |= _protect_determined(counts, suppressed, constraints)
        if not changed:
            break
    released = counts.astype(np.float64)
    if round_to:
        released = round_released(released, threshold=threshold, round_to=round_to)
    released[suppressed] = np.nan
    return ProtectedTable(
        counts=counts, suppressed=suppressed, released=released, threshold=threshold
    )


def round_released(values: FloatArray, *, threshold: int, round_to: int) -> FloatArray:
    """Round to the nearest multiple of ``round_to``; a positive count never rounds below the
    threshold (7 with threshold 6 gives 10, not 5), and zero stays zero."""
    rounded = np.round(values / round_to) * round_to
    floor = np.ceil(threshold / round_to) * round_to
    return np.where(values > 0, np.maximum(rounded, floor), 0.0)


def _close_single_suppressions(
    counts: IntArray, suppressed: BoolArray, constraints: list[list[tuple[int, ...]]]
) -> bool:
    """A line with exactly one suppressed cell gives it away: suppress a complement."""
    changed = False
    again = True
    while again:
        again = False
        for line in constraints:
            if sum(bool(suppressed[c]) for c in line) == 1:
                _suppress_complement(counts, suppressed, line)
                changed = again = True
    return changed


def _protect_determined(
    counts: IntArray, suppressed: BoolArray, constraints: list[list[tuple[int, ...]]]
) -> bool:
    """Suppress a complement beside any suppressed cell the constraints still pin down."""
    cells = determined_cells(suppressed, constraints)
    for cell in cells:
        for line in constraints:
            if cell in line and _suppress_complement(counts, suppressed, line):
                return True
    if cells:  # every line through it is exhausted: widen with the smallest released cell
        return _suppress_complement(
            counts, suppressed, [tuple(int(i) for i in c) for c in np.argwhere(~suppressed)]
        )
    return False


def determined_cells(
    suppressed: BoolArray, constraints: list[list[tuple[int, ...]]]
) -> list[tuple[int, ...]]:
    """Suppressed cells whose value follows linearly from the released cells."""
    hidden = [tuple(int(i) for i in c) for c in zip(*np.nonzero(suppressed), strict=True)]
    if not hidden:
        return []
    column = {c: k for k, c in enumerate(hidden)}
    rows = []
    for line in constraints:
        row = np.zeros(len(hidden))
        for position, c in enumerate(line):
            if c in column:
                row[column[c]] = -1.0 if position == len(line) - 1 else 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    rank = np.linalg.matrix_rank(matrix)
    found = []
    for c, k in column.items():
        unit = np.zeros(len(hidden))
        unit[k] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            found.append(c)
    return found


def _suppress_complement(
    counts: IntArray, suppressed: BoolArray, line: list[tuple[int, ...]]
) -> bool:
    """Suppress the smallest positive released cell of a line (interior cells first)."""
    candidates = [c for c in line if not suppressed[c] and counts[c] > 0]
    if not candidates:
        return False
    interior = [c for c in candidates if c != line[-1]] or candidates
    choice = min(interior, key=lambda c: (int(counts[c]), c))
    suppressed[choice] = True
    return True
