"""``promise ingest --landing DIR``: load every landing file not yet in the warehouse."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from promise.commands.options import WAREHOUSE_OPTION
from promise.errors import PromiseError
from promise.ingest import FileResult, run_ingest
from promise.ingest.landing import unread_files
from promise.ingest.linkage import parse_option
from promise.pseudonym import KEY_ENV


def ingest(
    landing: Path = typer.Option(
        ..., "--landing", help="Landing folder with one subfolder per source."
    ),
    warehouse: Path = WAREHOUSE_OPTION,
    delivery_date: str | None = typer.Option(
        None, "--delivery-date", help="YYYY-MM-DD; default LANDING/delivery.yml, else today."
    ),
    linkage: list[str] = typer.Option(
        [],
        "--linkage",
        help="ORDER=FILE: the order's linkage file (LopNr -> personnummer, kept outside the "
        "warehouse) for files keyed by LopNr; once per order.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read and check everything, say what would change, load nothing."
    ),
    allow_overlap: bool = typer.Option(
        False,
        "--allow-overlap",
        help="Load a file that repeats rows another file of its source loaded: the repeated "
        "rows are quarantined (already_loaded), the rest loaded.",
    ),
) -> None:
    """Validate, pseudonymise and load landing files (key from $PROMISE_PSEUDONYM_KEY_FILE)."""
    key = os.environ.get(KEY_ENV)
    console = Console(width=None if sys.stdout.isatty() else 160)
    reference = _date_option(delivery_date)
    linkage_files = parse_option(linkage)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, object] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=max(total, 1))
            bar.update(tasks[label], completed=done)  # type: ignore[arg-type]

        results = run_ingest(
            landing=landing,
            warehouse=warehouse,
            key_file=Path(key) if key else None,
            progress=progress,
            reference_date=reference,
            linkage=linkage_files,
            dry_run=dry_run,
            allow_overlap=allow_overlap,
        )
    if not results:
        raise EmptyLandingError(
            f"landing folder {landing} holds no file that an ingest job reads; put each delivery "
            "in its source's subfolder (population/, npr_inpatient/, lmed/, ...; patterns in ingest/*.yml)."
        )
    console.print(results_table(results))
    for result in results:
        if result.note and result.status != "skipped":
            console.print(f"[cyan]{result.status}[/] {result.file}: {result.note}", highlight=False)
    for result in results:
        for warning in result.warnings:
            console.print(f"[yellow]warning[/] {result.file}: {warning}", highlight=False)
    for ignored in unread_files(landing):
        console.print(f"[yellow]not read:[/] {ignored.label} ({ignored.why})", highlight=False)
    if dry_run:
        console.print("dry run: nothing was loaded; run again without --dry-run to load.")
    console.print(f"warehouse: {warehouse.resolve()}")


def _date_option(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadDateError(
            f"--delivery-date {value} is not a date written YYYY-MM-DD; nothing was loaded."
        ) from None


class BadDateError(PromiseError):
    """A date option that is not a date."""


class EmptyLandingError(PromiseError):
    """The landing folder has no file any job would read."""


def results_table(results: list[FileResult]) -> Table:
    """One row per file: what happened and the counts."""
    table = Table(title="promise ingest")
    for name in ("source", "file", "status", "rows in", "loaded", "quarantined", "by reason"):
        table.add_column(
            name, justify="right" if name in {"rows in", "loaded", "quarantined"} else "left"
        )
    for r in results:
        reasons = ", ".join(f"{k} {v}" for k, v in r.quarantined_by_reason.items())
        counts = (
            ("", "", "")
            if r.status == "skipped"
            else (f"{r.rows_in:,}", f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}")
        )
        status = "skipped (already loaded)" if r.status == "skipped" else r.status
        table.add_row(r.source, r.file, status, *counts, reasons)
    return table


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
