"""``promise sql [--format table|csv|json] [QUERY]``: read-only SQL over the warehouse.

Without QUERY, statements are read from standard input: one per line at a terminal
(``promise> `` prompt, empty line or Ctrl-D ends), or the whole input when piped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from promise.commands.options import WAREHOUSE_OPTION
from promise.errors import PromiseError
from promise.sql import FORMATS, run_query, split_statements


def sql(
    query: str | None = typer.Argument(
        None, help="One read-only SQL statement; omit to read from stdin."
    ),
    warehouse: Path = WAREHOUSE_OPTION,
    fmt: str = typer.Option("table", "--format", help=f"Output format: {', '.join(FORMATS)}."),
) -> None:
    """Query manifest, quarantine, raw.<source> and the marts; never takes the write lock."""
    if query is not None:
        _show(run_query(warehouse=warehouse, query=query, fmt=fmt), fmt)
        return
    if not sys.stdin.isatty():
        for statement in split_statements(sys.stdin.read()):
            _show(run_query(warehouse=warehouse, query=statement, fmt=fmt), fmt)
        return
    _shell(warehouse, fmt)


def _shell(warehouse: Path, fmt: str) -> None:
    err = Console(stderr=True)
    while True:
        try:
            line = input("promise> ").strip()
        except EOFError:
            return
        if not line:
            return
        try:
            _show(run_query(warehouse=warehouse, query=line, fmt=fmt), fmt)
        except PromiseError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)


def _show(text: str, fmt: str) -> None:
    if fmt == "table":
        Console().print(text, highlight=False, soft_wrap=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def register(app: typer.Typer) -> None:
    app.command("sql")(sql)
