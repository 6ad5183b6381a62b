"""An independent check of disclosure control: which hidden cells the released ones pin down.

Written apart from promise.privacy.disclosure: the constraints of a table with margins are
enumerated afresh, determinacy is read from an SVD null space (promise uses rank
comparisons), and the range a hidden cell can take comes from linear programming (scipy).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog


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
