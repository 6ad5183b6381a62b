"""The SQL connection people get: read-only and confined to the warehouse by DuckDB itself.

``promise sql``, :func:`promise.connect` and ``promise export`` run user SQL on this
connection. The guarantee comes from the engine's settings, not from a check of the
statement text, so no wrapping (``EXPLAIN ANALYZE``, a CTE, a subquery) gets round it.
A session is a DuckDB instance of its own, started read-only (``access_mode``) with no
extension installed or loaded automatically. The published files are opened first:
``promise.duckdb`` attached read-only as ``promise`` (and made the default catalog), the
Parquet of ``raw/`` as Arrow datasets registered on the connection (Arrow reads them, DuckDB
opens no file for them). Then, before any user SQL runs (:data:`LOCKDOWN`):

- ``enable_external_access = false``: every file function (``read_csv``, ``read_text``,
  ``read_parquet``, ``glob``, ...), ``COPY``, ``EXPORT``, ``ATTACH`` of a file, ``INSTALL``
  and ``LOAD`` is refused. ``allowed_directories`` is not used on purpose: DuckDB lets a
  statement write wherever it may read, and a writable ``raw/`` is how a manifest row was
  once forged.
- ``disabled_filesystems = 'LocalFileSystem'``: DuckDB keeps the files of attached
  databases (``promise.duckdb`` and its ``.wal``) writable even with external access off,
  and a ``COPY ... TO`` overwrote the marts that way in a probe; with the local file system
  off, nothing can open a local file at all.
- ``lock_configuration = true``: no ``SET``/``RESET``/``PRAGMA`` can undo any of this.

The views ``manifest``, ``quarantine``, ``export_audit``, ``raw.<source>`` and the study
tables ``study.<name>`` / ``study.<name>__<table>`` read the Arrow scans (temporary views
named ``_scan_<source>`` and ``_study_<view>``); the marts answer without their schema
(``search_path = marts, main`` in ``promise``).

What it costs: a session cannot spill to disk, so a query needing more than its memory limit
(``$PROMISE_SQL_MEMORY_LIMIT``, default 4GB) fails with an out-of-memory error. A session can
still create scratch objects in its own memory (``CREATE TEMP TABLE``, objects in the
in-memory ``raw`` catalog); they vanish when it closes and never reach a file. ``staging``
views read raw files directly when queried, so they are refused here: query
``raw.<source>`` or the marts instead. The confinement binds SQL only: Python code run by the
same operating-system user can read what that user can, so the landing folder and the key
file must not be readable by analysts' accounts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb

from promise.errors import PromiseError
from promise.privacy.audit import AUDIT_FILE

DATABASE_FILE = "promise.duckdb"

MEMORY_ENV = "PROMISE_SQL_MEMORY_LIMIT"
MEMORY_LIMIT = "4GB"
THREADS = 2
SEARCH_PATH = "marts,main"
SCAN_PREFIX = "_scan_"
STUDY_SCAN_PREFIX = "_study_"

#: DuckDB settings fixed when a confined instance starts (external access is switched off
#: after the published database is attached, see :data:`LOCKDOWN`).
CONFINEMENT: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "temp_directory": "",
}
#: Applied once the published files are open; the last one locks every setting.
LOCKDOWN = (
    "SET enable_external_access = false",
    "SET disabled_filesystems = 'LocalFileSystem'",
    "SET lock_configuration = true",
)


class WarehouseNotFoundError(PromiseError):
    """The warehouse folder does not exist."""


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection confined to the published tables of ``warehouse``."""
    warehouse = Path(warehouse).resolve()
    if not warehouse.is_dir():
        raise WarehouseNotFoundError(
            f"there is no warehouse at {warehouse}; pass --warehouse DIR (or set "
            "PROMISE_WAREHOUSE) to a folder `promise ingest` wrote."
        )
    con = _open_session()
    try:
        published = warehouse / DATABASE_FILE
        if published.is_file():
            con.execute(f"ATTACH '{_quoted(published)}' AS promise (READ_ONLY)")
        _publish_views(con, warehouse)
        for statement in LOCKDOWN:
            con.execute(statement)
        if published.is_file():
            con.execute("USE promise")
            schemas = {r[0] for r in con.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'promise'"
            ).fetchall()}  # fmt: skip
            path = [s for s in SEARCH_PATH.split(",") if s in schemas]
            con.execute(f"SET search_path = '{','.join(path) or 'main'}'")
    except duckdb.Error as exc:
        con.close()
        raise PromiseError(
            f"cannot open the published tables of {warehouse} ({str(exc).splitlines()[0]}); "
            "run `promise build` again."
        ) from exc
    except BaseException:
        con.close()
        raise
    return con


