"""``promise build``: dbt build of the cohort marts, published by atomic rename."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from promise.build import BuildResult, build, find_project
from promise.commands.options import WAREHOUSE_OPTION
from promise.pseudonym import KEY_ENV


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
    project_dir: Path | None = typer.Option(
        None,
        "--project-dir",
        help="dbt project to build; default: the promise checkout holding the working "
        "directory, else the one installed with promise.",
    ),
) -> None:
    """Build the marts (dbt build) and publish WAREHOUSE/promise.duckdb if every test passed."""
    console = Console()
    project = find_project(project_dir)
    console.print(f"dbt project: {project}", highlight=False, soft_wrap=True)
    key = os.environ.get(KEY_ENV) or None
    result = build(
        warehouse=warehouse,
        endpoints_file=endpoints,
        data_end=data_end,
        select=select,
        project_dir=project,
        key_file=Path(key) if key else None,
    )
    console.print(_summary(result))
    for node in result.nodes:
        if node.status == "warn":  # e.g. persons_without_residence: people adding no person-time
            console.print(f"warning: {node.name}: {node.message}", highlight=False)
    console.print(
        f"published {result.database} in {result.seconds:.1f} s", highlight=False, soft_wrap=True
    )


def _summary(result: BuildResult) -> Table:
    table = Table(title="dbt build")
    table.add_column("resource")
    table.add_column("passed", justify="right")
    for kind in ("seed", "model", "unit_test", "test"):
        table.add_row(kind, str(result.count(kind)))
    return table


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)
