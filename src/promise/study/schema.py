"""Reading ``studies/<name>.yml`` into a :class:`StudyDefinition`, checked for shape.

This module checks what the file alone can tell (keys, types, windows, names); what needs
the warehouse (does the endpoint exist, does the ATC pattern match anything) is in
:mod:`promise.study.checks`. Every mistake is one sentence at its line (:class:`Problems`),
and all of a file's mistakes are raised together.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from promise.study.definition import (
    DEFAULT_DRUG_WINDOW,
    EVENT_KINDS,
    NAME_PATTERN,
    RESERVED,
    SEXES,
    TOP_KEYS,
    Criterion,
    FollowUp,
    Index,
    ModelSpec,
    Outcome,
    Population,
    StudyDefinition,
    Variable,
)
from promise.study.fields import (
    as_mapping,
    date_at,
    event_source,
    mapping_at,
    number_at,
    pair_at,
    unknown_keys,
    window_at,
)
from promise.study.source import LineDict, LineList, Problems, read_definition_file


def load_definition(path: Path) -> StudyDefinition:
    """Read and check ``path``; raise one :class:`StudyDefinitionError` naming every mistake."""
    path = Path(path)
    data = read_definition_file(path)
    problems = Problems(path)
    name = path.stem
    if not NAME_PATTERN.match(name):
        problems.add(1, f"the file name '{name}' is the study's name and must be lower case "
                        "letters, digits and '_' starting with a letter; rename the file.")  # fmt: skip
    unknown_keys(data, TOP_KEYS, problems, "a study definition")
    for key in ("index", "outcomes"):
        if not data.get(key):
            problems.add(
                data.line_of(key),
                f"the '{key}:' section is missing or empty; add one (see docs/studies.md).",
            )
    population = _population(mapping_at(data, "population", problems), problems)
    index = _index(mapping_at(data, "index", problems), problems)
    exposures = _variables(mapping_at(data, "exposures", problems), True, problems)
    covariates = _variables(mapping_at(data, "covariates", problems), False, problems)
    outcomes = _outcomes(mapping_at(data, "outcomes", problems), problems)
    followup = _followup(mapping_at(data, "followup", problems), problems)
    model = _model(mapping_at(data, "model", problems), problems)
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


def _population(data: LineDict, problems: Problems) -> Population:
    unknown_keys(data, ("age", "sex", "calendar", "lookback_years", "include", "exclude"),
                  problems, "population")  # fmt: skip
    age = None
    if "age" in data:
        pair = pair_at(data["age"], data.line_of("age"), "population age", problems)
        if pair is not None:
            low = number_at(pair[0], data.line_of("age"), "the lowest age", problems, minimum=0)
            high = number_at(pair[1], data.line_of("age"), "the highest age", problems, minimum=0)
            if low is not None and high is not None:
                if high <= low:
                    problems.add(data.line_of("age"), f"the age window [{low:g}, {high:g}) has negative or zero length; write [lowest, highest] with lowest < highest.")  # fmt: skip
                age = (low, high)
    sexes = _sexes(data, problems)
    calendar = None
    if "calendar" in data:
        line = data.line_of("calendar")
        pair = pair_at(data["calendar"], line, "population calendar", problems)
        if pair is not None:
            start = date_at(pair[0], line, "the calendar window's start", problems)
            end = date_at(pair[1], line, "the calendar window's end", problems)
            if start is not None and end is not None:
                if end < start:
                    problems.add(line, f"the calendar window {start}..{end} has negative length; its end must not be before its start.")  # fmt: skip
                calendar = (start, end)
    lookback = 0.0
    if "lookback_years" in data:
        lookback = number_at(data["lookback_years"], data.line_of("lookback_years"),
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


def _criteria(data: LineDict, key: str, problems: Problems, where: str = "population") -> list[Criterion]:  # fmt: skip
    if key not in data:
        return []
    items = data[key]
    if not isinstance(items, LineList):
        problems.add(data.line_of(key), f"{where} {key} must be a list of endpoints or sources.")
        return []
    found = []
    for i, item in enumerate(items):
        line = items.line_of(i)
        spec = item if isinstance(item, LineDict) else as_mapping({"endpoint": item}, line)
        allowed = EVENT_KINDS if where == "followup" else (*EVENT_KINDS, "window_days")
        unknown_keys(spec, allowed, problems, f"a {where} {key} item")
        events = event_source(spec, line, problems, EVENT_KINDS)
        window = window_at(spec, line, problems, default=(None, 0))
        if events is not None and window is not None:
            found.append(
                Criterion(events=events, window=window, include=key == "include", line=line)
            )
    return found


def _index(data: LineDict, problems: Problems) -> Index:
    unknown_keys(data, ("date", "first_event", "age"), problems, "index")
    present = [k for k in ("date", "first_event", "age") if k in data]
    if len(present) != 1:
        if data.lines:
            problems.add(data.line, f"index needs exactly one of date, first_event, age; it has {len(present)}.")  # fmt: skip
        return Index(kind="date", line=data.line, date=dt.date(2000, 1, 1))
    kind = present[0]
    line = data.line_of(kind)
    if kind == "date":
        return Index(
            kind="date", line=line, date=date_at(data["date"], line, "index date", problems)
        )
    if kind == "age":
        return Index(
            kind="age",
            line=line,
            age=number_at(data["age"], line, "index age", problems, minimum=0),
        )
    spec = data["first_event"]
    if not isinstance(spec, LineDict):
        problems.add(
            line, "first_event must be a mapping such as {endpoint: E4_DM2} or {drug: A10B*}."
        )
        return Index(kind="first_event", line=line)
    unknown_keys(spec, EVENT_KINDS, problems, "index first_event")
    return Index(
        kind="first_event", line=line, events=event_source(spec, line, problems, EVENT_KINDS)
    )


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
        unknown_keys(spec, ("person",), problems, f"variable '{name}'")
        column = spec["person"]
        if not isinstance(column, str):
            problems.add(spec.line_of("person"), f"person must name a column, not {column!r}.")
            return None
        return Variable(name=name, kind="person", line=line, is_exposure=is_exposure, column=column)
    if kind == "omics":
        unknown_keys(spec, ("omics", "max_days_before"), problems, f"variable '{name}'")
        return _omics(name, spec, line, is_exposure, problems)
    unknown_keys(spec, (kind, "window_days", "min_count"), problems, f"variable '{name}'")
    events = event_source(spec, line, problems, EVENT_KINDS)
    window = window_at(
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
        unknown_keys(spec, (*EVENT_KINDS, "death"), problems, f"outcome '{name}'")
        events = event_source(spec, line, problems, (*EVENT_KINDS, "death"))
        if events is not None:
            found.append(Outcome(name=name, events=events, line=line))
    return tuple(found)


def _followup(data: LineDict, problems: Problems) -> FollowUp:
    unknown_keys(data, ("max_years", "end", "censor_at_first"), problems, "followup")
    max_years = None
    if "max_years" in data:
        max_years = number_at(
            data["max_years"], data.line_of("max_years"), "followup max_years", problems
        )
        if max_years is not None and max_years <= 0:
            problems.add(data.line_of("max_years"), f"followup max_years {max_years:g} gives a window of negative or zero length; use a positive number of years.")  # fmt: skip
            max_years = None
    end = (
        date_at(data["end"], data.line_of("end"), "followup end", problems)
        if "end" in data
        else None
    )
    censor = tuple(c.events for c in _criteria(data, "censor_at_first", problems, "followup"))
    return FollowUp(max_years=max_years, end=end, lines=dict(data.lines), censor_at_first=censor)


def _model(data: LineDict, problems: Problems) -> ModelSpec:
    unknown_keys(data, ("outcome", "terms", "events_per_term"), problems, "model")
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
