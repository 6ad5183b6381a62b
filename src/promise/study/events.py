"""SQL for the dated events a definition refers to, and for dates relative to an index.

Every source becomes one relation ``(person_id, event_date)`` over the marts, so that
population criteria, the index date, exposures and outcomes all share one meaning of "an
event of this source". Values are checked by :mod:`promise.study.definition` (names, code
and ATC prefixes are letters, digits and ``_``) and are still quoted here.
"""

from __future__ import annotations

import datetime as dt

from promise.study.definition import EventSource, Window

DAYS_PER_YEAR = 365.25


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def date_literal(value: dt.date) -> str:
    """A SQL date literal."""
    return f"date '{value.isoformat()}'"


def years_to_days(years: float) -> int:
    """Whole days in ``years`` (floor of years x 365.25): the rule for every year length."""
    return int(years * DAYS_PER_YEAR // 1)


def _prefixes(column: str, values: tuple[str, ...]) -> str:
    return "(" + " or ".join(f"starts_with({column}, {quote(v)})" for v in values) + ")"


def events_sql(source: EventSource) -> str:
    """``select person_id, event_date`` of every dated event of ``source``.

    An endpoint's events are those of its cases (``endpoint_case``: a person with events who
    fails the endpoint's CONDITIONS is not a case); codes match ``diagnosis.code`` by prefix
    in any register; drugs match ``drug_dispensing.atc`` by prefix; death is the person's
    death date.
    """
    if source.kind == "endpoint":
        names = ", ".join(quote(v) for v in source.values)
        return (
            "select e.person_id, e.event_date from marts.endpoint_event as e "
            "semi join marts.endpoint_case as c "
            "on c.person_id = e.person_id and c.endpoint = e.endpoint "
            f"where e.endpoint in ({names}) and e.event_date is not null"
        )
    if source.kind == "codes":
        return (
            "select person_id, event_date from marts.diagnosis "
            f"where event_date is not null and {_prefixes('code', source.values)}"
        )
    if source.kind == "drug":
        return (
            "select person_id, dispense_date as event_date from marts.drug_dispensing "
            f"where {_prefixes('atc', source.values)}"
        )
    if source.kind == "death":
        return "select person_id, death_date as event_date from marts.person where death_date is not null"
    raise ValueError(f"unknown event source {source.kind}")


def window_condition(
    window: Window, event: str = "e.event_date", index: str = "b.index_date"
) -> str:
    """SQL true when ``event`` lies in ``window`` days of ``index`` (both ends inclusive)."""
    upper = f"{event} <= {index} + {window.end}"
    if window.start is None:
        return upper
    return f"{upper} and {event} >= {index} + {window.start}"


def history_count_sql(source: EventSource, window: Window, base: str) -> str:
    """``select person_id, n`` : events of ``source`` in ``window`` of each base row's index."""
    return (
        f"select b.person_id, count(*) as n from {base} as b "
        f"join ({events_sql(source)}) as e on e.person_id = b.person_id "
        f"where {window_condition(window)} group by b.person_id"
    )
