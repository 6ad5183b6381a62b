"""Benchmark: vectorised validate + pseudonymise vs the PyPI ``personnummer`` package.

10 million numbers in mixed written forms (12 digits, ``YYYYMMDD-NNNC``, ``YYMMDD-NNNC`` /
``+`` for centenarians, bare 10 digits), drawn from 2 million distinct valid numbers as a
register extract repeats people, with 1% made invalid (a wrong check digit). promise runs
``parse_column`` + ``Pseudonymizer.person_ids`` on all 10 million; the reference package's
per-value ``parse`` runs on the first 1 million of the same values (its rate is per value,
so a subset measures it without an hour-long run).

Run: ``uv run python benchmarks/pnr.py [--rows N]``. Prints a table with both rates and
their ratio. Targets (issue 2): ratio >= 20 and 10 million in under 30 s.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

import numpy as np
import polars as pl
from personnummer import personnummer as pn_package

from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer

REFERENCE = date.today()
WEIGHTS = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])


def distinct_numbers(n: int, rng: np.random.Generator) -> pl.DataFrame:
    """``n`` valid 12-digit numbers born 1915-2023 with random serials."""
    days = rng.integers(date(1915, 1, 1).toordinal(), date(2023, 12, 31).toordinal(), n)
    births = pl.Series(days - date(1970, 1, 1).toordinal()).cast(pl.Int32).cast(pl.Date)
    serial = rng.integers(1, 1000, n)
    ymd = births.dt.strftime("%Y%m%d")
    nine = pl.select(ymd.str.slice(2, 6) + pl.Series(serial).cast(pl.Utf8).str.zfill(3)).to_series()
    digits = np.frombuffer("".join(nine.to_list()).encode(), dtype=np.uint8).reshape(n, 9) - 48
    products = digits * WEIGHTS
    total = (products - 9 * (products > 9)).sum(axis=1)
    check = (10 - total % 10) % 10
    full = pl.select(
        ymd + pl.Series(serial).cast(pl.Utf8).str.zfill(3) + pl.Series(check).cast(pl.Utf8)
    ).to_series()
    return pl.DataFrame({"n": full, "born": births})


def mixed_forms(pool: pl.DataFrame, rows: int, rng: np.random.Generator) -> pl.Series:
    """``rows`` values drawn from ``pool`` in random written forms, 1% with a wrong check digit."""
    pick = pool[rng.integers(0, pool.height, rows)]
    form = pl.Series(rng.integers(0, 4, rows))
    bad = pl.Series(rng.random(rows) < 0.01)
    n = pl.col("n")
    centenarian = pl.col("born") <= pl.lit(REFERENCE.replace(year=REFERENCE.year - 100))
    sep = pl.when(centenarian).then(pl.lit("+")).otherwise(pl.lit("-"))
    last = n.str.slice(11, 1).cast(pl.Int32)
    wrong = ((last + 1) % 10).cast(pl.Utf8)
    body = pl.when(pl.col("bad")).then(n.str.slice(0, 11) + wrong).otherwise(n)
    written = (
        pl.when(pl.col("form") == 0)
        .then(body)
        .when(pl.col("form") == 1)
        .then(body.str.slice(0, 8) + "-" + body.str.slice(8, 4))
        .when(pl.col("form") == 2)
        .then(body.str.slice(2, 6) + sep + body.str.slice(8, 4))
        .otherwise(pl.when(centenarian).then(body).otherwise(body.str.slice(2, 10)))
    )
    return pick.with_columns(form=form, bad=bad).select(written.alias("value")).to_series()


def time_promise(values: pl.Series, key: bytes) -> tuple[float, float, int]:
    """Seconds for parse_column, seconds for person_ids, and the number of valid rows."""
    start = time.perf_counter()
    parsed = parse_column(values, reference_date=REFERENCE)
    parsed_at = time.perf_counter()
    ids = Pseudonymizer(key).person_ids(parsed["normalized"])
    done = time.perf_counter()
    return parsed_at - start, done - parsed_at, int(ids.is_not_null().sum())


def time_package(values: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    valid = 0
    for value in values:
        try:
            pn_package.parse(value)
            valid += 1
        except pn_package.PersonnummerException:
            pass
    return time.perf_counter() - start, valid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--distinct", type=int, default=2_000_000)
    parser.add_argument("--package-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    values = mixed_forms(distinct_numbers(args.distinct, rng), args.rows, rng)
    load_before = os.getloadavg()[0]
    parse_s, ids_s, ours_valid = time_promise(values, b"benchmark-key-" * 3)
    ours = parse_s + ids_s
    subset = values[: args.package_rows].to_list()
    theirs, theirs_valid = time_package(subset)
    ours_rate, theirs_rate = args.rows / ours, len(subset) / theirs
    print("| what | values | seconds | values/s |\n|---|---:|---:|---:|")
    print(f"| promise parse_column + person_ids | {args.rows:,} | {ours:.1f} | {ours_rate:,.0f} |")
    print(f"| of which parse_column | {args.rows:,} | {parse_s:.1f} | {args.rows / parse_s:,.0f} |")
    print(f"| of which person_ids | {args.rows:,} | {ids_s:.1f} | {args.rows / ids_s:,.0f} |")
    print(
        f"| personnummer.parse (PyPI personnummer) | {len(subset):,} | {theirs:.1f} | {theirs_rate:,.0f} |"
    )
    print(
        f"\nratio (promise / package rate): {ours_rate / theirs_rate:.1f}x; valid rows: {ours_valid:,}"
    )
    print(
        f"targets: ratio >= 20 -> {'met' if ours_rate / theirs_rate >= 20 else 'NOT met'}; "
        f"{args.rows:,} in < 30 s -> {'met' if ours < 30 else 'NOT met'} ({ours:.1f} s)"
    )
    print(
        f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
