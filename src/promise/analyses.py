"""Run the dbt analyses in ``analyses/`` against a published warehouse.

An analysis is dbt-templated SQL (parameters are dbt vars). dbt compiles it with the
confined ``analyses`` target of ``profiles.yml`` (:mod:`promise.privacy.dbt_confine`) against
an empty database named like the published one, in a temporary folder outside the warehouse,
so its ``ref()``s read ``"promise"."marts".<table>`` and dbt's compiled files, logs and the
DuckDB instance it keeps open never touch the warehouse (an instance dbt left open on the
published file would clash with any later connection to it in this process). The SQL then
runs on :func:`promise.privacy.confined.connect`.

What this returns stays inside the warehouse's trust boundary (an analyst's session); tables
leave only through ``promise export`` (:mod:`promise.privacy.export`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from promise.build import DATABASE_FILE, _environ
from promise.errors import ConfigurationError, PromiseError
from promise.privacy.confined import connect
from promise.settings import project_root

TARGET = "analyses"


def analysis_path(name: str) -> Path:
    """``analyses/<name>.sql`` of the checkout; an unknown name is one sentence."""
    path = project_root() / "analyses" / f"{name}.sql"
    if not name.replace("_", "").isalnum() or not path.is_file():
        known = ", ".join(sorted(p.stem for p in (project_root() / "analyses").glob("*.sql")))
        raise ConfigurationError(f"there is no analysis {name!r}; the analyses are: {known}.")
    return path


def compile_analysis(
    *, warehouse: Path, name: str, variables: Mapping[str, Any] | None = None
) -> str:
    """The SQL of ``analyses/<name>.sql`` with ``variables`` filled in."""
    from dbt.cli.main import dbtRunner

    warehouse = Path(warehouse).resolve()
    analysis_path(name)
    if not (warehouse / DATABASE_FILE).is_file():
        raise ConfigurationError(
            f"{warehouse} has no marts yet; run `promise build --warehouse {warehouse}` first."
        )
    root = str(project_root())
    with tempfile.TemporaryDirectory(prefix="promise-analysis-") as scratch:
        duckdb.connect(str(Path(scratch) / DATABASE_FILE)).close()
        env = {"PROMISE_WAREHOUSE": scratch, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        args = ["compile", "--select", name, "--target", TARGET,
                "--project-dir", root, "--profiles-dir", root,
                "--target-path", str(Path(scratch) / "target"),
                "--log-path", str(Path(scratch) / "logs"), "--log-level", "none",
                "--vars", json.dumps(dict(variables or {}))]  # fmt: skip
        with _environ(env):
            outcome = dbtRunner().invoke(args)
    results = getattr(outcome.result, "results", None) or []
    if not outcome.success or not results:
        raise PromiseError(f"analysis {name} did not compile: {outcome.exception}")
    return str(results[0].node.compiled_code)


def run_analysis(
    *, warehouse: Path, name: str, variables: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """Compile and run one analysis on the published marts; returns its table."""
    sql = compile_analysis(warehouse=warehouse, name=name, variables=variables)
    con = connect(warehouse)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()
