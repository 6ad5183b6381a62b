"""Corrected and re-sent deliveries: a load is compared with the live loads of its source.

A file is known by its name (its path under the landing folder) and its bytes (sha256):

- same bytes as any load: skipped (the runner does that before reading);
- same name as a live load, other bytes: a **correction**. Its load supersedes the earlier
  one: the new manifest row names it in ``supersedes`` with the rows added and removed,
  and the raw views and the dbt raw sources leave superseded loads out. Publishing the new
  load folder (one rename) is what makes the switch, so readers see the old load or the new
  one, never both and never neither; the old load stays, marked superseded in the manifest;
- another name, but rows that repeat rows of a live load of the same source (the same
  values once read: line ends, blanks around fields and the written form of a personnummer
  do not count): **refused** in one sentence naming the earlier file, unless the run allows
  overlap; then those rows are quarantined (``already_loaded``), never loaded twice.

Rows are compared as loaded (typed, pseudonymised), every raw column except the lineage
(``_load_id``, ``_source_file``, ``_source_line``), as multisets, in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from promise.errors import PromiseError
from promise.ingest.results import FileResult
from promise.ingest.rows import QUARANTINE_SCHEMA
from promise.ingest.writer import fsync_file, write_frame
from promise.warehouse import manifest_files

LINEAGE = ("_load_id", "_source_file", "_source_line")
ALREADY_LOADED = "already_loaded"
MEMORY = "2GB"  # the comparisons' DuckDB limit; larger sets spill to disk


class OverlapError(PromiseError):
    """A file repeats rows another file of its source already loaded; nothing was loaded."""


@dataclass(frozen=True)
class Load:
    """A live load of a source: its manifest identity and its data file."""

    load_id: str
    source: str
    file: str
    data: Path


def live_loads(warehouse: Path) -> list[Load]:
    """Published loads that no later load supersedes (loads of genotype batches included)."""
    rows: list[dict[str, object]] = []
    for path in manifest_files(warehouse):
        frame = pl.read_parquet(path)
        for row in frame.to_dicts():
            rows.append({**row, "_folder": path.parent})
    superseded = {r.get("supersedes") for r in rows} - {None}
    return [
        Load(
            str(r["load_id"]),
            str(r["source"]),
            str(r["file"]),
            Path(str(r["_folder"])) / "data.parquet",
        )
        for r in rows
        if r["load_id"] not in superseded and (Path(str(r["_folder"])) / "data.parquet").is_file()
    ]


@dataclass
class Settlement:
    """Loads of this run and the warehouse's live loads, for comparing each new load."""

    earlier: list[Load]
    allow_overlap: bool = False

    def settle(self, result: FileResult, staging: Path) -> None:
        """Mark ``result`` a correction or refuse / quarantine its overlap; then count it
        among the earlier loads for the next files of the run."""
        data = staging / "data.parquet"
        mine = [e for e in self.earlier if e.source == result.source]
        replaced = next((e for e in mine if e.file == result.file), None)
        if replaced is not None:
            added, removed = _difference(data, replaced.data)
            result.supersedes = replaced.load_id
            result.rows_added, result.rows_removed = added, removed
            result.note = (
                f"correction of {replaced.file} (load {replaced.load_id}): {added:,} row(s) "
                f"added, {removed:,} removed; the earlier load is superseded"
            )
        others = [e for e in mine if e is not replaced]
        if others and result.rows_loaded:
            self._overlap(result, staging, others)
        self.earlier = [e for e in self.earlier if e is not replaced]
        self.earlier.append(Load(str(result.load_id), result.source, result.file, data))

    def _overlap(self, result: FileResult, staging: Path, others: list[Load]) -> None:
        data = staging / "data.parquet"
        repeats = _repeats(data, others)
        if repeats.height == 0:
            return
        files = sorted(set(repeats["file"].to_list()))
        n = repeats["line"].n_unique()
        if not self.allow_overlap:
            raise OverlapError(
                f"{result.file} repeats {n:,} row(s) already loaded from {', '.join(files)}; "
                "if it re-sends that file, give it the earlier file's name (a correction "
                "replaces the earlier load); to load only its new rows run again with "
                "--allow-overlap; nothing was loaded."
            )
        _quarantine_repeats(result, staging, repeats)
        result.warnings.append(
            f"{n:,} row(s) repeat rows already loaded from {', '.join(files)} "
            f"(quarantined as {ALREADY_LOADED}, not loaded twice)"
        )


def settlement(warehouse: Path, *, allow_overlap: bool) -> Settlement:
    """The comparison state at the start of a run."""
    return Settlement(live_loads(warehouse), allow_overlap=allow_overlap)


def _columns(con: duckdb.DuckDBPyConnection, data: Path, other: Path) -> list[str]:
    """The raw columns both loads have, lineage aside, quoted for SQL."""

    def names(path: Path) -> list[str]:
        rel = con.sql(f"SELECT * FROM read_parquet('{_sql(path)}') LIMIT 0")
        return list(rel.columns)

    theirs = set(names(other))
    return [f'"{c}"' for c in names(data) if c in theirs and c not in LINEAGE]


