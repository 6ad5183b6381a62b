"""A catalogue of hostile SQL against a warehouse: writes, file access, extensions, settings.

Each entry is one intent; :func:`variants` wraps it every way the grammar allows (EXPLAIN,
EXPLAIN ANALYZE, a CTE, a subquery), so a check of the statement's first keyword could not
stop them all: only the engine's own confinement can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Places:
    """Paths an attacker aims at."""

    warehouse: Path
    landing: Path
    key: Path
    outside: Path


@dataclass(frozen=True)
class Hostile:
    """One hostile intent: the statement, and its CTE and subquery forms if the grammar has them."""

    kind: str
    sql: str
    wrapped: list[str] = field(default_factory=list)


def _read(kind: str, source: str) -> Hostile:
    """A table function reading ``source``: plain, in a CTE, in subqueries."""
    return Hostile(
        kind,
        f"SELECT * FROM {source}",
        [
            f"WITH t AS (SELECT * FROM {source}) SELECT * FROM t",
            f"SELECT * FROM (SELECT * FROM {source}) AS s",
            f"SELECT (SELECT count(*) FROM {source}) AS n",
            f"SELECT * FROM marts.person WHERE person_id IN (SELECT 'x' FROM {source})",
        ],
    )


def _copy(kind: str, target: str, options: str = "") -> Hostile:
    """A COPY ... TO ``target``, with the copied query as a CTE and as a subquery."""
    return Hostile(
        kind,
        f"COPY (SELECT 1 AS a) TO '{target}'{options}",
        [
            f"COPY (WITH t AS (SELECT 1 AS a) SELECT * FROM t) TO '{target}'{options}",
            f"COPY (SELECT * FROM (SELECT 1 AS a) AS s) TO '{target}'{options}",
        ],
    )


def _write(kind: str, sql: str, cte: str, sub: str) -> Hostile:
    return Hostile(kind, sql, [cte, sub])


def catalogue(p: Places) -> list[Hostile]:
    """Every hostile intent against the places in ``p``."""
    w, land, key, out = p.warehouse, p.landing, p.key, p.outside
    population_csv = next(iter(sorted((land / "population").glob("*"))))
    data = next(iter(sorted((w / "raw" / "population").glob("*/data*.parquet"))))
    manifest = next(iter(sorted(w.glob("raw/*/*/manifest.parquet"))))
    return [
        # writes to every kind of published object
        _write("write", "INSERT INTO marts.person (person_id) VALUES ('x')",
               "WITH t AS (SELECT 'x' AS p) INSERT INTO marts.person (person_id) SELECT p FROM t",
               "INSERT INTO marts.person (person_id) SELECT * FROM (SELECT 'x') AS s"),
        _write("write", "UPDATE marts.person SET sex = 'x'",
               "WITH t AS (SELECT 'x' AS s) UPDATE marts.person SET sex = (SELECT s FROM t)",
               "UPDATE marts.person SET sex = (SELECT 'x')"),
        _write("write", "DELETE FROM marts.person",
               "WITH t AS (SELECT 1) DELETE FROM marts.person",
               "DELETE FROM marts.person WHERE person_id IN (SELECT person_id FROM marts.person)"),
        _write("write", "INSERT INTO raw.population SELECT * FROM raw.population",
               "WITH t AS (SELECT * FROM raw.population) INSERT INTO raw.population SELECT * FROM t",
               "INSERT INTO raw.population SELECT * FROM (SELECT * FROM raw.population) AS s"),
        _write("write", "INSERT INTO manifest SELECT * FROM manifest",
               "WITH t AS (SELECT * FROM manifest) INSERT INTO manifest SELECT * FROM t",
               "INSERT INTO manifest SELECT * FROM (SELECT * FROM manifest) AS s"),
        _write("write", "DELETE FROM quarantine",
               "WITH t AS (SELECT 1) DELETE FROM quarantine",
               "DELETE FROM quarantine WHERE line IN (SELECT line FROM quarantine)"),
        _write("write", "CREATE TABLE marts.evil AS SELECT 1 AS a",
               "CREATE TABLE marts.evil AS WITH t AS (SELECT 1 AS a) SELECT * FROM t",
               "CREATE TABLE marts.evil AS SELECT * FROM (SELECT 1 AS a) AS s"),
        _write("write", "CREATE TABLE evil AS SELECT 1 AS a",
               "CREATE TABLE evil AS WITH t AS (SELECT 1 AS a) SELECT * FROM t",
               "CREATE TABLE evil AS SELECT * FROM (SELECT 1 AS a) AS s"),
        _write("write", "CREATE VIEW marts.v AS SELECT 1 AS a",
               "CREATE VIEW marts.v AS WITH t AS (SELECT 1 AS a) SELECT * FROM t",
               "CREATE VIEW marts.v AS SELECT * FROM (SELECT 1 AS a) AS s"),
        Hostile("write", "DROP TABLE marts.person"),
        Hostile("write", "ALTER TABLE marts.person ADD COLUMN x INTEGER"),
        Hostile("write", "TRUNCATE marts.person"),
        Hostile("write", "CREATE MACRO evil() AS 1"),
        Hostile("write", "CREATE SEQUENCE evil_seq"),
        Hostile("write", "CREATE SCHEMA evil"),
        # COPY to and from files, inside and outside the warehouse
        _copy("copy", f"{w}/raw/population/forged/data.parquet", " (FORMAT parquet)"),
        _copy("copy", str(manifest), " (FORMAT parquet)"),
        _copy("copy", f"{w}/promise.duckdb.wal", " (FORMAT csv)"),
        _copy("copy", f"{w}/promise.duckdb", " (FORMAT csv, USE_TMP_FILE false)"),
        _copy("copy", f"{out}/leak.csv", " (FORMAT csv)"),
        _copy("copy", "/dev/stdout", " (FORMAT csv)"),
        Hostile("copy", f"COPY marts.person FROM '{population_csv}'"),
        Hostile("copy", f"COPY marts.person TO '{out}/person.csv'"),
        Hostile("export", f"EXPORT DATABASE '{out}/dump'"),
        Hostile("export", f"EXPORT DATABASE '{w}/raw/dump' (FORMAT parquet)"),
        Hostile("export", f"IMPORT DATABASE '{out}/dump'"),
        # ATTACH of files
        Hostile("attach", f"ATTACH '{w}/promise.duckdb' AS rw"),
        Hostile("attach", f"ATTACH '{w}/promise.duckdb' AS rw (READ_WRITE)"),
        Hostile("attach", f"ATTACH '{out}/new.duckdb' AS n"),
        Hostile("attach", f"ATTACH '{w}/raw/evil.duckdb' AS n"),
        Hostile("attach", f"ATTACH '{population_csv}' AS c"),
        # extensions
        Hostile("install", "INSTALL httpfs"),
        Hostile("install", "FORCE INSTALL httpfs"),
        Hostile("install", f"INSTALL '{out}/evil.duckdb_extension'"),
        Hostile("load", "LOAD httpfs"),
        Hostile("load", "LOAD spatial"),
        Hostile("load", f"LOAD '{out}/evil.duckdb_extension'"),
        # settings that would lift the confinement or write files
        Hostile("set", "SET enable_external_access = true"),
        Hostile("set", "SET GLOBAL enable_external_access = true"),
        Hostile("set", "RESET enable_external_access"),
        Hostile("set", "SET lock_configuration = false"),
        Hostile("set", f"SET allowed_directories = ['{land}', '{w}']"),
        Hostile("set", f"SET allowed_paths = ['{key}']"),
        Hostile("set", f"SET temp_directory = '{w}/raw'"),
        Hostile("set", "SET autoload_known_extensions = true"),
        Hostile("set", "SET allow_unsigned_extensions = true"),
        Hostile("set", f"SET profiling_output = '{w}/profile.json'"),
        Hostile("set", f"SET log_query_path = '{w}/queries.log'"),
        Hostile("set", "SET memory_limit = '1TB'"),
        Hostile("pragma", f"PRAGMA profiling_output = '{w}/profile.json'"),
        Hostile("pragma", "PRAGMA memory_limit = '1TB'"),
        Hostile("pragma", "PRAGMA threads = 64"),
        Hostile("pragma", f"PRAGMA import_database('{out}/dump')"),
        Hostile("call", f"CALL glob('{land}/*')"),
        Hostile("call", f"CALL read_blob('{key}')"),
        Hostile("call", f"CALL parquet_metadata('{data}')"),
        Hostile("call", f"CALL sniff_csv('{population_csv}')"),
        # table functions reading paths: the landing folder, the key, outside, and even raw/
        _read("read", f"read_csv('{population_csv}')"),
        _read("read", f"read_csv_auto('{land}/*/*')"),
        _read("read", f"read_text('{population_csv}')"),
        _read("read", f"read_text('{key}')"),
        _read("read", f"read_blob('{key}')"),
        _read("read", "read_text('/etc/passwd')"),
        _read("read", f"read_text('{w}/key_fingerprint')"),
        _read("read", f"read_parquet('{data}')"),
        _read("read", f"read_parquet('{out}/*.parquet')"),
        _read("read", f"read_json('{land}/*/*')"),
        _read("read", f"glob('{land}/*')"),
        _read("read", f"glob('{key.parent}/*')"),
        _read("read", f"glob('{w}/**')"),
        _read("read", f"parquet_schema('{data}')"),
        _read("read", f"sniff_csv('{population_csv}')"),
        _read("read", f"query('SELECT * FROM read_text(''{key}'')')"),
    ]  # fmt: skip


def executed(h: Hostile) -> list[str]:
    """Forms that execute: the statement, its CTE and subquery forms, each also under
    EXPLAIN ANALYZE (which runs the statement it profiles)."""
    forms = [h.sql, *h.wrapped]
    return [*forms, *(f"EXPLAIN ANALYZE {s}" for s in forms)]


def planned(h: Hostile) -> list[str]:
    """Plain EXPLAIN forms: DuckDB binds and plans the statement but never runs it, so
    these must be refused or return a plan and change nothing."""
    return [f"EXPLAIN {s}" for s in (h.sql, *h.wrapped)]
