"""The console's view of a running GWAS: one line per step with its elapsed time, and a
bar within a step where the step knows how far it is (blocks of variants, traits).

The pipeline reports through a plain callable (``say(message)``) and, where it knows,
``within(done, total)``; :class:`StepProgress` is that callable for the CLI. Off a
terminal rich prints each finished step once, so a log file holds every step's time.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class StepProgress:
    """``with StepProgress(console, "promise gwas") as say: say("reading genotypes")``."""

    def __init__(self, console: Console, prefix: str) -> None:
        self._prefix = prefix
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]done[/]"),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> StepProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._finish()
        self._progress.__exit__(*exc)

    def __call__(self, message: str) -> None:
        """Start the step ``message`` (the previous one is done)."""
        self._finish()
        self._task = self._progress.add_task(f"{self._prefix}: {message}", total=None, count="")

    def within(self, done: int, total: int, unit: str = "") -> None:
        """How far the current step is: ``done`` of ``total`` parts (``unit``: of what)."""
        if self._task is not None:
            count = f"{done:,}/{total:,} {unit}".rstrip()
            self._progress.update(self._task, completed=done, total=total, count=count)

    def _finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            total = task.total or max(1, int(task.completed))
            self._progress.update(self._task, total=total, completed=total)
            self._task = None
