"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import typer

WAREHOUSE_OPTION = typer.Option(
    Path("warehouse"),
    "--warehouse",
    envvar="PROMISE_WAREHOUSE",
    help="Warehouse folder (default $PROMISE_WAREHOUSE, else ./warehouse).",
)

FOUND_WAREHOUSE_OPTION = typer.Option(
    None,
    "--warehouse",
    envvar="PROMISE_WAREHOUSE",
    help="Warehouse folder (default $PROMISE_WAREHOUSE, else ./warehouse, else demo/warehouse).",
)
