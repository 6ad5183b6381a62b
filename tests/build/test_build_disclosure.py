"""Disclosure control over many generated tables, checked by independent means.

For every table: no released cell lies between 1 and threshold - 1, and no suppressed cell is
determined by what is released. Determinacy is checked here with an SVD null-space test
written independently of promise.disclosure (which uses rank comparisons), and on a sample of
tables with linear programming (scipy): the smallest and largest value each suppressed cell
can take under the released totals and non-negativity must differ.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from promise.disclosure import protect

N_TABLES = 10_000
N_LP = 200


def random_table(rng: np.random.Generator) -> np.ndarray:
    """A 1-, 2- or 3-way table of counts mixing zeros, small and large cells."""
    ndim = rng.choice([1, 2, 2, 2, 3])
    shape = tuple(int(s) for s in rng.integers(2, 6 if ndim < 3 else 4, size=ndim))
    kind = rng.random(shape)
    small = rng.integers(1, 10, size=shape)
    large = rng.integers(10, 200, size=shape)
    return np.where(kind < 0.15, 0, np.where(kind < 0.5, small, large))


def equations(shape: tuple[int, ...]) -> list[tuple[list[tuple[int, ...]], tuple[int, ...]]]:
    """(cells, total) for every line of a table with margins, enumerated afresh here."""
    out = []
    for axis, size in enumerate(shape):
        for index in itertools.product(*(range(n) for n in shape)):
            if index[axis] != size - 1:
                continue
            cells = [index[:axis] + (j,) + index[axis + 1 :] for j in range(size - 1)]
            out.append((cells, index))
    return out


def determined(counts: np.ndarray, hidden: np.ndarray) -> list[tuple[int, ...]]:
    """Hidden cells fixed by the equations: zero in every null-space vector."""
    unknown = [tuple(c) for c in np.argwhere(hidden)]
    if not unknown:
        return []
    col = {c: k for k, c in enumerate(unknown)}
    rows = []
    for cells, total in equations(counts.shape):
        row = np.zeros(len(unknown))
        for c in cells:
            if c in col:
                row[col[c]] += 1
        if total in col:
            row[col[total]] -= 1
        rows.append(row)
    a = np.array(rows)
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9).sum())
    null = vt[rank:]
    return [c for c, k in col.items() if null.shape[0] == 0 or np.abs(null[:, k]).max() < 1e-9]


def lp_range(counts: np.ndarray, hidden: np.ndarray, target: tuple[int, ...]) -> float:
    """max - min of one hidden cell over non-negative fills consistent with the released cells."""
    unknown = [tuple(c) for c in np.argwhere(hidden)]
    col = {c: k for k, c in enumerate(unknown)}
    a_eq, b_eq = [], []
    for cells, total in equations(counts.shape):
        row = np.zeros(len(unknown))
        known = 0.0
        for c in cells:
            if c in col:
                row[col[c]] += 1
            else:
                known += counts[c]
        if total in col:
            row[col[total]] -= 1
            rhs = -known
        else:
            rhs = counts[total] - known
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    objective = np.zeros(len(unknown))
    objective[col[target]] = 1.0
    low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert low.status == 0 and high.status in (0, 3)  # 3: unbounded above, as protected as can be
    return float("inf") if high.status == 3 else float(-high.fun - low.fun)


@pytest.mark.unit
def test_hand_example_two_way() -> None:
    # counts [[12, 3, 20], [7, 8, 30]]: 3 is primary; its row and column each need a second
    # suppressed cell: 7 (smallest in column 0? no: column 1 holds 3 and 8 -> 8) and row 0's
    # smallest other cell 12 -> then column 0 holds 12 alone -> 7 too.
    table = protect([[12, 3, 20], [7, 8, 30]])
    assert np.isnan(table.released[0, 1]) and np.isnan(table.released[1, 1])
    assert np.isnan(table.released[0, 0]) and np.isnan(table.released[1, 0])
    assert table.released[2, 3] == 80  # grand total released
    assert determined(table.counts, table.suppressed) == []


@pytest.mark.unit
def test_round_to_five() -> None:
    table = protect([12, 30, 2, 40], round_to=5)
    released = table.released[~np.isnan(table.released)]
    assert set((released % 5).tolist()) == {0.0}
    assert np.isnan(table.released[2])


@pytest.mark.unit
def test_many_generated_tables() -> None:
    rng = np.random.default_rng(20251122)
    lp_checked = 0
    for i in range(N_TABLES):
        threshold = int(rng.integers(3, 11))
        round_to = 5 if i % 4 == 0 else None
        table = protect(random_table(rng), threshold=threshold, round_to=round_to)
        released = table.released[~table.suppressed]
        assert not ((released >= 1) & (released <= threshold - 1)).any(), (i, table.counts)
        assert (table.suppressed >= ((table.counts > 0) & (table.counts < threshold))).all()
        assert determined(table.counts, table.suppressed) == [], (i, table.counts, table.suppressed)
        if lp_checked < N_LP and table.suppressed.any():
            lp_checked += 1
            for cell in map(tuple, np.argwhere(table.suppressed)):
                assert lp_range(table.counts, table.suppressed, cell) > 0.5, (i, cell)
    assert lp_checked == N_LP
