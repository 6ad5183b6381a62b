"""What the profiles read from the marts, held in memory as NumPy arrays.

Persons with a known sex and birth date get a row index; residence spells
(``marts.observation_period``) and every endpoint's first event (``marts.endpoint_case``) are
held as arrays on that index, days counted from 1970-01-01. One read of the marts serves every
endpoint's page; what depends on one endpoint is computed from its cases only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl

from promise.errors import PromiseError
from promise.warehouse import DATABASE_FILE, connect

IntArray = npt.NDArray[np.int64]
NEVER = 10**7  # a day beyond any date
EPOCH = dt.date(1970, 1, 1)
DEATH = "DEATH"


class ProfilesError(PromiseError):
    """The profiles cannot be written (no marts, an output folder in the way, ...)."""


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of ``marts.endpoint_definition`` that Swedish registers evaluate."""

    name: str
    longname: str
    sex: str | None
    evaluation: str
    not_applicable: tuple[str, ...]
    includes: tuple[str, ...] = ()


@dataclass
class Cohort:
    """Persons, their residence spells and every endpoint's first event, as arrays."""

    sex: IntArray  # 0 male, 1 female
    birth: IntArray
    death: IntArray  # NEVER when alive (or unknown)
    spell_person: IntArray  # sorted by person, then start
    spell_start: IntArray
    spell_end: IntArray  # the last day of the spell (death, emigration or end of data)
    end_of_data: int
    endpoints: list[Endpoint]
    cases: dict[str, tuple[IntArray, IntArray]]  # endpoint -> (person rows, first event day)
    _dense: dict[str, IntArray] = field(default_factory=dict)
    kept: dict[object, object] = field(default_factory=dict)  # results reused across endpoints

    @property
    def persons(self) -> int:
        """Persons with a row."""
        return int(self.sex.size)

    def onset(self, endpoint: str) -> IntArray:
        """First event day of ``endpoint`` for every person (NEVER for non-cases)."""
        if endpoint not in self._dense:
            dense = np.full(self.persons, NEVER, dtype=np.int64)
            rows, days = self.cases.get(endpoint, (np.empty(0, np.int64), np.empty(0, np.int64)))
            dense[rows] = days
            self._dense[endpoint] = dense
        return self._dense[endpoint]

    def spell_end_at(self, person: IntArray, day: IntArray) -> IntArray:
        """The last day of the residence spell of ``person`` that covers ``day``, else -1."""
        key = self.spell_person * 200_000 + (self.spell_start + 100_000)
        probe = person * 200_000 + (day + 100_000)
        at = np.searchsorted(key, probe, side="right") - 1
        at = np.clip(at, 0, None)
        found = (self.spell_person[at] == person) & (self.spell_end[at] >= day) & (self.spell_start[at] <= day)  # fmt: skip
        return np.where(found, self.spell_end[at], -1)


def family(endpoints: list[Endpoint]) -> dict[str, set[str]]:
    """Each endpoint's relatives in FinnGen's INCLUDE hierarchy (ancestors and descendants,
    any depth): an endpoint that includes another shares its events, so one "following"
    the other says nothing."""
    children = {e.name: set(e.includes) for e in endpoints}
    below: dict[str, set[str]] = {}

    def descendants(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name not in below:
            found: set[str] = set()
            for child in children.get(name, set()) - seen:
                found |= {child} | descendants(child, seen | {name})
            below[name] = found
        return below[name]

    related = {e.name: set(descendants(e.name)) for e in endpoints}
    for name, found in list(related.items()):
        for child in found:
            related.setdefault(child, set()).add(name)
    return related


def day_number(value: dt.date) -> int:
    """Days from 1970-01-01."""
    return (value - EPOCH).days


def date_of(day: int) -> dt.date:
    """The date of a day number."""
    return EPOCH + dt.timedelta(days=int(day))


@contextmanager
def open_marts(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built marts (promise's own, not a user's, SQL)."""
    if not (Path(warehouse) / DATABASE_FILE).is_file():
        raise ProfilesError(f"warehouse {warehouse} has no built marts ({DATABASE_FILE}); run `promise build --warehouse {warehouse}` first.")  # fmt: skip
    con = connect(Path(warehouse))
    try:
        con.execute("SET enable_progress_bar = false")
        yield con
    except duckdb.Error as exc:
        raise ProfilesError(f"the marts of {warehouse} cannot be read for profiles ({str(exc).splitlines()[0]}); run `promise build` again.") from exc  # fmt: skip
    finally:
        con.close()


def read_cohort(con: duckdb.DuckDBPyConnection) -> Cohort:
    """Read persons, spells, endpoint definitions and first events (creates the temporary
    table ``profile_person``, the person index, on ``con``)."""
    return _read(con)


def _days(frame: pl.DataFrame, column: str) -> IntArray:
    return np.asarray(frame[column].cast(pl.Int32).fill_null(NEVER).to_numpy(), dtype=np.int64)


def _read(con: duckdb.DuckDBPyConnection) -> Cohort:
    con.execute(
        "create temp table profile_person as select person_id, "
        "(row_number() over (order by person_id) - 1)::bigint as i, "
        "(sex = 'female')::int as female, birth_date, death_date from marts.person "
        "where sex in ('male', 'female') and birth_date is not null"
    )
    person = con.sql("select female, birth_date, death_date from profile_person order by i").pl()
    spells = con.sql(
        "select p.i, s.start_date, s.end_date from marts.observation_period as s "
        "join profile_person as p using (person_id) order by p.i, s.start_date"
    ).pl()
    cases = con.sql(
        "select c.endpoint, p.i, c.first_event_date from marts.endpoint_case as c "
        "join profile_person as p using (person_id) where c.first_event_date is not null "
        "order by c.endpoint, p.i"
    ).pl()
    endpoints = con.sql(
        "select name, longname, sex, evaluation, not_applicable_parts, includes from marts.endpoint_definition "
        "where evaluation in ('evaluated', 'partial') order by name"
    ).pl()
    if spells.height == 0:
        raise ProfilesError("the warehouse has no residence spells (marts.observation_period); profiles need person-time.")  # fmt: skip
    by_endpoint = {
        str(name): (np.asarray(part["i"].to_numpy(), np.int64), _days(part, "first_event_date"))
        for (name,), part in cases.partition_by("endpoint", as_dict=True).items()
    }
    return Cohort(
        sex=np.asarray(person["female"].to_numpy(), np.int64),
        birth=_days(person, "birth_date"),
        death=_days(person, "death_date"),
        spell_person=np.asarray(spells["i"].to_numpy(), np.int64),
        spell_start=_days(spells, "start_date"),
        spell_end=_days(spells, "end_date"),
        end_of_data=int(_days(spells, "end_date").max()),
        endpoints=[
            Endpoint(
                name=r["name"],
                longname=r["longname"] or r["name"],
                sex=r["sex"],
                evaluation=r["evaluation"],
                not_applicable=tuple(r["not_applicable_parts"] or ()),
                includes=tuple(r["includes"] or ()),
            )
            for r in endpoints.iter_rows(named=True)
        ],  # fmt: skip
        cases=by_endpoint,
    )
