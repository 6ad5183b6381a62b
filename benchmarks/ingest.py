"""Ingestion speed and memory against a plain read of the same file to Parquet.

Writes one inpatient file (PAR SV layout, tab-separated, latin-1; default 10 million rows,
Skatteverket test numbers in mixed written forms), then measures in separate processes, in
the same run on the same file:

- text: DuckDB's ``COPY (SELECT * FROM read_csv(FILE, ...)) TO 'x.parquet'`` against
  ``run_ingest`` on a landing folder holding only that file;
- sas: the same rows as a SAS dataset written by Debian's ``readstat`` (CSV -> .dta ->
  .sas7bdat, every variable text as in the delimited file), pyreadstat reading it in chunks
  to Parquet (pyarrow) against ``run_ingest`` of it.

Prints wall time, peak resident memory (max RSS of the child) and the ratios, and records
each table in docs/benchmarks.md between its markers (``ingest``, ``ingest-sas``).

Usage: ``python benchmarks/ingest.py [--rows N] [--dir DIR] [--formats text,sas]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from promise.settings import test_numbers_dir

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- ingest:begin -->", "<!-- ingest:end -->"
SAS_BEGIN, SAS_END = "<!-- ingest-sas:begin -->", "<!-- ingest-sas:end -->"
ICD10 = [
    "I219",
    "E119",
    "I10",
    "J189",
    "I489",
    "S720",
    "K359",
    "N390",
    "I500",
    "R074",
    "M170",
    "C509",
    "F329",
]
TARGET_RATIO, TARGET_GIB = 2.0, 4.0


def write_inpatient(path: Path, rows: int, *, seed: int = 1) -> None:
    """A PAR SV file in chunks (bounded memory), every line distinct and valid."""
    pins = json.loads((test_numbers_dir() / "allPins.json").read_text())
    pins = [
        p for p in dict.fromkeys(pins) if "1926" <= p[:4] <= "1999"
    ]  # events 2000-2024 follow birth
    header = ["PersonNr", "AR", "INDATUM", "UTDATUM", "HDIA", *(f"DIA{i}" for i in range(1, 31))]
    header += [*(f"EKOD{i}" for i in range(1, 6)), "OP", "SJUKHUS", "MVO", "PVARD", "ALDER", "KON"]
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(("\t".join(header) + "\n").encode("latin-1"))
        done = 0
        while done < rows:
            n = min(1_000_000, rows - done)
            handle.write(
                _chunk(n, done, pins, rng)
                .write_csv(separator="\t", include_header=False, quote_style="never")
                .encode("latin-1")
            )
            done += n


def _chunk(n: int, offset: int, pins: list[str], rng: np.random.Generator) -> pl.DataFrame:
    person = pl.Series(pins).gather(rng.integers(0, len(pins), n))
    form = rng.integers(0, 3, n)
    day = pl.Series(rng.integers(10_957, 20_089, n)).cast(pl.Date)  # 2000-01-01 .. 2024-12-31
    frame = pl.DataFrame({"p": person, "f": form, "d": day, "k": np.arange(offset, offset + n)})
    cols = {
        "PersonNr": pl.when(pl.col("f") == 0)
        .then(pl.col("p"))
        .when(pl.col("f") == 1)
        .then(pl.col("p").str.slice(2, 6) + "-" + pl.col("p").str.slice(8, 4))
        .otherwise(pl.col("p").str.slice(0, 8) + "-" + pl.col("p").str.slice(8, 4)),
        "AR": pl.col("d").dt.year().cast(pl.Utf8),
        "INDATUM": pl.col("d").dt.strftime("%Y%m%d"),
        "UTDATUM": (pl.col("d") + pl.duration(days=pl.col("k") % 7)).dt.strftime("%Y%m%d"),
        "HDIA": pl.lit(ICD10[0]).alias("x"),
    }
    codes = pl.Series(ICD10)
    out = frame.select(**cols)
    out = out.with_columns(
        HDIA=codes.gather(rng.integers(0, len(ICD10), n)),
        DIA1=codes.gather(rng.integers(0, len(ICD10), n)),
    )
    empty = pl.lit("")
    out = out.with_columns(
        [empty.alias(f"DIA{i}") for i in range(2, 31)]
        + [empty.alias(f"EKOD{i}") for i in range(1, 6)]
    )
    return out.with_columns(
        OP=empty,
        SJUKHUS=(pl.lit(10_000) + frame["k"] % 90_000).cast(pl.Utf8),  # makes every line distinct
        MVO=pl.lit("101"),
        PVARD=pl.lit("1"),
        ALDER=(
            (
                pl.col("INDATUM").str.slice(0, 4).cast(pl.Int32)
                - frame["p"].str.slice(0, 4).cast(pl.Int32)
            ).cast(pl.Utf8)
        ),
        KON=pl.lit("1"),
    ).with_columns(SJUKHUS=pl.col("SJUKHUS") + (frame["k"] // 90_000 % 10).cast(pl.Utf8))


DUCKDB_CHILD = """
import sys, duckdb
con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB", "temp_directory": sys.argv[3]})
con.execute("SET enable_progress_bar = false")
con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', delim='\\t', header=true, encoding='latin-1')) TO '{sys.argv[2]}' (FORMAT parquet)")
"""
PYREADSTAT_CHILD = """
import sys, pyreadstat, pyarrow.parquet as pq
writer = None
for chunk, _ in pyreadstat.read_file_in_chunks(pyreadstat.read_sas7bdat, sys.argv[1], chunksize=200_000, output_format="polars"):
    table = chunk.to_arrow()
    writer = writer or pq.ParquetWriter(sys.argv[2], table.schema, compression="snappy")
    writer.write_table(table)
