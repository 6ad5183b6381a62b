"""What a load reports: one :class:`FileResult` per file, and the manifest row it becomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

LOADED = "loaded"
SKIPPED = "skipped"
DRY_RUN = "dry run (not loaded)"

#: progress(file label, records done, records in the file)
Progress = Callable[[str, int, int], None]

MANIFEST_SCHEMA: dict[str, pl.DataType] = {
    "load_id": pl.Utf8(),
    "source": pl.Utf8(),
    "file": pl.Utf8(),
    "sha256": pl.Utf8(),
    "rows_in": pl.Int64(),
    "rows_loaded": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "contract_version": pl.Utf8(),
    "key_fingerprint": pl.Utf8(),
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    # a correction: the load it supersedes (same file name, other bytes) and what changed
    "supersedes": pl.Utf8(),
    "rows_added": pl.Int64(),
    "rows_removed": pl.Int64(),
}


@dataclass
class FileResult:
    """The outcome for one landing file."""

    source: str
    file: str
    sha256: str
    status: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    load_id: str | None = None
    note: str | None = None
    supersedes: str | None = None  # load_id of the earlier load of the same file name
    rows_added: int | None = None
    rows_removed: int | None = None

    def reconciles(self) -> bool:
        """rows_in = rows_loaded + rows_quarantined."""
        return self.rows_in == self.rows_loaded + self.rows_quarantined


def manifest_frame(
    result: FileResult,
    *,
    contract_version: str,
    key_fingerprint: str,
    started_at: datetime,
    finished_at: datetime,
) -> pl.DataFrame:
    """The manifest row of one load."""
    row = {
        "load_id": result.load_id,
        "source": result.source,
        "file": result.file,
        "sha256": result.sha256,
        "rows_in": result.rows_in,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "contract_version": contract_version,
        "key_fingerprint": key_fingerprint,
        "started_at": started_at,
        "finished_at": finished_at,
        "supersedes": result.supersedes,
        "rows_added": result.rows_added,
        "rows_removed": result.rows_removed,
    }
    return pl.DataFrame([row], schema=MANIFEST_SCHEMA)
