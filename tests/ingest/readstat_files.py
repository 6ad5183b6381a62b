"""SAS and Stata test files written by Debian's ``readstat`` tool, not by promise.

Rows (text or numbers) go to a CSV with a variable list (JSON, readstat's own schema), which
``readstat`` turns into a ``.dta`` and that into a ``.sas7bdat``. ``readstat`` writes SAS
text as UTF-8 and says so in the header; :func:`declare_charset` sets the header's
character-set code (byte 70 of a SAS file, ReadStat's ``sas_header_start_t``) so that a file
of latin-1 bytes declares ISO-8859-1 (code 29), as a SAS session in WLATIN1 would.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

LATIN1_CODE = 29


def need_readstat() -> None:
    """Skip outside CI when readstat is missing (``make test`` installs it); fail in CI."""
    import os

    if shutil.which("readstat") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("readstat is missing: bash scripts/ensure-readstat.sh")
        pytest.skip("readstat is missing: bash scripts/ensure-readstat.sh")


def write_readstat(
    path: Path,
    columns: list[str],
    rows: list[list[str]],
    *,
    numeric: tuple[str, ...] = (),
    encoding: str = "utf-8",
) -> Path:
    """``rows`` as ``path`` (``.sas7bdat`` or ``.dta``); ``numeric`` columns as numbers."""
    need_readstat()
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.parent / f".{path.name}.work"
    work.mkdir(exist_ok=True)
    rows_csv, meta, dta = work / "rows.csv", work / "rows.json", work / "rows.dta"
    with rows_csv.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    variables = [{"type": "NUMERIC" if c in numeric else "STRING", "name": c} for c in columns]
    meta.write_text(json.dumps({"type": "STATA", "variables": variables}))
    _run(rows_csv, meta, path if path.suffix == ".dta" else dta)
    if path.suffix == ".sas7bdat":
        _run(dta, path)
        if encoding == "latin-1":
            declare_charset(path, LATIN1_CODE)
    shutil.rmtree(work)
    return path


def declare_charset(path: Path, code: int) -> None:
    """Set the character-set code in a SAS file's header."""
    with path.open("r+b") as handle:
        handle.seek(70)
        handle.write(bytes([code]))


def _run(*paths: Path) -> None:
    done = subprocess.run(["readstat", "-f", *map(str, paths)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
