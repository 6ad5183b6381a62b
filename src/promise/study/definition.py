"""A study definition: what ``studies/<name>.yml`` says, checked for shape and typed.

The schema (every key, its meaning and default) is documented in ``docs/studies.md``. This
module checks what can be checked from the file alone (keys, types, windows, names); what
needs the warehouse (does the endpoint exist, does the ATC pattern match anything) is in
:mod:`promise.study.checks`. Every mistake is reported with its line (:class:`Problems`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promise.study.source import LineDict, LineList, Problems, read_definition_file

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
    """Limits of follow-up beyond emigration, death and the end of data."""

    max_years: float | None
    end: dt.date | None
    lines: dict[str, int]


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


def load_definition(path: Path) -> StudyDefinition:
    """Read and check ``path``; raise one :class:`StudyDefinitionError` naming every mistake."""
    path = Path(path)
    data = read_definition_file(path)
    problems = Problems(path)
    name = path.stem
    if not NAME_PATTERN.match(name):
        problems.add(1, f"the file name '{name}' is the study's name and must be lower case "
                        "letters, digits and '_' starting with a letter; rename the file.")  # fmt: skip
    _unknown_keys(data, TOP_KEYS, problems, "a study definition")
    for key in ("index", "outcomes"):
        if not data.get(key):
            problems.add(
                data.line_of(key),
                f"the '{key}:' section is missing or empty; add one (see docs/studies.md).",
            )
    population = _population(_mapping(data, "population", problems), problems)
    index = _index(_mapping(data, "index", problems), problems)
    exposures = _variables(_mapping(data, "exposures", problems), True, problems)
    covariates = _variables(_mapping(data, "covariates", problems), False, problems)
    outcomes = _outcomes(_mapping(data, "outcomes", problems), problems)
    followup = _followup(_mapping(data, "followup", problems), problems)
    model = _model(_mapping(data, "model", problems), problems)
    _check_names(exposures + covariates, outcomes, problems)
    _check_model(model, exposures + covariates, outcomes, problems)
    description = data.get("description", "")
    if not isinstance(description, str):
        problems.add(data.line_of("description"), "description must be text.")
    problems.raise_if_any()
    return StudyDefinition(
        name=name, path=path, description=str(description), population=population, index=index,
        exposures=exposures, covariates=covariates, outcomes=outcomes, followup=followup,
        model=model,
    )  # fmt: skip


def _mapping(parent: LineDict, key: str, problems: Problems) -> LineDict:
    value = parent.get(key)
    if value is None:
        empty = LineDict()
        empty.line, empty.lines = parent.line_of(key), {}
        return empty
    if not isinstance(value, LineDict):
        problems.add(parent.line_of(key), f"'{key}' must be a mapping of 'key: value' lines.")
        empty = LineDict()
        empty.line, empty.lines = parent.line_of(key), {}
        return empty
    return value


def _unknown_keys(data: LineDict, allowed: tuple[str, ...], problems: Problems, where: str) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                data.line_of(key),
                f"'{key}' is not a key of {where}; use one of {', '.join(allowed)}.",
            )


def _number(
    value: Any, line: int, what: str, problems: Problems, *, minimum: float | None = None
) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(line, f"{what} must be a number, not {value!r}.")
        return None
    if minimum is not None and value < minimum:
        problems.add(line, f"{what} must be at least {minimum:g}, not {value:g}.")
        return None
    return float(value)


def _date(value: Any, line: int, what: str, problems: Problems) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.add(line, f"{what} must be a date written YYYY-MM-DD, not {value!r}.")
    return None


def _pair(value: Any, line: int, what: str, problems: Problems) -> tuple[Any, Any] | None:
    if not isinstance(value, list) or len(value) != 2:
        problems.add(line, f"{what} must be a list of two values [start, end], not {value!r}.")
        return None
    return value[0], value[1]


def _population(data: LineDict, problems: Problems) -> Population:
    _unknown_keys(data, ("age", "sex", "calendar", "lookback_years", "include", "exclude"),
                  problems, "population")  # fmt: skip
    age = None
    if "age" in data:
        pair = _pair(data["age"], data.line_of("age"), "population age", problems)
        if pair is not None:
            low = _number(pair[0], data.line_of("age"), "the lowest age", problems, minimum=0)
            high = _number(pair[1], data.line_of("age"), "the highest age", problems, minimum=0)
            if low is not None and high is not None:
                if high <= low:
                    problems.add(data.line_of("age"), f"the age window [{low:g}, {high:g}) has negative or zero length; write [lowest, highest] with lowest < highest.")  # fmt: skip
                age = (low, high)
    sexes = _sexes(data, problems)
    calendar = None
    if "calendar" in data:
        line = data.line_of("calendar")
        pair = _pair(data["calendar"], line, "population calendar", problems)
        if pair is not None:
            start = _date(pair[0], line, "the calendar window's start", problems)
            end = _date(pair[1], line, "the calendar window's end", problems)
            if start is not None and end is not None:
                if end < start:
                    problems.add(line, f"the calendar window {start}..{end} has negative length; its end must not be before its start.")  # fmt: skip
                calendar = (start, end)
    lookback = 0.0
    if "lookback_years" in data:
        lookback = _number(data["lookback_years"], data.line_of("lookback_years"),
                           "lookback_years", problems, minimum=0) or 0.0  # fmt: skip
    criteria = [*_criteria(data, "include", problems), *_criteria(data, "exclude", problems)]
    return Population(age=age, sexes=sexes, calendar=calendar, lookback_years=lookback,
                      criteria=tuple(criteria), lines=dict(data.lines))  # fmt: skip


def _sexes(data: LineDict, problems: Problems) -> tuple[str, ...]:
    value = data.get("sex", list(SEXES))
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or any(v not in SEXES for v in values):
        problems.add(data.line_of("sex"), f"population sex must be male, female or a list of both, not {value!r}.")  # fmt: skip
        return SEXES
    return tuple(v for v in SEXES if v in values)


def _criteria(data: LineDict, key: str, problems: Problems) -> list[Criterion]:
    if key not in data:
        return []
    items = data[key]
    if not isinstance(items, LineList):
        problems.add(data.line_of(key), f"population {key} must be a list of endpoints or sources.")
        return []
    found = []
    for i, item in enumerate(items):
        line = items.line_of(i)
        spec = item if isinstance(item, LineDict) else _as_mapping({"endpoint": item}, line)
        _unknown_keys(spec, (*EVENT_KINDS, "window_days"), problems, f"a population {key} item")
        events = _events(spec, line, problems, EVENT_KINDS)
        window = _window(spec, line, problems, default=(None, 0))
        if events is not None and window is not None:
            found.append(
                Criterion(events=events, window=window, include=key == "include", line=line)
            )
    return found


def _as_mapping(values: dict[str, Any], line: int) -> LineDict:
    out = LineDict(values)
    out.line, out.lines = line, dict.fromkeys(values, line)
    return out


def _events(
    spec: LineDict, line: int, problems: Problems, kinds: tuple[str, ...]
) -> EventSource | None:
    present = [k for k in kinds if k in spec]
    if len(present) != 1:
        problems.add(line, f"give exactly one of {', '.join(kinds)} here, not {len(present)}.")
        return None
    kind = present[0]
    line = spec.line_of(kind)
    raw = spec[kind]
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        problems.add(line, f"{kind} must be a name or a list of names, not {raw!r}.")
        return None
    if kind == "death":
        if values != ["any"]:
            problems.add(line, f"death must be 'any' (all-cause death), not {raw!r}.")
            return None
        return EventSource("death", ("any",), line)
    return _checked_values(kind, [v.strip() for v in values], line, problems)


def _checked_values(
    kind: str, values: list[str], line: int, problems: Problems
) -> EventSource | None:
    if kind == "codes":
        values = [v.upper().replace(".", "") for v in values]
        pattern, what = CODE_PATTERN, "an ICD code prefix such as I21 (letters and digits)"
    elif kind == "drug":
        values = [v.upper() for v in values]
        pattern, what = ATC_PATTERN, "an ATC pattern such as A10B or A10B* (a prefix)"
    else:
        pattern, what = ENDPOINT_PATTERN, "an endpoint name such as I9_MI"
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        problems.add(line, f"{bad[0]!r} is not {what}.")
        return None
    return EventSource(kind, tuple(v.rstrip("*") for v in values), line)


def _window(
    spec: LineDict, line: int, problems: Problems, *, default: tuple[int | None, int]
) -> Window | None:
    if "window_days" not in spec:
        return Window(*default)
    line = spec.line_of("window_days")
    pair = _pair(spec["window_days"], line, "window_days", problems)
    if pair is None:
        return None
    start, end = pair
    if (start is not None and (isinstance(start, bool) or not isinstance(start, int))) or isinstance(end, bool) or not isinstance(end, int):  # fmt: skip
        problems.add(line, f"window_days must be two whole numbers of days [start, end] (start may be null for all history), not {spec['window_days']!r}.")  # fmt: skip
        return None
    if start is not None and end < start:
        problems.add(line, f"window_days [{start}, {end}] has negative length; the end must not be before the start.")  # fmt: skip
        return None
    if end > 0:
        problems.add(line, f"window_days [{start}, {end}] ends {end} days after the index; a value as of the index must end at 0 or before.")  # fmt: skip
        return None
    return Window(start, end)


def _index(data: LineDict, problems: Problems) -> Index:
    _unknown_keys(data, ("date", "first_event", "age"), problems, "index")
    present = [k for k in ("date", "first_event", "age") if k in data]
    if len(present) != 1:
        if data.lines:
            problems.add(data.line, f"index needs exactly one of date, first_event, age; it has {len(present)}.")  # fmt: skip
        return Index(kind="date", line=data.line, date=dt.date(2000, 1, 1))
    kind = present[0]
    line = data.line_of(kind)
    if kind == "date":
        return Index(kind="date", line=line, date=_date(data["date"], line, "index date", problems))
    if kind == "age":
        return Index(
            kind="age", line=line, age=_number(data["age"], line, "index age", problems, minimum=0)
        )
    spec = data["first_event"]
    if not isinstance(spec, LineDict):
        problems.add(
            line, "first_event must be a mapping such as {endpoint: E4_DM2} or {drug: A10B*}."
        )
        return Index(kind="first_event", line=line)
    _unknown_keys(spec, EVENT_KINDS, problems, "index first_event")
    return Index(kind="first_event", line=line, events=_events(spec, line, problems, EVENT_KINDS))


def _variables(data: LineDict, is_exposure: bool, problems: Problems) -> tuple[Variable, ...]:
    found = []
    for name, spec in data.items():
        line = data.line_of(name)
        if not isinstance(spec, LineDict):
            problems.add(line, f"variable '{name}' must be a mapping such as {{endpoint: E4_DM2}}.")
            continue
        variable = _variable(name, spec, line, is_exposure, problems)
        if variable is not None:
            found.append(variable)
    return tuple(found)


def _variable(
    name: str, spec: LineDict, line: int, is_exposure: bool, problems: Problems
) -> Variable | None:
    kinds = (*EVENT_KINDS, "omics", "person")
    present = [k for k in kinds if k in spec]
    if len(present) != 1:
        problems.add(line, f"variable '{name}' needs exactly one of {', '.join(kinds)}; it has {len(present)}.")  # fmt: skip
        return None
    kind = present[0]
    if kind == "person":
        _unknown_keys(spec, ("person",), problems, f"variable '{name}'")
        column = spec["person"]
        if not isinstance(column, str):
            problems.add(spec.line_of("person"), f"person must name a column, not {column!r}.")
            return None
        return Variable(name=name, kind="person", line=line, is_exposure=is_exposure, column=column)
    if kind == "omics":
        _unknown_keys(spec, ("omics", "max_days_before"), problems, f"variable '{name}'")
        return _omics(name, spec, line, is_exposure, problems)
    _unknown_keys(spec, (kind, "window_days", "min_count"), problems, f"variable '{name}'")
    events = _events(spec, line, problems, EVENT_KINDS)
    window = _window(
        spec, line, problems, default=DEFAULT_DRUG_WINDOW if kind == "drug" else (None, 0)
    )
    min_count = spec.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        problems.add(spec.line_of("min_count"), f"min_count must be a whole number of at least 1, not {min_count!r}.")  # fmt: skip
        return None
    if events is None or window is None:
        return None
    return Variable(name=name, kind=kind, line=line, is_exposure=is_exposure, events=events,
                    window=window, min_count=min_count)  # fmt: skip


def _omics(
    name: str, spec: LineDict, line: int, is_exposure: bool, problems: Problems
) -> Variable | None:
    analyte = spec["omics"]
    if not isinstance(analyte, str) or not analyte:
        problems.add(spec.line_of("omics"), f"omics must name one analyte (an analyte_id such as LDL_C), not {analyte!r}.")  # fmt: skip
        return None
    days = spec.get("max_days_before")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        problems.add(spec.line_of("max_days_before"), f"max_days_before must be a whole number of days, 0 or more, not {days!r}; a negative window has no length.")  # fmt: skip
        return None
    return Variable(name=name, kind="omics", line=line, is_exposure=is_exposure, analyte=analyte,
                    max_days_before=days)  # fmt: skip


def _outcomes(data: LineDict, problems: Problems) -> tuple[Outcome, ...]:
    found = []
    for name, spec in data.items():
        line = data.line_of(name)
        if not isinstance(spec, LineDict):
            problems.add(line, f"outcome '{name}' must be a mapping such as {{endpoint: I9_MI}}.")
            continue
        _unknown_keys(spec, (*EVENT_KINDS, "death"), problems, f"outcome '{name}'")
        events = _events(spec, line, problems, (*EVENT_KINDS, "death"))
        if events is not None:
            found.append(Outcome(name=name, events=events, line=line))
    return tuple(found)


def _followup(data: LineDict, problems: Problems) -> FollowUp:
    _unknown_keys(data, ("max_years", "end"), problems, "followup")
    max_years = None
    if "max_years" in data:
        max_years = _number(
            data["max_years"], data.line_of("max_years"), "followup max_years", problems
        )
        if max_years is not None and max_years <= 0:
            problems.add(data.line_of("max_years"), f"followup max_years {max_years:g} gives a window of negative or zero length; use a positive number of years.")  # fmt: skip
            max_years = None
    end = (
        _date(data["end"], data.line_of("end"), "followup end", problems) if "end" in data else None
    )
    return FollowUp(max_years=max_years, end=end, lines=dict(data.lines))


def _model(data: LineDict, problems: Problems) -> ModelSpec:
    _unknown_keys(data, ("outcome", "terms", "events_per_term"), problems, "model")
    outcome = data.get("outcome")
    if outcome is not None and not isinstance(outcome, str):
        problems.add(
            data.line_of("outcome"), f"model outcome must name one outcome, not {outcome!r}."
        )
        outcome = None
    terms = data.get("terms")
    if terms is not None and (
        not isinstance(terms, list) or not all(isinstance(t, str) for t in terms)
    ):
        problems.add(
            data.line_of("terms"), f"model terms must be a list of variable names, not {terms!r}."
        )
        terms = None
    per_term = data.get("events_per_term", 10)
    if isinstance(per_term, bool) or not isinstance(per_term, int) or per_term < 0:
        problems.add(data.line_of("events_per_term"), f"events_per_term must be a whole number, 0 or more, not {per_term!r}.")  # fmt: skip
        per_term = 10
    return ModelSpec(outcome=outcome, terms=tuple(terms) if terms is not None else None,
                     events_per_term=per_term, line=data.line, lines=dict(data.lines))  # fmt: skip


def _check_names(
    variables: tuple[Variable, ...], outcomes: tuple[Outcome, ...], problems: Problems
) -> None:
    seen: dict[str, int] = {}
    for name, line in [(v.name, v.line) for v in variables] + [(o.name, o.line) for o in outcomes]:
        if not NAME_PATTERN.match(name):
            problems.add(line, f"'{name}' is not a usable column name; use lower case letters, digits and '_' starting with a letter.")  # fmt: skip
        elif name in RESERVED:
            problems.add(
                line, f"'{name}' is a column every study dataset has; choose another name."
            )
        elif name in seen:
            problems.add(line, f"'{name}' is already defined on line {seen[name]}; names of exposures, covariates and outcomes must differ.")  # fmt: skip
        seen.setdefault(name, line)


def _check_model(
    model: ModelSpec,
    variables: tuple[Variable, ...],
    outcomes: tuple[Outcome, ...],
    problems: Problems,
) -> None:
    names = {o.name for o in outcomes}
    if model.outcome is not None and model.outcome not in names:
        problems.add(model.lines.get("outcome", model.line), f"model outcome '{model.outcome}' is not one of the outcomes ({', '.join(sorted(names)) or 'none'}).")  # fmt: skip
    known = {v.name for v in variables}
    for term in model.terms or ():
        if term not in known:
            problems.add(model.lines.get("terms", model.line), f"model term '{term}' is not an exposure or covariate ({', '.join(sorted(known)) or 'none'}).")  # fmt: skip
