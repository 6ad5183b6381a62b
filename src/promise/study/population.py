"""The study population: every person's index date and residence spell, then each criterion
in order, counted into the attrition table.

Works on a DuckDB connection that has the marts (:func:`promise.warehouse.connect`). It
creates two temporary tables: ``study_base`` (one row per person in ``marts.person``: index
date, age at it, the residence spell that covers it, exit date and reason, one flag per
criterion) and ``study_population`` (the rows that pass every criterion).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb

from promise.study.definition import Criterion, StudyDefinition
from promise.study.events import date_literal, events_sql, history_count_sql, quote, years_to_days

#: ``exit_reason`` of a person whose follow-up ended at a ``censor_at_first`` event.
CENSORED = "censored_at_first_event"


@dataclass(frozen=True)
class Step:
    """One criterion of the attrition table: its wording, YAML line and SQL condition."""

    criterion: str
    line: int
    condition: str


@dataclass(frozen=True)
class AttritionRow:
    """How many persons one criterion excluded and how many remained."""

    step: int
    criterion: str
    line: int
    persons_before: int
    excluded: int
    remaining: int


def index_sql(definition: StudyDefinition) -> str:
    """``select person_id, index_date`` for everyone who has one."""
    index = definition.index
    if index.kind == "date":
        assert index.date is not None
        return f"select person_id, {date_literal(index.date)} as index_date from marts.person"
    if index.kind == "age":
        assert index.age is not None
        years = math.floor(index.age)
        days = years_to_days(index.age - years)
        return (
            f"select person_id, cast(birth_date + to_years({years}) + to_days({days}) as date) "
            "as index_date from marts.person where birth_date is not null"
        )
    assert index.events is not None
    return (
        "select person_id, min(event_date) as index_date "
        f"from ({events_sql(index.events)}) group by person_id"
    )


def censor_sql(definition: StudyDefinition) -> str | None:
    """``select person_id, censor_date``: the earliest first-ever event of a
    ``followup.censor_at_first`` source that falls after the person's index date."""
    sources = definition.followup.censor_at_first
    if not sources:
        return None
    firsts = " union all ".join(
        f"select person_id, min(event_date) as first_date from ({events_sql(s)}) group by person_id"
        for s in sources
    )
    return (
        "select i.person_id, min(f.first_date) as censor_date "
        f"from ({index_sql(definition)}) as i join ({firsts}) as f on f.person_id = i.person_id "
        "where f.first_date > i.index_date group by i.person_id"
    )


def exit_sql(definition: StudyDefinition, end_of_data: dt.date) -> str:
    """The end of follow-up before any outcome: spell end, follow-up limits, end of data, the
    first event of a ``censor_at_first`` source after the index (NULLs are skipped)."""
    parts = ["s.end_date", date_literal(end_of_data)]
    if definition.followup.censor_at_first:
        parts.append("c.censor_date")
    followup = definition.followup
    if followup.max_years is not None:
        parts.append(f"i.index_date + {years_to_days(followup.max_years)}")
    if followup.end is not None:
        parts.append(date_literal(followup.end))
    return f"least({', '.join(parts)})"


def create_base(
    con: duckdb.DuckDBPyConnection, definition: StudyDefinition, end_of_data: dt.date
) -> None:
    """Create ``study_base``: one row per person with index date, spell and exit."""
    exit_date = exit_sql(definition, end_of_data)
    censor = censor_sql(definition)
    censor_join = f"left join ({censor}) as c on c.person_id = p.person_id" if censor else ""
    censored = f"when c.censor_date <= {exit_date} then '{CENSORED}'" if censor else ""
    con.execute(
        f"""
        create or replace temp table study_base as
        select
            p.person_id, p.sex, p.birth_date, i.index_date,
            datediff('day', p.birth_date, i.index_date) / 365.25 as age_at_index,
            s.start_date as spell_start, s.end_date as spell_end,
            case when s.end_date is null then null else {exit_date} end as exit_date,
            case when s.end_date is null then null
                 when s.end_date <= {exit_date} then s.end_reason
                 {censored}
                 else 'followup_limit' end as exit_reason
        from marts.person as p
        left join ({index_sql(definition)}) as i on i.person_id = p.person_id
        left join marts.observation_period as s
          on s.person_id = p.person_id and s.start_date <= i.index_date and s.end_date > i.index_date
        {censor_join}
        qualify row_number() over (partition by p.person_id order by s.start_date) = 1
        """
    )


