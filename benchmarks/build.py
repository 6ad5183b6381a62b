"""promise build at 10^4, 10^5 and 10^6 persons: wall time, peak memory, one incidence query.

The raw layer is generated here with DuckDB SQL straight into Parquet in the layout of
docs/interfaces.md section 3 (synthesising and ingesting 10^6 people would benchmark those
steps, not the build). Row volumes per person follow the small synthetic cohort of
``promise synth`` (1.15 inpatient and 2.7 outpatient records, 14 dispensings with 0.3%
corrections, 0.4 deaths, 0.1 tumours, 0.4 biobank samples, a third genotyped); codes mix the
endpoints' codes with about 2,600 other ICD-10 codes so pattern matching sees realistic
variety. Each build runs in a child process so its peak resident memory is measured alone
(``getrusage(RUSAGE_CHILDREN)``). The incidence query is analyses/incidence_rates.sql for
E4_DM2 by sex, age band and 5-year period, timed on the 10^6 marts (best of 3).

Usage: ``python benchmarks/build.py [--sizes 10000,100000,1000000] [--work DIR]``.
Prints a table (figure, target, ratio) and writes it into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS_1M = 600.0
TARGET_GIB_1M = 8.0
TARGET_QUERY_SECONDS = 2.0
COMMON_ICD10 = ["E119", "E110", "E112", "E105", "I219", "I214", "I209", "I10", "I110", "I480", "I509",
                "I639", "I269", "J459", "J449", "C509", "C619", "C189", "F329", "F200", "G409", "G35",
                "M059", "M109", "N189", "K509", "K519", "E669", "I251", "Z000"]  # fmt: skip
ATC = ["A10BA02", "A10BB12", "A10AB05", "C10AA01", "C10AA05", "C07AB02", "C09AA05", "N06AB06",
       "R03AC02", "N02BE01", "B01AC06", "H03AA01", "J01CA04", "Y01AA01"]  # fmt: skip


def lineage(name: str) -> str:
    return f"'{name}-L1' as _load_id, '{name}.csv' as _source_file, row_number() over () as _source_line"


def raw_queries(n: int) -> dict[str, str]:
    """One SELECT per raw source, deterministic for n (setseed before each)."""
    codes = ", ".join(f"'{c}'" for c in COMMON_ICD10)
    atc = ", ".join(f"'{c}'" for c in ATC)
    people = (
        f"select substr(md5(i::varchar), 1, 24) as person_id, "
        f"date '1920-01-01' + cast(hash(i, 1) % 36500 as integer) as birth_date, "
        f"case when hash(i, 2) % 2 = 0 then 'male' else 'female' end as sex, false as is_coordination_number, i "
        f"from range({n}) t(i)"
    )
    code = (
        f"case when random() < 0.4 then [{codes}][1 + cast(floor(random() * {len(COMMON_ICD10)}) as integer)] "
        "else chr(65 + cast(floor(random() * 26) as integer)) || lpad(cast(floor(random() * 100) as integer)::varchar, 2, '0') "
        "|| cast(floor(random() * 10) as integer)::varchar end"
    )
    event = "p.birth_date + cast(floor(random() * least(datediff('day', p.birth_date, date '2025-12-31'), 36500)) as integer)"

    def sample(rate: float, body: str, seed: float) -> str:
        return (
            f"select setseed({seed}) as s; create or replace temp table q as select {body} from people as p, "
            f"range({int(rate) + 1}) as r(k) where random() < {rate} / {int(rate) + 1}"
        )

    return {
        "people": people,
        "population": "select *, case sex when 'male' then '1' else '2' end as sex_code, 'Sverige' as country_of_birth, "
        "'01' as county_of_birth, false as reused_number from people",
        "migration": sample(
            0.2,
            f"p.*, case when random() < 0.7 then 'in' else 'out' end as migration_type, {event} as migration_date, 'Norge' as country",
            0.1,
        ),
        "npr_inpatient": sample(
            1.15,
            f"p.*, {event} as admission_date, {event} as _d, {code} as main_diagnosis, "
            f"case when random() < 0.5 then {code} end as diagnosis_1, "
            f"case when random() < 0.1 then {code} end as diagnosis_2, "
            "case when random() < 0.2 then 'FNG05' end as procedures",
            0.2,
        ),
        "npr_outpatient": sample(
            2.7,
            f"p.*, greatest({event}, date '2001-01-01') as admission_date, {code} as main_diagnosis, "
            f"case when random() < 0.5 then {code} end as diagnosis_1",
            0.3,
        ),
        "lmed": sample(
            14.3,
            f"p.*, [{atc}][1 + cast(floor(random() * {len(ATC)}) as integer)] as atc, "
            f"greatest({event}, date '2005-07-01') as dispense_date, "
            "case when random() < 0.003 then -1.0 else 1.0 + floor(random() * 3) end as packages, "
            "30.0 as ddd_per_package, '123456' as product_number",
            0.4,
        ),
        "dors": "select setseed(0.5) as s; create or replace temp table q as select p.* exclude (d), d as death_date_lower, d as death_date_upper, "
        f"'day' as death_date_precision, 10 as icd_version, {code} as underlying_cause, {code} as contributing_cause_1 "
        f"from (select *, {event} as d from people as p) as p where random() < 0.39",
        "cancer": sample(
            0.1,
            f"p.*, {event} as diagnosis_date_lower, 'C' || lpad(cast(floor(random() * 80) as integer)::varchar, 2, '0') || '9' as icdo3_topography, "
            "'80003' as snomed3_morphology, false as benign",
            0.6,
        ),
        "biobank": sample(
            0.42,
            f"p.*, 'S' || p.i || '-' || k as sample_id, {event} as sampling_date, 'plasma' as sample_type",
            0.7,
        ),
        "genotyped_samples": "select person_id, 'G' || i as sample_id, 'batch' || (1 + i % 2) as batch, birth_date, sex from people where i % 3 = 0",
    }


def write_raw(warehouse: Path, n: int) -> None:
    """Generate and write the raw layer for n persons."""
    con = duckdb.connect(config={"memory_limit": "4GB", "threads": 2})
    queries = raw_queries(n)
    con.execute(f"create temp table people as {queries.pop('people')}")
    for source, sql in queries.items():
        if sql.startswith("select setseed"):
            for statement in sql.split("; "):
                con.execute(statement)
            body = "select * exclude (i) from q"
        else:
            body = f"select * exclude (i) from ({sql})"
        if source == "npr_inpatient":
            body = "select * exclude (_d, i), least(admission_date + cast(floor(random() * 8) as integer), date '2025-12-31') as discharge_date from q"
        if source == "genotyped_samples":
            body = sql
        _copy(con, warehouse, source, f"select {lineage(source)}, * from ({body})")
    con.execute(
        "create temp table s as select sample_id from read_parquet('"
        + str(warehouse / "raw/biobank/*/data.parquet")
        + "')"
    )
    _copy(
        con,
        warehouse,
        "olink",
        f"select {lineage('olink')}, sample_id, 'OID' || k as olink_id, 'P' || k as uniprot, "
        "case k when 0 then 'PCSK9' else 'ASSAY' || k end as assay, 'CVD' as panel, 'PL1' as plate_id, 'PASS' as qc_warning, "
        "0.5 as lod, 5 + random() as npx, false as below_lod from s, range(12) r(k)",
    )
    _copy(
        con,
        warehouse,
        "metabolomics",
        f"select {lineage('metabolomics')}, sample_id, m as measure, 3 + random() as value, "
        "'mmol/l' as unit from s, (values ('LDL_C'), ('HDL_C'), ('Total_C'), ('ApoB'), ('Glucose'), ('GlycA')) v(m)",
    )
    con.close()


def _copy(con: duckdb.DuckDBPyConnection, warehouse: Path, source: str, sql: str) -> None:
    path = warehouse / "raw" / source / "L1" / "data.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({sql}) to '{path}' (format parquet)")


CHILD = """
import sys, time, resource
from pathlib import Path
from promise.build import build
t = time.monotonic()
build(warehouse=Path(sys.argv[1]))
print(time.monotonic() - t)
"""


def timed_build(warehouse: Path) -> tuple[float, float]:
    """(seconds, peak GiB) of one build in a fresh child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(warehouse)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"build failed for {warehouse}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds = float(done.stdout.strip().splitlines()[-1])
    return seconds, max(peak_kib, before) / 1024**2


