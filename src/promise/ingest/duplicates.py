"""Exact duplicate lines across a whole file, in bounded memory: 16 bytes per distinct line.

Each line is reduced to two independent 64-bit hashes (128 bits: a false duplicate among
10^7 lines has probability about 10^-25). Distinct keys seen so far are kept as a few
sorted NumPy arrays of doubling size (a log-structured merge), so checking a chunk costs a
binary search per level and adding it an amortised O(log n) per key, whatever the file size.

A fixed 16 MiB bitmap of the keys' top 27 bits comes first: a key whose bit is clear was
never added, so only the few others (7% at 10^7 keys, plus true repeats) are searched for;
the binary searches in arrays of millions of keys were most of the cost of large files.
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
        self._bits = np.zeros(2**BITMAP_BITS // 8, dtype=np.uint8)

    def __len__(self) -> int:
        return sum(len(a) for a, _ in self._levels)

    def contains_sorted(self, h1: Keys, h2: Keys) -> npt.NDArray[np.bool_]:
        """Whether each (h1, h2) pair, sorted by ``h1``, has been added before (binary searches
        for sorted needles walk the same cache lines: about 6x faster than in random order)."""
        found = np.zeros(len(h1), dtype=bool)
        if not self._levels:
            return found
        byte, bit = _bitmap_slot(h1)
        maybe = np.flatnonzero((self._bits[byte] >> bit) & 1)  # still sorted by h1
        m1, m2 = h1[maybe], h2[maybe]
        hit = np.zeros(len(maybe), dtype=bool)
        for a, b in self._levels:
            idx = np.minimum(np.searchsorted(a, m1), len(a) - 1)
            hit |= (a[idx] == m1) & (b[idx] == m2)
        found[maybe] = hit
        return found

    def add_sorted(self, h1: Keys, h2: Keys) -> None:
        """Add keys sorted by ``h1`` (assumed new and distinct), merging levels of similar size."""
        if len(h1) == 0:
            return
        byte, bit = _bitmap_slot(h1)
        np.bitwise_or.at(self._bits, byte, np.left_shift(1, bit).astype(np.uint8))
        self._levels.append((h1, h2))
        while len(self._levels) >= 2 and len(self._levels[-2][0]) <= 2 * len(self._levels[-1][0]):
            (a1, b1), (a2, b2) = self._levels.pop(), self._levels.pop()
            a, b = np.concatenate([a2, a1]), np.concatenate([b2, b1])
            order = np.argsort(a, kind="stable")  # two sorted runs: a linear merge
            self._levels.append((a[order], b[order]))


BITMAP_BITS = 27  # 2**27 bits: 16 MiB


def _bitmap_slot(h1: Keys) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8]]:
    """Byte and bit of each key's top BITMAP_BITS bits in the bitmap."""
    top = h1 >> np.uint64(64 - BITMAP_BITS)
    return (top >> np.uint64(3)).astype(np.intp), (top & np.uint64(7)).astype(np.uint8)


def mark_duplicates(frame: pl.DataFrame, seen: SeenLines, *, eligible: pl.Expr) -> pl.Series:
    """True for each line of ``frame`` (column ``_text``) that repeats an earlier eligible line.

    One sort of the chunk's keys serves three purposes: equal keys end up adjacent, the
    earlier chunks' keys are searched with sorted needles, and the new keys are added already
    sorted. The sort is not stable (a stable one costs 2.5x more), so within a run of equal
    keys the earliest line is found by its line position: it alone is not a repeat.
    """
    hashed = frame.select(
        _h1=pl.col("_text").hash(11),
        _h2=pl.col("_text").hash(29),
        _eligible=eligible.fill_null(False),
    )
    ok = hashed["_eligible"].to_numpy()
    rows = np.flatnonzero(ok)
    h1 = hashed["_h1"].to_numpy()[rows]
    h2 = hashed["_h2"].to_numpy()[rows]
    order = np.argsort(h1)
    s1, s2 = h1[order], h2[order]
    repeat = np.zeros(len(rows), dtype=bool)  # same key as the line before it in sorted order
    repeat[1:] = (s1[1:] == s1[:-1]) & (s2[1:] == s2[:-1])
    first = ~repeat  # the first position of each run of equal keys
    seen_before = seen.contains_sorted(s1[first], s2[first])  # one answer per run
    seen.add_sorted(s1[first][~seen_before], s2[first][~seen_before])
    position = rows[order]
    run = np.cumsum(first) - 1
    duplicate_sorted = seen_before[run]
    if repeat.any():  # a line repeats within the chunk: all but the earliest of its run
        earliest = np.minimum.reduceat(position, np.flatnonzero(first))
        duplicate_sorted |= position != earliest[run]
    duplicate = np.zeros(len(ok), dtype=bool)
    duplicate[position] = duplicate_sorted
    return pl.Series("_dup", duplicate)