def steps(definition: StudyDefinition) -> list[Step]:
    """The population criteria in the order they are applied (the attrition table's rows)."""
    population = definition.population
    lines = population.lines
    found = [Step("persons in marts.person", 1, "true")]
    index = definition.index
    if index.kind != "date":
        what = index.events.label if index.events is not None else f"age {index.age:g}"
        found.append(Step(f"has an index date ({what})", index.line, "index_date is not null"))
    if population.calendar is not None:
        start, end = population.calendar
        found.append(Step(
            f"index date in {start}..{end}", lines["calendar"],
            f"index_date between {date_literal(start)} and {date_literal(end)}",
        ))  # fmt: skip
    found.append(
        Step("alive and resident on the index date", index.line, "spell_start is not null")
    )
    if set(population.sexes) != {"male", "female"}:
        sexes = ", ".join(quote(s) for s in population.sexes)
        found.append(
            Step(f"sex {' or '.join(population.sexes)}", lines["sex"], f"sex in ({sexes})")
        )
    if population.age is not None:
        low, high = population.age
        found.append(Step(
            f"age at index in [{low:g}, {high:g})", lines["age"],
            f"age_at_index >= {low!r} and age_at_index < {high!r}",
        ))  # fmt: skip
    if population.lookback_years > 0:
        days = years_to_days(population.lookback_years)
        found.append(Step(
            f"resident for {population.lookback_years:g} years ({days} days) before the index",
            lines["lookback_years"], f"spell_start <= index_date - {days}",
        ))  # fmt: skip
    for k, criterion in enumerate(population.criteria):
        found.append(_criterion_step(k, criterion))
    if definition.followup.end is not None:
        found.append(Step(
            f"follow-up after the index (before {definition.followup.end})",
            definition.followup.lines["end"], "exit_date > index_date",
        ))  # fmt: skip
    return found


def _criterion_step(k: int, criterion: Criterion) -> Step:
    membership = f"person_id in (select person_id from study_criterion_{k})"
    condition = membership if criterion.include else f"not ({membership})"
    return Step(criterion.label, criterion.line, condition)


def create_criteria(con: duckdb.DuckDBPyConnection, definition: StudyDefinition) -> None:
    """One temporary table per include/exclude criterion: persons with an event in its window."""
    for k, criterion in enumerate(definition.population.criteria):
        counts = history_count_sql(criterion.events, criterion.window, "study_base")
        con.execute(
            f"create or replace temp table study_criterion_{k} as select person_id from ({counts})"
        )


def attrition(con: duckdb.DuckDBPyConnection, found: list[Step]) -> list[AttritionRow]:
    """Apply ``found`` in order to ``study_base``, create ``study_population``, count each step."""
    cumulative = [
        " and ".join(f"coalesce({s.condition}, false)" for s in found[: i + 1])
        for i in range(len(found))
    ]
    columns = ", ".join(f"count(*) filter (where {c})" for c in cumulative)
    counts = con.execute(f"select {columns} from study_base").fetchone()
    assert counts is not None
    rows = []
    before = int(counts[0])
    for i, (step, remaining) in enumerate(zip(found, counts, strict=True)):
        n = int(remaining)
        rows.append(AttritionRow(i, step.criterion, step.line, before, before - n, n))
        before = n
    con.execute(
        f"create or replace temp table study_population as select * from study_base where {cumulative[-1]}"
    )
    return rows