def time_incidence_query(warehouse: Path) -> float:
    """Best of three runs of the E4_DM2 incidence analysis on the published marts."""
    from promise.analyses import compile_analysis
    from promise.warehouse import connect

    sql = compile_analysis(
        warehouse=warehouse, name="incidence_rates", variables={"endpoint": "E4_DM2"}
    )
    con = connect(warehouse)
    best = float("inf")
    for _ in range(3):
        started = time.monotonic()
        con.sql(sql).fetchall()
        best = min(best, time.monotonic() - started)
    con.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "promise-bench-build"
    )
    parser.add_argument(
        "--query-only", action="store_true", help="time the query on an existing build"
    )
    args = parser.parse_args()
    if args.query_only:
        largest = max(int(s) for s in args.sizes.split(","))
        print(f"incidence query: {time_incidence_query(args.work / f'persons-{largest}'):.2f} s")
        return
    rows = []
    query_seconds = None
    for n in (int(s) for s in args.sizes.split(",")):
        warehouse = args.work / f"persons-{n}"
        if not (warehouse / "raw").is_dir():
            write_raw(warehouse, n)
        seconds, gib = timed_build(warehouse)
        rows.append((n, seconds, gib))
        print(f"{n:>9,} persons: build {seconds:7.1f} s, peak {gib:5.2f} GiB", flush=True)
        if n == 1_000_000 or n == max(int(s) for s in args.sizes.split(",")):
            query_seconds = time_incidence_query(warehouse)
    report = render(rows, query_seconds)
    print(report)
    write_report(report)