def _connect(spill: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB within bounds on a shared machine, spilling under the private `.tmp` folder."""
    con = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": MEMORY})
    con.execute(f"SET temp_directory = '{_sql(spill)}'")
    return con


def _spill(staging: Path) -> Path:
    """Beside the load's folder under ``.tmp`` (removed with it), never inside what is published."""
    return staging.parent / f"{staging.name}.spill"


def _difference(new: Path, old: Path) -> tuple[int, int]:
    """Rows of ``new`` not in ``old`` and rows of ``old`` not in ``new`` (multisets)."""
    with _connect(_spill(new.parent)) as con:
        cols = ", ".join(_columns(con, new, old)) or "1"
        a, b = f"read_parquet('{_sql(new)}')", f"read_parquet('{_sql(old)}')"
        added = con.sql(
            f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})"
        ).fetchone()
        removed = con.sql(
            f"SELECT count(*) FROM (SELECT {cols} FROM {b} EXCEPT ALL SELECT {cols} FROM {a})"
        ).fetchone()
    return int(added[0]) if added else 0, int(removed[0]) if removed else 0


def _repeats(new: Path, others: list[Load]) -> pl.DataFrame:
    """``line`` of each row of ``new`` equal to a row of an earlier load, and that ``file``."""
    parts = []
    with _connect(_spill(new.parent)) as con:
        for other in others:
            cols = _columns(con, new, other.data)
            if not cols:  # nothing in common (another layout): no row can repeat
                continue
            same = " AND ".join(f"n.{c} IS NOT DISTINCT FROM o.{c}" for c in cols)
            parts.append(
                con.sql(
                    f"SELECT DISTINCT n._source_line AS line, '{_sql_text(other.file)}' AS file "
                    f"FROM read_parquet('{_sql(new)}') n JOIN read_parquet('{_sql(other.data)}') o "
                    f"ON hash({', '.join('n.' + c for c in cols)}) = hash({', '.join('o.' + c for c in cols)}) "
                    f"AND {same}"
                ).pl()
            )
    frame = pl.concat(parts) if parts else pl.DataFrame(schema={"line": pl.Int64, "file": pl.Utf8})
    return frame.group_by("line").agg(pl.col("file").min()).sort("line")


def _quarantine_repeats(result: FileResult, staging: Path, repeats: pl.DataFrame) -> None:
    """Move the repeated rows from the load's data to its quarantine (their records are the
    loaded, pseudonymised values); the counts follow, so the load still reconciles. The data
    file is rewritten by DuckDB (bounded memory); only the moved rows are held here."""
    data, quarantine = staging / "data.parquet", staging / "quarantine.parquet"
    kept = staging / "data.kept.parquet"
    with _connect(_spill(staging)) as con:
        con.register("repeats", repeats.to_arrow())
        source = f"read_parquet('{_sql(data)}')"
        moved = con.sql(
            f"SELECT d.*, r.file AS _earlier FROM {source} d JOIN repeats r "
            "ON d._source_line = r.line ORDER BY d._source_line"
        ).pl()
        con.execute(
            f"COPY (SELECT * FROM {source} WHERE _source_line NOT IN (SELECT line FROM repeats) "
            f"ORDER BY _source_line) TO '{_sql(kept)}' (FORMAT parquet, COMPRESSION snappy)"
        )
    fsync_file(kept)
    kept.replace(data)
    record = moved.drop([*LINEAGE, "_earlier"]).select(pl.struct(pl.all()).struct.json_encode())
    added = pl.DataFrame(
        {
            "load_id": [result.load_id] * moved.height,
            "source": [result.source] * moved.height,
            "file": [result.file] * moved.height,
            "line": moved["_source_line"],
            "column": [None] * moved.height,
            "reason": [ALREADY_LOADED] * moved.height,
            "detail": [f"same row as one loaded from {f}" for f in moved["_earlier"].to_list()],
            "record": record.to_series(),
        },
        schema=QUARANTINE_SCHEMA,
    )
    write_frame(quarantine, pl.concat([pl.read_parquet(quarantine), added]).sort("line"))
    result.rows_loaded -= moved.height
    result.rows_quarantined += moved.height
    reasons = dict(result.quarantined_by_reason)
    reasons[ALREADY_LOADED] = reasons.get(ALREADY_LOADED, 0) + moved.height
    result.quarantined_by_reason = dict(sorted(reasons.items()))


def rewrite_manifest(staging: Path, result: FileResult) -> None:
    """The staged manifest row with the counts and the correction the settlement decided."""
    path = staging / "manifest.parquet"
    row = pl.read_parquet(path).with_columns(
        rows_loaded=pl.lit(result.rows_loaded, pl.Int64),
        rows_quarantined=pl.lit(result.rows_quarantined, pl.Int64),
        supersedes=pl.lit(result.supersedes, pl.Utf8),
        rows_added=pl.lit(result.rows_added, pl.Int64),
        rows_removed=pl.lit(result.rows_removed, pl.Int64),
    )
    write_frame(path, row)


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")


def _sql_text(text: str) -> str:
    return text.replace("'", "''")
