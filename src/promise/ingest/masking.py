"""Keep personnummer out of everything ingestion writes, whatever shape the text has.

Three tools, from strict to broad:

- :func:`holds_personnummer` decides whether a free-text value may be loaded: no run that
  could be a number in a separator-free or ``-``/``+`` form (10 or more digits, or 6+ digits,
  ``-``/``+``, 4+ digits, valid or not), and no ``YYMMDD NNNC`` / ``YYYYMMDD NNNC`` written
  with a space (or another blank) that parses as a valid number (Luhn digit and date);
- :func:`pseudonymise_text` rewrites one line of text: each valid number in any written
  form becomes ``person_id:<pseudonym>``, anything else shaped like one ``***MASKED***``;
- :func:`mask_expr` and :func:`mask_text` replace every shape that could hide a number
  (blank-separated forms included, valid or not) by ``***MASKED***``: used on every
  quarantine record and on genotype header lines, as a last line of defence.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial

import polars as pl

from promise.pnr import InvalidPersonnummer, parse
from promise.pseudonym import Pseudonymizer

MASK = "***MASKED***"
#: shapes a value may not have to be loaded: separator-free, ``-`` or ``+`` forms, valid or not
PNR_LIKE = r"[0-9]{10,}|[0-9]{6,}[-+][0-9]{4,}"
#: every shape masked in quarantine records and header lines: also blank-separated forms
MASKED_SHAPES = r"[0-9]{10,}|[0-9]{6,}[-+\s][0-9]{4,}"
#: a cheap test for a blank-separated candidate, run before the exact one
_SPACED_HINT = r"[0-9]{6}\s[0-9]{4}"
_MASKED = re.compile(MASKED_SHAPES)
#: one number in any written form: 6 or 8 digits, an optional ``-``, ``+`` or blank, 4 digits
_TOKEN = re.compile(r"(?<![0-9])(?:[0-9]{8}|[0-9]{6})[-+\s]?[0-9]{4}(?![0-9])")
_SPACED = re.compile(r"(?<![0-9])((?:[0-9]{8}|[0-9]{6}))\s([0-9]{4})(?![0-9])")


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised: every personnummer-like token in a string column becomes ``***MASKED***``."""
    return expr.str.replace_all(MASKED_SHAPES, MASK)


def mask_text(text: str) -> str:
    """:func:`mask_expr` for one string (a header line, a file name)."""
    return _MASKED.sub(MASK, text)


def _parses(token: str, reference_date: date) -> str | None:
    """The normalised number a token is, or None (a blank separator reads as ``-``)."""
    compact = re.sub(r"\s", "", token)
    if len(compact) == 10 and compact != token:
        compact = f"{compact[:6]}-{compact[6:]}"
    try:
        return parse(compact, reference_date=reference_date).normalized
    except InvalidPersonnummer:
        return None


def pseudonymise_text(text: str, *, pseudonymizer: Pseudonymizer, reference_date: date) -> str:
    """One line of free text with each valid number replaced by ``person_id:<pseudonym>``."""

    found: list[str] = []

    def replace(match: re.Match[str]) -> str:
        number = _parses(match.group(0), reference_date)
        if number is None:
            return MASK
        found.append(pseudonymizer.person_id(number))
        return f"\x00{len(found) - 1}\x00"

    masked = _MASKED.sub(MASK, _TOKEN.sub(replace, text.replace("\x00", "")))
    for k, person_id in enumerate(found):
        masked = masked.replace(f"\x00{k}\x00", f"person_id:{person_id}")
    return masked


def spaced_personnummer(text: str, *, reference_date: date) -> bool:
    """Whether ``text`` holds a blank-separated form that parses as a valid number."""
    return any(
        _parses(f"{m.group(1)} {m.group(2)}", reference_date) is not None
        for m in _SPACED.finditer(text)
    )


def _spaced_column(values: pl.Series, *, reference_date: date) -> pl.Series:
    """:func:`spaced_personnummer` for a column: only rows with a candidate reach Python."""
    hints = values.str.contains(_SPACED_HINT).fill_null(False)
    flags = [False] * values.len()
    for i in hints.arg_true().to_list():
        flags[i] = spaced_personnummer(str(values[i]), reference_date=reference_date)
    return pl.Series(values.name, flags, dtype=pl.Boolean)


def holds_personnummer(expr: pl.Expr, *, reference_date: date) -> pl.Expr:
    """Vectorised: whether a value could be, or holds, a personnummer in any written form."""
    spaced = expr.map_batches(
        partial(_spaced_column, reference_date=reference_date), return_dtype=pl.Boolean
    )
    return expr.str.contains(PNR_LIKE) | spaced


def looks_like_personnummer(expr: pl.Expr) -> pl.Expr:
    """Vectorised: whether a value has a shape that could hide a number (blank forms included)."""
    return expr.str.contains(MASKED_SHAPES)