def render(rows: list[tuple[int, float, float]], query_seconds: float | None) -> str:
    lines = [
        f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| persons | build (s) | target (s) | ratio | peak memory (GiB) | target (GiB) | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, seconds, gib in rows:
        if n == 1_000_000:
            lines.append(
                f"| {n:,} | {seconds:.1f} | {TARGET_SECONDS_1M:.0f} | {seconds / TARGET_SECONDS_1M:.2f} "
                f"| {gib:.2f} | {TARGET_GIB_1M:.0f} | {gib / TARGET_GIB_1M:.2f} |"
            )
        else:
            lines.append(f"| {n:,} | {seconds:.1f} | - | - | {gib:.2f} | - | - |")
    if query_seconds is not None:
        lines += [
            "",
            f"Incidence query (E4_DM2 by sex x age band x 5-year period, largest size): "
            f"{query_seconds:.2f} s; target {TARGET_QUERY_SECONDS:.0f} s; ratio {query_seconds / TARGET_QUERY_SECONDS:.2f}",
        ]
    lines.append(
        "Targets are set for 10^6 persons; smaller sizes show how cost grows (dbt start-up and "
        "about 140 nodes cost ~15-40 s at any size). Load average while measuring: "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + " (the machine is shared)."
    )
    return "\n".join(lines)


def write_report(report: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (between its markers)."""
    path = ROOT / "docs" / "benchmarks.md"
    start, end = "<!-- benchmark:build start -->", "<!-- benchmark:build end -->"
    text = path.read_text() if path.is_file() else "# Benchmarks\n"
    section = f"{start}\n## promise build (benchmarks/build.py)\n\n{report}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
