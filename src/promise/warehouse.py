"""The warehouse folder: its layout, its write lock, its key fingerprint and read-only SQL.

Layout (docs/interfaces.md section 3): ``raw/<source>/<load_id>/`` holds one published load
(``data.parquet``, ``quarantine.parquet``, ``manifest.parquet``); ``.tmp/`` holds loads in
progress (never read); ``genotypes/<batch>.mt`` Hail MatrixTables; ``promise.duckdb`` the
dbt output. ``connect`` opens an in-memory DuckDB with views over those files, so readers
never take a lock and never see a load that is not yet published.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

from promise.errors import ConfigurationError, PromiseError, WarehouseLockedError

LOCK_FILE = ".lock"
FINGERPRINT_FILE = "key_fingerprint"
DATABASE_FILE = "promise.duckdb"
MEMORY_LIMIT = "2GB"
THREADS = 2
MODE_ENV = "PROMISE_WAREHOUSE_MODE"
DEFAULT_FILE_MODE = 0o640
#: while a load is written nobody else may read its temporary files
PRIVATE_UMASK = 0o077


class DiskFullError(PromiseError):
    """The disk holding the warehouse filled up; nothing of the run was published."""


@dataclass(frozen=True)
class Modes:
    """Permissions of what promise writes into a warehouse: group-readable at most."""

    file: int = DEFAULT_FILE_MODE
    dir: int = 0o750

    @property
    def umask(self) -> int:
        """The process umask that creates files and folders with these modes."""
        return 0o777 & ~self.dir


def warehouse_modes(environ: Mapping[str, str] | None = None) -> Modes:
    """``$PROMISE_WAREHOUSE_MODE`` (``0640`` default, or ``0600``): never world-readable.

    Folders get the execute bit wherever the file mode has the read bit.
    """
    value = (os.environ if environ is None else environ).get(MODE_ENV, "").strip()
    if not value:
        return Modes()
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if mode < 0 or mode & ~0o640 or mode & 0o600 != 0o600:
        raise ConfigurationError(
            f"{MODE_ENV}={value} is not allowed: warehouse files are 0600 (owner only) or 0640 "
            "(group-readable), never writable by the group nor readable by others."
        )
    return Modes(file=mode, dir=mode | (mode & 0o444) >> 2)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Create files under ``mask`` inside the block (the process-wide umask, restored after)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def apply_modes(path: Path, modes: Modes) -> None:
    """Set ``modes`` on ``path`` and everything under it (a file written by another process,
    such as Hail's JVM, keeps the umask that process started with)."""
    path = Path(path)
    if path.is_symlink() or not path.exists():
        return
    if not path.is_dir():
        path.chmod(modes.file)
        return
    path.chmod(modes.dir)
    for item in path.rglob("*"):
        if not item.is_symlink():
            item.chmod(modes.dir if item.is_dir() else modes.file)


def make_dirs(path: Path, modes: Modes) -> None:
    """``mkdir -p`` whose new folders get ``modes.dir`` whatever the umask."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        folder.chmod(modes.dir)


def disk_full(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) says the disk is full."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(seen) or "Disk quota exceeded" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (its nearest existing ancestor)."""
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def disk_full_error(warehouse: Path, what: str) -> DiskFullError:
    """The one sentence for a full disk."""
    free = free_bytes(warehouse) / 2**20
    return DiskFullError(
        f"the disk holding {warehouse} is full ({free:.1f} MB free) during {what}; nothing of it "
        "was published and the warehouse is as before: free space (or move the warehouse) and "
        "run again."
    )


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

    def __init__(
        self, warehouse: Path, *, wait_seconds: float = 0.0, command: str = "promise ingest"
    ) -> None:
        self.path = Path(warehouse) / LOCK_FILE
        self.wait_seconds = wait_seconds
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> WarehouseLock:
        modes = warehouse_modes()
        make_dirs(self.path.parent, modes)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, modes.file)
        if created:
            os.fchmod(fd, modes.file)  # whatever the umask
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WarehouseLockedError(
                        f"another `promise ingest` or `promise build` is writing to "
                        f"{self.path.parent}; wait for it to finish and run `{self.command}` "
                        "again (nothing was done)."
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


def record_fingerprint(warehouse: Path, fingerprint: str) -> None:
    """Store the key fingerprint on the first load (write to a temporary name, then rename)."""
    path = Path(warehouse) / FINGERPRINT_FILE
    if path.is_file():
        return
    tmp = path.with_suffix(".tmp")
    mode = warehouse_modes().file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(fingerprint + "\n")
    tmp.chmod(mode)  # whatever the umask
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
    live = ""
    if manifest_files(warehouse):
        rows = f"read_parquet('{manifest}', union_by_name = true)"
        if "supersedes" in con.sql(f"SELECT * FROM {rows} LIMIT 0").columns:
            # a correction's load supersedes the earlier load of its file name: marked here,
            # left out of raw.<source> (promise.ingest.corrections; the marts do the same)
            con.execute(
                f"CREATE VIEW manifest AS SELECT m.*, s.load_id AS superseded_by FROM {rows} m "
                f"LEFT JOIN (SELECT load_id, supersedes FROM {rows} WHERE supersedes IS NOT NULL) s "
                "ON s.supersedes = m.load_id"
            )
            live = f" WHERE _load_id NOT IN (SELECT supersedes FROM {rows} WHERE supersedes IS NOT NULL)"
        else:
            con.execute(f"CREATE VIEW manifest AS SELECT * FROM {rows}")
        con.execute(
            f"CREATE VIEW quarantine AS SELECT * FROM read_parquet('{quarantine}', union_by_name = true)"
        )
    else:
        con.execute(
            "CREATE VIEW manifest AS SELECT * FROM (SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, "
            "NULL::VARCHAR AS file, NULL::VARCHAR AS sha256, NULL::BIGINT AS rows_in, NULL::BIGINT AS rows_loaded, "
            "NULL::BIGINT AS rows_quarantined, NULL::VARCHAR AS contract_version, NULL::VARCHAR AS key_fingerprint, "
            "NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS finished_at, NULL::VARCHAR AS supersedes, "
            "NULL::BIGINT AS rows_added, NULL::BIGINT AS rows_removed, NULL::VARCHAR AS superseded_by) WHERE false"
        )
        con.execute(
            "CREATE VIEW quarantine AS SELECT * FROM (SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, "
            "NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL::VARCHAR AS column, NULL::VARCHAR AS reason, "
            "NULL::VARCHAR AS detail, NULL::VARCHAR AS record) WHERE false"
        )
    for source in sources(warehouse):
        data = _sql_path(root / source / "*" / "data*.parquet")
        con.execute(
            f"CREATE VIEW raw.\"{source}\" AS SELECT * FROM read_parquet('{data}', union_by_name = true){live}"
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