writer.close()
"""
PROMISE_CHILD = """
import sys
from datetime import date
from pathlib import Path
from promise.ingest import run_ingest
(r,) = run_ingest(landing=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), key_file=Path(sys.argv[3]), reference_date=date(2025, 12, 31))
print(r.rows_in, r.rows_loaded, r.rows_quarantined, flush=True)
"""


def measure(code: str, *args: str) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (GiB, from this child's own rusage) of a Python child running ``code``."""
    out = Path(args[-1]).parent / "child-stdout.txt" if args else Path("child-stdout.txt")
    start = time.monotonic()
    with out.open("w") as handle:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=handle)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed with exit code {proc.returncode}")
    return elapsed, usage.ru_maxrss / 2**20, out.read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=ROOT / "target" / "bench-ingest")
    parser.add_argument("--formats", default="text,sas", help="text, sas or both (text,sas)")
    args = parser.parse_args()
    work: Path = args.dir
    shutil.rmtree(work, ignore_errors=True)
    source = work / "text" / "npr_inpatient" / "par_sv_bench.txt"
    start = time.monotonic()
    write_inpatient(source, args.rows)
    print(
        f"wrote {args.rows:,} rows ({source.stat().st_size / 2**30:.2f} GiB) in {time.monotonic() - start:.0f} s"
    )
    from promise.pseudonym import write_new_key

    key = write_new_key(work / "keys" / "bench.key")
    formats = args.formats.split(",")
    if "text" in formats:
        _record(bench_text(work, source, key, args.rows), BEGIN, END)
    if "sas" in formats:
        _record(bench_sas(work, source, key, args.rows), SAS_BEGIN, SAS_END)


def bench_text(work: Path, source: Path, key: Path, rows: int) -> str:
    """DuckDB's CSV -> Parquet copy against promise on the delimited file."""
    (work / "duckdb-tmp").mkdir()
    ref_s, ref_gib, _ = measure(
        DUCKDB_CHILD, str(source), str(work / "x.parquet"), str(work / "duckdb-tmp")
    )
    ours_s, ours_gib, counts = measure(
        PROMISE_CHILD, str(work / "text"), str(work / "warehouse-text"), str(key)
    )
    rows_in, loaded, quarantined = (int(x) for x in counts.split())
    assert rows_in == rows and loaded + quarantined == rows_in, counts
    lines = [
        f"Ingestion benchmark ({rows:,}-row inpatient file, {source.stat().st_size / 2**30:.2f} GiB), "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, `python benchmarks/ingest.py --rows {rows}`",
        "",
        "| step | wall time (s) | peak memory (GiB) |",
        "| --- | ---: | ---: |",
        f"| DuckDB COPY read_csv -> Parquet | {ref_s:.1f} | {ref_gib:.2f} |",
        f"| promise ingest (count, decode, validate, pseudonymise, quarantine, Parquet) | {ours_s:.1f} | {ours_gib:.2f} |",
        f"| ratio promise / DuckDB | {ours_s / ref_s:.2f} (target <= {TARGET_RATIO}) | peak under {TARGET_GIB} GiB: {'yes' if ours_gib < TARGET_GIB else 'no'} |",
        "",
        f"rows in {rows_in:,}, loaded {loaded:,}, quarantined {quarantined:,}",
    ]
    print("\n".join(lines))
    return "\n".join(lines)


