"""``promise export ANALYSIS_OR_SQL --out FILE``: the one way aggregates leave the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from promise.commands.options import FOUND_WAREHOUSE_OPTION
from promise.locate import find_warehouse
from promise.privacy.policy import DisclosureError


def export_command(
    target: str = typer.Argument(
        ..., help="An analysis of analyses/ (e.g. incidence_rates) or one SQL query."
    ),
    out: Path = typer.Option(..., "--out", help="The CSV file to write (outside the warehouse)."),
    var: list[str] | None = typer.Option(
        None, "--var", help="An analysis variable, KEY=VALUE (YAML value); repeatable."
    ),
    threshold: int | None = typer.Option(
        None, "--threshold", help="Suppress counts below this (at least the warehouse's floor)."
    ),
    by: str = typer.Option("", "--by", help="SQL: numeric columns that name cells (a,b)."),
    person_time: str = typer.Option(
        "", "--person-time", help="SQL: columns of person-years (a,b), rounded to whole years."
    ),
    warehouse: Path | None = FOUND_WAREHOUSE_OPTION,
) -> None:
    """Export a disclosure-controlled table: suppression, rounding, fixed bands, audit."""
    from promise.privacy.export import export

    found, _ = find_warehouse(warehouse)
    result = export(
        warehouse=found,
        target=target,
        out=out,
        variables=_variables(var or []),
        threshold=threshold,
        by=_names(by),
        person_time=_names(person_time),
    )
    Console().print(
        f"wrote {result.out}: {result.rows:,} rows, {result.suppressed:,} of {result.cells:,} "
        f"counts suppressed, threshold {result.threshold}, rounded to {result.round_to}; "
        f"recorded as export {result.id} in {found / 'exports' / 'audit.jsonl'}",
        highlight=False,
        soft_wrap=True,
    )


def _variables(pairs: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DisclosureError(f"--var takes KEY=VALUE, not {pair!r}.")
        try:
            found[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise DisclosureError(f"--var {key}: {value!r} is not a value ({exc}).") from exc
    return found


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
