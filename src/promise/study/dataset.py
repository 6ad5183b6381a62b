"""``promise study build``: a definition and the marts in, the person-level dataset and its
attrition table out, in ``WAREHOUSE/study/<name>/``.

The dataset's grain: one row per person who meets every population criterion, with the
index date, age and sex, exit date and reason, one column per exposure and covariate as of
the index date, and per outcome its status, date and years of follow-up
(:mod:`promise.study.columns`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from promise.study.checks import MartsMissingError, check_against_warehouse
from promise.study.columns import dataset_sql
from promise.study.definition import StudyDefinition
from promise.study.population import AttritionRow, attrition, create_base, create_criteria, steps
from promise.study.schema import load_definition
from promise.study.source import StudyDefinitionError
from promise.study.storage import TABLES, publish_study, study_lock
from promise.warehouse import DATABASE_FILE, connect

STUDIES_ENV = "PROMISE_STUDIES"
GRAIN = TABLES[0].grain


@dataclass(frozen=True)
class StudyBuild:
    """What one build wrote: where, how many persons, the attrition, how long it took."""

    name: str
    folder: Path
    persons: int
    attrition: list[AttritionRow]
    end_of_data: dt.date
    seconds: float


def definition_path(name: str, studies_dir: Path | None = None) -> Path:
    """``NAME`` as a path to a ``.yml`` file, or ``<studies_dir>/NAME.yml``.

    ``studies_dir`` defaults to ``$PROMISE_STUDIES``, else ``./studies``.
    """
    if name.endswith((".yml", ".yaml")) or "/" in name:
        return Path(name)
    folder = studies_dir or Path(os.environ.get(STUDIES_ENV) or "studies")
    path = folder / f"{name}.yml"
    if not path.is_file():
        raise StudyDefinitionError(
            f"there is no study definition {path}; write one (docs/studies.md) or pass --studies DIR."
        )
    return path


def definition_digest(path: Path) -> str:
    """SHA-256 of the definition file, recorded so a fit can tell the file changed."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build(name: str, *, warehouse: Path, studies_dir: Path | None = None) -> StudyBuild:
    """Build study ``name`` (or the definition file ``name``) on ``warehouse`` and publish it."""
    started = time.monotonic()
    path = definition_path(name, studies_dir)
    definition = load_definition(path)
    if not (Path(warehouse) / DATABASE_FILE).is_file():
        raise MartsMissingError(f"warehouse {warehouse} has no built marts ({DATABASE_FILE}); run `promise build --warehouse {warehouse}` first.")  # fmt: skip
    with study_lock(Path(warehouse), definition.name):
        return _build_locked(definition, path, Path(warehouse), started)


def _build_locked(definition: StudyDefinition, path: Path, warehouse: Path, started: float) -> StudyBuild:  # fmt: skip
    con = connect(warehouse, read_only=True)
    try:
        resolved = check_against_warehouse(con, definition, str(warehouse))
        create_base(con, definition, resolved.end_of_data)
        create_criteria(con, definition)
        rows = attrition(con, steps(definition))
        dataset = con.execute(dataset_sql(definition, resolved.analytes)).pl()
    finally:
        con.close()
    tables = {"dataset": dataset, "attrition": attrition_table(definition, rows)}
    meta = _meta(definition, warehouse, resolved.end_of_data, dataset.height)
    folder = publish_study(
        Path(warehouse), definition.name, tables, meta, path.read_text(encoding="utf-8")
    )
    return StudyBuild(
        name=definition.name, folder=folder, persons=dataset.height, attrition=rows,
        end_of_data=resolved.end_of_data, seconds=time.monotonic() - started,
    )  # fmt: skip


def attrition_table(definition: StudyDefinition, rows: list[AttritionRow]) -> pl.DataFrame:
    """The attrition rows as a table (one row per criterion, in the order applied)."""
    return pl.DataFrame(
        {
            "study": [definition.name] * len(rows),
            "step": [r.step for r in rows],
            "criterion": [r.criterion for r in rows],
            "yaml_line": [r.line for r in rows],
            "persons_before": [r.persons_before for r in rows],
            "excluded": [r.excluded for r in rows],
            "remaining": [r.remaining for r in rows],
        },
        schema={"study": pl.String, "step": pl.Int32, "criterion": pl.String, "yaml_line": pl.Int32,
                "persons_before": pl.Int64, "excluded": pl.Int64, "remaining": pl.Int64},
    )  # fmt: skip


def _meta(
    definition: StudyDefinition, warehouse: Path, end: dt.date, persons: int
) -> dict[str, object]:
    marts = Path(warehouse) / DATABASE_FILE
    return {
        "study": definition.name,
        "grain": GRAIN,
        "definition_sha256": definition_digest(definition.path),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "marts_modified": dt.datetime.fromtimestamp(marts.stat().st_mtime, dt.UTC).isoformat(
            timespec="seconds"
        ),
        "end_of_data": end.isoformat(),
        "persons": persons,
        "exposures": [v.name for v in definition.exposures],
        "covariates": [v.name for v in definition.covariates],
        "outcomes": [o.name for o in definition.outcomes],
    }
