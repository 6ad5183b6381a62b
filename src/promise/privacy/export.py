"""``promise export``: the one path by which aggregate results leave the warehouse.

An export is an analysis of ``analyses/`` (by name), an aggregate table of a study
(``study.<name>__<table>``, under the rules of :mod:`promise.study.release`; a study's
person-level dataset never leaves) or, where the warehouse allows it, one ad-hoc SQL query. Either runs on the confined connection; its count-like columns then pass
:func:`promise.privacy.release.release` (primary and secondary suppression, rounding) at the
warehouse's threshold or above (:mod:`promise.privacy.policy`); derived columns are
recomputed from the released values; the export is recorded in the audit
(:mod:`promise.privacy.audit`) and only then does its file appear.

Differencing: an analysis is exported with the band edges, windows and dates of its spec
(:mod:`promise.privacy.specs`), and the audit is checked so that every export of one
analysis used the same ones. Ad-hoc SQL chooses its own groups, so two queries can be
differenced; it is off unless the data controller sets ``disclosure.allow_sql``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import promise
from promise.privacy import audit
from promise.privacy.confined import DATABASE_FILE, connect
from promise.privacy.policy import DisclosureError, Policy, load_policy
from promise.privacy.release import Layout, Released, release
from promise.privacy.specs import ExportSpec, load_spec
from promise.study.release import is_study_target

CONTROL_VARS = ("disclosure_threshold", "disclosure_round_to")
#: What an analysis is compiled with, so that it hands over true counts (export protects them).
RAW_COUNTS = {"disclosure_threshold": 1, "disclosure_round_to": 0}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote and recorded."""

    id: str
    out: Path
    rows: int
    cells: int
    suppressed: int
    threshold: int
    round_to: int
    sha256: str


@dataclass(frozen=True)
class Table:
    """A result before disclosure control: the frame, its layout, derived columns, query."""

    frame: pl.DataFrame
    layout: Layout
    derived: dict[str, str]
    query: str
    kind: str
    name: str | None = None
    variables: dict[str, Any] | None = None
    fixed: dict[str, Any] | None = None


def export(
    *,
    warehouse: Path,
    target: str,
    out: Path,
    variables: Mapping[str, Any] | None = None,
    threshold: int | None = None,
    by: Sequence[str] = (),
    person_time: Sequence[str] = (),
) -> ExportResult:
    """Run ``target`` (an analysis name or SQL), protect it, record it, write ``out`` (CSV)."""
    warehouse, out = Path(warehouse).resolve(), Path(out).resolve()
    check_out(out, warehouse)
    policy = load_policy(warehouse)
    wanted = dict(variables or {})
    chosen = policy.threshold_for(threshold, _whole(wanted.pop(CONTROL_VARS[0], None)))
    round_to = policy.round_to_for(_whole(wanted.pop(CONTROL_VARS[1], None)))
    if is_study_target(target):
        table, released = study_table(warehouse, target, wanted, by, person_time, chosen, round_to)
        return _publish(warehouse, out, released.frame, released, table, chosen, round_to)
    if NAME.fullmatch(target.strip()):
        table = analysis_table(warehouse, target.strip(), wanted)
    else:
        table = sql_table(warehouse, target, policy, wanted, by=by, person_time=person_time)
    released = release(table.frame, table.layout, threshold=chosen, round_to=round_to)
    frame = with_derived(released.frame, table.derived)
    return _publish(warehouse, out, frame, released, table, chosen, round_to)


def study_table(
    warehouse: Path,
    target: str,
    variables: Mapping[str, Any],
    by: Sequence[str],
    person_time: Sequence[str],
    threshold: int,
    round_to: int,
) -> tuple[Table, Released]:
    """A study's aggregate table under its own disclosure rules (:mod:`promise.study.release`)."""
    from promise.study.release import release_study_table

    if variables or by or person_time:
        raise DisclosureError("--var, --by and --person-time do not apply to study tables, whose layout is fixed.")  # fmt: skip
    study = release_study_table(warehouse, target, threshold=threshold, round_to=round_to)
    layout = Layout(dimensions=[], counts=list(study.released.primary))
    table = Table(frame=study.frame, layout=layout, derived={}, query=study.definition,
                  kind="study", name=study.name, variables={}, fixed=study.fixed)  # fmt: skip
    return table, study.released


