"""``promise doctor``: Java, memory, versions, key file, warehouse, disclosure rules."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from promise.commands.options import FOUND_WAREHOUSE_OPTION
from promise.doctor import run_checks


def doctor(warehouse: Path | None = FOUND_WAREHOUSE_OPTION) -> None:
    """Check this machine and configuration; print what to fix."""
    console = Console()
    checks = run_checks(warehouse=warehouse, environ=os.environ)
    for check in checks:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        fix = f"  -> {check.fix}" if check.fix and not check.ok else ""
        console.print(
            f"{mark} {check.name:<10} {check.detail}{fix}", highlight=False, soft_wrap=True
        )
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
