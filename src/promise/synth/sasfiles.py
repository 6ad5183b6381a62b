"""The registers as SAS datasets or Stata files, the way Socialstyrelsen and SCB deliver them.

Each register's delimited file, once written, is rewritten with Debian's ``readstat`` tool:
its rows as a CSV plus a variable list (JSON) -> a ``.dta`` (Stata) -> for SAS, a
``.sas7bdat``. Every variable is text, as in the delimited file (planted impossible dates
stay impossible). Rows a SAS or Stata file cannot hold as delivered are left out and
``truth.json`` says so: a ragged row (a dataset has no fields to miss) and a line that is not
valid in its encoding. A SAS file of a latin-1 register keeps its latin-1 bytes and declares
ISO-8859-1 in its header (readstat itself writes only UTF-8); a Stata 118 file is UTF-8 by
definition. Files are named by order as Socialstyrelsen names them (``ut_r_par_sv_12345_...``,
``t_r_lmed__12345_...``); SCB's population files keep their names.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from promise.synth.malformed import FileSpec

SAS, STATA = "sas", "stata"
SUFFIX = {SAS: ".sas7bdat", STATA: ".dta"}
ORDER = "12345"
#: Socialstyrelsen's order names (``ut_r_<register>_<order>_<years>``); SCB files keep theirs
ORDER_NAMES = {
    "npr_inpatient/par_sv_diagnos_1987_1996.txt": f"npr_inpatient/ut_r_par_sv_diagnos_{ORDER}_1987_1996",
    "npr_inpatient/par_sv_1997_2025.txt": f"npr_inpatient/ut_r_par_sv_{ORDER}_1997_2025",
    "npr_outpatient/par_ov_2001_2025.txt": f"npr_outpatient/ut_r_par_ov_{ORDER}_2001_2025",
    "lmed/lmed_2005_2015.csv": f"lmed/t_r_lmed__{ORDER}_2005_2015",
    "lmed/lmed_2016_2025.csv": f"lmed/t_r_lmed__{ORDER}_2016_2025",
    "dors/dors.csv": f"dors/ut_r_dors_{ORDER}",
    "cancer/cancer.csv": f"cancer/ut_r_can_{ORDER}",
}
SAS_ENCODING_OFFSET, SAS_LATIN1 = 70, 29  # the header's character-set code: ISO-8859-1


class ReadstatMissingError(RuntimeError):
    """Debian's ``readstat`` is not installed (``bash scripts/ensure-readstat.sh``)."""


def rewrite_registers(
    out: Path, files: dict[str, dict[str, Any]], specs: list[FileSpec], kind: str
) -> dict[str, dict[str, Any]]:
    """Rewrite each register file of ``specs`` as ``kind`` (sas or stata); the new ``files``
    section of truth.json (paths, rows and planted defects of the rewritten files)."""
    if shutil.which("readstat") is None:
        raise ReadstatMissingError(
            "readstat is not installed: run `bash scripts/ensure-readstat.sh` (Debian package "
            "readstat) to write SAS or Stata files."
        )
    out_files = dict(files)
    for spec in specs:
        source = out / spec.path
        target = (ORDER_NAMES.get(spec.path) or spec.path.rsplit(".", 1)[0]) + SUFFIX[kind]
        entry = dict(out_files.pop(spec.path))
        kept, dropped = write_dataset(source, out / target, spec, kind)
        entry["rows"] = kept
        entry["malformed"] = {**entry["malformed"], **{k: 0 for k in dropped}}
        entry["encoding"] = spec.encoding if kind == SAS else "utf-8"
        out_files[target] = entry
        source.unlink()
    return dict(sorted(out_files.items()))


def write_dataset(source: Path, target: Path, spec: FileSpec, kind: str) -> tuple[int, set[str]]:
    """One delimited file as a SAS or Stata file; (rows written, defect kinds left out)."""
    encoding = spec.encoding if kind == SAS else "utf-8"
    dropped: set[str] = set()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        rows_csv, meta = Path(tmp) / "rows.csv", Path(tmp) / "rows.json"
        kept = _rows_csv(source, rows_csv, spec, encoding, dropped)
        meta.write_text(
            json.dumps(
                {
                    "type": "STATA",
                    "variables": [{"type": "STRING", "name": c} for c in spec.columns],
                }
            )
        )
        dta = target if kind == STATA else Path(tmp) / "rows.dta"
        _readstat(rows_csv, meta, dta)
        if kind == SAS:
            _readstat(dta, target)
            if encoding == "latin-1":
                declare_latin1(target)
    return kept, dropped


def declare_latin1(path: Path) -> None:
    """Set a SAS dataset's header character set to ISO-8859-1 (its text bytes are latin-1)."""
    with path.open("r+b") as handle:
        handle.seek(SAS_ENCODING_OFFSET)
        handle.write(bytes([SAS_LATIN1]))


def _rows_csv(source: Path, out: Path, spec: FileSpec, encoding: str, dropped: set[str]) -> int:
    """The data lines of ``source`` as a CSV in ``encoding``: ragged and undecodable lines
    left out (their kinds added to ``dropped``)."""
    kept = 0
    n = len(spec.columns)
    with (
        source.open("rb") as lines,
        out.open("w", encoding=encoding, newline="") as handle,
    ):
        writer = csv.writer(handle, lineterminator="\n")
        header = lines.readline()
        del header
        writer.writerow(spec.columns)
        for raw in lines:
            try:
                text = raw.rstrip(b"\n").decode(spec.encoding)
            except UnicodeDecodeError:
                dropped.add("wrong_encoding")
                continue
            fields = text.split(spec.delimiter)
            if len(fields) != n:
                dropped.add("ragged_row")
                continue
            writer.writerow(fields)
            kept += 1
    return kept


def _readstat(*paths: Path) -> None:
    done = subprocess.run(
        ["readstat", "-f", *map(str, paths)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"readstat failed on {paths[0].name}: {done.stderr.strip()}")