def check_out(out: Path, warehouse: Path) -> None:
    """Refuse an output inside the warehouse, over an existing file, or in no folder."""
    if out.is_relative_to(warehouse):
        raise DisclosureError(f"--out {out} is inside the warehouse; write exports outside it.")
    if out.exists():
        raise DisclosureError(f"{out} exists already; remove it or choose another --out.")
    if not out.parent.is_dir():
        raise DisclosureError(f"the folder of --out {out} does not exist; create it first.")


def analysis_table(warehouse: Path, name: str, variables: Mapping[str, Any]) -> Table:
    """Run an analysis with its spec's fixed values and the free ones asked for."""
    from promise.analyses import analysis_path, compile_analysis

    analysis_path(name)
    spec = load_spec(name)
    for key in variables:
        if key not in spec.free:
            raise DisclosureError(_not_free(spec, key))
    check_earlier_exports(warehouse, spec)
    sql = compile_analysis(
        warehouse=warehouse, name=name, variables={**spec.fixed, **variables, **RAW_COUNTS}
    )
    return Table(
        frame=_run(warehouse, sql),
        layout=spec.layout,
        derived=spec.derived,
        query=sql,
        kind="analysis",
        name=name,
        variables=dict(variables),
        fixed=spec.fixed,
    )


def _not_free(spec: ExportSpec, key: str) -> str:
    if key in spec.fixed:
        return (
            f"{key} is fixed at {spec.fixed[key]!r} for exports of {spec.name} so that two "
            "exports cannot be differenced to isolate a small group; export without it."
        )
    free = ", ".join(spec.free) or "none"
    return f"{key} cannot be set for exports of {spec.name} (the variables that can: {free})."


def check_earlier_exports(warehouse: Path, spec: ExportSpec) -> None:
    """Refuse an analysis whose fixed values differ from those of an earlier export of it."""
    mine = json.dumps(spec.fixed, sort_keys=True, default=str)
    for record in audit.records(warehouse):
        if record.get("kind") != "analysis" or record.get("name") != spec.name:
            continue
        theirs = json.dumps(record.get("fixed"), sort_keys=True, default=str)
        if theirs != mine:
            raise DisclosureError(
                f"export {record.get('id')} of {spec.name} ({record.get('time')}) used {theirs}, "
                f"this one would use {mine}: a reader could subtract one from the other to "
                f"isolate a small group; keep the earlier values in analyses/_analyses.yml."
            )


def sql_table(
    warehouse: Path,
    query: str,
    policy: Policy,
    variables: Mapping[str, Any],
    *,
    by: Sequence[str],
    person_time: Sequence[str],
) -> Table:
    """Run one ad-hoc query, where the warehouse allows it; its layout comes from its types."""
    if not policy.allow_sql:
        raise DisclosureError(
            "this warehouse exports only the analyses in analyses/ (disclosure.allow_sql is "
            f"off, {policy.source}): an ad-hoc query chooses its own groups, and two of them can "
            "be differenced to isolate a few people."
        )
    if variables:
        raise DisclosureError("--var applies to analyses; put values into the SQL itself.")
    from promise.sql import split_statements

    if len(split_statements(query)) != 1:
        raise DisclosureError("export one SQL statement at a time.")
    frame = _run(warehouse, query)
    layout = sql_layout(frame, by, person_time)
    check_dimensions(frame, layout.dimensions)
    return Table(frame=frame, layout=layout, derived={}, query=query, kind="sql")


#: a dimension named like a key of persons, samples, pairs or deliveries
_KEY_NAME = re.compile(r"(^|_)(id|lopnr|personnr|pnr|iid|fid)$", re.IGNORECASE)
#: a value shaped like a person_id (96-bit keyed pseudonym, promise.pseudonym)
_PSEUDONYM = re.compile(r"^[0-9a-f]{24}$")


