"""Replace the personnummer by ``person_id`` (keyed pseudonym) and what it tells: birth date, sex.

This module and :mod:`promise.ingest.masking` are the only ingest modules that see a
personnummer in clear; nothing they return contains one.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from promise.ingest.checks import INVALID_PNR, MISSING, Failure
from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer

PERSON_TYPES: dict[str, pl.DataType] = {
    "person_id": pl.Utf8(),
    "birth_date": pl.Date(),
    "sex": pl.Utf8(),
    "is_coordination_number": pl.Boolean(),
}


def add_person_columns(
    frame: pl.DataFrame, column: str, *, pseudonymizer: Pseudonymizer, reference_date: date
) -> pl.DataFrame:
    """Add ``person_id``, ``birth_date``, ``sex``, ``is_coordination_number`` and ``_pnr_reason``.

    Each distinct value of the chunk is parsed and hashed once, then joined back.
    """
    distinct = frame.select(pl.col(column).drop_nulls().unique()).to_series()
    parsed = parse_column(distinct, reference_date=reference_date)
    lookup = pl.DataFrame(
        {
            "_pnr_value": distinct,
            "person_id": pseudonymizer.person_ids(parsed["normalized"]),
            "birth_date": parsed["birth_date"],
            "sex": parsed["sex"],
            "is_coordination_number": parsed["is_coordination_number"],
            "_pnr_reason": parsed["reason"],
        },
        schema_overrides={"_pnr_value": pl.Utf8},
    )
    return frame.join(
        lookup, left_on=column, right_on="_pnr_value", how="left", maintain_order="left"
    )


def person_failures(column: str, *, required: bool) -> list[Failure]:
    """Rejecting conditions for the personnummer column (reason codes only, never the value)."""
    value = pl.col(column)
    failures = []
    if required:
        failures.append(
            Failure(column, MISSING, f"{column} is empty but required", value.is_null())
        )
    failures.append(
        Failure(
            column,
            INVALID_PNR,
            f"{column} is not a valid personnummer or samordningsnummer",
            value.is_not_null() & pl.col("person_id").is_null(),
        )
    )
    return failures


def pnr_detail_expr() -> pl.Expr:
    """Why the number was rejected (``check_digit``, ``date``, ...), from promise.pnr."""
    return pl.col("_pnr_reason")
