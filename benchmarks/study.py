"""Time and peak memory of ``promise study build`` and ``promise profiles`` on 10^6 persons.

The marts are synthesised directly (DuckDB SQL, seeded) with the marts' column names and
types into ``WORK/warehouse/promise.duckdb``: 10^6 persons with residence spells and
deaths, endpoint events of E4_DM2, I9_MI and 18 other endpoints, about 15 million
dispensings and about 1.2 million omics values. Going through ``promise synth`` + ingest +
build at 10^6 persons would take most of an hour for what this benchmark measures. The
study (``STUDY`` below) has 5 covariates (t2d, age, female, statin use, LDL) and 2
outcomes (myocardial infarction, death), an exclusion and a look-back. The build runs in a
fresh Python process, so its peak RSS is its own.

Target (issue 20): under 60 s and under 8 GiB.

``--profiles`` times ``promise profiles`` instead, on a real 10^6-person build: ``promise
synth`` (registers, no genotypes) + ``promise ingest`` + ``promise build`` into
``WORK/profiles/warehouse`` (about 10 minutes, not timed; ``--reuse`` keeps it), then the
profiles of every evaluated endpoint in a fresh process. Target: under 15 minutes.

Usage: ``.venv/bin/python benchmarks/study.py [--persons N] [--work DIR] [--fit] [--reuse]
[--profiles]`` (``--reuse`` keeps the marts of an earlier run, so the timed step can wait
for a quiet machine).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

TARGET_SECONDS = 60.0
TARGET_GIB = 8.0
TARGET_PROFILE_SECONDS = 900.0

STUDY = """\
population:
  age: [40, 80]
  lookback_years: 2
  exclude: [I9_MI]
index:
  date: 2010-01-01
exposures:
  t2d: {endpoint: E4_DM2}
covariates:
  age: {person: age}
  female: {person: female}
  statin: {drug: C10AA, window_days: [-365, 0]}
  ldl: {omics: LDL_C, max_days_before: 1825}
outcomes:
  mi: {endpoint: I9_MI}
  death: {death: any}
followup:
  max_years: 15
model:
  outcome: mi
  terms: [t2d, age, female, statin]
"""

ATC = ["C10AA05", "C10AA01", "A10BA02", "C09AA05", "C08CA01", "N02BE01", "R03AC02", "B01AC06",
       "C07AB02", "N06AB04", "H03AA01", "A02BC01"]  # fmt: skip
ENDPOINTS = ["E4_DM2", "I9_MI"] + [f"X{k:02d}_OTHER" for k in range(18)]

MARTS = """
create schema marts;
select setseed(0.42);
create table marts.person as
select 'p' || lpad(i::varchar, 8, '0') as person_id,
       case when random() < 0.5 then 'female' else 'male' end as sex,
       date '1920-01-01' + cast(random() * 32000 as integer) as birth_date,
       false as is_coordination_number, 'SE' as country_of_birth, null::varchar as county_of_birth,
       false as is_reused_number, true as in_population_register,
       null::date as death_date, null::date as death_date_upper, null::varchar as death_date_precision,
       null::varchar as underlying_cause
from range({n}) as t(i);
update marts.person set death_date = least(birth_date + cast(18000 + random() * 20000 as integer), date '2099-01-01');
update marts.person set death_date = null where death_date > date '2025-12-31';
update marts.person set death_date_upper = death_date, death_date_precision = 'day', underlying_cause = 'I219' where death_date is not null;
create table marts.observation_period as
select person_id || ':1' as observation_period_id, person_id, sex, birth_date,
       birth_date as start_date,
       case when emigrates then least(coalesce(death_date, date '2025-12-31'), date '1990-01-01' + cast(random() * 12000 as integer))
            else coalesce(death_date, date '2025-12-31') end as end_date,
       'birth' as start_reason,
       case when emigrates and date '1990-01-01' + 1 < coalesce(death_date, date '2025-12-31') then 'emigration'
            when death_date is not null then 'death' else 'end_of_data' end as end_reason,
       0.0 as person_years
from (select *, random() < 0.08 as emigrates from marts.person);
delete from marts.observation_period where end_date <= start_date;
create table marts.endpoint_definition as
select unnest({endpoints}) as name, 'evaluated' as evaluation;
create table marts.endpoint_event as
select 'ev' || i as endpoint_event_id, e.name as endpoint,
       'p' || lpad(cast(floor(random() * {n}) as bigint)::varchar, 8, '0') as person_id,
       'event' || i as event_id,
       date '1987-01-01' + cast(random() * 14000 as integer) as event_date,
       'inpatient' as source, 'I219' as code, null::varchar as via_endpoint, 50.0 as age_at_event
