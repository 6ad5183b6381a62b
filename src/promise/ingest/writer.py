"""Write one load into a temporary folder, then publish it with a single rename.

The folder ``WAREHOUSE/.tmp/<load_id>/`` receives ``data.parquet``, ``quarantine.parquet``
and ``manifest.parquet``; every file is flushed to disk before the folder is renamed to
``raw/<source>/<load_id>/``, so readers see the whole load or nothing of it. A run keeps its
written loads in :class:`PendingLoads` and publishes them only once every file of the
delivery is written, so a failure anywhere leaves the warehouse as it was.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from promise.warehouse import Modes, apply_modes, make_dirs

#: DuckDB's own default: cheaper to write than zstd, for files about 1.4x larger
COMPRESSION: Final = "snappy"
#: increasing and distinct: delta-encoded, not dictionary-encoded (a dictionary of every
#: value is built and then thrown away)
DELTA_COLUMNS: Final = ("_source_line",)
#: Polars' own string layout (Arrow string views): no copy on the way to the Parquet writer
ARROW_LEVEL: Final = pl.CompatLevel.newest()


class TableWriter:
    """Append Polars frames with one fixed schema to one Parquet file, row group by row group.

    Encoding and compressing a row group runs on a background thread (pyarrow releases the
    GIL) while the next chunk is validated; at most one row group waits, so memory stays bounded.
    """

    def __init__(self, path: Path, schema: dict[str, pl.DataType]) -> None:
        self.path = path
        self.schema = schema
        self._arrow_schema = pl.DataFrame(schema=schema).to_arrow(compat_level=ARROW_LEVEL).schema
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[None] | None = None
        delta = [name for name in DELTA_COLUMNS if schema.get(name) == pl.Int64()]
        self._writer = pq.ParquetWriter(
            str(path),
            self._arrow_schema,
            compression=COMPRESSION,
            use_dictionary=[name for name in schema if name not in delta],
            column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
        )
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (cast to the schema) as one row group."""
        if frame.height == 0:
            return
        typed = frame.select([pl.col(n).cast(t) for n, t in self.schema.items()])
        # column by column, each with its own chunks: a DataFrame's to_arrow first copies
        # columns into aligned chunks (the CSV reader's columns come in several), which cost
        # a fifth of the writing; the Parquet writer takes differently chunked columns as is
        batch = pa.Table.from_arrays(
            [
                pa.chunked_array(column, type=field.type)
                for column, field in zip(typed.get_columns(), self._arrow_schema, strict=True)
            ],
            schema=self._arrow_schema,
        )
        self._wait()
        self._pending = self._pool.submit(self._writer.write_table, batch)
        self.rows += frame.height

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        """Finish the file (an empty file still carries the schema) and flush it to disk."""
        self._wait()
        self._pool.shutdown()
        self._writer.close()
        fsync_file(self.path)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pool.shutdown(wait=True)
        self._writer.close()


def write_frame(path: Path, frame: pl.DataFrame) -> None:
    """Write a small frame as one Parquet file and flush it."""
    frame.write_parquet(path, compression=COMPRESSION)
    fsync_file(path)


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path, modes: Modes) -> None:
    """Make ``tmp`` visible as ``final`` with one atomic rename (same filesystem), with the
    warehouse's permissions (the temporary files were private to this process)."""
    make_dirs(final.parent, modes)
    apply_modes(tmp, modes)
    fsync_dir(tmp)
    tmp.rename(final)
    fsync_dir(final.parent)


@dataclass
class PendingLoads:
    """Loads written under ``.tmp`` and not yet visible, in the order they will be published."""

    modes: Modes
    moves: list[tuple[Path, Path]] = field(default_factory=list)

    def add(self, tmp: Path, final: Path) -> None:
        """Publish ``tmp`` as ``final`` when the whole delivery is written."""
        self.moves.append((tmp, final))

    def staged(self, target: Path) -> list[Path]:
        """Written but unpublished load folders whose destination is under ``target``."""
        return [tmp for tmp, final in self.moves if final.parent == target]

    def finals(self) -> list[Path]:
        """Where each pending load will be published."""
        return [final for _, final in self.moves]

    def publish_all(self) -> None:
        """Publish every load, each with one rename (a kill between two leaves whole loads)."""
        for tmp, final in self.moves:
            publish(tmp, final, self.modes)
        self.moves.clear()


def write_private_text(path: Path, text: str) -> Path:
    """Write a temporary text file readable by this user only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def private_dir(path: Path) -> Path:
    """A fresh folder readable by this user only (mode 0700), emptied if it existed."""
    remove_tree(path)
    path.mkdir(parents=True, mode=0o700)
    path.chmod(0o700)
    return path


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (so a rename survives a power cut, not only a kill)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove a folder left behind by an interrupted load."""
    shutil.rmtree(path, ignore_errors=True)
