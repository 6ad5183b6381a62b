"""Checks of a study definition against the warehouse it runs on.

What the file alone cannot tell: whether an endpoint exists and Sweden's registers can
evaluate it, whether an ATC pattern or code prefix matches anything, whether an analyte or
a person column exists, and whether the index date lies within the data. Each mistake is one
sentence naming the YAML line (:class:`promise.study.source.Problems`).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

import duckdb

from promise.errors import PromiseError
from promise.study.columns import PERSON_BUILTINS
from promise.study.definition import EventSource, StudyDefinition
from promise.study.events import quote
from promise.study.source import Problems


class MartsMissingError(PromiseError):
    """The warehouse has no built marts to define a study on."""


@dataclass(frozen=True)
class Resolved:
    """What the checks learned: the end of data and each omics variable's analyte_id."""

    end_of_data: dt.date
    analytes: dict[str, str]


def end_of_data(con: duckdb.DuckDBPyConnection, warehouse: str) -> dt.date:
    """The last day of follow-up in the warehouse: the latest end of a residence spell."""
    try:
        row = con.execute("select max(end_date) from marts.observation_period").fetchone()
    except duckdb.CatalogException:
        raise MartsMissingError(
            f"warehouse {warehouse} has no built marts; run `promise build --warehouse {warehouse}` first."
        ) from None
    if row is None or row[0] is None:
        raise MartsMissingError(f"warehouse {warehouse} has no residence spells (marts.observation_period is empty); load the population register and build.")  # fmt: skip
    value: dt.date = row[0]
    return value


def check_against_warehouse(
    con: duckdb.DuckDBPyConnection, definition: StudyDefinition, warehouse: str
) -> Resolved:
    """Raise one :class:`StudyDefinitionError` naming every mistake; else what was resolved."""
    problems = Problems(definition.path)
    last = end_of_data(con, warehouse)
    _check_dates(definition, last, problems)
    endpoints = dict(
        con.execute("select name, evaluation from marts.endpoint_definition").fetchall()
    )
    for source in _sources(definition):
        _check_source(con, source, endpoints, problems)
    analytes = _check_variables(con, definition, problems)
    problems.raise_if_any()
    return Resolved(end_of_data=last, analytes=analytes)


def _sources(definition: StudyDefinition) -> list[EventSource]:
    found = [c.events for c in definition.population.criteria]
    found += [v.events for v in definition.variables if v.events is not None]
    found += [o.events for o in definition.outcomes]
    found += list(definition.followup.censor_at_first)
    if definition.index.events is not None:
        found.append(definition.index.events)
    return found


def _check_dates(definition: StudyDefinition, last: dt.date, problems: Problems) -> None:
    index = definition.index
    if index.date is not None and index.date >= last:
        problems.add(index.line, f"the index date {index.date} is not before the end of data ({last}, the last day any residence spell reaches); choose an earlier date.")  # fmt: skip
    calendar = definition.population.calendar
    if calendar is not None and calendar[0] >= last:
        problems.add(definition.population.lines["calendar"], f"the calendar window starts on {calendar[0]}, not before the end of data ({last}); no index date can fall in it.")  # fmt: skip
    end = definition.followup.end
    if end is not None and index.date is not None and end <= index.date:
        problems.add(definition.followup.lines["end"], f"followup end {end} is not after the index date {index.date}: the follow-up window has negative or zero length.")  # fmt: skip


def _check_source(
    con: duckdb.DuckDBPyConnection,
    source: EventSource,
    endpoints: dict[str, str],
    problems: Problems,
) -> None:
    if source.kind == "endpoint":
        for name in source.values:
            if name not in endpoints:
                hint = difflib.get_close_matches(name, list(endpoints), n=1)
                also = f" (did you mean {hint[0]}?)" if hint else ""
                problems.add(source.line, f"endpoint '{name}' is not in the warehouse's endpoint definitions (marts.endpoint_definition){also}; check the name.")  # fmt: skip
            elif endpoints[name] == "not_applicable":
                problems.add(source.line, f"endpoint '{name}' cannot be evaluated on Swedish registers (evaluation not_applicable in marts.endpoint_definition); choose another.")  # fmt: skip
    elif source.kind == "drug":
        for prefix in source.values:
            if not _matches(con, "drug_dispensing", "atc", prefix):
                problems.add(source.line, f"ATC pattern '{prefix}*' matches no dispensing in marts.drug_dispensing; check the code.")  # fmt: skip
    elif source.kind == "codes":
        for prefix in source.values:
            if not _matches(con, "diagnosis", "code", prefix):
                problems.add(source.line, f"code prefix '{prefix}' matches no diagnosis in marts.diagnosis; check the code (ICD without dots, e.g. I21).")  # fmt: skip


def _matches(con: duckdb.DuckDBPyConnection, table: str, column: str, prefix: str) -> bool:
    sql = (
        f"select exists (select 1 from marts.{table} where starts_with({column}, {quote(prefix)}))"
    )
    row = con.execute(sql).fetchone()
    return bool(row and row[0])


def _check_variables(
    con: duckdb.DuckDBPyConnection, definition: StudyDefinition, problems: Problems
) -> dict[str, str]:
    person_columns = [r[0] for r in con.execute("select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'person'").fetchall()]  # fmt: skip
    available = sorted(set(PERSON_BUILTINS) | set(person_columns) - {"person_id"})
    pairs = con.execute(
        "select distinct analyte_id, analyte_name from marts.omics_measurement"
    ).fetchall()
    analytes: dict[str, str] = {}
    for variable in definition.variables:
        if variable.kind == "person" and variable.column not in available:
            problems.add(variable.line, f"person column '{variable.column}' does not exist; use one of {', '.join(available)}.")  # fmt: skip
        if variable.kind == "omics":
            ids = sorted({i for i, n in pairs if variable.analyte in (i, n)})
            if len(ids) == 1:
                analytes[variable.name] = ids[0]
            else:
                what = "no analyte" if not ids else f"{len(ids)} analytes ({', '.join(ids)})"
                problems.add(variable.line, f"omics '{variable.analyte}' matches {what} in marts.omics_measurement by analyte_id or analyte_name; name exactly one.")  # fmt: skip
    return analytes
