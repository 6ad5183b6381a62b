"""Planted malformed rows: each is a copy of a clean row with exactly one defect.

The kinds and what ingestion does with them are fixed in docs/interfaces.md section 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

KINDS = (
    "bad_check_digit",
    "impossible_date",
    "unknown_code",
    "duplicate_row",
    "wrong_encoding",
    "ragged_row",
)
RATE_PER_KIND = 0.0007


@dataclass(frozen=True)
class FileSpec:
    """Layout of one landing file, enough to plant defects in its rows."""

    path: str
    columns: tuple[str, ...]
    delimiter: str
    encoding: str  # "latin-1" or "utf-8"
    bom: bool = False
    pnr_col: int | None = None
    date_col: int | None = None
    date_style: str = "ymd"  # ymd | iso | diadat
    code_col: int | None = None
    unknown_code: str = "XX!9"
    code_first_token: bool = False
    text_col: int = 0

    @property
    def kinds(self) -> tuple[str, ...]:
        """The defect kinds that apply to this file."""
        out = []
        for kind in KINDS:
            if kind == "bad_check_digit" and self.pnr_col is None:
                continue
            if kind == "impossible_date" and self.date_col is None:
                continue
            if kind == "unknown_code" and self.code_col is None:
                continue
            if kind == "wrong_encoding" and self.encoding != "utf-8":
                continue
            out.append(kind)
        return tuple(out)


def bad_check_digit(spec: FileSpec, fields: list[str], rng: np.random.Generator) -> str:
    """The PersonNr with its Luhn digit replaced by a different digit."""
    assert spec.pnr_col is not None
    value = fields[spec.pnr_col]
    digit = (int(value[-1]) + int(rng.integers(1, 10))) % 10
    fields[spec.pnr_col] = value[:-1] + str(digit)
    return spec.delimiter.join(fields)


def impossible_date(spec: FileSpec, fields: list[str], rng: np.random.Generator) -> str:
    """A date that does not exist, in the column's own format."""
    assert spec.date_col is not None
    value = fields[spec.date_col]
    year = value[:4]
    if spec.date_style == "iso":
        fields[spec.date_col] = f"{year}-02-30"
    elif spec.date_style == "diadat" and len(value) == 6:
        fields[spec.date_col] = f"{year}13"
    else:
        fields[spec.date_col] = year + ("0230", "1315", "0431")[int(rng.integers(0, 3))]
    return spec.delimiter.join(fields)


def unknown_code(spec: FileSpec, fields: list[str], rng: np.random.Generator) -> str:
    """A code that matches no allowed pattern."""
    assert spec.code_col is not None
    if spec.code_first_token:
        tokens = fields[spec.code_col].split(" ")
        fields[spec.code_col] = " ".join([spec.unknown_code, *tokens[1:]])
    else:
        fields[spec.code_col] = spec.unknown_code
    return spec.delimiter.join(fields)


def ragged_row(spec: FileSpec, fields: list[str], rng: np.random.Generator) -> str:
    """One field too many or too few."""
    if rng.random() < 0.5:
        return spec.delimiter.join([*fields, "x"])
    return spec.delimiter.join(fields[:-1])


def wrong_encoding(spec: FileSpec, fields: list[str], rng: np.random.Generator) -> bytes:
    """A latin-1 ``å`` (byte 0xE5) at the end of a text field of a UTF-8 file."""
    parts = [f.encode("utf-8") for f in fields]
    parts[spec.text_col] = parts[spec.text_col] + "å".encode("latin-1")
    return spec.delimiter.encode("utf-8").join(parts)


def make(kind: str, spec: FileSpec, line: str, rng: np.random.Generator) -> str | bytes:
    """A malformed copy of ``line`` of the given kind."""
    if kind == "duplicate_row":
        return line
    fields = line.split(spec.delimiter)
    if kind == "wrong_encoding":
        return wrong_encoding(spec, fields, rng)
    makers: dict[str, Callable[[FileSpec, list[str], np.random.Generator], str]] = {
        "bad_check_digit": bad_check_digit,
        "impossible_date": impossible_date,
        "unknown_code": unknown_code,
        "ragged_row": ragged_row,
    }
    return makers[kind](spec, fields, rng)
