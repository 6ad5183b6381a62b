"""The SQL connection people get: read-only and confined to the warehouse by DuckDB itself.

``promise sql``, :func:`promise.connect` and ``promise export`` run user SQL on this
connection. The guarantee comes from the engine's settings, fixed when the database starts
and locked (``lock_configuration``), not from a check of the statement text:

- ``enable_external_access = false`` with no allowed path: every file function
  (``read_csv``, ``read_text``, ``read_parquet``, ``glob``, ...), ``COPY``, ``EXPORT``,
  ``ATTACH`` of a file, ``INSTALL`` and ``LOAD`` is refused by DuckDB, whatever wraps it
  (``EXPLAIN ANALYZE``, a CTE, a subquery). ``allowed_directories`` is not used on purpose:
  DuckDB lets a statement write wherever it may read, and a writable ``raw/`` is how a
  manifest row was once forged.
- The instance is read-only (``access_mode``): no statement can write ``promise.duckdb``.
- Extensions are neither installed nor loaded automatically.

The published files are still readable because this process opens them before any user SQL
runs: ``promise.duckdb`` is the main database (opened through a private link, so the
instance is this connection's own), and the Parquet of ``raw/`` is scanned by Arrow
datasets registered on the connection. The views ``manifest``, ``quarantine``,
``export_audit`` and ``raw.<source>`` read those scans; the Arrow scans themselves are
temporary views named ``_scan_<name>``. The marts answer without their schema
(``search_path = marts, main``).

A session can still create scratch objects in its own memory (``CREATE TEMP TABLE``, objects
in the in-memory ``raw`` catalog); they vanish when it closes and never reach a file.
``staging`` views read raw files directly when queried, so they are refused here: query
``raw.<source>`` or the marts instead.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import weakref
from functools import cache
from pathlib import Path

import duckdb

from promise.errors import PromiseError

DATABASE_FILE = "promise.duckdb"
AUDIT_FILE = Path("exports") / "audit.jsonl"
MEMORY_LIMIT = "2GB"
THREADS = 2
SEARCH_PATH = "marts,main"
SCAN_PREFIX = "_scan_"

#: DuckDB settings of every confined connection, fixed at start-up and locked.
CONFINEMENT: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "lock_configuration": True,
}


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
    session = Path(tempfile.mkdtemp(prefix="session-", dir=_private_root()))
    con = _open(warehouse / DATABASE_FILE, session)
    weakref.finalize(con, shutil.rmtree, session, True)
    try:
        _publish_views(con, warehouse)
        con.execute(f"SET search_path = '{SEARCH_PATH}'")
    except BaseException:
        con.close()
        raise
    return con


def _open(published: Path, session: Path) -> duckdb.DuckDBPyConnection:
    """Start a read-only, locked DuckDB instance on ``published`` (or an empty database).

    The database is opened through a link of this session's own: DuckDB shares one instance
    among connections to the same path, and this one must neither share its settings with
    another connection of the process nor conflict with theirs. The link is removed once the
    file is open; the spill folder is the session's, outside the warehouse.
    """
    main = session / DATABASE_FILE
    if published.is_file():
        main.symlink_to(published)
    else:  # nothing built yet: an empty database, so that the instance is still read-only
        duckdb.connect(str(main)).close()
    config = {
        **CONFINEMENT,
        "threads": THREADS,
        "memory_limit": MEMORY_LIMIT,
        "temp_directory": str(session / "spill"),
    }
    try:
        return duckdb.connect(str(main), read_only=True, config=config)
    finally:
        main.unlink(missing_ok=True)


@cache
def _private_root() -> Path:
    """A folder of this process's own (mode 0700) for session links and spill files."""
    root = Path(tempfile.mkdtemp(prefix="promise-sql-"))
    atexit.register(shutil.rmtree, root, True)
    return root


def _publish_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    from promise.privacy.scans import audit_table, empty_views, source_files, table_scan

    raw = warehouse / "raw"
    con.execute("ATTACH ':memory:' AS raw (READ_WRITE)")
    for name in ("manifest", "quarantine"):
        files = sorted(raw.glob(f"*/*/{name}.parquet"))
        if files:
            con.register(name, table_scan(files))
        else:
            con.execute(f"CREATE TEMP VIEW {name} AS {empty_views()[name]}")
    for source, files in source_files(raw).items():
        scan = f"{SCAN_PREFIX}{source}"
        con.register(scan, table_scan(files))
        con.execute(f'CREATE VIEW raw."{source}" AS SELECT * FROM "{scan}"')
    audit = audit_table(warehouse / AUDIT_FILE)
    if audit is not None:
        con.register("export_audit", audit)


def is_confined(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``con`` runs with external access off and its configuration locked."""
    row = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchone()
    return row is not None and row[0] is False and row[1] is True


def private_root() -> Path:
    """Where this process keeps session links and spill files (for tests and doctor)."""
    return _private_root()


__all__ = ["CONFINEMENT", "WarehouseNotFoundError", "connect", "is_confined", "private_root"]
