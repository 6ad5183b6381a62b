"""The SQL connection people get: read-only and confined to the warehouse by DuckDB itself.

``promise sql``, :func:`promise.connect` and ``promise export`` run user SQL on this
connection. The guarantee comes from the engine's settings, not from a check of the
statement text, so no wrapping (``EXPLAIN ANALYZE``, a CTE, a subquery) gets round it:

- ``enable_external_access = false``: every file function (``read_csv``, ``read_text``,
  ``read_parquet``, ``glob``, ...), ``COPY``, ``EXPORT``, ``ATTACH`` of a file, ``INSTALL``
  and ``LOAD`` is refused. ``allowed_directories`` is not used on purpose: DuckDB lets a
  statement write wherever it may read, and a writable ``raw/`` is how a manifest row was
  once forged.
- DuckDB still allows its own database file and write-ahead log (``promise.duckdb.wal``)
  when external access is off; so once the published files are open, the local file system
  is switched off altogether (``disabled_filesystems = 'LocalFileSystem'``). Nothing can then
  open a local file at all, and a crafted ``.wal`` cannot be written beside the marts.
- The instance is read-only (``access_mode``): no statement can change ``promise.duckdb``;
  extensions are neither installed nor loaded automatically; and the configuration is then
  locked (``lock_configuration``), so no ``SET``/``PRAGMA``/``RESET`` can undo any of this.

The published files are readable because this process opens them before any user SQL runs:
``promise.duckdb`` is the main database (opened through a private link, so that the instance
is this connection's own), and the Parquet of ``raw/`` is scanned by Arrow datasets registered
on the connection (Arrow reads them; DuckDB opens no file). The views ``manifest``,
``quarantine``, ``export_audit`` and ``raw.<source>`` read those scans; the scans of the
sources are temporary views named ``_scan_<source>``. The marts answer without their schema
(``search_path = marts, main``).

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

DATABASE_FILE = "promise.duckdb"
AUDIT_FILE = Path("exports") / "audit.jsonl"
MEMORY_ENV = "PROMISE_SQL_MEMORY_LIMIT"
MEMORY_LIMIT = "4GB"
THREADS = 2
SEARCH_PATH = "marts,main"
SCAN_PREFIX = "_scan_"

#: DuckDB settings fixed when a confined instance starts.
CONFINEMENT: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "temp_directory": "",
}
#: Applied once the published files are open; the last one locks every setting.
LOCKDOWN = (
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
    con = _open(warehouse / DATABASE_FILE)
    try:
        _publish_views(con, warehouse)
        for statement in LOCKDOWN:
            con.execute(statement)
        con.execute(f"SET search_path = '{SEARCH_PATH}'")
    except BaseException:
        con.close()
        raise
    return con


def _open(published: Path) -> duckdb.DuckDBPyConnection:
    """Start a read-only DuckDB instance on ``published`` (or on an empty database).

    The database is opened through a link in a folder of this call's own: DuckDB shares one
    instance among connections to the same path, and this one must neither share its
    settings with another connection of the process nor conflict with theirs. The folder is
    removed once the file is open (the open file stays readable).
    """
    session = Path(tempfile.mkdtemp(prefix="promise-sql-"))
    main = session / DATABASE_FILE
    try:
        if published.is_file():
            main.symlink_to(published)
        else:  # nothing built yet: an empty database keeps the instance read-only
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
                f"cannot open {published} ({str(exc).splitlines()[0]}); run `promise build` "
                "again, or check ${MEMORY_ENV} if you set it."
            ) from exc
    finally:
        shutil.rmtree(session, ignore_errors=True)


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
