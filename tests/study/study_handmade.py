"""A hand-built warehouse of ten persons for exact-value study tests.

The marts are written as small text tables (one line per row, ``|`` between fields, empty
for NULL) into a real ``promise.duckdb`` with the marts' column names and types, so the
study code reads them exactly as it reads a dbt build. Persons are pseudonyms ``p01``..
``p10``; what each one tests is said in ``tests/study/test_hand_cohort.py``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

TABLES: dict[str, tuple[str, str]] = {
    "person": (
        "person_id varchar, sex varchar, birth_date date, death_date date, country_of_birth varchar",
        """
        p01|female|1950-01-01||SE
        p02|male|1960-07-01|2015-07-01|SE
        p03|female|1945-03-15||FI
        p04|male|1940-01-01||SE
        p05|male|1975-01-01||SE
        p06|female|1930-01-01|2008-05-05|SE
        p07|male|1955-01-01||SE
        p08|female|1948-01-01||SE
        p09|male|1952-01-01||SE
        p10|female|1958-01-01|2016-01-01|SE
        """,
    ),
    "observation_period": (
        "observation_period_id varchar, person_id varchar, start_date date, end_date date, start_reason varchar, end_reason varchar",
        """
        p01:1|p01|1950-01-01|2020-12-31|birth|end_of_data
        p02:1|p02|1960-07-01|2015-07-01|birth|death
        p03:1|p03|2009-01-01|2020-12-31|immigration|end_of_data
        p04:1|p04|1940-01-01|2020-12-31|birth|end_of_data
        p05:1|p05|1975-01-01|2020-12-31|birth|end_of_data
        p06:1|p06|1930-01-01|2008-05-05|birth|death
        p07:1|p07|1955-01-01|2013-01-01|birth|emigration
        p08:1|p08|1948-01-01|2020-12-31|birth|end_of_data
        p09:1|p09|1952-01-01|2020-12-31|birth|end_of_data
        p10:1|p10|1958-01-01|2016-01-01|birth|death
        """,
    ),
    "endpoint_definition": (
        "name varchar, evaluation varchar",
        """
        E4_DM2|evaluated
        I9_MI|evaluated
        X_NOT_HERE|not_applicable
        """,
    ),
    "endpoint_event": (
        "endpoint_event_id varchar, endpoint varchar, person_id varchar, event_date date, source varchar",
        """
        e1|E4_DM2|p01|2005-06-01|outpatient
        e2|I9_MI|p01|2012-01-01|inpatient
        e3|I9_MI|p01|2013-05-05|inpatient
        e4|I9_MI|p04|2005-01-01|inpatient
        e5|E4_DM2|p07|2010-01-01|outpatient
        e6|I9_MI|p07|2014-03-01|inpatient
        e7|E4_DM2|p08|2001-01-01|inpatient
        e8|I9_MI|p08|2018-06-30|inpatient
        e9|E4_DM2|p10|2009-01-01|outpatient
        e10|I9_MI|p10|2016-01-01|death
        e11|E4_DM2|p09|2011-01-01|outpatient
        """,
    ),
    "endpoint_case": (
        "person_id varchar, endpoint varchar, first_event_date date",
        """
        p01|E4_DM2|2005-06-01
        p01|I9_MI|2012-01-01
        p04|I9_MI|2005-01-01
        p07|E4_DM2|2010-01-01
        p07|I9_MI|2014-03-01
        p08|E4_DM2|2001-01-01
        p08|I9_MI|2018-06-30
        p09|E4_DM2|2011-01-01
        p10|E4_DM2|2009-01-01
        p10|I9_MI|2016-01-01
        """,
    ),
    "diagnosis": (
        "diagnosis_id varchar, person_id varchar, event_date date, source varchar, code varchar",
        """
        d1|p01|2012-01-01|inpatient|I219
        d2|p04|2005-01-01|inpatient|I210
        """,
    ),
    "drug_dispensing": (
        "dispensing_id varchar, person_id varchar, atc varchar, dispense_date date",
        """
        r1|p01|C10AA05|2009-06-01
        r2|p02|C10AA01|2008-12-01
        r3|p09|C10AA05|2009-01-01
        r4|p07|C09AA01|2009-10-01
        r5|p08|C10AA05|2010-01-02
        """,
    ),
    "omics_measurement": (
        "measurement_id varchar, person_id varchar, sample_id varchar, sampling_date date, platform varchar, analyte_id varchar, analyte_name varchar, value double",
        """
        m1|p01|s1|2008-01-01|nmr|LDL_C|LDL_C|3.0
        m2|p01|s2|2009-12-01|nmr|LDL_C|LDL_C|4.0
        m3|p01|s3|2010-02-01|nmr|LDL_C|LDL_C|9.9
        m4|p02|s4|2006-01-01|nmr|LDL_C|LDL_C|5.5
        m5|p08|s5|2010-01-01|nmr|LDL_C|LDL_C|2.5
        m6|p09|s6|2009-05-05|olink|OID1|IL6|1.1
        """,
    ),
}


def rows(text: str) -> list[list[str | None]]:
    """The rows of a text table: ``|``-separated fields, empty field = NULL."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return [[field or None for field in line.split("|")] for line in lines]


def write_handmade_warehouse(warehouse: Path) -> Path:
    """Create ``warehouse/promise.duckdb`` holding the marts above; return the warehouse."""
    warehouse.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse / "promise.duckdb"))
    try:
        con.execute("create schema marts")
        for table, (columns, text) in TABLES.items():
            con.execute(f"create table marts.{table} ({columns})")
            data = rows(text)
            placeholders = ", ".join("?" for _ in data[0])
            con.executemany(f"insert into marts.{table} values ({placeholders})", data)
    finally:
        con.close()
    return warehouse
