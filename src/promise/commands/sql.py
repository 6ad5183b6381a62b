"""``promise sql [--format table|csv|json] QUERY``: read-only SQL over the warehouse."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from promise.commands.options import WAREHOUSE_OPTION
from promise.sql import FORMATS, run_query


def sql(
    query: str = typer.Argument(
        ..., help="One read-only SQL statement (SELECT, DESCRIBE, SHOW, ...)."
    ),
    warehouse: Path = WAREHOUSE_OPTION,
    fmt: str = typer.Option("table", "--format", help=f"Output format: {', '.join(FORMATS)}."),
) -> None:
    """Query manifest, quarantine, raw.<source> and the marts; never takes the write lock."""
    text = run_query(warehouse=warehouse, query=query, fmt=fmt)
    if fmt == "table":
        Console().print(text, highlight=False, soft_wrap=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def register(app: typer.Typer) -> None:
    app.command("sql")(sql)
