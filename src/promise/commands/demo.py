"""``promise demo``: the whole chain on a synthetic cohort, with progress and a summary."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from promise.demo import DemoSettings, DemoSummary, PlantedHit, run_demo

_DEFAULT = DemoSettings()


def demo(
    directory: Path = typer.Option(
        Path("demo"), "--dir", help="Folder for everything the demo makes."
    ),
    persons: int = typer.Option(_DEFAULT.persons, "--persons", help="Synthetic persons."),
    genotyped: int = typer.Option(_DEFAULT.genotyped, "--genotyped", help="Of whom genotyped."),
    variants: int = typer.Option(_DEFAULT.variants, "--variants", help="Genotyped variants."),
    seed: int = typer.Option(_DEFAULT.seed, "--seed", help="Random seed of the cohort."),
    driver_memory: str = typer.Option(
        None, "--driver-memory", help="Hail driver heap (default 40% of RAM)."
    ),
) -> None:
    """Synthetic cohort -> warehouse -> dbt marts -> GWAS of an endpoint and a trait."""
    settings = DemoSettings(
        persons=persons,
        genotyped=genotyped,
        variants=variants,
        seed=seed,
        driver_memory=driver_memory,
    )
    console = output_console()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        current: list[TaskID] = []
        files: dict[str, TaskID] = {}

        def step(text: str) -> None:
            if (
                current
                and text.split(":")[0] == progress.tasks[current[-1]].description.split(":")[0]
            ):
                progress.update(current[-1], description=text)
                return
            if current:
                progress.update(current[-1], total=1, completed=1)
            current.append(progress.add_task(text, total=None, count=""))

        def ingest_file(label: str, done: int, total: int) -> None:
            if label not in files:
                files[label] = progress.add_task(f"  {label}", total=max(total, 1), count="")
            progress.update(files[label], completed=done, count=f"{done:,}/{total:,}")

        summary = run_demo(
            root=directory, settings=settings, step=step, ingest_progress=ingest_file
        )
        if current:
            progress.update(current[-1], total=1, completed=1)
    print_summary(console, summary)


def print_summary(console: Console, summary: DemoSummary) -> None:
    """The closing summary: counts, marts, planted loci, where to look next. Lines are never
    wrapped (soft wrap): a path stays whole for a terminal or a log to show."""
    console = _unwrapped(console)
    if summary.key_created:
        console.print(
            f"created a pseudonym key of the demo's own: {summary.key_file} (mode 0600, outside the warehouse)"
        )
    else:
        console.print(f"reused the demo's pseudonym key {summary.key_file}")
    console.print(
        f"ingest: {summary.files_loaded} files loaded, {summary.files_skipped} skipped as already loaded; "
        f"warehouse holds {summary.rows_in:,} rows in, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined (planted defects)",
        highlight=False,
    )
    console.print(f"build: {len(summary.marts)} marts: {', '.join(summary.marts)}", highlight=False)
    table = Table(title="planted causal variants in the GWAS")
    for name in ("trait", "variant", "planted effect", "p-value", "rank"):
        table.add_column(name, justify="left" if name in {"trait", "variant"} else "right")
    for hit in sorted_hits(summary.planted):
        p = "not tested" if hit.p_value is None else f"{hit.p_value:.2e}"
        rank = "-" if hit.rank is None else str(hit.rank)
        table.add_row(hit.trait, hit.variant_id, f"{hit.effect:+.3f}", p, rank)
    console.print(table)
    timing = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in summary.seconds.items())
    console.print(f"time: {timing}", highlight=False)
    if summary.gwas_seconds:
        steps = ", ".join(f"{name} {sec:.0f} s" for name, sec in summary.gwas_seconds.items())
        console.print(f"gwas steps: {steps}", highlight=False)
    for name, report in summary.reports.items():
        console.print(f"report ({name}): {report}", highlight=False)
    console.print(
        f"warehouse: {summary.warehouse}  (logs: {summary.root / 'logs'})",
        highlight=False,
    )
    console.print("try:", highlight=False)
    console.print(
        f"  promise sql --warehouse {summary.warehouse} "
        '"SELECT endpoint, count(*) FILTER (WHERE is_case) AS cases FROM marts.endpoint_status GROUP BY 1 ORDER BY 2 DESC LIMIT 10"',
        highlight=False,
    )


def _unwrapped(console: Console) -> Console:
    """A console whose ``print`` soft-wraps: long lines stay whole."""
    console.soft_wrap = True
    return console


def output_console() -> Console:
    """The terminal's width on a terminal; off one (a log, a pipe, CI) wide enough that no
    path or count is cut off or wrapped."""
    return Console(width=None if sys.stdout.isatty() else 200)


def sorted_hits(hits: list[PlantedHit]) -> list[PlantedHit]:
    """Planted variants trait by trait (in the order the run analysed them), each trait's
    by rank (untested last)."""
    order = {trait: i for i, trait in enumerate(dict.fromkeys(h.trait for h in hits))}
    return sorted(hits, key=lambda h: (order[h.trait], h.rank is None, h.rank or 0))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
