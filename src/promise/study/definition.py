"""A study definition: what ``studies/<name>.yml`` says, checked for shape and typed.

The schema (every key, its meaning and default) is documented in ``docs/studies.md``; these are the
typed parts :func:`promise.study.schema.load_definition` makes of a file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
CODE_PATTERN = re.compile(r"^[A-Z0-9]+$")
ATC_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*\*?$")
SEXES = ("male", "female")
RESERVED = frozenset(
    {"person_id", "index_date", "sex", "age_at_index", "exit_date", "exit_reason", "birth_date"}
)
TOP_KEYS = ("description", "population", "index", "exposures", "covariates", "outcomes",
            "followup", "model")  # fmt: skip
EVENT_KINDS = ("endpoint", "codes", "drug")
DEFAULT_DRUG_WINDOW = (-365, 0)


@dataclass(frozen=True)
class EventSource:
    """Dated events of a person: an endpoint's events, diagnoses by code prefix, dispensings
    by ATC prefix, or death."""

    kind: str
    values: tuple[str, ...]
    line: int

    @property
    def label(self) -> str:
        """How the definition names it, for attrition rows and messages."""
        if self.kind == "death":
            return "death"
        return f"{self.kind} {', '.join(self.values)}"


@dataclass(frozen=True)
class Window:
    """Days relative to the index date, both ends inclusive; ``start=None`` is all history."""

    start: int | None
    end: int


@dataclass(frozen=True)
class Variable:
    """An exposure or covariate as of the index date (one column of the dataset)."""

    name: str
    kind: str  # endpoint | codes | drug | omics | person
    line: int
    is_exposure: bool
    events: EventSource | None = None
    window: Window | None = None
    min_count: int = 1
    analyte: str | None = None
    max_days_before: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class Criterion:
    """An inclusion or exclusion by history: events of a source within a window of the index."""

    events: EventSource
    window: Window
    include: bool
    line: int

    @property
    def label(self) -> str:
        """The attrition table's wording."""
        verb = "has" if self.include else "no"
        return f"{verb} {self.events.label} {window_label(self.window)}"


@dataclass(frozen=True)
class Population:
    """Who is eligible on the index date."""

    age: tuple[float, float] | None
    sexes: tuple[str, ...]
    calendar: tuple[dt.date, dt.date] | None
    lookback_years: float
    criteria: tuple[Criterion, ...]
    lines: dict[str, int]


@dataclass(frozen=True)
class Index:
    """The index date: a fixed date, a person's first event of a source, or an age."""

    kind: str  # date | first_event | age
    line: int
    date: dt.date | None = None
    events: EventSource | None = None
    age: float | None = None


@dataclass(frozen=True)
class Outcome:
    """A time-to-event outcome: the first event of its source after the index."""

    name: str
    events: EventSource
    line: int


@dataclass(frozen=True)
class FollowUp:
    """Limits of follow-up beyond emigration, death and the end of data; ``censor_at_first``:
    sources whose first-ever event ends follow-up when it falls after the index (an exposure
    starting among the unexposed)."""

    max_years: float | None
    end: dt.date | None
    lines: dict[str, int]
    censor_at_first: tuple[EventSource, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """What ``promise study fit`` models unless told otherwise."""

    outcome: str | None
    terms: tuple[str, ...] | None
    events_per_term: int
    line: int
    lines: dict[str, int]


@dataclass(frozen=True)
class StudyDefinition:
    """A whole study definition, typed and checked for shape."""

    name: str
    path: Path
    description: str
    population: Population
    index: Index
    exposures: tuple[Variable, ...]
    covariates: tuple[Variable, ...]
    outcomes: tuple[Outcome, ...]
    followup: FollowUp
    model: ModelSpec

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Exposures then covariates, in file order."""
        return self.exposures + self.covariates

    def outcome(self, name: str) -> Outcome:
        """The outcome called ``name``."""
        return next(o for o in self.outcomes if o.name == name)


def window_label(window: Window) -> str:
    """``on or before the index`` or ``in days -365..0 of the index``."""
    if window.start is None and window.end == 0:
        return "on or before the index"
    start = "-inf" if window.start is None else str(window.start)
    return f"in days {start}..{window.end} of the index"
