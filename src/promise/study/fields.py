"""Readers of single values in a study definition: numbers, dates, pairs, windows, sources.

Each reader takes the value, its YAML line and the :class:`Problems` collector; a wrong
value adds one sentence at its line and gives ``None``, so every mistake of a file is found
in one pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from promise.study.definition import (
    ATC_PATTERN,
    CODE_PATTERN,
    ENDPOINT_PATTERN,
    EventSource,
    Window,
)
from promise.study.source import LineDict, Problems


def mapping_at(parent: LineDict, key: str, problems: Problems) -> LineDict:
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


def unknown_keys(data: LineDict, allowed: tuple[str, ...], problems: Problems, where: str) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                data.line_of(key),
                f"'{key}' is not a key of {where}; use one of {', '.join(allowed)}.",
            )


def number_at(
    value: Any, line: int, what: str, problems: Problems, *, minimum: float | None = None
) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(line, f"{what} must be a number, not {value!r}.")
        return None
    if minimum is not None and value < minimum:
        problems.add(line, f"{what} must be at least {minimum:g}, not {value:g}.")
        return None
    return float(value)


def date_at(value: Any, line: int, what: str, problems: Problems) -> dt.date | None:
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


def pair_at(value: Any, line: int, what: str, problems: Problems) -> tuple[Any, Any] | None:
    if not isinstance(value, list) or len(value) != 2:
        problems.add(line, f"{what} must be a list of two values [start, end], not {value!r}.")
        return None
    return value[0], value[1]


def as_mapping(values: dict[str, Any], line: int) -> LineDict:
    out = LineDict(values)
    out.line, out.lines = line, dict.fromkeys(values, line)
    return out


def event_source(
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
    return checked_values(kind, [v.strip() for v in values], line, problems)


def checked_values(
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


def window_at(
    spec: LineDict, line: int, problems: Problems, *, default: tuple[int | None, int]
) -> Window | None:
    if "window_days" not in spec:
        return Window(*default)
    line = spec.line_of("window_days")
    pair = pair_at(spec["window_days"], line, "window_days", problems)
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
