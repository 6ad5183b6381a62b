"""Keep personnummer out of quarantine records, whatever shape the rejected line has.

Any token that looks like a personnummer (10 or 12 digits, optional ``-``/``+`` before the
last four) is replaced by its pseudonym when it is a valid number and by ``***MASKED***``
otherwise. Used on every quarantine record as a second line of defence after the
personnummer column itself has been replaced.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from promise.pnr import InvalidPersonnummer, parse
from promise.pseudonym import Pseudonymizer

MASK = "***MASKED***"
PNR_LIKE = r"\b(?:[0-9]{8}|[0-9]{6})[-+]?[0-9]{4}\b"
_PNR_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{8}|[0-9]{6})[-+]?[0-9]{4}(?![0-9A-Za-z])")


def mask_expr(expr: pl.Expr) -> pl.Expr:
    """Vectorised: every personnummer-like token in a string column becomes ``***MASKED***``."""
    return expr.str.replace_all(PNR_LIKE, MASK)


def pseudonymise_text(text: str, *, pseudonymizer: Pseudonymizer, reference_date: date) -> str:
    """One line of free text with each valid number replaced by ``person_id:<pseudonym>``."""

    def replace(match: re.Match[str]) -> str:
        try:
            number = parse(match.group(0), reference_date=reference_date)
        except InvalidPersonnummer:
            return MASK
        return f"person_id:{pseudonymizer.person_id(number.normalized)}"

    return _PNR_LIKE.sub(replace, text)
