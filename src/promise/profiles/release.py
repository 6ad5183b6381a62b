"""Disclosure control of a profile: every count through the privacy package's rules.

Each table of counts is laid out with its margins and passed to
:func:`promise.privacy.disclosure.protect` at the warehouse's threshold and rounding
(``WAREHOUSE/promise.yml``): primary suppression of counts from 1 to threshold - 1, secondary
suppression until no hidden cell follows from the released cells and margins, then rounding.
Person-years are rounded to whole years and then treated as counts. Counts that stand alone
(a drug's persons, a following endpoint's persons) are one-cell tables. Rates, proportions
and their intervals are computed from released values only; a hazard ratio is shown only
when the deaths (or events) among the exposed and the unexposed and the persons exposed all
reach the threshold.

Profiles publish many overlapping counts (cases; cases followed 6 months; cases followed 5
years; ...): with unrounded counts their differences could reveal small groups, so profiles
need rounding (``disclosure.round_to`` of at least 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import stats

from promise.privacy.disclosure import protect
from promise.privacy.policy import Policy
from promise.profiles.cohort import ProfilesError
from promise.profiles.hazards import Ratio
from promise.study.models import garwood

FloatArray = npt.NDArray[np.float64]


@dataclass
class Tally:
    """What disclosure control did over a whole site (for the audit)."""

    cells: int = 0
    primary: int = 0
    secondary: int = 0

    def add(self, cells: int, primary: int, secondary: int) -> None:
        self.cells += cells
        self.primary += primary
        self.secondary += secondary


@dataclass(frozen=True)
class Rules:
    """The warehouse's threshold and rounding, and the tally of what they did."""

    threshold: int
    round_to: int
    tally: Tally = field(default_factory=Tally)

    @classmethod
    def of(cls, policy: Policy) -> Rules:
        if policy.round_to < 2:
            raise ProfilesError(f"profiles publish overlapping counts whose unrounded differences would reveal small groups, and this warehouse does not round ({policy.source}: disclosure.round_to {policy.round_to}); set round_to to 2 or more for profiles.")  # fmt: skip
        return cls(threshold=policy.threshold, round_to=policy.round_to)

    def table(self, counts: npt.ArrayLike) -> FloatArray:
        """``counts`` with margins appended on every axis; NaN where suppressed."""
        whole = np.rint(np.asarray(counts, dtype=np.float64)).astype(np.int64)
        protected = protect(whole, threshold=self.threshold, round_to=self.round_to)
        primary = int(protected.primary.sum())
        self.tally.add(int(protected.counts.size), primary, int(protected.suppressed.sum()) - primary)  # fmt: skip
        return np.asarray(protected.released, dtype=np.float64)

    def one(self, count: float) -> float | None:
        """One count standing alone: released (rounded) or None."""
        value = float(self.table(np.array([count]))[0])
        return None if math.isnan(value) else value

    def ratio(self, found: Ratio | None) -> Ratio | None:
        """A hazard ratio, when every count it rests on reaches the threshold."""
        if found is None:
            return None
        needed = (found.events_exposed, found.events_unexposed, found.persons_exposed)
        return found if min(needed) >= self.threshold else None


def rate(events: float, years: float) -> tuple[float, float, float] | None:
    """Rate per 1,000 person-years and its Garwood 95% CI from released values (None when
    either is suppressed or there is no person-time)."""
    if math.isnan(events) or math.isnan(years) or years <= 0:
        return None
    low, high = garwood(int(events), years)
    return 1000 * events / years, 1000 * low, 1000 * high


def proportion(part: float, whole: float) -> tuple[float, float, float] | None:
    """A proportion with its exact (Clopper-Pearson) 95% CI from released values."""
    if math.isnan(part) or math.isnan(whole) or whole <= 0 or part > whole:
        return None
    k, n = int(part), int(whole)
    low = 0.0 if k == 0 else float(stats.beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(0.975, k + 1, n - k))
    return k / n, low, high
