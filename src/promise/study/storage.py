"""Where study outputs live: ``WAREHOUSE/study/<name>/``, Parquet files readers see as
``study.<name>`` (the dataset) and ``study.<name>__<table>`` (attrition, cox, poisson, rates).

Not inside ``promise.duckdb``: ``promise build`` replaces that file atomically, which would
drop a study schema at every build. A study folder is written whole under a temporary name
and renamed into place, so a reader sees the previous build or the new one, never half.
Folders are mode 0750 and files 0640 (group-readable at most).

:data:`TABLES` is the seam for ``promise export``: it says which tables are individual-level
(never exportable) and which columns of the aggregate ones are counts the disclosure floor
must be applied to.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from promise.errors import PromiseError

STUDY_DIR = "study"
DATASET = "dataset"
DIR_MODE = 0o750
FILE_MODE = 0o640


class StudyNotBuiltError(PromiseError):
    """A study was asked for that has not been built in this warehouse."""


class StudyWriteError(PromiseError):
    """A study's outputs could not be written (disk full, permissions, a second writer)."""


@contextmanager
def study_lock(warehouse: Path, name: str) -> Iterator[None]:
    """Hold an exclusive lock on one study while it is built or fitted (released on exit,
    also when the process dies), so two writers never interleave."""
    root = study_root(warehouse)
    try:
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(root / f".lock-{name}", os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise StudyWriteError(f"cannot write under {root} ({exc.strerror}); check the warehouse folder's permissions.") from None  # fmt: skip
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyWriteError(f"another `promise study` is writing study '{name}' in {warehouse}; wait for it to finish and run again.") from None  # fmt: skip
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StudyTable:
    """One table a study writes, and what an export must do with it."""

    name: str
    individual_level: bool
    count_columns: tuple[str, ...]
    grain: str


TABLES = (
    StudyTable(DATASET, True, (), "One row per person who meets every population criterion."),
    StudyTable("attrition", False, ("persons_before", "excluded", "remaining"),
               "One row per population criterion, in the order applied."),
    StudyTable("cox", False, ("n_persons", "n_events", "n_competing", "n_missing"),
               "One row per outcome and model term of the latest Cox fit of that outcome."),
    StudyTable("poisson", False, ("n_persons", "n_events", "n_competing", "n_missing"),
               "One row per outcome and model term of the latest Poisson fit of that outcome."),
    StudyTable("rates", False, ("persons", "events"),
               "One row per outcome and group (all, or an exposure's level)."),
)  # fmt: skip


def study_root(warehouse: Path) -> Path:
    """``WAREHOUSE/study``."""
    return Path(warehouse) / STUDY_DIR


def study_dir(warehouse: Path, name: str) -> Path:
    """``WAREHOUSE/study/<name>``."""
    return study_root(warehouse) / name


def view_name(study: str, table: str) -> str:
    """The SQL name readers use: ``study.<name>`` or ``study.<name>__<table>``."""
    return study if table == DATASET else f"{study}__{table}"


def _write_table(table: pl.DataFrame, path: Path) -> None:
    table.write_parquet(path, compression="zstd")
    path.chmod(FILE_MODE)


def publish_study(warehouse: Path, name: str, tables: dict[str, pl.DataFrame], meta: dict[str, Any], definition_text: str) -> Path:  # fmt: skip
    """Write a whole study folder under a temporary name, then swap it into place."""
    root = study_root(warehouse)
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tmp = root / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(mode=DIR_MODE)
        for table_name, table in tables.items():
            _write_table(table, tmp / f"{table_name}.parquet")
        (tmp / "definition.yml").write_text(definition_text, encoding="utf-8")
        (tmp / "build.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        for extra in ("definition.yml", "build.json"):
            (tmp / extra).chmod(FILE_MODE)
        target = study_dir(warehouse, name)
        old = root / f".old-{name}-{uuid.uuid4().hex[:8]}"
        if target.exists():
            target.rename(old)
        try:
            tmp.rename(target)
        except OSError:
            if old.exists() and not target.exists():
                old.rename(target)  # put the previous build back
            raise
    except OSError as exc:
        raise StudyWriteError(f"could not write study '{name}' under {root} ({exc.strerror}); free space or fix permissions and build again (the previous build is unchanged).") from None  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for stale in root.glob(f".old-{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return target


def replace_table(warehouse: Path, name: str, table_name: str, table: pl.DataFrame) -> Path:
    """Write one table of a built study (a fit's results) by atomic rename."""
    folder = require_built(warehouse, name)
    tmp = folder / f".{table_name}.{uuid.uuid4().hex[:8]}.parquet"
    try:
        _write_table(table, tmp)
        tmp.replace(folder / f"{table_name}.parquet")
    except OSError as exc:
        raise StudyWriteError(f"could not write {table_name} of study '{name}' ({exc.strerror}); free space or fix permissions and fit again.") from None  # fmt: skip
    finally:
        tmp.unlink(missing_ok=True)
    return folder / f"{table_name}.parquet"


def require_built(warehouse: Path, name: str) -> Path:
    """The study's folder, or a one-sentence error saying how to build it."""
    folder = study_dir(warehouse, name)
    if not (folder / f"{DATASET}.parquet").is_file():
        raise StudyNotBuiltError(
            f"study '{name}' has not been built in warehouse {warehouse}; run `promise study build {name}` first."
        )
    return folder


def read_meta(warehouse: Path, name: str) -> dict[str, Any]:
    """The build record (``build.json``) of a built study."""
    meta: dict[str, Any] = json.loads((require_built(warehouse, name) / "build.json").read_text())
    return meta


def read_table(warehouse: Path, name: str, table_name: str) -> pl.DataFrame | None:
    """A table of a built study, or None when it has not been written."""
    path = require_built(warehouse, name) / f"{table_name}.parquet"
    return pl.read_parquet(path) if path.is_file() else None


def published(warehouse: Path) -> list[tuple[str, StudyTable, Path]]:
    """Every published table of every study: (study name, table, file), in name order.

    Folders and files starting with ``.`` are being written (or are a fit's temporary file)
    and are never read; a file that no :data:`TABLES` entry describes is skipped.
    """
    root = study_root(warehouse)
    if not root.is_dir():
        return []
    described = {t.name: t for t in TABLES}
    return [
        (path.parent.name, described[path.stem], path)
        for path in sorted(root.glob("[!.]*/[!.]*.parquet"))
        if path.stem in described
    ]


def table_of(name: str) -> StudyTable:
    """The :data:`TABLES` entry called ``name``."""
    return next(t for t in TABLES if t.name == name)


def outputs(warehouse: Path, name: str) -> list[tuple[StudyTable, Path]]:
    """Every table a built study has, with what an export must do with it (the export seam)."""
    folder = require_built(warehouse, name)
    return [
        (t, folder / f"{t.name}.parquet")
        for t in TABLES
        if (folder / f"{t.name}.parquet").is_file()
    ]
