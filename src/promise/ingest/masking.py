"""Keep personnummer out of quarantine records, whatever shape the rejected line has.

A token that is a valid personnummer in any written form is replaced by its pseudonym; then
any remaining run that could hide one (10 or more digits, or 6+ digits, ``-``/``+``, 4+
digits, whatever surrounds it) becomes ``***MASKED***``. Used on every quarantine record as
a second line of defence after the personnummer column itself has been replaced.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from promise.pnr import InvalidPersonnummer, parse
from promise.pseudonym import Pseudonymizer

MASK = "***MASKED***"
PNR_LIKE = r"[0-9]{10,}|[0-9]{6,}[-+][0-9]{4,}"
_PNR_LIKE = re.compile(PNR_LIKE)
_TOKEN = re.compile(r"(?<![0-9])(?:[0-9]{8}|[0-9]{6})[-+]?[0-9]{4}(?![0-9])")


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised: every personnummer-like token in a string column becomes ``***MASKED***``."""
    return expr.str.replace_all(PNR_LIKE, MASK)


def pseudonymise_text(text: str, *, pseudonymizer: Pseudonymizer, reference_date: date) -> str:
    """One line of free text with each valid number replaced by ``person_id:<pseudonym>``."""

    found: list[str] = []

    def replace(match: re.Match[str]) -> str:
        try:
            number = parse(match.group(0), reference_date=reference_date)
        except InvalidPersonnummer:
            return MASK
        found.append(pseudonymizer.person_id(number.normalized))
        return f"\x00{len(found) - 1}\x00"

    masked = _PNR_LIKE.sub(MASK, _TOKEN.sub(replace, text.replace("\x00", "")))
    for k, person_id in enumerate(found):
        masked = masked.replace(f"\x00{k}\x00", f"person_id:{person_id}")
    return masked


def looks_like_personnummer(expr: pl.Expr) -> pl.Expr:
    """Vectorised: whether a value could hide a personnummer."""
    return expr.str.contains(PNR_LIKE)
