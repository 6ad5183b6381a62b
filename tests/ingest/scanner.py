"""The personnummer scanner of the privacy tests, written for the tests only.

Given the numbers planted in a landing folder (Skatteverket's test numbers), it lists every
written form of each (12 and 10 digits; ``-``, ``+`` or a blank between date and serial; no
separator) and looks for them in text: every file under the folders it is given (Parquet
decoded cell by cell, gzip decompressed, everything else as bytes, file names too), every
MatrixTable under them read through Hail (every column field, the globals and the row keys),
and any other text a test collects (error messages, the command's output).
"""

from __future__ import annotations

import contextlib
import gzip
import re
from pathlib import Path
from typing import Any

import polars as pl

_SEPARATED = re.compile(r"([0-9]{6,})([-+\s])([0-9]{4,})")


def written_forms(values: set[str]) -> set[str]:
    """All written forms of each value: 12 and 10 digits, with ``-``, ``+``, a blank or nothing."""
    forms: set[str] = set()
    for v in values:
        digits = re.sub(r"[^0-9]", "", v)
        ten = digits[-10:]
        forms.update({ten, *(f"{ten[:6]}{sep}{ten[6:]}" for sep in "-+ ")})
        if len(digits) == 12:
            forms.update({digits, *(f"{digits[:8]}{sep}{digits[8:]}" for sep in "-+ ")})
    return forms


def find_forms(text: str, forms: set[str]) -> set[str]:
    """The forms that occur in ``text``, also inside longer digit runs; any blank between
    date and serial (a tab, a no-break space) counts as the space form."""
    hits: set[str] = set()
    for m in re.finditer(r"[0-9]{10,}", text):
        run = m.group()
        for size in (10, 12):
            hits.update(
                run[i : i + size] for i in range(len(run) - size + 1) if run[i : i + size] in forms
            )
    for m in _SEPARATED.finditer(text):
        head, sep, tail = m.groups()
        sep = " " if sep.isspace() else sep
        hits.update(
            c for c in (head[-6:] + sep + tail[:4], head[-8:] + sep + tail[:4]) if c in forms
        )
    return hits


def file_text(path: Path) -> str:
    """One file as text: Parquet cell by cell, gzip decompressed, else its bytes as latin-1."""
    if path.suffix == ".parquet":
        try:
            frame = pl.read_parquet(path)
        except Exception:  # not Parquet after all: read the bytes
            return path.read_bytes().decode("latin-1")
        return frame.select(pl.all().cast(pl.Utf8)).write_csv()
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            data = gzip.decompress(data)
    return data.decode("latin-1")


def tree_text(root: Path) -> str:
    """Every file under ``root`` (and every name) as text."""
    parts = []
    for path in sorted(Path(root).rglob("*")):
        parts.append(path.relative_to(root).as_posix())
        if path.is_file() and not path.is_symlink():
            parts.append(file_text(path))
    return "\n".join(parts)


def matrix_table_text(hl: Any, path: Path) -> str:
    """A MatrixTable read through Hail: every column field, the globals, the row keys."""
    mt = hl.read_matrix_table(str(path))
    cols = [str(dict(row)) for row in mt.cols().collect()]
    rows = [str(dict(row)) for row in mt.rows().key_by().select(*mt.row_key).collect()]
    return "\n".join([str(hl.eval(mt.globals)), *cols, *rows])


def scan(
    places: list[Path], forms: set[str], *, hl: Any = None, extra: tuple[str, ...] = ()
) -> set[str]:
    """Every form found under ``places`` (MatrixTables through Hail when ``hl`` is given)
    and in ``extra`` texts."""
    texts = [tree_text(p) for p in places if p.is_dir()]
    if hl is not None:
        for place in places:
            texts += [
                matrix_table_text(hl, mt) for mt in place.rglob("*.mt") if (mt / "cols").is_dir()
            ]
    return find_forms("\n".join([*texts, *extra]), forms)
