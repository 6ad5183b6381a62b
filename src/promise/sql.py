"""SQL over the warehouse for ``promise sql``: run statements, render their results.

Statements run on :func:`promise.privacy.confined.connect`, where DuckDB itself refuses
every write and every file outside the warehouse's published tables; this module only runs
them and formats what they return (``table``, ``csv`` or ``json``). The table layout never
drops a column: a result wider than the terminal is shown one record at a time
(``column | value`` lines), as ``psql``'s expanded display does.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from promise.errors import PromiseError
from promise.privacy.confined import connect

FORMATS = ("table", "csv", "json")
#: Rows the table format shows at most (csv and json show all).
TABLE_ROWS = 1000
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
           "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip


class QueryError(PromiseError):
    """A query that is refused or does not run."""


@dataclass(frozen=True)
class Result:
    """What one statement returned: column names and types, rows, and whether more exist."""

    names: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False


def run_query(*, warehouse: Path, query: str, fmt: str = "table", width: int | None = None) -> str:
    """Run the statements in ``query`` and render each result (``width``: the terminal's)."""
    check_format(fmt)
    statements = split_statements(query)
    con = connect(Path(warehouse))
    try:
        return "".join(render(r, fmt, width) for r in run_statements(con, statements, fmt))
    finally:
        con.close()


def check_format(fmt: str) -> None:
    """Refuse an unknown ``--format``."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}.")


def split_statements(text: str) -> list[str]:
    """The SQL statements in ``text``; an empty text or one that does not parse is an error."""
    try:
        statements = [s.query for s in duckdb.connect(":memory:").extract_statements(text)]
    except duckdb.Error as exc:
        raise QueryError(f"the SQL cannot be parsed: {first_line(exc)}") from exc
    if not statements:
        raise QueryError("there is no SQL statement to run; give a query, --file FILE or stdin.")
    return statements


def run_statements(
    con: duckdb.DuckDBPyConnection, statements: Sequence[str], fmt: str = "table"
) -> Iterator[Result]:
    """Run each statement in turn on ``con``; the first one DuckDB refuses stops the run."""
    limit = TABLE_ROWS if fmt == "table" else None
    for number, statement in enumerate(statements, start=1):
        where = f"statement {number}" if len(statements) > 1 else "the query"
        try:
            relation = con.sql(statement)
            if relation is None:
                continue
            rows = relation.fetchall() if limit is None else relation.fetchmany(limit + 1)
            yield Result(
                names=list(relation.columns),
                types=[str(t) for t in relation.types],
                rows=rows[:limit] if limit is not None else rows,
                truncated=limit is not None and len(rows) > limit,
            )
        except duckdb.Error as exc:
            raise QueryError(f"{where} {_outcome(exc)}: {first_line(exc)}.") from exc


def _outcome(exc: duckdb.Error) -> str:
    """How to describe a DuckDB error: a refusal by the confinement, or a failure."""
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException) or any(
        marker in text for marker in ("read-only", "configuration has been locked", "disabled")
    ):
        return "was refused (promise sql is read-only and confined to the warehouse)"
    return "failed"


def first_line(exc: BaseException) -> str:
    """The first line of an error message, without a trailing full stop."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__).rstrip(".!")


def render(result: Result, fmt: str, width: int | None = None) -> str:
    """One result as ``table`` (horizontal or vertical to fit ``width``), ``csv`` or ``json``."""
    if fmt == "csv":
        return _csv(result)
    if fmt == "json":
        return _json(result)
    cells = [[_cell(v) for v in row] for row in result.rows]
    table = _horizontal(result, cells)
    if width is not None and max(map(len, table.splitlines()), default=0) > width:
        table = _vertical(result, cells)
    return table + _footer(result)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _horizontal(result: Result, cells: list[list[str]]) -> str:
    widths = [
        max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(result.names)
    ]
    right = [t.split("(")[0] in NUMERIC for t in result.types]

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return (" " + " │ ".join(padded)).rstrip()

    rule = "─" + "─┼─".join("─" * w for w in widths) + "─"
    return "\n".join([line(result.names), rule] + [line(row) for row in cells]) + "\n"


def _vertical(result: Result, cells: list[list[str]]) -> str:
    label = max(map(len, result.names), default=0)
    blocks = []
    for number, row in enumerate(cells, start=1):
        lines = [f"-[ record {number} ]" + "-" * max(0, label - 8)]
        lines += [f"{n.ljust(label)} │ {v}" for n, v in zip(result.names, row, strict=True)]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + ("\n" if blocks else "")


def _footer(result: Result) -> str:
    count = len(result.rows)
    if result.truncated:
        return f"(first {count:,} rows shown; --format csv or json gives all of them)\n"
    return f"({count:,} row{'s' if count != 1 else ''})\n"


def _csv(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.names)
    writer.writerows(result.rows)
    return out.getvalue()


def _json(result: Result) -> str:
    records = [dict(zip(result.names, row, strict=True)) for row in result.rows]
    return json.dumps(records, default=_jsonable, ensure_ascii=False) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
