"""True counts behind one endpoint's profile, before any disclosure control.

Definitions (docs/profiles.md):
- window: from 2001-01-01 (specialist outpatient care enters the patient register) to the
  end of data; incidence, person-time and hazard ratios use it;
- cases and controls: ``marts.endpoint_status`` (FinnGen's control exclusions applied);
- age at first event: every case, in 10-year bands;
- incidence: first events in the window while resident, over person-time at risk (resident,
  not yet a case), by sex, age band and 5-year calendar period;
- prevalence: persons resident on the last day of data who had the endpoint by then;
- recurrence: cases with a first event in the window, resident 182 days after it, with another
  event of the endpoint 1-182 days after it;
- 5-year case fatality: cases with a first event in the window at least 5 years before the
  end of data, resident at it: dead within 1,826 days, of those who died or stayed resident;
- drugs: dispensings from the day of the first event to 365 days after, for cases with a first
  event from 1 July 2005 (the Prescribed Drug Register) to a year before the end of data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np

from promise.profiles.cohort import NEVER, Cohort, IntArray, day_number
from promise.profiles.persontime import (  # fmt: skip
    FloatArray,
    Grid,
    cells,
    count_cells,
    person_years,
    residence,
    resident_on,
)

WINDOW_START = dt.date(2001, 1, 1)
LMED_START = dt.date(2005, 7, 1)
AGE_BANDS = (0.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0)
ONSET_BANDS = tuple(float(a) for a in range(0, 100, 10))
RECURRENCE_DAYS = 182
FATALITY_DAYS = 1826  # 5 x 365.25
DRUG_DAYS = 365
PERIOD_YEARS = 5


@dataclass(frozen=True)
class Counts:
    """The counts of one endpoint's profile (true values)."""

    status: IntArray  # [case, control] x [male, female]
    onset_age: IntArray  # ONSET_BANDS x [male, female]
    events: IntArray  # grid
    years: FloatArray  # grid
    prevalence: IntArray  # [case, not a case] x [male, female], residents at the end of data
    recurrence: IntArray  # [recurred, did not]
    fatality: IntArray  # [died within 5 years, did not]
    drug_cases: int
    drugs: list[tuple[str, int]]  # (ATC, persons), most first


@dataclass(frozen=True)
class Shared:
    """What every endpoint's profile reads: the window, the grid, the person-time of
    everyone, and the per-endpoint counts that come from SQL."""

    window: tuple[int, int]
    grid: Grid
    everyone: FloatArray
    controls: dict[str, IntArray]
    recurrence: dict[str, tuple[int, int]]
    drugs: dict[str, list[tuple[str, int]]]


def incidence_grid(cohort: Cohort) -> Grid:
    """Age bands x 5-year calendar periods from the window's start to the end of data."""
    first, last = WINDOW_START.year, (dt.date(1970, 1, 1) + dt.timedelta(cohort.end_of_data)).year
    starts = range(first, last + 1, PERIOD_YEARS)
    return Grid(AGE_BANDS, tuple(day_number(dt.date(y, 1, 1)) for y in starts))


def shared(cohort: Cohort, con: duckdb.DuckDBPyConnection) -> Shared:
    """Everything computed once for all endpoints."""
    window = (day_number(WINDOW_START), cohort.end_of_data + 1)
    grid = incidence_grid(cohort)
    return Shared(
        window=window,
        grid=grid,
        everyone=person_years(cohort, residence(cohort, window), grid),
        controls=_controls(con),
        recurrence=_recurrence(con, window),
        drugs=_drugs(con, cohort.end_of_data),
    )


def _controls(con: duckdb.DuckDBPyConnection) -> dict[str, IntArray]:
    rows = con.sql(
        "select s.endpoint, p.female, count(*) from marts.endpoint_status as s "
        "join profile_person as p using (person_id) where s.is_control group by all"
    ).fetchall()
    found: dict[str, IntArray] = {}
    for endpoint, female, n in rows:
        found.setdefault(endpoint, np.zeros(2, np.int64))[int(female)] = int(n)
    return found


def _recurrence(con: duckdb.DuckDBPyConnection, window: tuple[int, int]) -> dict[str, tuple[int, int]]:  # fmt: skip
    start, last = _date_sql(window[0]), _date_sql(window[1] - 1 - RECURRENCE_DAYS)
    rows = con.sql(f"""
        with firsts as (
            select c.endpoint, c.person_id, c.first_event_date as first from marts.endpoint_case as c
            join marts.observation_period as s on s.person_id = c.person_id
             and s.start_date <= c.first_event_date and s.end_date >= c.first_event_date + {RECURRENCE_DAYS}
            where c.first_event_date between {start} and {last}),
        again as (
            select distinct e.endpoint, e.person_id from marts.endpoint_event as e
            join firsts as f on f.endpoint = e.endpoint and f.person_id = e.person_id
            where e.event_date > f.first and e.event_date <= f.first + {RECURRENCE_DAYS})
        select f.endpoint, count(*), count(a.person_id) from firsts as f
        left join again as a on a.endpoint = f.endpoint and a.person_id = f.person_id group by 1
    """).fetchall()  # fmt: skip
    return {
        str(e): (int(recurred), int(followed) - int(recurred)) for e, followed, recurred in rows
    }


