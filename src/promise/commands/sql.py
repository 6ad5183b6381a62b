"""``promise sql [QUERY | --file FILE] [--format table|csv|json]``: SQL over the warehouse.

The query comes from QUERY, from ``--file FILE`` (``-`` = stdin), or, with neither, from
stdin when it is piped; at a terminal a ``promise>`` prompt runs one statement a line
(an empty line or Ctrl-D ends). A file or stdin may hold several statements; they run in
order on one session. Every session is read-only and confined to the warehouse's published
tables by DuckDB's own settings (see ``promise.privacy.confined``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import typer
from rich.console import Console

from promise.commands.options import FOUND_WAREHOUSE_OPTION
from promise.errors import PromiseError
from promise.locate import find_warehouse
from promise.privacy.confined import connect
from promise.sql import FORMATS, QueryError, check_format, render, run_statements, split_statements


def sql(
    query: str | None = typer.Argument(
        None, help="SQL to run; omit to use --file or stdin (several statements allowed)."
    ),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the SQL from this file ('-' reads stdin)."
    ),
    warehouse: Path | None = FOUND_WAREHOUSE_OPTION,
    fmt: str = typer.Option("table", "--format", help=f"Output format: {', '.join(FORMATS)}."),
) -> None:
    """Query marts (no prefix needed), raw.<source>, manifest, quarantine; read-only."""
    check_format(fmt)
    text = _sql_text(query, file)
    found, how = find_warehouse(warehouse)
    if how == "demo":
        Console(stderr=True).print(f"using the demo's warehouse {found}", highlight=False)
    con = connect(found)
    try:
        if text is None:
            _shell(con, fmt)
            return
        for result in run_statements(con, split_statements(text), fmt):
            _show(render(result, fmt, _width(fmt)))
    finally:
        con.close()


def _sql_text(query: str | None, file: Path | None) -> str | None:
    """The SQL to run, or None for the interactive prompt."""
    if query is not None and file is not None:
        raise QueryError("give the SQL either as QUERY or with --file, not both.")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read()
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read the SQL file {file}: {exc}.") from exc
    if query is not None:
        return query
    return None if sys.stdin.isatty() else sys.stdin.read()


def _width(fmt: str) -> int | None:
    """The terminal's width for the table layout; None (no limit) when not a terminal."""
    if fmt != "table" or not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _shell(con: duckdb.DuckDBPyConnection, fmt: str) -> None:
    err = Console(stderr=True)
    while True:
        try:
            line = input("promise> ").strip()
        except EOFError:
            return
        if not line:
            return
        try:
            for result in run_statements(con, split_statements(line), fmt):
                _show(render(result, fmt, _width(fmt)))
        except PromiseError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)


def _show(text: str) -> None:
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.command("sql")(sql)
