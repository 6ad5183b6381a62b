"""`promise sql` and `promise.connect()` are read-only and confined to the warehouse.

A catalogue of hostile statements (tests/privacy/hostile.py: every kind of write, COPY,
EXPORT, ATTACH, INSTALL, LOAD, SET, PRAGMA, CALL, and table functions reading the landing
folder, the key file, raw Parquet and paths outside), each also wrapped in EXPLAIN ANALYZE,
a CTE and a subquery, is thrown at the CLI in-process and at one Python connection. Each
executed form must be refused in one sentence; plain EXPLAIN forms (DuckDB plans them and
runs nothing) must be refused or leave the session confined. Every file of the warehouse,
the landing folder, the key folder and the folder outside is hashed before and after.

Before this change `EXPLAIN ANALYZE COPY ... TO` wrote files (a forged manifest row) and
`read_text` read the key: these tests failed on the old `promise sql`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hostile import Places, catalogue, executed, planned
from privacy_site import Site, snapshot

import promise
from promise.cli import main
from promise.privacy.confined import is_confined
from promise.settings import project_root

pytestmark = pytest.mark.reliability


def places(site: Site) -> Places:
    return Places(site.warehouse, site.landing, site.key, site.outside)


def folders(site: Site) -> tuple[Path, ...]:
    return (site.warehouse, site.landing, site.key.parent, site.outside)


def test_the_catalogue_is_refused_by_promise_sql(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(*folders(site))
    hostile = catalogue(places(site))
    assert {h.kind for h in hostile} >= {
        "write", "copy", "export", "attach", "install", "load", "set", "pragma", "call", "read"
    }  # fmt: skip
    tried = 0
    for h in hostile:
        for statement in executed(h):
            tried += 1
            rc = main(["sql", "--warehouse", str(site.warehouse), "--format", "csv", statement])
            out, err = capsys.readouterr()
            assert rc != 0, (statement, out)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), (statement, err)
            assert "Traceback" not in err and out == "", statement
        for statement in planned(h):
            rc = main(["sql", "--warehouse", str(site.warehouse), "--format", "csv", statement])
            out, err = capsys.readouterr()
            if rc == 0:  # a plan only: nothing ran
                assert out.splitlines()[0] in {"explain_key,explain_value", "physical_plan"} or (
                    "explain_key" in out
                ), (statement, out)
            else:
                assert len(err.strip().splitlines()) == 1, (statement, err)
    assert tried > 300
    assert snapshot(*folders(site)) == before


def test_the_catalogue_is_refused_by_promise_connect(site: Site) -> None:
    before = snapshot(*folders(site))
    con = promise.connect(site.warehouse)
    try:
        assert is_confined(con)
        for h in catalogue(places(site)):
            for statement in executed(h):
                with pytest.raises(duckdb.Error) as refused:
                    relation = con.sql(statement)
                    if relation is not None:
                        relation.fetchall()
                assert str(refused.value).strip(), statement
            for statement in planned(h):
                try:
                    relation = con.sql(statement)
                    if relation is not None:
                        relation.fetchall()
                except duckdb.Error:
                    pass
                assert is_confined(con), statement  # the plan changed no setting
        # the session still answers, and still sees the published data
        assert con.sql("SELECT count(*) FROM person").fetchone() == (400,)
    finally:
        con.close()
    assert snapshot(*folders(site)) == before


def test_promise_connect_is_read_only_only(site: Site) -> None:
    with pytest.raises(promise.errors.PromiseError, match="read-only"):
        promise.connect(site.warehouse, read_only=False)


def test_published_tables_answer_in_a_confined_session(site: Site) -> None:
    con = promise.connect(site.warehouse)
    try:
        assert is_confined(con)
        manifest = con.sql(
            "SELECT count(*), count(DISTINCT key_fingerprint) FROM manifest"
        ).fetchone()
        assert manifest is not None and manifest[0] > 5 and manifest[1] == 1
        assert con.sql("SELECT count(*) FROM raw.population").fetchone() == (400,)
        assert con.sql("SELECT count(*) FROM quarantine").fetchone()[0] > 0  # type: ignore[index]
        # marts without their schema (search path), the same rows as with it
        assert (
            con.sql("SELECT count(*) FROM endpoint_status").fetchone()
            == con.sql("SELECT count(*) FROM marts.endpoint_status").fetchone()
        )
    finally:
        con.close()


def dbt_show(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    """`dbt show --target analyses` as an analyst would run it, from the checkout."""
    root = project_root()
    return subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "show", "--target", "analyses",
         "--project-dir", str(root), "--profiles-dir", str(root),
         "--target-path", str(site.outside / "dbt-target"), "--log-path", str(site.outside / "dbt-logs"),
         *args],
        env={**os.environ, "PROMISE_WAREHOUSE": str(site.warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_dbt_analyses_target_is_confined(site: Site) -> None:
    before = snapshot(site.warehouse, site.landing, site.key.parent)
    shown = dbt_show(site, "--select", "prevalence", "--limit", "3")
    assert shown.returncode == 0, shown.stdout[-2000:]
    assert "age_band" in shown.stdout
    for statement in (
        f"select * from read_text('{site.key}')",
        f"copy (select 1) to '{site.warehouse}/promise.duckdb.wal' (format csv)",
    ):
        refused = dbt_show(site, "--inline", statement)
        assert refused.returncode != 0 and "Runtime Error" in refused.stdout, statement
    assert snapshot(site.warehouse, site.landing, site.key.parent) == before


def test_confined_and_plain_connections_coexist(site: Site) -> None:
    # DuckDB shares one instance per file in a process; a confined session must neither
    # borrow an analyst's plain connection nor stop one from opening (it did, once)
    plain = duckdb.connect(str(site.warehouse / "promise.duckdb"), read_only=True)
    confined = promise.connect(site.warehouse)
    try:
        assert is_confined(confined) and not is_confined(plain)
        assert plain.sql("SELECT count(*) FROM marts.person").fetchone() == (400,)
        assert confined.sql("SELECT count(*) FROM person").fetchone() == (400,)
        assert plain.sql(f"SELECT count(*) FROM glob('{site.warehouse}/*')").fetchone()[0] > 0  # type: ignore[index]
    finally:
        confined.close()
        plain.close()