def check_dimensions(frame: pl.DataFrame, dimensions: Sequence[str]) -> None:
    """Refuse groups that name people rather than categories: a key column (``person_id``,
    ``sample_id``, ``lopnr``, ...), values shaped like pseudonyms, or exact dates (a day of
    birth or death is a quasi-identifier). Suppression hides a small group's counts, not
    the label of its row, so such a label would leave with the table."""
    for name in dimensions:
        column = frame[name]
        if _KEY_NAME.search(name):
            raise DisclosureError(
                f"column {name} names individual records, not categories: aggregate over it."
            )
        if column.dtype == pl.Utf8 and column.drop_nulls().str.contains(_PSEUDONYM.pattern).any():
            raise DisclosureError(
                f"column {name} holds person keys, not categories: aggregate over it."
            )
        if column.dtype in (pl.Date, pl.Datetime) and _has_days(column):
            raise DisclosureError(
                f"column {name} holds exact dates: group by year or month "
                "(date_trunc('month', ...)) instead."
            )


def _has_days(column: pl.Series) -> bool:
    days = column.drop_nulls().cast(pl.Date).dt.day()
    return bool((days != 1).any())


def sql_layout(frame: pl.DataFrame, by: Sequence[str], person_time: Sequence[str]) -> Layout:
    """Dimensions: non-numeric columns and those named by ``--by``; the other numeric
    columns are counts, or person-time when named by ``--person-time``."""
    unknown = [c for c in [*by, *person_time] if c not in frame.columns]
    if unknown:
        raise DisclosureError(f"the result has no column {', '.join(unknown)}.")
    numeric = [c for c in frame.columns if frame[c].dtype.is_numeric() and c not in by]
    return Layout(
        dimensions=[c for c in frame.columns if c not in numeric],
        counts=[c for c in numeric if c not in person_time],
        person_time=[c for c in numeric if c in person_time],
    )


def _run(warehouse: Path, sql: str) -> pl.DataFrame:
    con = connect(warehouse)
    try:
        return con.sql(sql).pl()
    except duckdb.Error as exc:
        raise DisclosureError(f"the query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()


def with_derived(frame: pl.DataFrame, derived: Mapping[str, str]) -> pl.DataFrame:
    """``frame`` with each derived column computed (SQL) from the released values only."""
    if not derived:
        return frame
    con = duckdb.connect(config={"enable_external_access": False, "temp_directory": ""})
    try:
        con.register("released", frame.with_row_index("__row").to_arrow())
        columns = ", ".join(f'({sql}) AS "{name}"' for name, sql in derived.items())
        result = con.sql(f"SELECT *, {columns} FROM released ORDER BY __row").pl()
    except duckdb.Error as exc:
        raise DisclosureError(
            f"a derived column does not compute: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        con.close()
    return result.drop("__row")


def _publish(
    warehouse: Path,
    out: Path,
    frame: pl.DataFrame,
    released: Released,
    table: Table,
    threshold: int,
    round_to: int,
) -> ExportResult:
    """Write to a temporary name, record in the audit, then rename into place."""
    export_id = uuid.uuid4().hex[:12]
    partial = out.with_name(f".{out.name}.{export_id}.partial")
    frame.write_csv(partial)
    try:
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
        audit.append(warehouse, _record(export_id, warehouse, out, digest, frame, released,
                                        table, threshold, round_to))  # fmt: skip
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(
        id=export_id, out=out, rows=frame.height, cells=released.cells,
        suppressed=released.suppressed, threshold=threshold, round_to=round_to, sha256=digest,
    )  # fmt: skip


def _record(
    export_id: str,
    warehouse: Path,
    out: Path,
    digest: str,
    frame: pl.DataFrame,
    released: Released,
    table: Table,
    threshold: int,
    round_to: int,
) -> dict[str, Any]:
    database = warehouse / DATABASE_FILE
    stat = database.stat() if database.is_file() else None
    return {
        "id": export_id,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": _user(),
        "host": socket.gethostname(),
        "promise": promise.__version__,
        "kind": table.kind,
        "name": table.name,
        "variables": table.variables,
        "fixed": table.fixed,
        "query": table.query,
        "threshold": threshold,
        "round_to": round_to,
        "output": str(out),
        "sha256": digest,
        "rows": frame.height,
        "cells": released.cells,
        "cells_suppressed": released.suppressed,
        "primary": released.primary,
        "secondary": released.secondary,
        "database": None if stat is None else {"bytes": stat.st_size, "mtime": int(stat.st_mtime)},
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _whole(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise DisclosureError(f"disclosure variables take whole numbers, not {value!r}.")
    return int(value)
