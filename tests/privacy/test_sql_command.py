"""`promise sql` on a built warehouse: marts without prefix, each table listed once, SQL from a
file or stdin (issue 14, items 4 and 5).

Before: the marts were views of an in-memory database over the attached promise.duckdb, so
`SHOW ALL TABLES` listed each of them twice and `person` alone did not resolve; `--file` did
not exist.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from privacy_site import Site

from promise.cli import main

pytestmark = pytest.mark.integration


def run_csv(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    assert main(["sql", "--format", "csv", *args]) == 0, capsys.readouterr().err
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def published_marts(site: Site) -> set[str]:
    con = duckdb.connect(str(site.warehouse / "promise.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")
        return {r[0] for r in rows.fetchall()}
    finally:
        con.close()


def test_marts_answer_without_their_schema(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    w = ["--warehouse", str(site.warehouse)]
    short = run_csv([*w, "SELECT count(*) AS n FROM person"], capsys)
    full = run_csv([*w, "SELECT count(*) AS n FROM marts.person"], capsys)
    assert short == full == [{"n": "400"}]
    # raw sources and the manifest keep their names
    assert run_csv([*w, "SELECT count(*) AS n FROM raw.population"], capsys) == [{"n": "400"}]


def test_show_all_tables_lists_each_table_once(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = run_csv(["--warehouse", str(site.warehouse), "SHOW ALL TABLES"], capsys)
    listed = Counter((r["schema"], r["name"]) for r in rows if r["database"] != "temp")
    assert listed and max(listed.values()) == 1, [k for k, n in listed.items() if n > 1]
    marts = [r["name"] for r in rows if r["schema"] == "marts"]
    assert sorted(marts) == sorted(published_marts(site))
    assert {r["name"] for r in rows if r["database"] == "raw"} >= {"population", "lmed"}
    assert {"manifest", "quarantine"} <= {r["name"] for r in rows if r["database"] == "temp"}


QUERIES = (
    "SELECT count(*) AS n FROM person;\n-- a comment\nSELECT count(*) AS loads FROM manifest;\n"
)


def test_sql_from_a_file(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "q.sql"
    file.write_text(QUERIES)
    assert (
        main(["sql", "--warehouse", str(site.warehouse), "--format", "csv", "-f", str(file)]) == 0
    )
    out = capsys.readouterr().out.split()
    assert out[:3] == ["n", "400", "loads"] and int(out[3]) > 5


@pytest.mark.parametrize("args", [["--file", "-"], []])
def test_sql_from_stdin(
    site: Site, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(QUERIES))
    assert main(["sql", "--warehouse", str(site.warehouse), "--format", "csv", *args]) == 0
    assert capsys.readouterr().out.split()[:2] == ["n", "400"]


def test_a_failing_statement_stops_the_file_in_one_sentence(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "q.sql"
    file.write_text("SELECT 1 AS a; SELECT * FROM no_such_table; SELECT 2 AS b;")
    assert main(["sql", "--warehouse", str(site.warehouse), "--file", str(file)]) != 0
    out, err = capsys.readouterr()
    assert "a" in out and "b" not in out.split()
    assert err.count("\n") == 1 and "statement 2 failed" in err
