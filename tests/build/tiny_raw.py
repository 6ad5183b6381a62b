"""A hand-made raw layer (docs/interfaces.md section 3) small enough to check by hand.

Eight people with a handful of register rows each, written with DuckDB ``COPY ... TO`` as one
load per source. The expected marts are worked out in the comments of ``test_marts.py``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb


def pid(label: str) -> str:
    """A 24-hex-character stand-in pseudonym for a test person."""
    return hashlib.sha256(label.encode()).hexdigest()[:24]


PEOPLE = {
    # label: (birth_date, sex)
    "p1": ("1950-01-01", "male"),
    "p2": ("1960-06-15", "female"),
    "p3": ("1940-03-01", "male"),
    "p4": ("1980-01-01", "female"),
    "p5": ("1970-07-01", "male"),
    "p6": ("1990-01-01", "female"),
    "p7": ("1955-05-05", "male"),
    "p8": ("1945-12-24", "female"),
}

LINEAGE = "'L1' as _load_id, 'f' as _source_file, row_number() over () as _source_line"


def _person(label: str) -> str:
    birth, sex = PEOPLE[label]
    return f"'{pid(label)}' as person_id, date '{birth}' as birth_date, '{sex}' as sex, false as is_coordination_number"


def _npr_row(
    label: str, admission: str, discharge: str | None, main: str | None, extra: dict[str, str]
) -> str:
    cols = [f"{int(admission[:4])} as year", f"date '{admission}' as admission_date"]
    if discharge is not None:
        cols.append(f"date '{discharge}' as discharge_date")
    cols.append(f"{_q(main)} as main_diagnosis")
    for i in range(1, 31):
        cols.append(f"{_q(extra.get(f'diagnosis_{i}'))} as diagnosis_{i}")
    cols.append(f"{_q(extra.get('diagnoses'))} as diagnoses")
    cols.append(f"{_q(extra.get('procedures'))} as procedures")
    cols += [
        "'11001' as hospital",
        "'101' as department",
        "'1' as care_type",
        "50 as age",
        "'1' as sex_code",
    ]
    return f"select {_person(label)}, {', '.join(cols)}"


def _q(value: str | None) -> str:
    return "cast(null as varchar)" if value is None else f"'{value}'"


SOURCES: dict[str, list[str]] = {
    "population": [
        f"select {_person(p)}, '{1 if PEOPLE[p][1] == 'male' else 2}' as sex_code, "
        f"'{'Finland' if p == 'p4' else 'Sverige'}' as country_of_birth, '01' as county_of_birth, "
        "false as reused_number"
        for p in PEOPLE
    ],
    "migration": [
        f"select {_person('p4')}, 'in' as migration_type, date '2000-01-01' as migration_date, 'Finland' as country",
        f"select {_person('p4')}, 'out' as migration_type, date '2010-01-01' as migration_date, 'Norge' as country",
        f"select {_person('p4')}, 'in' as migration_type, date '2015-01-01' as migration_date, 'Norge' as country",
    ],
    "npr_inpatient": [
        # p1: MI admitted 2005-03-01, transferred the day after discharge: one stay
        _npr_row("p1", "2005-03-01", "2005-03-05", "I21.9", {}),
        _npr_row("p1", "2005-03-06", "2005-03-10", "I25.1", {"diagnosis_1": "E11.9"}),
        # p1: asthma, a separate stay
        _npr_row("p1", "2008-01-01", "2008-01-02", "J45", {"procedures": "FNG05 DT016"}),
        # p3: ICD-8 era MI (comma form) and a Swedish ICD-9 code with its letter
        _npr_row("p3", "1985-01-01", "1985-01-10", "410,99", {}),
        _npr_row("p3", "1990-01-01", "1990-01-03", "250A", {}),
        # p5: the DIAGNOS delivery variant, first token is the main diagnosis
        _npr_row("p5", "2010-01-01", "2010-01-02", None, {"diagnoses": "E119 I10"}),
    ],
    "npr_outpatient": [
        _npr_row("p2", "2012-05-05", None, "E11.9", {}),
        _npr_row("p7", "2015-01-01", None, "I48", {"diagnosis_1": "BLANKED"}),
    ],
    "lmed": [
        f"select {_person(p)}, '{atc}' as atc, date '{d}' as prescription_date, date '{d}' as dispense_date, "
        f"{n} as packages, {ddd} as ddd_per_package, '{vnr}' as product_number, {d[:4]} as year"
        for p, atc, d, n, ddd, vnr in [
            ("p2", "A10BA02", "2012-06-01", 1.0, 50.0, "123456"),
            ("p2", "A10BA02", "2012-09-01", 1.0, 50.0, "123456"),
            ("p2", "A10BA02", "2012-12-01", 2.0, 50.0, "123456"),
            ("p6", "A10BA02", "2013-01-01", 1.0, 50.0, "123456"),
            ("p6", "A10BA02", "2013-04-01", 1.0, 50.0, "123456"),
            ("p7", "C10AA01", "2014-01-01", 1.0, 30.0, "222"),
            ("p7", "C10AA01", "2014-04-01", 1.0, 30.0, "222"),
            ("p7", "C10AA01", "2014-07-01", 1.0, 30.0, "222"),
            # p7: a correction cancelling the 2014-07-01 dispensing
            ("p7", "C10AA01", "2014-07-03", -1.0, 30.0, "222"),
        ]
    ],
    "dors": [
        f"select {_person('p3')}, date '2010-05-10' as death_date_lower, date '2010-05-10' as death_date_upper, "
        "'day' as death_date_precision, 2010 as year, 10 as icd_version, 'I21.9' as underlying_cause, "
        "'E11.9' as contributing_cause_1"
        + "".join(f", cast(null as varchar) as contributing_cause_{i}" for i in range(2, 18))
    ],
    "cancer": [
        f"select {_person(p)}, date '{d}' as diagnosis_date_lower, date '{d}' as diagnosis_date_upper, "
        f"'day' as diagnosis_date_precision, {d[:4]} as year, '170' as icd7, '{topo}' as icdo3_topography, "
        f"'{morph}' as snomed3_morphology, false as benign, '1' as sex_code, 60 as age"
        for p, d, topo, morph in [
            ("p8", "2000-02-01", "C50.9", "85003"),
            ("p1", "2001-01-01", "C50.9", "85003"),
        ]
    ],
    "biobank": [
        f"select {_person('p1')}, 'S1' as sample_id, date '2010-01-01' as sampling_date, 'plasma' as sample_type",
        f"select {_person('p2')}, 'S2' as sample_id, date '2011-01-01' as sampling_date, 'plasma' as sample_type",
        f"select {_person('p2')}, 'S3' as sample_id, date '2012-01-01' as sampling_date, 'plasma' as sample_type",
    ],
    "genotyped_samples": [
        f"select '{pid('p1')}' as person_id, 'S1' as sample_id, 'batch1' as batch, date '1950-01-01' as birth_date, 'male' as sex",
        f"select '{pid('p2')}' as person_id, 'S2' as sample_id, 'batch1' as batch, date '1960-06-15' as birth_date, 'female' as sex",
    ],
}

OMICS = {
    "olink": "select 'S1' as sample_id, 'OID1' as olink_id, 'Q8NBP7' as uniprot, 'PCSK9' as assay, "
    "'CVD' as panel, 'P1' as plate_id, 'PASS' as qc_warning, 0.5 as lod, 4.25 as npx, false as below_lod "
    "union all select 'S2', 'OID1', 'Q8NBP7', 'PCSK9', 'CVD', 'P1', 'PASS', 0.5, 5.5, false",
    "metabolomics": "select 'S2' as sample_id, 'LDL_C' as measure, 3.1 as value, 'mmol/l' as unit "
    "union all select 'S3', 'LDL_C', 2.0, 'mmol/l' "
    "union all select 'S1', 'LDL_C', 2.5, 'mmol/l'",
}


def write_tiny_raw(warehouse: Path) -> Path:
    """Write the hand-made raw layer under ``warehouse/raw`` and return ``warehouse``."""
    con = duckdb.connect()
    try:
        for source, rows in SOURCES.items():
            query = f"select {LINEAGE}, * from ({' union all by name '.join(rows)})"
            _copy(con, query, warehouse / "raw" / source / "L1" / "data.parquet")
        for source, query in OMICS.items():
            _copy(
                con,
                f"select {LINEAGE}, * from ({query})",
                warehouse / "raw" / source / "L1" / "data.parquet",
            )
    finally:
        con.close()
    return warehouse


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({query}) to '{path}' (format parquet)")