def _drugs(con: duckdb.DuckDBPyConnection, end_of_data: int) -> dict[str, list[tuple[str, int]]]:
    last = _date_sql(end_of_data - DRUG_DAYS)
    rows = con.sql(f"""
        select c.endpoint, d.atc, count(distinct c.person_id) as n from marts.endpoint_case as c
        join marts.drug_dispensing as d on d.person_id = c.person_id
         and d.dispense_date between c.first_event_date and c.first_event_date + {DRUG_DAYS}
        where c.first_event_date between date '{LMED_START}' and {last}
        group by all order by c.endpoint, n desc, d.atc
    """).fetchall()  # fmt: skip
    found: dict[str, list[tuple[str, int]]] = {}
    for endpoint, atc, n in rows:
        found.setdefault(str(endpoint), []).append((str(atc), int(n)))
    return found


def _date_sql(day: int) -> str:
    return f"date '{dt.date(1970, 1, 1) + dt.timedelta(days=int(day))}'"


def counts(cohort: Cohort, common: Shared, endpoint: str) -> Counts:
    """The true counts of ``endpoint``'s profile."""
    person, onset = cohort.cases.get(endpoint, (np.empty(0, np.int64), np.empty(0, np.int64)))
    sex = cohort.sex[person]
    status = np.vstack([np.bincount(sex, minlength=2), common.controls.get(endpoint, np.zeros(2, np.int64))])  # fmt: skip
    age = (onset - cohort.birth[person]) / 365.25
    band = np.clip(np.searchsorted(np.asarray(ONSET_BANDS), age, side="right") - 1, 0, None)
    onset_age = np.zeros((len(ONSET_BANDS), 2), np.int64)
    np.add.at(onset_age, (band, sex), 1)
    events, years = _incidence(cohort, common, endpoint)
    recurred = common.recurrence.get(endpoint, (0, 0))
    lmed = (onset >= day_number(LMED_START)) & (onset <= cohort.end_of_data - DRUG_DAYS)
    return Counts(
        status=status, onset_age=onset_age, events=events, years=years,
        prevalence=_prevalence(cohort, person, onset), recurrence=np.array(recurred, np.int64),
        fatality=_fatality(cohort, common, person, onset), drug_cases=int(lmed.sum()),
        drugs=common.drugs.get(endpoint, []),
    )  # fmt: skip


def _incidence(cohort: Cohort, common: Shared, endpoint: str) -> tuple[IntArray, FloatArray]:
    """First events in the window while resident, and person-time at risk (everyone's
    person-time less the cases' time from their first event on)."""
    person, onset = cohort.cases.get(endpoint, (np.empty(0, np.int64), np.empty(0, np.int64)))
    first = cohort.onset(endpoint)
    after = residence(cohort, common.window).of(first < NEVER).from_day(first)
    years = common.everyone - person_years(cohort, after, common.grid)
    inside = (onset >= common.window[0]) & (onset < common.window[1])
    inside &= resident_on(cohort, person, onset)
    found = cells(cohort, person[inside], onset[inside], common.grid)
    return count_cells(found, common.grid), np.clip(years, 0.0, None)


def _prevalence(cohort: Cohort, person: IntArray, onset: IntArray) -> IntArray:
    last = cohort.end_of_data
    everyone = np.arange(cohort.persons)
    present = resident_on(cohort, everyone, np.full(cohort.persons, last))
    had = np.zeros(cohort.persons, bool)
    had[person[onset <= last]] = True
    table = np.zeros((2, 2), np.int64)
    for k, flag in enumerate((had, ~had)):
        table[k] = np.bincount(cohort.sex[present & flag], minlength=2)
    return table


def _fatality(cohort: Cohort, common: Shared, person: IntArray, onset: IntArray) -> IntArray:
    keep = (onset >= common.window[0]) & (onset <= cohort.end_of_data - FATALITY_DAYS)
    person, onset = person[keep], onset[keep]
    spell_end = cohort.spell_end_at(person, onset)
    death = cohort.death[person]
    died = (death < NEVER) & (death - onset <= FATALITY_DAYS) & (spell_end >= 0)
    stayed = ~died & (spell_end >= onset + FATALITY_DAYS)
    return np.array([int(died.sum()), int(stayed.sum())], np.int64)
