"""How a study's aggregate tables leave the warehouse: ``promise export study.<name>__<table>``.

The person-level dataset (``study.<name>``) never leaves. Each aggregate table has a
structure that the generic per-column protection of :mod:`promise.privacy.release` would
miss, so each gets its own layout for :func:`promise.privacy.disclosure.protect`:

- **attrition**: its rows chain (``persons_before - excluded = remaining``, and one row's
  ``remaining`` is the next row's ``persons_before``), so protecting each column alone would
  let a reader subtract a suppressed exclusion back. The cells are the exclusions of every
  step and the final population, which partition everyone in ``marts.person`` (the margin);
  they are protected as one table, and ``remaining``/``persons_before`` are then computed
  from released values only (the released cells after a step, else the released total less
  the released cells before it), or left empty.
- **cox / poisson**: the counts (persons, events, competing events, missing, person-years)
  are one cell each per outcome. A model estimate is released only when its outcome has at
  least the threshold of events and, for a 0/1 term, each of its levels has at least the
  threshold of persons and of events in the fitted rows: a hazard ratio and the released
  rate of the other level would otherwise give a suppressed count back.
- **rates**: per outcome and exposure, the two levels (and any rows missing the exposure)
  partition the ``all`` row: protected as one table with ``all`` as its margin. Rates and
  their exact (Garwood) intervals are recomputed from the released events and person-years.

Person-years are rounded to whole years and then protected like counts, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.privacy.disclosure import protect
from promise.privacy.policy import DisclosureError
from promise.privacy.release import SUPPRESSED, Released
from promise.study.models import garwood
from promise.study.storage import DATASET, TABLES, read_meta, read_table, require_built, view_name

TARGET = re.compile(r"study\.([a-z][a-z0-9_]{0,62}?)(?:__([a-z_]+))?")
ESTIMATES = ("coef", "se_model", "se_robust", "ratio", "ci_lower", "ci_upper", "p_value")
MODEL_COUNTS = ("n_persons", "n_events", "n_competing", "n_missing", "person_years")
RATE_COUNTS = ("persons", "events", "person_years")


@dataclass(frozen=True)
class StudyRelease:
    """A study table ready to leave: the released frame, what was suppressed, and what the
    audit records (the table's name, the definition's digest and text)."""

    name: str
    frame: pl.DataFrame
    released: Released
    fixed: dict[str, Any]
    definition: str


@dataclass
class _Tally:
    cells: int = 0
    primary: dict[str, int] | None = None
    secondary: dict[str, int] | None = None

    def add(self, column: str, primary: int, secondary: int, cells: int) -> None:
        self.primary = self.primary or {}
        self.secondary = self.secondary or {}
        self.primary[column] = self.primary.get(column, 0) + primary
        self.secondary[column] = self.secondary.get(column, 0) + secondary
        self.cells += cells


def is_study_target(target: str) -> bool:
    """Whether an export target names a study table (``study.<name>...``)."""
    return target.strip().lower().startswith("study.")


def release_study_table(
    warehouse: Path, target: str, *, threshold: int, round_to: int
) -> StudyRelease:
    """The protected table ``study.<name>__<table>``; the dataset is refused in one sentence."""
    name, table = _parse(target.strip().lower())  # SQL names are case-insensitive
    folder = require_built(warehouse, name)
    exportable = [t.name for t in TABLES if not t.individual_level]
    listed = ", ".join(f"study.{view_name(name, t)}" for t in exportable)
    if table == DATASET:
        raise DisclosureError(f"study.{name} is the person-level dataset of study '{name}' (one row per person) and never leaves the warehouse; export its aggregate tables instead: {listed}.")  # fmt: skip
    if table not in exportable:
        raise DisclosureError(f"study '{name}' has no table '{table}'; its exportable tables are {listed}.")  # fmt: skip
    frame = read_table(warehouse, name, table)
    if frame is None:
        raise DisclosureError(f"study '{name}' has no {table} table yet; run `promise study fit {name} --model {table}` first.")  # fmt: skip
    tally = _Tally()
    rules: dict[str, Callable[[], pl.DataFrame]] = {
        "attrition": lambda: _attrition(frame, threshold, round_to, tally),
        "rates": lambda: _rates(frame, threshold, round_to, tally),
        "cox": lambda: _models(frame, _dataset(warehouse, name), threshold, round_to, tally),
        "poisson": lambda: _models(frame, _dataset(warehouse, name), threshold, round_to, tally),
    }
    out = rules[table]()
    meta = read_meta(warehouse, name)
    released = Released(frame=out, cells=tally.cells, primary=tally.primary or {},
                        secondary=tally.secondary or {})  # fmt: skip
    return StudyRelease(
        name=f"study.{view_name(name, table)}",
        frame=out,
        released=released,
        fixed={
            "definition_sha256": meta.get("definition_sha256"),
            "built_at": meta.get("built_at"),
        },
        definition=(folder / "definition.yml").read_text(encoding="utf-8"),
    )


def _parse(target: str) -> tuple[str, str]:
    match = TARGET.fullmatch(target)
    if match is None:
        raise DisclosureError(f"{target!r} is not a study table; name one as study.<name>__<table> (attrition, rates, cox or poisson).")  # fmt: skip
    return match.group(1), match.group(2) or DATASET


def _dataset(warehouse: Path, name: str) -> pl.DataFrame:
    data = read_table(warehouse, name, DATASET)
    assert data is not None  # require_built checked it
    return data


def _protect(
    cells: Sequence[float], threshold: int, round_to: int, tally: _Tally, column: str
) -> tuple[list[float | None], float | None]:
    """Protect a 1-way table of ``cells`` with its total as margin: released cells (None if
    suppressed) and the released total."""
    counts = np.rint(np.asarray(cells, dtype=np.float64)).astype(np.int64)
    table = protect(counts, threshold=threshold, round_to=round_to if round_to > 1 else None)
    values = [None if table.suppressed[i] else float(table.released[i]) for i in range(counts.size)]
    total = None if table.suppressed[-1] else float(table.released[-1])
    primary = int(table.primary[:-1].sum())
    tally.add(column, primary, int(table.suppressed[:-1].sum()) - primary, counts.size)
    return values, total


def _small(value: float | None, threshold: int) -> bool:
    return value is not None and 0 < value < threshold


def _attrition(frame: pl.DataFrame, threshold: int, round_to: int, tally: _Tally) -> pl.DataFrame:
    frame = frame.sort("step")
    cells = [*frame["excluded"].to_list(), frame["remaining"].to_list()[-1]]
    released, total = _protect(cells, threshold, round_to, tally, "excluded")
    m = len(cells)

    def level(j: int) -> float | None:
        """Persons left before cell ``j``, from released values only (None when not)."""
        after = released[j:m]
        if all(v is not None for v in after):
            value: float | None = float(sum(v for v in after if v is not None))
        elif total is not None and all(v is not None for v in released[:j]):
            value = total - sum(v for v in released[:j] if v is not None)
        else:
            value = None
        return None if _small(value, threshold) else value

    rows = range(frame.height)
    before = [level(i) for i in rows]
    remaining = [level(i + 1) for i in rows]
    excluded = released[: frame.height]
    return frame.select("study", "step", "criterion", "yaml_line").with_columns(
        *_released_column("persons_before", before),
        *_released_column("excluded", excluded),
        *_released_column("remaining", remaining),
    )


def _released_column(name: str, values: Sequence[float | None]) -> list[pl.Series]:
    return [
        pl.Series(name, [None if v is None else round(v) for v in values], dtype=pl.Int64),
        pl.Series(name + SUPPRESSED, [v is None for v in values], dtype=pl.Boolean),
    ]


def _models(
    frame: pl.DataFrame, data: pl.DataFrame, threshold: int, round_to: int, tally: _Tally
) -> pl.DataFrame:
    parts = []
    for (outcome,), rows in frame.group_by("outcome", maintain_order=True):
        first = rows.row(0, named=True)
        counts = {}
        for column in MODEL_COUNTS:
            values, _ = _protect([first[column]], threshold, round_to, tally, column)
            counts[column] = values[0]
        terms = [t for t in rows["term"].to_list() if t != "intercept"]
        blocked = _thin_terms(data, str(outcome), terms, threshold)
        events_ok = counts["n_events"] is not None and counts["n_events"] >= threshold
        hide = [not events_ok or t in blocked for t in rows["term"].to_list()]
        part = rows.with_columns(
            *[pl.Series(c, [None if h else v for h, v in zip(hide, rows[c].to_list(), strict=True)],
                        dtype=pl.Float64) for c in ESTIMATES],
            pl.Series("estimate" + SUPPRESSED, hide, dtype=pl.Boolean),
        )  # fmt: skip
        for column in MODEL_COUNTS:
            part = part.with_columns(*_released_column(column, [counts[column]] * part.height))
        parts.append(part)
    return pl.concat(parts)


def _thin_terms(data: pl.DataFrame, outcome: str, terms: list[str], threshold: int) -> set[str]:
    """0/1 terms one of whose levels has fewer than ``threshold`` persons or events among the
    rows the model used (complete in every term)."""
    complete = data.drop_nulls(terms)
    event = complete[f"{outcome}_status"] == 1
    thin = set()
    for term in terms:
        column = complete[term].cast(pl.Float64)
        if not set(column.unique().to_list()) <= {0.0, 1.0}:
            continue
        for level in (0.0, 1.0):
            mask = column == level
            if int(mask.sum()) < threshold or int((mask & event).sum()) < threshold:
                thin.add(term)
    return thin


def _rates(frame: pl.DataFrame, threshold: int, round_to: int, tally: _Tally) -> pl.DataFrame:
    out: dict[str, list[float | None]] = {c: [None] * frame.height for c in RATE_COUNTS}
    rows = frame.with_row_index("_row")
    for (_outcome,), part in rows.group_by("outcome", maintain_order=True):
        everyone = part.filter(pl.col("group") == "all")
        groups = [g for g in part["group"].unique(maintain_order=True).to_list() if g != "all"]
        for column in RATE_COUNTS:
            whole = float(everyone[column][0]) if everyone.height else 0.0
            totals: list[float | None] = []
            for group in groups:
                levels = part.filter(pl.col("group") == group).sort("level")
                cells = [float(v) for v in levels[column].to_list()]
                cells.append(max(whole - sum(cells), 0.0))  # rows missing the exposure
                released, total = _protect(cells, threshold, round_to, tally, column)
                for row, value in zip(levels["_row"].to_list(), released, strict=False):
                    out[column][row] = value
                totals.append(total)
            if not groups:
                released, total = _protect([whole], threshold, round_to, tally, column)
                totals.append(total)
            for row in everyone["_row"].to_list():
                out[column][row] = None if any(t is None for t in totals) else totals[0]
    result = frame.select("study", "outcome", "group", "level")
    for column in RATE_COUNTS:
        result = result.with_columns(*_released_column(column, out[column]))
    return result.with_columns(*_rate_columns(out["events"], out["person_years"]))


def _rate_columns(events: list[float | None], years: list[float | None]) -> list[pl.Series]:
    """Rate per 1,000 person-years and its Garwood 95% CI from released values only."""
    found: list[tuple[float | None, float | None, float | None]] = []
    for d, y in zip(events, years, strict=True):
        if d is None or y is None or y <= 0:
            found.append((None, None, None))
            continue
        low, high = garwood(int(d), y)
        found.append((1000 * d / y, 1000 * low, 1000 * high))
    names = ("rate_per_1000", "ci_lower_per_1000", "ci_upper_per_1000")
    return [pl.Series(n, [f[k] for f in found], dtype=pl.Float64) for k, n in enumerate(names)]