from range({n} * 3 // 20) as t(i), (select unnest({endpoints}) as name) as e
where random() < 0.5;
create table marts.endpoint_case as
select person_id, endpoint, min(event_date) as first_event_date, 50.0 as age_at_onset, count(*) as n_events
from marts.endpoint_event group by all;
create table marts.drug_dispensing as
select 'd' || i as dispensing_id,
       'p' || lpad(cast(floor(random() * {n}) as bigint)::varchar, 8, '0') as person_id,
       {atc}[1 + cast(floor(random() * {n_atc}) as integer)] as atc, true as is_who_atc,
       null::date as prescription_date,
       date '2005-07-01' + cast(random() * 7400 as integer) as dispense_date,
       null::varchar as product_number, 1.0 as packages_dispensed, 1.0 as packages,
       0::bigint as n_corrections, 30.0 as ddd_per_package, 30.0 as ddd, 60.0 as age_at_dispensing
from range({n} * 15) as t(i);
create table marts.omics_measurement as
select 'm' || i || a.analyte as measurement_id, s.person_id, 's' || i as sample_id,
       s.sampling_date, 'nmr' as platform, a.analyte as analyte_id, a.analyte as analyte_name,
       2 + random() * 3 as value, 'mmol/l' as unit, false as below_lod, null::varchar as qc_warning
from (select i, 'p' || lpad(cast(floor(random() * {n}) as bigint)::varchar, 8, '0') as person_id,
             date '2000-01-01' + cast(random() * 7000 as integer) as sampling_date
      from range({n} // 5) as t(i)) as s,
     (select unnest(['LDL_C', 'HDL_C', 'ApoB', 'Glucose', 'GlycA', 'Total_C']) as analyte) as a;
create table marts.diagnosis as
select 'g' || i as diagnosis_id, person_id, 'e' || i as event_id, event_date, 'inpatient' as source,
       'ICD' as code_system, 10 as icd_version, 'I21.9' as code_raw, 'I219' as code, true as is_main,
       50.0 as age_at_event
from (select row_number() over () as i, * from marts.endpoint_event where endpoint = 'I9_MI');
"""

CHILD = """
import json, resource, sys, time
from pathlib import Path
from promise.study import build
from promise.study.fitting import fit
cfg = json.loads(sys.argv[1])
start = time.perf_counter()
result = build("bench", warehouse=Path(cfg["warehouse"]), studies_dir=Path(cfg["studies"]))
seconds = time.perf_counter() - start
out = {"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "persons": result.persons}
if cfg["fit"]:
    start = time.perf_counter()
    fitted = fit("bench", warehouse=Path(cfg["warehouse"]), studies_dir=Path(cfg["studies"]), model="cox")
    out["fit_seconds"] = time.perf_counter() - start
    out["fit_events"] = int(fitted.results["n_events"][0])
    out["fit_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


PROFILES = """
import json, resource, shutil, sys, time
from pathlib import Path
from promise.profiles import write_profiles
cfg = json.loads(sys.argv[1])
shutil.rmtree(cfg["out"], ignore_errors=True)
start = time.perf_counter()
result = write_profiles(warehouse=Path(cfg["warehouse"]), out=Path(cfg["out"]))
print(json.dumps({"seconds": time.perf_counter() - start, "pages": result.pages,
                  "evaluated": result.evaluated, "cells": result.cells, "suppressed": result.suppressed,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def real_build(root: Path, persons: int) -> Path:
    """``promise synth`` (registers and omics) + ingest + build of ``persons`` into
    ``root/warehouse``; each step's time is printed (not a target)."""
    from promise.build import build
    from promise.ingest import run_ingest
    from promise.pseudonym import write_new_key
    from promise.synth import layouts, write_cohort

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    steps = {}
    started = time.perf_counter()
    sources = [s for s in layouts.SOURCES if s != "genotypes"]
    write_cohort(root / "landing", persons=persons, variants=0, seed=20, sources=sources)
    steps["synth"] = time.perf_counter() - started
    key = write_new_key(root / "keys" / "pseudonym.key")
    started = time.perf_counter()
    run_ingest(landing=root / "landing", warehouse=root / "warehouse", key_file=key)
    steps["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    build(warehouse=root / "warehouse", quiet=True)
    steps["build"] = time.perf_counter() - started
    shutil.rmtree(root / "landing", ignore_errors=True)
    print("prepared: " + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()), flush=True)
    return root / "warehouse"


def profiles(args: argparse.Namespace) -> int:
    """Time ``promise profiles`` on a real build of ``--persons``."""
    root = args.work / "profiles"
    warehouse = root / "warehouse"
    if not (args.reuse and (warehouse / "promise.duckdb").is_file()):
        real_build(root, args.persons)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    cfg = {"warehouse": str(warehouse), "out": str(root / "site")}
    done = subprocess.run([sys.executable, "-c", PROFILES, json.dumps(cfg)], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        print(f"promise profiles failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return 1
    result = json.loads(done.stdout[done.stdout.rindex('{"seconds"') :])
    ok = result["seconds"] < TARGET_PROFILE_SECONDS
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python {platform.python_version()}, duckdb {duckdb.__version__}, load average before {' '.join(load)}")  # fmt: skip
    print(f"promise profiles: {args.persons:,} persons, {result['pages']} pages of {result['evaluated']} evaluated endpoints, "
          f"{result['suppressed']:,} of {result['cells']:,} counts suppressed; {result['seconds']:.0f} s, "
          f"peak RSS {result['peak_mib'] / 1024:.2f} GiB (target < {TARGET_PROFILE_SECONDS:.0f} s: {'met' if ok else 'NOT met'})")  # fmt: skip
    return 0 if ok else 1


def synthesise_marts(warehouse: Path, persons: int) -> dict[str, int]:
    """Write ``warehouse/promise.duckdb`` with the marts a study reads; return row counts."""
    warehouse.mkdir(parents=True, exist_ok=True)
    database = warehouse / "promise.duckdb"
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database), config={"threads": 2, "memory_limit": "6GB"})
    try:
        sql = MARTS.format(n=persons, endpoints=ENDPOINTS, atc=ATC, n_atc=len(ATC))
        for statement in sql.split(";"):
            if statement.strip():
                con.execute(statement)
    finally:
        con.close()
    return _counts(warehouse)


def _counts(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]  # fmt: skip
        return {
            t: int(con.execute(f"select count(*) from marts.{t}").fetchone()[0])
            for t in sorted(tables)
        }  # type: ignore[index]
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-bench-study"))
    parser.add_argument(
        "--fit", action="store_true", help="Also time a Cox fit of mi (not a target)."
    )
    parser.add_argument("--reuse", action="store_true", help="Reuse marts of an earlier run.")
    parser.add_argument("--profiles", action="store_true", help="Time promise profiles on a real build.")  # fmt: skip
    args = parser.parse_args()
    if args.profiles:
        return profiles(args)
    warehouse, studies = args.work / "warehouse", args.work / "studies"
    studies.mkdir(parents=True, exist_ok=True)
    (studies / "bench.yml").write_text(STUDY)
    started = time.perf_counter()
    if args.reuse and (warehouse / "promise.duckdb").is_file():
        rows = _counts(warehouse)
    else:
        rows = synthesise_marts(warehouse, args.persons)
    print(f"marts synthesised in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))  # fmt: skip
    cfg = {"warehouse": str(warehouse), "studies": str(studies), "fit": args.fit}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, check=True)  # fmt: skip
    # DuckDB draws its progress bar on stdout during long queries: the result is the last JSON
    result = json.loads(done.stdout[done.stdout.rindex('{"seconds"') :])
    gib = result["peak_mib"] / 1024
    ok = result["seconds"] < TARGET_SECONDS and gib < TARGET_GIB
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, Python {platform.python_version()}, duckdb {duckdb.__version__}")  # fmt: skip
    print(f"study build: {args.persons:,} persons in marts.person -> {result['persons']:,} in the study; "
          f"{result['seconds']:.1f} s, peak RSS {gib:.2f} GiB "
          f"(target < {TARGET_SECONDS:.0f} s and < {TARGET_GIB:.0f} GiB: {'met' if ok else 'NOT met'})")  # fmt: skip
    if args.fit:
        print(f"cox fit of mi: {result['fit_events']:,} events, {result['fit_seconds']:.1f} s, "
              f"peak RSS {result['fit_peak_mib'] / 1024:.2f} GiB (no target)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
