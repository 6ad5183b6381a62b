"""SQL for the dataset's columns beyond the population: exposures and covariates as of the
index date, and each outcome as time to event.

Outcome coding (per outcome ``o``): ``o_status`` is 1 for the first event of the outcome's
source after the index and on or before the exit date, 2 for death from other causes first
(the competing event), 0 for censoring (emigration, end of data, follow-up limit);
``o_date`` is the event or censoring date; ``o_years`` the time from the index to it in years
(days / 365.25). An event on the index date itself is history, not outcome.
"""

from __future__ import annotations

from collections.abc import Mapping

from promise.study.definition import Outcome, StudyDefinition, Variable
from promise.study.events import events_sql, history_count_sql, quote

PERSON_BUILTINS = {
    "age": "b.age_at_index",
    "female": "(b.sex = 'female')::integer",
    "birth_year": "year(b.birth_date)",
    "index_year": "year(b.index_date)",
}
BASE_COLUMNS = ("person_id", "index_date", "sex", "age_at_index", "exit_date", "exit_reason")


def _variable(k: int, variable: Variable, analytes: Mapping[str, str]) -> tuple[str, str | None]:
    """The column expression and the join (or None) that one variable needs."""
    alias = f"v{k}"
    if variable.kind == "person":
        assert variable.column is not None
        if variable.column in PERSON_BUILTINS:
            return f"{PERSON_BUILTINS[variable.column]} as {variable.name}", None
        return f'p."{variable.column}" as {variable.name}', None
    if variable.kind == "omics":
        return f"{alias}.value as {variable.name}", f"left join ({_omics_sql(variable, analytes)}) as {alias} on {alias}.person_id = b.person_id"  # fmt: skip
    assert variable.events is not None and variable.window is not None
    counts = history_count_sql(variable.events, variable.window, "study_population")
    return (
        f"(coalesce({alias}.n, 0) >= {variable.min_count})::integer as {variable.name}",
        f"left join ({counts}) as {alias} on {alias}.person_id = b.person_id",
    )


def _omics_sql(variable: Variable, analytes: Mapping[str, str]) -> str:
    """The value of the nearest sample on or before the index (ties: lowest sample id)."""
    analyte = analytes.get(variable.name, variable.analyte or "")
    since = ""
    if variable.max_days_before is not None:
        since = f" and m.sampling_date >= b.index_date - {variable.max_days_before}"
    return (
        "select person_id, value from ("
        "select b.person_id, m.value, row_number() over (partition by b.person_id "
        "order by m.sampling_date desc, m.sample_id, m.measurement_id) as rank "
        "from study_population as b join marts.omics_measurement as m on m.person_id = b.person_id "
        f"where m.analyte_id = {quote(analyte)} and m.value is not null "
        f"and m.sampling_date <= b.index_date{since}) where rank = 1"
    )


def _outcome(k: int, outcome: Outcome) -> tuple[list[str], str | None]:
    """The three columns of one outcome and the join it needs."""
    name = outcome.name
    if outcome.events.kind == "death":
        status = "case when b.exit_reason = 'death' then 1 else 0 end"
        date = "b.exit_date"
        join = None
    else:
        alias = f"o{k}"
        status = f"case when {alias}.event_date is not null then 1 when b.exit_reason = 'death' then 2 else 0 end"  # fmt: skip
        date = f"coalesce({alias}.event_date, b.exit_date)"
        join = (
            f"left join (select b.person_id, min(e.event_date) as event_date from study_population as b "
            f"join ({events_sql(outcome.events)}) as e on e.person_id = b.person_id "
            f"where e.event_date > b.index_date and e.event_date <= b.exit_date group by b.person_id) "
            f"as {alias} on {alias}.person_id = b.person_id"
        )
    columns = [
        f"({status})::tinyint as {name}_status",
        f"{date} as {name}_date",
        f"datediff('day', b.index_date, {date}) / 365.25 as {name}_years",
    ]
    return columns, join


def dataset_sql(definition: StudyDefinition, analytes: Mapping[str, str]) -> str:
    """The SELECT of the person-level dataset over ``study_population``, one row per person."""
    columns = [f"b.{c}" for c in BASE_COLUMNS]
    joins: list[str] = []
    for k, variable in enumerate(definition.variables):
        column, join = _variable(k, variable, analytes)
        columns.append(column)
        joins += [join] if join else []
    if any(v.kind == "person" and v.column not in PERSON_BUILTINS for v in definition.variables):
        joins.append("join marts.person as p on p.person_id = b.person_id")
    for k, outcome in enumerate(definition.outcomes):
        outcome_columns, join = _outcome(k, outcome)
        columns += outcome_columns
        joins += [join] if join else []
    return f"select {', '.join(columns)} from study_population as b {' '.join(joins)} order by b.person_id"
