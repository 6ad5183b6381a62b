"""Helpers shared by the register writers: code eras, code picks, Poisson event times, PersonNr forms."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR
from promise.synth.model import band_edges, codes, register_start
from promise.synth.population import Persons


def era(days: np.ndarray) -> np.ndarray:
    """ICD version in force on each day: 8 before 1987, 9 to 1996, 10 from 1997."""
    return np.where(
        days >= register_start("icd10"), 10, np.where(days >= register_start("icd9"), 9, 8)
    )


def pick(options: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` codes drawn uniformly from ``options``."""
    idx = rng.integers(0, len(options), n)
    return [options[i] for i in idx.tolist()]


def disease_codes(name: str, days: np.ndarray, rng: np.random.Generator) -> list[str]:
    """A code for ``name`` (a key of ``disease_codes``) in the ICD version of each day."""
    table = codes()["disease_codes"][name]
    eras = era(days)
    out = [""] * days.size
    for version in (8, 9, 10):
        where = np.flatnonzero(eras == version)
        for i, code in zip(where.tolist(), pick(table[version], where.size, rng), strict=True):
            out[i] = code
    return out


def poisson_days(
    p: Persons,
    start: np.ndarray,
    stop: np.ndarray,
    per_year: np.ndarray,
    rng: np.random.Generator,
    *,
    cap: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Event days of a Poisson process with age-band rates between ``start`` and ``stop``.

    Returns (person row, day) arrays; events are spread uniformly over each person's span.
    """
    edges = band_edges()
    a0 = (start - p.birth) / DAYS_PER_YEAR
    a1 = np.maximum((stop - p.birth) / DAYS_PER_YEAR, a0)
    lo = np.maximum(a0[:, None], edges[None, :-1])
    hi = np.minimum(a1[:, None], edges[None, 1:])
    expected = (np.clip(hi - lo, 0, None) * per_year[None, :]).sum(axis=1)
    counts = np.minimum(rng.poisson(expected), cap)
    rows = np.repeat(np.arange(p.size), counts)
    span = np.maximum(stop - start, 0)[rows]
    days = start[rows] + (rng.random(rows.size) * span).astype(np.int64)
    ok = days < stop[rows]
    return rows[ok], days[ok]


@dataclass
class Forms:
    """Written forms of each person's number: columns long, short separated, long dashed."""

    table: np.ndarray  # (n, 3) object array

    def draw(
        self, rows: np.ndarray, weights: tuple[float, float, float], rng: np.random.Generator
    ) -> list[str]:
        """The number as written on each row, the form drawn with ``weights``."""
        which = rng.choice(3, size=rows.size, p=np.asarray(weights))
        return [str(v) for v in self.table[rows, which].tolist()]


@dataclass
class Events:
    """Care events under construction (one register file kind)."""

    rows: list[np.ndarray] = field(default_factory=list)
    days: list[np.ndarray] = field(default_factory=list)
    main: list[str] = field(default_factory=list)
    secondary: list[list[str]] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)

    def add(self, rows: np.ndarray, days: np.ndarray, main: list[str], kind: int) -> None:
        """Add events with a main diagnosis; secondaries start empty."""
        self.rows.append(rows)
        self.days.append(days)
        self.main.extend(main)
        self.secondary.extend([] for _ in range(rows.size))
        self.kind.append(np.full(rows.size, kind, dtype=np.int8))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Person rows, days and kinds of all events so far."""
        if not self.rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty.astype(np.int8)
        return np.concatenate(self.rows), np.concatenate(self.days), np.concatenate(self.kind)
