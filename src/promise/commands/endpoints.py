"""``promise endpoints``: what a GWAS can be run of in a built warehouse."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from promise.commands.options import WAREHOUSE_OPTION


def endpoints(
    warehouse: Path = WAREHOUSE_OPTION,
    with_cases: bool = typer.Option(
        False, "--with-cases", help="Only endpoints with at least one case among the genotyped."
    ),
) -> None:
    """Endpoints (cases and controls overall and among the genotyped) and quantitative traits."""
    from promise.endpoints import list_endpoints, list_traits, open_marts

    con = open_marts(warehouse)
    try:
        rows, traits = list_endpoints(con), list_traits(con)
    finally:
        con.close()
    console = Console(width=None if sys.stdout.isatty() else 200)
    shown = [r for r in rows if r.genotyped_cases or not with_cases]
    table = Table(
        title=f"{len(rows):,} endpoints in {warehouse} (--endpoint NAME), most genotyped cases first"
    )
    for name in ("endpoint", "long name", "cases", "controls", "genotyped cases",
                 "genotyped controls", "evaluation"):  # fmt: skip
        table.add_column(name, justify="right" if "cases" in name or "controls" in name else "left",
                         overflow="fold")  # fmt: skip
    for r in shown:
        table.add_row(
            r.name, r.long_name, f"{r.cases:,}", f"{r.controls:,}", f"{r.genotyped_cases:,}",
            f"{r.genotyped_controls:,}", r.evaluation,
        )  # fmt: skip
    console.print(table)
    usable = sum(1 for r in rows if r.genotyped_cases)
    console.print(
        f"{usable:,} of {len(rows):,} endpoints have cases among the genotyped samples "
        "(a GWAS needs 50 of each by default, --min-cases).",
        highlight=False,
    )
    quantitative = Table(title=f"{len(traits):,} quantitative traits (--trait NAME)")
    for name in ("trait", "platform", "unit", "persons measured", "genotyped with a value"):
        quantitative.add_column(name, justify="right" if " " in name else "left")
    for t in traits:
        quantitative.add_row(t.name, t.platform, t.unit, f"{t.measured:,}", f"{t.genotyped:,}")
    console.print(quantitative)


def register(app: typer.Typer) -> None:
    app.command("endpoints")(endpoints)
