"""``promise build``: dbt build of the cohort marts, published by atomic rename."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from promise.build import BuildResult, build
from promise.commands.options import WAREHOUSE_OPTION


def build_command(
    warehouse: Path = WAREHOUSE_OPTION,
    endpoints: Path | None = typer.Option(
        None,
        "--endpoints",
        help="FinnGen-format endpoint TSV to evaluate instead of the shipped Swedish set.",
    ),
    data_end: str | None = typer.Option(
        None, "--data-end", help="Last day the registers cover (YYYY-MM-DD)."
    ),
    select: str | None = typer.Option(None, "--select", help="dbt selection, for partial builds."),
) -> None:
    """Build the marts (dbt build) and publish WAREHOUSE/promise.duckdb if every test passed."""
    console = Console()
    result = build(warehouse=warehouse, endpoints_file=endpoints, data_end=data_end, select=select)
    console.print(_summary(result))
    for node in result.nodes:
        if node.status == "warn":  # e.g. persons_without_residence: people adding no person-time
            console.print(f"warning: {node.name}: {node.message}", highlight=False)
    console.print(f"published {result.database} in {result.seconds:.1f} s", highlight=False)


def _summary(result: BuildResult) -> Table:
    table = Table(title="dbt build")
    table.add_column("resource")
    table.add_column("passed", justify="right")
    for kind in ("seed", "model", "unit_test", "test"):
        table.add_row(kind, str(result.count(kind)))
    return table


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)