def write_sas(source: Path, target: Path) -> float:
    """The delimited file as a SAS dataset, by readstat (CSV -> .dta -> .sas7bdat), in bounded
    memory: Polars streams the tab-separated text to a comma-separated copy, readstat streams
    the rest. Returns the seconds taken."""
    start = time.monotonic()
    work = target.parent / ".sas-work"
    work.mkdir(parents=True, exist_ok=True)
    columns = source.open("rb").readline().decode("latin-1").rstrip("\n").split("\t")
    csv, meta, dta = work / "rows.csv", work / "rows.json", work / "rows.dta"
    pl.scan_csv(
        source, separator="\t", infer_schema=False, encoding="utf8-lossy", quote_char=None
    ).sink_csv(csv)
    meta.write_text(
        json.dumps({"type": "STATA", "variables": [{"type": "STRING", "name": c} for c in columns]})
    )
    for args in ((csv, meta, dta), (dta, target)):
        subprocess.run(["readstat", "-f", *map(str, args)], check=True, capture_output=True)
    shutil.rmtree(work)
    return time.monotonic() - start


def bench_sas(work: Path, source: Path, key: Path, rows: int) -> str:
    """pyreadstat reading the SAS dataset to Parquet against promise ingesting it."""
    target = work / "sas" / "npr_inpatient" / "ut_r_par_sv_12345_bench.sas7bdat"
    written = write_sas(source, target)
    size = target.stat().st_size / 2**30
    print(f"wrote the SAS dataset ({size:.2f} GiB) in {written:.0f} s")
    ref_s, ref_gib, _ = measure(PYREADSTAT_CHILD, str(target), str(work / "sas.parquet"))
    ours_s, ours_gib, counts = measure(
        PROMISE_CHILD, str(work / "sas"), str(work / "warehouse-sas"), str(key)
    )
    rows_in, loaded, quarantined = (int(x) for x in counts.split())
    assert rows_in == rows and loaded + quarantined == rows_in, counts
    lines = [
        f"SAS ingestion benchmark ({rows:,}-row inpatient `.sas7bdat` written by readstat, {size:.2f} GiB; "
        f"writing it took {written:.0f} s), {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
        f"`python benchmarks/ingest.py --rows {rows} --formats sas`",
        "",
        "| step | wall time (s) | peak memory (GiB) |",
        "| --- | ---: | ---: |",
        f"| pyreadstat read_file_in_chunks -> Parquet | {ref_s:.1f} | {ref_gib:.2f} |",
        f"| promise ingest (header count, chunked read, validate, pseudonymise, quarantine, Parquet) | {ours_s:.1f} | {ours_gib:.2f} |",
        f"| ratio promise / pyreadstat | {ours_s / ref_s:.2f} (target <= {TARGET_RATIO}) | peak under {TARGET_GIB} GiB: {'yes' if ours_gib < TARGET_GIB else 'no'} |",
        "",
        f"rows in {rows_in:,}, loaded {loaded:,}, quarantined {quarantined:,}",
    ]
    print("\n".join(lines))
    return "\n".join(lines)


def _record(text: str, begin: str, end: str) -> None:
    block = f"{begin}\n{text}\n{end}"
    current = DOC.read_text() if DOC.is_file() else "# Benchmarks\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n## Ingestion\n" + block + "\n"
    DOC.write_text(current)


if __name__ == "__main__":
    main()
