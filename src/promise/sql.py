"""Read-only SQL over the warehouse for ``promise sql``: statement check and output formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from promise.errors import PromiseError
from promise.warehouse import connect

FORMATS = ("table", "csv", "json")
READ_ONLY_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryError(PromiseError):
    """A query that is not allowed or does not run."""


def run_query(*, warehouse: Path, query: str, fmt: str = "table") -> str:
    """Run one read-only statement and render its result as ``table``, ``csv`` or ``json``."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    con = connect(Path(warehouse), read_only=True)
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(f"the query cannot be parsed: {_first_line(exc)}") from exc
    if len(statements) != 1:
        raise QueryError("give exactly one SQL statement.")
    if statements[0].type not in READ_ONLY_TYPES:
        raise QueryError(
            "promise sql is read-only: only SELECT-like statements (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN) run."
        )
    try:
        relation = con.sql(query)
        if fmt == "table":
            return str(relation)
        names = relation.columns
        rows = relation.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"the query failed: {_first_line(exc)}") from exc
    finally:
        con.close()
    return _csv(names, rows) if fmt == "csv" else _json(names, rows)


def split_statements(text: str) -> list[str]:
    """The SQL statements in ``text`` (each to be run by :func:`run_query`)."""
    try:
        statements = duckdb.connect(":memory:").extract_statements(text)
    except duckdb.Error as exc:
        raise QueryError(f"the input cannot be parsed: {_first_line(exc)}") from exc
    return [s.query for s in statements]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _csv(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def _json(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    return (
        json.dumps(
            [dict(zip(names, row, strict=True)) for row in rows],
            default=_jsonable,
            ensure_ascii=False,
        )
        + "\n"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
