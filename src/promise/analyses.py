"""Run the dbt analyses in ``analyses/`` against a published warehouse.

An analysis is dbt-templated SQL (parameters are dbt vars). It is compiled by dbt against a
scratch database named like the published one, so its ``ref()``s read
``"promise"."marts".<table>``, then run on a read-only connection that attaches
``WAREHOUSE/promise.duckdb`` as ``promise`` (:func:`promise.warehouse.connect`).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from promise.build import BUILD_DIR, DATABASE_FILE, DBT_DIR, _environ
from promise.errors import ConfigurationError, PromiseError
from promise.settings import project_root
from promise.warehouse import connect


def compile_analysis(
    *, warehouse: Path, name: str, variables: Mapping[str, Any] | None = None
) -> str:
    """The SQL of ``analyses/<name>.sql`` with ``variables`` filled in."""
    from dbt.cli.main import dbtRunner

    warehouse = Path(warehouse).resolve()
    if not (project_root() / "analyses" / f"{name}.sql").is_file():
        raise ConfigurationError(f"there is no analysis {name!r}; see the files in analyses/.")
    scratch = warehouse / BUILD_DIR / f"compile-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(parents=True)
    root = str(project_root())
    env = {
        "PROMISE_WAREHOUSE": str(warehouse),
        "PROMISE_DUCKDB_PATH": str(scratch / DATABASE_FILE),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    args = ["compile", "--select", name, "--project-dir", root, "--profiles-dir", root,
            "--target-path", str(warehouse / DBT_DIR / "target"),
            "--log-path", str(warehouse / DBT_DIR / "logs"), "--log-level", "none",
            "--vars", json.dumps(dict(variables or {}))]  # fmt: skip
    try:
        with _environ(env):
            outcome = dbtRunner().invoke(args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = getattr(outcome.result, "results", None) or []
    if not outcome.success or not results:
        raise PromiseError(f"analysis {name} did not compile: {outcome.exception}")
    return str(results[0].node.compiled_code)


def run_analysis(
    *, warehouse: Path, name: str, variables: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """Compile and run one analysis on the published marts; returns its (protected) table."""
    sql = compile_analysis(warehouse=warehouse, name=name, variables=variables)
    con = connect(warehouse)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()
