"""Person-time at risk split by sex, age band and calendar period, and events into the same cells.

Time is in days from 1970-01-01. A residence spell ``[start, end]`` (``end`` its last day)
is the half-open interval ``[start, end + 1)`` clipped to the profile window, so the day of
death or emigration is still under follow-up. An endpoint's first event ends time at risk
for it: an event on day ``d`` ends the interval at ``d``, and time "after" it starts on ``d``
(for incidence) or on ``d + 1`` (for exposures: an event on the day of the onset itself is
not "after" the onset). Ages are days / 365.25.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from promise.profiles.cohort import NEVER, Cohort, IntArray

FloatArray = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Intervals:
    """Half-open intervals ``[start, end)`` of days of some persons (rows of the cohort)."""

    person: IntArray
    start: IntArray
    end: IntArray

    def keep(self, mask: npt.NDArray[np.bool_]) -> Intervals:
        """The intervals where ``mask`` holds and that are not empty."""
        mask = mask & (self.end > self.start)
        return Intervals(self.person[mask], self.start[mask], self.end[mask])

    def of(self, persons: npt.NDArray[np.bool_]) -> Intervals:
        """The intervals of the persons flagged in ``persons`` (one flag per cohort row)."""
        return self.keep(persons[self.person])

    def from_day(self, day: IntArray) -> Intervals:
        """Each interval from ``day[person]`` on (emptied when that is after its end)."""
        start = np.maximum(self.start, day[self.person])
        return Intervals(self.person, start, self.end).keep(np.ones(self.person.size, bool))

    def until_day(self, day: IntArray) -> Intervals:
        """Each interval up to ``day[person]`` (exclusive)."""
        end = np.minimum(self.end, day[self.person])
        return Intervals(self.person, self.start, end).keep(np.ones(self.person.size, bool))


@dataclass(frozen=True)
class Grid:
    """Cells: sex (0 male, 1 female) x age band (lower edges in years) x calendar period
    (lower edges in days, the last one open until the window's end)."""

    age_edges: tuple[float, ...]
    period_edges: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return 2, len(self.age_edges), len(self.period_edges)


def residence(cohort: Cohort, window: tuple[int, int]) -> Intervals:
    """Every residence spell, clipped to ``window`` (``[first day, day after the last)``);
    kept on the cohort, since every endpoint starts from it."""
    found = cohort.kept.get(("residence", window))
    if not isinstance(found, Intervals):
        start = np.maximum(cohort.spell_start, window[0])
        end = np.minimum(cohort.spell_end + 1, window[1])
        found = Intervals(cohort.spell_person, start, end).keep(np.ones(start.size, bool))
        cohort.kept[("residence", window)] = found
    return found


def person_years(cohort: Cohort, spans: Intervals, grid: Grid) -> FloatArray:
    """Years spent in each cell of ``grid`` (array of its shape)."""
    out = np.zeros(grid.shape)
    birth, sex = cohort.birth[spans.person], cohort.sex[spans.person]
    ages = [*grid.age_edges, 1e4]
    periods = [*grid.period_edges, NEVER]
    for k in range(len(grid.age_edges)):
        lo = np.maximum(spans.start, birth + ages[k] * DAYS_PER_YEAR)
        hi = np.minimum(spans.end, birth + ages[k + 1] * DAYS_PER_YEAR)
        for j in range(len(grid.period_edges)):
            days = np.clip(np.minimum(hi, periods[j + 1]) - np.maximum(lo, periods[j]), 0, None)
            out[:, k, j] = np.bincount(sex, weights=days, minlength=2) / DAYS_PER_YEAR
    return out


def cells(cohort: Cohort, person: IntArray, day: IntArray, grid: Grid) -> IntArray:
    """The cell of an event of ``person`` on ``day``: one row (sex, age band, period) each."""
    age = (day - cohort.birth[person]) / DAYS_PER_YEAR
    band = np.searchsorted(np.asarray(grid.age_edges), age, side="right") - 1
    period = np.searchsorted(np.asarray(grid.period_edges), day, side="right") - 1
    return np.column_stack([cohort.sex[person], np.clip(band, 0, None), np.clip(period, 0, None)])


def count_cells(found: IntArray, grid: Grid, weights: npt.NDArray[np.bool_] | None = None) -> IntArray:  # fmt: skip
    """Events per cell from rows of :func:`cells` (only rows where ``weights`` holds)."""
    out = np.zeros(grid.shape, dtype=np.int64)
    rows = found if weights is None else found[weights]
    np.add.at(out, (rows[:, 0], rows[:, 1], rows[:, 2]), 1)
    return out


def resident_on(cohort: Cohort, person: IntArray, day: IntArray) -> npt.NDArray[np.bool_]:
    """Whether each ``person`` has a residence spell covering ``day``."""
    return np.asarray(cohort.spell_end_at(person, day) >= 0)
