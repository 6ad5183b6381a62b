"""One endpoint's profile: its true counts and hazard ratios, released under the rules.

Only what :class:`Profile` holds reaches a page or a figure: released tables (NaN where
suppressed) and hazard ratios whose counts reach the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.profiles.cohort import DEATH, Cohort, Endpoint, family
from promise.profiles.hazards import Ratio, after_years, death_ratio, following_ratio, follows
from promise.profiles.measures import Counts, Shared, counts
from promise.profiles.pages import Following
from promise.profiles.persontime import FloatArray
from promise.profiles.release import Rules

TOP_DRUGS = 10
TOP_FOLLOWING = 10


@dataclass(frozen=True)
class Profile:
    """The released profile of one endpoint (tables carry their margins last)."""

    endpoint: Endpoint
    status: FloatArray  # [case, control, all] x [men, women, all]
    onset_age: FloatArray  # bands + all x [men, women, all]
    events: FloatArray  # [men, women, all] x bands + all x periods + all
    years: FloatArray
    prevalence: FloatArray  # [case, not, all] x [men, women, all]
    recurrence: FloatArray  # [recurred, not, all]
    fatality: FloatArray  # [died, not, all]
    drug_cases: float | None
    drugs: list[tuple[str, float]]
    death: Ratio | None
    deaths_after: float | None
    following: list[Following]

    @property
    def cases(self) -> float:
        """Released number of cases (NaN when suppressed)."""
        return float(self.status[0, 2])


def released_cases(cohort: Cohort, rules: Rules, endpoint: str) -> float | None:
    """The released number of cases of ``endpoint``: a page needs at least the threshold."""
    person, _ = cohort.cases.get(endpoint, (np.empty(0, np.int64), None))
    return rules.one(float(person.size)) if person.size else None


def make_profile(
    cohort: Cohort, common: Shared, rules: Rules, endpoint: Endpoint, *, pages: set[str],
    everyone5: FloatArray,
) -> Profile:  # fmt: skip
    """Compute and release the profile of ``endpoint`` (``pages``: endpoints that get one)."""
    true = counts(cohort, common, endpoint.name)
    onset = cohort.onset(endpoint.name)
    death = None if endpoint.name == DEATH else death_ratio(cohort, common.window, onset)
    return Profile(
        endpoint=endpoint,
        status=rules.table(true.status),
        onset_age=rules.table(true.onset_age),
        events=rules.table(true.events),
        years=rules.table(true.years),
        prevalence=rules.table(true.prevalence),
        recurrence=rules.table(true.recurrence),
        fatality=rules.table(true.fatality),
        drug_cases=rules.one(true.drug_cases),
        drugs=_drugs(rules, true),
        death=rules.ratio(death),
        deaths_after=None if death is None else rules.one(death.events_exposed),
        following=_following(cohort, common, rules, endpoint.name, pages, everyone5),
    )


def _drugs(rules: Rules, true: Counts) -> list[tuple[str, float]]:
    found = []
    for atc, n in true.drugs:
        released = rules.one(n) if n >= rules.threshold else None
        if released:
            found.append((atc, released))
        if len(found) == TOP_DRUGS:
            break
    return found


def _following(cohort: Cohort, common: Shared, rules: Rules, endpoint: str, pages: set[str], everyone5: FloatArray) -> list[Following]:  # fmt: skip
    if endpoint == DEATH:
        return []
    relatives = family(cohort.endpoints).get(endpoint, set())
    others = [e.name for e in cohort.endpoints if e.name not in (endpoint, DEATH, *relatives) and e.name in cohort.cases]  # fmt: skip
    found = []
    for other, n in follows(cohort, endpoint, others):
        if n < rules.threshold:
            break
        persons = rules.one(n)
        if not persons:
            continue
        after = cohort.kept.get(("after", other))
        if not isinstance(after, np.ndarray):
            after = cohort.kept[("after", other)] = after_years(cohort, common.window, cohort.onset(other))  # fmt: skip
        hr = following_ratio(cohort, common.window, everyone5, cohort.onset(endpoint), cohort.onset(other), after)  # fmt: skip
        found.append(Following(other, persons, rules.ratio(hr), other in pages))
        if len(found) == TOP_FOLLOWING:
            break
    return found
