"""``promise study build NAME`` and ``promise study fit NAME --model cox|poisson``.

Both print aggregates only (attrition counts, model estimates, rates): never a row of the
person-level dataset. What they write stays in the warehouse (``study.<name>`` and
``study.<name>__<table>``); results leave it through ``promise export``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from promise.commands.options import WAREHOUSE_OPTION

STUDIES_OPTION = typer.Option(
    None,
    "--studies",
    envvar="PROMISE_STUDIES",
    help="Folder of study definitions (default $PROMISE_STUDIES, else ./studies).",
)

study_app = typer.Typer(
    help="Study datasets (population, index date, exposures, outcomes) and their models.",
    no_args_is_help=True,
)


@study_app.command("build")
def build_command(
    name: str = typer.Argument(..., help="Study name (studies/NAME.yml) or a definition file."),
    warehouse: Path = WAREHOUSE_OPTION,
    studies: Path | None = STUDIES_OPTION,
) -> None:
    """Build the person-level dataset study.NAME and its attrition table."""
    from promise.study import build

    result = build(name, warehouse=warehouse, studies_dir=studies)
    table = Table(title=f"attrition of study {result.name}")
    for column in ("step", "criterion", "line", "excluded", "remaining"):
        table.add_column(column, justify="left" if column == "criterion" else "right")
    for row in result.attrition:
        table.add_row(
            str(row.step), row.criterion, str(row.line), f"{row.excluded:,}", f"{row.remaining:,}"
        )
    console = Console()
    console.print(table)
    console.print(
        f"wrote study.{result.name} ({result.persons:,} persons, one row per person) and "
        f"study.{result.name}__attrition to {result.folder} in {result.seconds:.1f} s; "
        f"end of data {result.end_of_data}.",
        highlight=False,
    )


@study_app.command("fit")
def fit_command(
    name: str = typer.Argument(..., help="A built study's name."),
    model: str = typer.Option("cox", "--model", help="cox or poisson."),
    outcome: str | None = typer.Option(
        None, "--outcome", help="Outcome (default: the definition's model outcome, else the first)."
    ),  # fmt: skip
    warehouse: Path = WAREHOUSE_OPTION,
    studies: Path | None = STUDIES_OPTION,
) -> None:
    """Fit a Cox or Poisson model of one outcome; write study.NAME__<model> and __rates."""
    from promise.study.fitting import fit

    console = Console()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(name, warehouse=warehouse, model=model, outcome=outcome, studies_dir=studies)
    for warning in caught:
        if warning.category.__name__ == "StudyWarning":
            console.print(f"[bold yellow]warning:[/] {warning.message}", highlight=False)
    ratio = "hazard ratio" if model == "cox" else "rate ratio"
    table = Table(title=f"{model} model of {result.outcome} in study {name} (robust 95% CI)")
    for column in ("term", "role", ratio, "95% CI", "p"):
        table.add_column(column, justify="left" if column in ("term", "role") else "right")
    for row in result.results.iter_rows(named=True):
        ci = f"{row['ci_lower']:.3g} - {row['ci_upper']:.3g}"
        table.add_row(row["term"], row["role"], f"{row['ratio']:.3g}", ci, f"{row['p_value']:.2g}")
    console.print(table)
    first = result.results.row(0, named=True)
    console.print(
        f"{first['n_persons']:,} persons, {first['n_events']:,} events, {first['n_competing']:,} "
        f"competing deaths, {first['n_missing']:,} left out for a missing term; "
        f"{first['person_years']:,.0f} person-years.",
        highlight=False,
    )
    console.print(
        f"wrote study.{name}__{model} and study.{name}__rates ({result.path.parent}).",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
