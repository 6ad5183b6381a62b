"""Replace the personnummer by ``person_id`` (keyed pseudonym) and what it tells: birth date, sex.

This module, :mod:`promise.ingest.masking` and :mod:`promise.ingest.linkage` are the only
ingest modules that see a personnummer in clear; nothing they return contains one. A file
keyed by an order's running number (LopNr) is looked up through that order's linkage first
(:class:`LinkedLookup`), so its rows get the ``person_id`` the personnummer would give; a
LopNr the linkage lacks is quarantined (``unknown_lopnr``) and never written.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from promise.ingest.checks import INVALID_PNR, MISSING, Failure
from promise.ingest.linkage import LopNrKey
from promise.ingest.masking import MASK
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

    Rows find their cache entry by a 64-bit hash of the written value (a join on integers
    costs a third of one on strings); every row's value is then compared with the entry's,
    and if any differs (two values with one hash) the chunk is looked up by the values.
    """

    def __init__(
        self, person_ids: PersonIds, *, reference_date: date, max_cached: int = 2_000_000
    ) -> None:
        self.person_ids = person_ids
        self.reference_date = reference_date
        self.max_cached = max_cached
        self._cache = pl.DataFrame(schema=CACHE_SCHEMA)

    def add_columns(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """Add ``person_id``, ``birth_date``, ``sex``, ``is_coordination_number``, ``_pnr_reason``."""
        keyed = frame.select(
            pl.col(column).alias("_pnr_value"), pl.col(column).hash(HASH_SEED).alias("_pnr_hash")
        )
        self._add_new(
            keyed.filter(~pl.col("_pnr_hash").is_in(self._cache["_pnr_hash"].implode())), keyed
        )
        looked = keyed.join(
            self._cache, on="_pnr_hash", how="left", maintain_order="left", suffix="_cached"
        )
        same = looked.select(pl.col("_pnr_value").eq_missing(pl.col("_pnr_value_cached")).all())
        if looked.height != keyed.height or not same.item():
            self._add_new(keyed.join(self._cache, on="_pnr_value", how="anti"), keyed)
            looked = keyed.join(
                self._cache.unique("_pnr_value"), on="_pnr_value", how="left", maintain_order="left"
            )
        return frame.hstack(looked.select(ADDED).get_columns()).with_columns(
            pl.lit(False).alias(UNKNOWN_FLAG)
        )

    def scrub(self, text: str) -> str:
        """A structural quarantine line as it may be written (nothing to add for personnummer)."""
        return text

    def _add_new(self, candidates: pl.DataFrame, keyed: pl.DataFrame) -> None:
        """Look up the distinct values of ``candidates`` (all of ``keyed``'s when the cache
        would grow past its bound: it starts again with this chunk's values)."""
        new = candidates["_pnr_value"].drop_nulls().unique()
        if not new.len():
            return
        if self._cache.height + new.len() > self.max_cached:
            self._cache = self._cache.clear()
            new = keyed["_pnr_value"].drop_nulls().unique()
        found = self._lookup(new).with_columns(
            pl.col("_pnr_value").hash(HASH_SEED).alias("_pnr_hash")
        )
        self._cache = pl.concat([self._cache, found], how="vertical")

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


class LinkedLookup:
    """Person columns for a file keyed by LopNr: LopNr -> personnummer -> :class:`PersonLookup`.

    The frame keeps its LopNr column (it is masked wherever a record is written); the added
    ``_lopnr_unknown`` flags the rows whose LopNr the order's linkage lacks.
    """

    def __init__(self, persons: PersonLookup, key: LopNrKey) -> None:
        self.persons = persons
        self.key = key

    def add_columns(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """As :meth:`PersonLookup.add_columns`, plus ``_lopnr_unknown``."""
        lopnr = frame[column]
        pnr = self.key.linkage.personnummer(lopnr)
        looked = self.persons.add_columns(pl.DataFrame({column: pnr}), column)
        unknown = lopnr.is_not_null() & pnr.is_null()
        return frame.hstack(looked.select(ADDED).get_columns()).with_columns(
            unknown.alias(UNKNOWN_FLAG)
        )

    def scrub(self, text: str) -> str:
        """A line with every digit run that is a LopNr of the linkage masked."""
        runs = [m.group() for m in _DIGITS.finditer(text)]
        if not runs:
            return text
        known = set(
            pl.Series(runs, dtype=pl.Utf8).filter(self.key.linkage.known(pl.Series(runs))).to_list()
        )
        return _DIGITS.sub(lambda m: MASK if m.group() in known else m.group(), text)


def person_lookup(
    person_ids: PersonIds, *, reference_date: date, key: LopNrKey | None = None
) -> PersonLookup | LinkedLookup:
    """The lookup for a file keyed by personnummer, or by LopNr through ``key``'s linkage."""
    persons = PersonLookup(person_ids, reference_date=reference_date)
    return persons if key is None else LinkedLookup(persons, key)


_DIGITS = re.compile(r"(?<![0-9])[0-9]+(?:\.0+)?(?![0-9])")
UNKNOWN_FLAG = "_lopnr_unknown"
UNKNOWN_LOPNR = "unknown_lopnr"

LOOKUP_SCHEMA: dict[str, pl.DataType] = {
    "_pnr_value": pl.Utf8(),
    **PERSON_TYPES,
    "_pnr_reason": pl.Utf8(),
}
CACHE_SCHEMA: dict[str, pl.DataType] = {**LOOKUP_SCHEMA, "_pnr_hash": pl.UInt64()}
ADDED = [*PERSON_TYPES, "_pnr_reason"]  # the columns add_columns adds, in order
HASH_SEED = 17


def person_failures(column: str, *, required: bool, id_column: str = "person_id") -> list[Failure]:
    """Rejecting conditions for a personnummer column whose pseudonym is ``id_column``
    (reason codes only, never the value). The key column of a file keyed by LopNr fails
    first when its order's linkage lacks the LopNr (``unknown_lopnr``); a relative's LopNr the
    linkage lacks leaves no pseudonym and fails as ``invalid_personnummer``."""
    value = pl.col(column)
    is_key = id_column == "person_id"
    unknown = pl.col(UNKNOWN_FLAG) if is_key else pl.lit(False)
    failures = []
    if is_key:
        failures.append(
            Failure(
                column,
                UNKNOWN_LOPNR,
                f"{column}: the LopNr is not in its order's linkage file",
                unknown,
            )
        )
    if required:
        failures.append(
            Failure(column, MISSING, f"{column} is empty but required", value.is_null())
        )
    failures.append(
        Failure(
            column,
            INVALID_PNR,
            f"{column} is not a valid personnummer or samordningsnummer",
            value.is_not_null() & pl.col(id_column).is_null() & ~unknown,
        )
    )
    return failures


def pnr_detail_expr() -> pl.Expr:
    """Why the number was rejected (``check_digit``, ``date``, ...), from promise.pnr."""
    return pl.col("_pnr_reason")
