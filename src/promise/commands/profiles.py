"""``promise profiles --out DIR``: a static site of endpoint profiles, disclosure-controlled."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from promise.commands.options import FOUND_WAREHOUSE_OPTION


def profiles_command(
    out: Path = typer.Option(
        ..., "--out", help="Folder to write (outside the warehouse; new or empty)."
    ),
    warehouse: Path | None = FOUND_WAREHOUSE_OPTION,
) -> None:
    """Write one page per endpoint with enough cases, and an index (open OUT/index.html)."""
    from promise.locate import find_warehouse
    from promise.profiles import write_profiles

    found, _ = find_warehouse(warehouse)
    result = write_profiles(warehouse=found, out=out)
    Console().print(
        f"wrote {result.pages} endpoint pages of {result.evaluated} evaluated endpoints and an "
        f"index to {result.out} in {result.seconds:.0f} s ({result.suppressed:,} of "
        f"{result.cells:,} counts suppressed); recorded as export {result.audit_id} in "
        f"{found / 'exports' / 'audit.jsonl'}; open {result.out / 'index.html'}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("profiles")(profiles_command)