def _open_session() -> duckdb.DuckDBPyConnection:
    """A new read-only DuckDB instance on an empty database of its own.

    The empty database lives in a temporary folder removed at once (the open file stays
    usable): a path of its own gives the connection its own instance, since DuckDB shares one
    instance, and one configuration, among connections to the same file of a process.
    """
    session = Path(tempfile.mkdtemp(prefix="promise-sql-"))
    try:
        main = session / "session.duckdb"
        duckdb.connect(str(main)).close()
        config = {
            **CONFINEMENT,
            "threads": THREADS,
            "memory_limit": os.environ.get(MEMORY_ENV, MEMORY_LIMIT),
        }
        try:
            return duckdb.connect(str(main), read_only=True, config=config)
        except duckdb.Error as exc:
            raise PromiseError(
                f"cannot start a DuckDB session ({str(exc).splitlines()[0]}); check "
                f"${MEMORY_ENV} if you set it."
            ) from exc
    finally:
        shutil.rmtree(session, ignore_errors=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _publish_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    from promise.privacy.scans import audit_table, empty_views, source_files, table_scan

    raw = warehouse / "raw"
    con.execute("ATTACH ':memory:' AS raw (READ_WRITE)")
    for name in ("manifest", "quarantine"):
        files = sorted(raw.glob(f"*/*/{name}.parquet"))
        if files:
            con.register(f"{SCAN_PREFIX}{name}", table_scan(files, name))
        else:
            con.execute(f"CREATE TEMP VIEW {SCAN_PREFIX}{name} AS {empty_views()[name]}")
    con.execute(f"CREATE TEMP VIEW quarantine AS SELECT * FROM {SCAN_PREFIX}quarantine")
    superseded = _superseded(con)
    con.execute(f"CREATE TEMP VIEW manifest AS {_manifest_view(con)}")
    for source, files in source_files(raw).items():
        files = [f for f in files if f.parent.name not in superseded]
        if not files:
            continue
        scan = f"{SCAN_PREFIX}{source}"
        con.register(scan, table_scan(files, f"raw.{source}"))
        con.execute(f'CREATE VIEW raw."{source}" AS SELECT * FROM "{scan}"')
    audit = audit_table(warehouse / AUDIT_FILE)
    if audit is not None:
        con.register("export_audit", audit)
    _publish_studies(con, warehouse)


def _publish_studies(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """``study.<name>`` and ``study.<name>__<table>`` over the Arrow scans of the study
    folders (docs/studies.md), so that DuckDB itself opens none of their files."""
    from promise.privacy.scans import table_scan
    from promise.study.storage import published, view_name

    tables = published(warehouse)
    if not tables:
        return
    con.execute("ATTACH ':memory:' AS study (READ_WRITE)")
    for study, table, path in tables:
        view = view_name(study, table.name)
        scan = f"{STUDY_SCAN_PREFIX}{view}"
        con.register(scan, table_scan([path], f"study.{view}"))
        con.execute(f'CREATE VIEW study."{view}" AS SELECT * FROM "{scan}"')


def _superseded(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Load ids a correction superseded (promise.ingest.corrections): their rows stay out of
    ``raw.<source>``, as they stay out of the marts, so nothing is counted twice."""
    if "supersedes" not in con.sql(f"SELECT * FROM {SCAN_PREFIX}manifest LIMIT 0").columns:
        return set()
    rows = con.sql(
        f"SELECT DISTINCT supersedes FROM {SCAN_PREFIX}manifest WHERE supersedes IS NOT NULL"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _manifest_view(con: duckdb.DuckDBPyConnection) -> str:
    """The manifest, with ``superseded_by`` naming the load that replaced a corrected one."""
    scan = f"{SCAN_PREFIX}manifest"
    if "supersedes" not in con.sql(f"SELECT * FROM {scan} LIMIT 0").columns:
        return f"SELECT *, NULL::VARCHAR AS superseded_by FROM {scan}"
    return (
        f"SELECT m.*, s.load_id AS superseded_by FROM {scan} m LEFT JOIN (SELECT load_id, "
        f"supersedes FROM {scan} WHERE supersedes IS NOT NULL) s ON s.supersedes = m.load_id"
    )


def is_confined(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``con`` has external access off, its settings locked, and cannot open even
    the paths DuckDB allows itself (its database file and write-ahead log).

    ``current_setting('disabled_filesystems')`` reads empty even when the setting holds
    (DuckDB 1.5), so the last part is checked by trying: each allowed path must be refused.
    """
    row = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
        "current_setting('allowed_paths'), current_setting('allowed_directories')"
    ).fetchone()
    if row is None or row[0] is not False or row[1] is not True:
        return False
    for path in [*row[2], *row[3]]:
        try:
            con.execute("SELECT count(*) FROM glob(?)", [path]).fetchall()
        except duckdb.PermissionException:
            continue
        return False
    return True


__all__ = ["CONFINEMENT", "WarehouseNotFoundError", "connect", "is_confined"]
