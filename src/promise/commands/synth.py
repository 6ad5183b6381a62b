"""``promise synth --out DIR``: write a synthetic Swedish cohort and its planted truth."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from promise.synth import write_cohort


def synth(
    out: Path = typer.Option(
        ..., "--out", help="Landing folder to write (one subfolder per source)."
    ),
    persons: int = typer.Option(2000, "--persons", help="Number of persons in the cohort."),
    variants: int = typer.Option(
        2000, "--variants", help="Genotyped variants (0: no genotype files)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed; the same seed gives the same bytes."),
    genotyped: int | None = typer.Option(
        None, "--genotyped", help="Genotyped persons (default a third)."
    ),
    file_format: str = typer.Option(
        "text",
        "--format",
        help="Registers as delimited text, SAS datasets (sas: .sas7bdat) or Stata files "
        "(stata: .dta), the latter two written with readstat.",
    ),
) -> None:
    """Write a synthetic cohort in the landing formats plus DIR/truth.json with every planted effect."""
    console = Console()
    started = time.perf_counter()
    with console.status(f"writing {persons:,} persons to {out}"):
        truth = write_cohort(
            out, persons=persons, variants=variants, seed=seed, genotyped=genotyped,
            file_format=file_format,
        )  # fmt: skip
    table = Table(title=f"synthetic cohort in {out.resolve()}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("malformed", justify="right")
    for path, entry in truth["files"].items():
        table.add_row(path, f"{entry['rows']:,}", f"{sum(entry['malformed'].values()):,}")
    console.print(table)
    cases = ", ".join(f"{k} {v:,}" for k, v in truth["endpoint_cases"].items())
    console.print(f"endpoint cases: {cases}; genotyped samples: {truth['genotypes']['samples']:,}")
    console.print(
        f"truth: {(out / 'truth.json').resolve()} ({time.perf_counter() - started:.1f} s)"
    )


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
