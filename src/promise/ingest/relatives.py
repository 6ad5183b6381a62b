"""Other people a row names, and checks across a row's columns.

A Multi-Generation Register row names the index person's parents as well: each relative's
personnummer (a ``role: relative`` column) is looked up like the index person's, through the
same cache, and only its pseudonym (and, with ``birthDateColumn``, the birth date it encodes)
is kept. A contract's ``rowChecks`` then reject rows whose columns contradict each other (a
parent who is the index person, or born after them), each with its own reason.
"""

from __future__ import annotations

import polars as pl

from promise.contracts import Contract, ContractError, RowCheck
from promise.ingest.checks import Failure
from promise.ingest.persons import LinkedLookup, PersonLookup


def add_relatives(
    rows: pl.DataFrame, contract: Contract, persons: PersonLookup | LinkedLookup
) -> pl.DataFrame:
    """Each relative's pseudonym (and birth date) beside the number, which stays only until
    the row is judged."""
    for col in contract.relatives:
        found = persons.add_columns(rows.select(col.name), col.name)
        added = [found["person_id"].alias(col.raw)]
        if col.birth_date_column:
            added.append(found["birth_date"].alias(col.birth_date_column))
        rows = rows.with_columns(added)
    return rows


def row_check_failure(check: RowCheck) -> Failure:
    """A contract's condition across a row's columns (person and relative columns
    included), rejecting the row with the check's reason."""
    try:
        condition = pl.sql_expr(check.reject_when)
    except pl.exceptions.PolarsError as exc:  # a contract's SQL that Polars cannot read
        raise ContractError(
            f"rowChecks {check.reason}: rejectWhen {check.reject_when!r} is not a SQL condition ({exc})."
        ) from exc
    return Failure(check.column, check.reason, check.detail, condition)


def relative_columns(contract: Contract) -> list[str]:
    """The raw columns the relatives' numbers become (pseudonym, birth date)."""
    names = []
    for col in contract.relatives:
        names.append(col.raw)
        if col.birth_date_column:
            names.append(col.birth_date_column)
    return names
