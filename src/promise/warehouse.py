"""The warehouse folder: its layout, its write lock, its key fingerprint and read-only SQL.

Layout (docs/interfaces.md section 3): ``raw/<source>/<load_id>/`` holds one published load
(``data.parquet``, ``quarantine.parquet``, ``manifest.parquet``); ``.tmp/`` holds loads in
progress (never read); ``genotypes/<batch>.mt`` Hail MatrixTables; ``promise.duckdb`` the
dbt output. ``connect`` opens an in-memory DuckDB with views over those files, so readers
never take a lock and never see a load that is not yet published.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

from promise.errors import KeyFileError, WarehouseLockedError

LOCK_FILE = ".lock"
FINGERPRINT_FILE = "key_fingerprint"
DATABASE_FILE = "promise.duckdb"
MEMORY_LIMIT = "2GB"
THREADS = 2


def raw_dir(warehouse: Path) -> Path:
    """``WAREHOUSE/raw``."""
    return Path(warehouse) / "raw"


def tmp_dir(warehouse: Path) -> Path:
    """``WAREHOUSE/.tmp``: loads being written; removed when a new load starts."""
    return Path(warehouse) / ".tmp"


def load_dir(warehouse: Path, source: str, load_id: str) -> Path:
    """Where one published load lives."""
    return raw_dir(warehouse) / source / load_id


class WarehouseLock:
    """An exclusive, non-blocking write lock on a warehouse (``fcntl.flock`` on ``.lock``).

    The kernel releases it when the process dies, so a killed load never leaves a stale lock.
    """

    def __init__(self, warehouse: Path, *, wait_seconds: float = 0.0) -> None:
        self.path = Path(warehouse) / LOCK_FILE
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    def __enter__(self) -> WarehouseLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WarehouseLockedError(
                        f"another `promise ingest` is writing to {self.path.parent}; wait for it to "
                        "finish and run again."
                    ) from None
                time.sleep(0.1)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def stored_fingerprint(warehouse: Path) -> str | None:
    """The key fingerprint the warehouse was first loaded with, if any."""
    path = Path(warehouse) / FINGERPRINT_FILE
    return path.read_text().strip() if path.is_file() else None


def check_fingerprint(warehouse: Path, fingerprint: str) -> None:
    """Refuse a key other than the one the warehouse's pseudonyms were made with."""
    stored = stored_fingerprint(warehouse)
    if stored is not None and stored != fingerprint:
        raise KeyFileError(
            f"the pseudonym key (fingerprint {fingerprint}) is not the key of warehouse {warehouse} "
            f"(fingerprint {stored}); use that warehouse's key file or a new warehouse."
        )


def record_fingerprint(warehouse: Path, fingerprint: str) -> None:
    """Store the key fingerprint on the first load (write to a temporary name, then rename)."""
    path = Path(warehouse) / FINGERPRINT_FILE
    if path.is_file():
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(fingerprint + "\n")
    tmp.replace(path)


def manifest_files(warehouse: Path) -> list[Path]:
    """Every published manifest file."""
    return sorted(raw_dir(warehouse).glob("*/*/manifest.parquet"))


def loaded_sha256(warehouse: Path) -> set[str]:
    """SHA-256 of every file already in the manifest."""
    found: set[str] = set()
    for path in manifest_files(warehouse):
        found.update(str(v) for v in pl.read_parquet(path, columns=["sha256"])["sha256"].to_list())
    return found


def sources(warehouse: Path) -> list[str]:
    """Sources with at least one published load that has data."""
    root = raw_dir(warehouse)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*/data*.parquet")))


def connect(warehouse: Path, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views ``manifest``, ``quarantine``, ``raw.<source>`` and the marts.

    The connection is in-memory: the views read the published Parquet files, and
    ``promise.duckdb`` (when built) is attached read-only with each of its schemas exposed
    under its own name. ``read_only=False`` only allows creating objects in memory; the
    warehouse files are never written through this connection.
    """
    warehouse = Path(warehouse)
    con = duckdb.connect(":memory:", config={"threads": THREADS, "memory_limit": MEMORY_LIMIT})
    spill = tmp_dir(warehouse) / "duckdb"
    if spill.parent.is_dir():
        con.execute(f"SET temp_directory = '{_sql_path(spill)}'")
    _create_views(con, warehouse)
    _attach_marts(con, warehouse)
    _create_study_views(con, warehouse)
    del read_only  # both modes are read-only with respect to the warehouse files
    return con


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _create_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    root = raw_dir(warehouse)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    manifest = _sql_path(root / "*" / "*" / "manifest.parquet")
    quarantine = _sql_path(root / "*" / "*" / "quarantine.parquet")
    if manifest_files(warehouse):
        con.execute(
            f"CREATE VIEW manifest AS SELECT * FROM read_parquet('{manifest}', union_by_name = true)"
        )
        con.execute(
            f"CREATE VIEW quarantine AS SELECT * FROM read_parquet('{quarantine}', union_by_name = true)"
        )
    else:
        con.execute(
            "CREATE VIEW manifest AS SELECT * FROM (SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, "
            "NULL::VARCHAR AS file, NULL::VARCHAR AS sha256, NULL::BIGINT AS rows_in, NULL::BIGINT AS rows_loaded, "
            "NULL::BIGINT AS rows_quarantined, NULL::VARCHAR AS contract_version, NULL::VARCHAR AS key_fingerprint, "
            "NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS finished_at) WHERE false"
        )
        con.execute(
            "CREATE VIEW quarantine AS SELECT * FROM (SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, "
            "NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL::VARCHAR AS column, NULL::VARCHAR AS reason, "
            "NULL::VARCHAR AS detail, NULL::VARCHAR AS record) WHERE false"
        )
    for source in sources(warehouse):
        data = _sql_path(root / source / "*" / "data*.parquet")
        con.execute(
            f"CREATE VIEW raw.\"{source}\" AS SELECT * FROM read_parquet('{data}', union_by_name = true)"
        )


def _attach_marts(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    database = Path(warehouse) / DATABASE_FILE
    if not database.is_file():
        return
    con.execute(f"ATTACH '{_sql_path(database)}' AS promise (READ_ONLY)")
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'promise' "
        "AND table_schema NOT IN ('information_schema', 'pg_catalog', 'raw')"
    ).fetchall()
    for schema, table in rows:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        con.execute(
            f'CREATE VIEW "{schema}"."{table}" AS SELECT * FROM promise."{schema}"."{table}"'
        )


def _create_study_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """``study.<name>`` and ``study.<name>__<table>`` over ``WAREHOUSE/study/<name>/*.parquet``.

    Study outputs live beside ``promise.duckdb``, not in it, so a build does not drop them
    (docs/studies.md); folders starting with ``.`` are being written and are never read.
    """
    root = Path(warehouse) / "study"
    files = sorted(root.glob("[!.]*/[!.]*.parquet")) if root.is_dir() else []
    if files:
        con.execute("CREATE SCHEMA IF NOT EXISTS study")
    for path in files:
        name = path.parent.name if path.stem == "dataset" else f"{path.parent.name}__{path.stem}"
        con.execute(
            f"CREATE VIEW study.\"{name}\" AS SELECT * FROM read_parquet('{_sql_path(path)}')"
        )
