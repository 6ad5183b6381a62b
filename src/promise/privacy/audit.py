"""The export audit: one JSON object a line in ``WAREHOUSE/exports/audit.jsonl``.

Every export is recorded before its file appears (time, user, host, what was exported with
which variables, the query text, threshold and rounding, output path and SHA-256, cells
suppressed). The file lives in the warehouse but outside ``promise.duckdb``, which every
build replaces; lines are only ever appended (``O_APPEND``, one ``write`` a record, then
``fsync``), and the confined SQL connection shows them as the view ``export_audit``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from promise.errors import PromiseError

AUDIT_FILE = Path("exports") / "audit.jsonl"
DIR_MODE = 0o750
FILE_MODE = 0o640


def audit_path(warehouse: Path) -> Path:
    """``WAREHOUSE/exports/audit.jsonl``."""
    return Path(warehouse) / AUDIT_FILE


def append(warehouse: Path, record: dict[str, Any]) -> None:
    """Append one record; an export whose record cannot be written does not happen."""
    path = audit_path(warehouse)
    line = (json.dumps(record, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()
    try:
        path.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PromiseError(
            f"the export audit {path} cannot be written ({exc.strerror}); nothing was exported."
        ) from exc


def records(warehouse: Path) -> list[dict[str, Any]]:
    """Every record so far, oldest first."""
    path = audit_path(warehouse)
    if not path.is_file():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise PromiseError(
                f"line {number} of the export audit {path} is not JSON; restore the file from "
                "a backup (it is append-only)."
            ) from exc
    return found
