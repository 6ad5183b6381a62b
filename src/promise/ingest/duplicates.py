"""Exact duplicate lines across a whole file, in bounded memory: 16 bytes per distinct line.

Each line is reduced to two independent 64-bit hashes (128 bits: a false duplicate among
10^7 lines has probability about 10^-25). Distinct keys seen so far are kept as a few
sorted NumPy arrays of doubling size (a log-structured merge), so checking a chunk costs a
binary search per level and adding it an amortised O(log n) per key, whatever the file size.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

Keys = npt.NDArray[np.uint64]


class SeenLines:
    """The set of line hashes met so far in one file."""

    def __init__(self) -> None:
        self._levels: list[tuple[Keys, Keys]] = []

    def __len__(self) -> int:
        return sum(len(a) for a, _ in self._levels)

    def contains(self, h1: Keys, h2: Keys) -> npt.NDArray[np.bool_]:
        """Whether each (h1, h2) pair has been added before."""
        # binary searches for sorted needles walk the same cache lines: ~6x faster than random
        order = np.argsort(h1, kind="stable")
        n1, n2 = h1[order], h2[order]
        hit = np.zeros(len(h1), dtype=bool)
        for a, b in self._levels:
            idx = np.minimum(np.searchsorted(a, n1), len(a) - 1)
            hit |= (a[idx] == n1) & (b[idx] == n2)
        found = np.empty(len(h1), dtype=bool)
        found[order] = hit
        return found

    def add(self, h1: Keys, h2: Keys) -> None:
        """Add keys (assumed new and distinct), merging levels of similar size."""
        if len(h1) == 0:
            return
        order = np.argsort(h1, kind="stable")
        self._levels.append((h1[order], h2[order]))
        while len(self._levels) >= 2 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (a1, b1), (a2, b2) = self._levels.pop(), self._levels.pop()
            a, b = np.concatenate([a2, a1]), np.concatenate([b2, b1])
            order = np.argsort(a, kind="stable")
            self._levels.append((a[order], b[order]))


def mark_duplicates(frame: pl.DataFrame, seen: SeenLines, *, eligible: pl.Expr) -> pl.Series:
    """True for each line of ``frame`` (column ``_text``) that repeats an earlier eligible line."""
    hashed = frame.select(
        _h1=pl.col("_text").hash(11),
        _h2=pl.col("_text").hash(29),
        _eligible=eligible,
    ).with_columns(_first=pl.struct("_h1", "_h2").is_first_distinct())
    h1 = hashed["_h1"].to_numpy()
    h2 = hashed["_h2"].to_numpy()
    ok = hashed["_eligible"].fill_null(False).to_numpy()
    first = hashed["_first"].to_numpy() & ok
    before = np.zeros(len(h1), dtype=bool)
    before[first] = seen.contains(h1[first], h2[first])
    duplicate = ok & (~first | before)
    fresh = first & ~before
    seen.add(h1[fresh], h2[fresh])
    return pl.Series("_dup", duplicate)
