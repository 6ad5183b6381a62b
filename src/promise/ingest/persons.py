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


class PersonIds:
    """Pseudonyms with a bounded cache: each distinct number is hashed once per cache life."""

    def __init__(self, pseudonymizer: Pseudonymizer, *, max_cached: int = 2_000_000) -> None:
        self.pseudonymizer = pseudonymizer
        self.max_cached = max_cached
        self._cache: dict[str, str] = {}

    def of(self, normalized: pl.Series) -> pl.Series:
        """``person_id`` for each normalised number (null stays null)."""
        distinct = normalized.drop_nulls().unique().to_list()
        missing = [v for v in distinct if v not in self._cache]
        if len(self._cache) + len(missing) > self.max_cached:
            self._cache.clear()
            missing = distinct
        self._cache.update(
            zip(
                missing,
                self.pseudonymizer.person_ids(pl.Series(missing, dtype=pl.Utf8)).to_list(),
                strict=True,
            )
        )
        mapping = {v: self._cache[v] for v in distinct}
        return normalized.replace_strict(mapping, default=None, return_dtype=pl.Utf8).alias(
            "person_id"
        )


class PersonLookup:
    """Written number -> person columns, parsed and hashed once per distinct written value.

    A bounded cache (a Polars frame) carries the lookups from chunk to chunk, so a person
    seen on many rows is parsed once; past ``max_cached`` values it starts again.
    """

    def __init__(
        self, person_ids: PersonIds, *, reference_date: date, max_cached: int = 2_000_000
    ) -> None:
        self.person_ids = person_ids
        self.reference_date = reference_date
        self.max_cached = max_cached
        self._cache = pl.DataFrame(schema=LOOKUP_SCHEMA)

    def add_columns(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """Add ``person_id``, ``birth_date``, ``sex``, ``is_coordination_number``, ``_pnr_reason``."""
        distinct = frame.select(pl.col(column).drop_nulls().unique().alias("_pnr_value"))
        new = distinct.join(self._cache, on="_pnr_value", how="anti").to_series()
        if new.len():
            if self._cache.height + new.len() > self.max_cached:
                self._cache = self._cache.clear()
            self._cache = pl.concat([self._cache, self._lookup(new)], how="vertical")
        looked = frame.select(pl.col(column).alias("_pnr_value")).join(
            self._cache, on="_pnr_value", how="left", maintain_order="left"
        )
        return frame.hstack(looked.drop("_pnr_value").get_columns())

    def _lookup(self, values: pl.Series) -> pl.DataFrame:
        parsed = parse_column(values, reference_date=self.reference_date)
        return pl.DataFrame(
            {
                "_pnr_value": values,
                "person_id": self.person_ids.of(parsed["normalized"]),
                "birth_date": parsed["birth_date"],
                "sex": parsed["sex"],
                "is_coordination_number": parsed["is_coordination_number"],
                "_pnr_reason": parsed["reason"],
            }
        ).cast(LOOKUP_SCHEMA)  # type: ignore[arg-type]


LOOKUP_SCHEMA: dict[str, pl.DataType] = {
    "_pnr_value": pl.Utf8(),
    **PERSON_TYPES,
    "_pnr_reason": pl.Utf8(),
}


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
