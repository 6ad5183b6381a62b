"""``promise endpoints`` on a built warehouse, against counts computed here in plain SQL.

The command counts genotyped cases by unpivoting ``marts.gwas_phenotype`` and overall
cases from ``marts.endpoint_status``; the expected values below come by another route:
``marts.endpoint_case`` (one row per case) joined to the genotyped persons.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from promise.cli import main
from promise.warehouse import connect

pytestmark = pytest.mark.integration


def _expected(warehouse: Path) -> dict[str, tuple[int, int, int, int]]:
    con = connect(warehouse)
    try:
        rows = con.execute(
            """
            select d.name,
                (select count(*) from marts.endpoint_case c where c.endpoint = d.name),
                (select count(*) from marts.endpoint_status s
                 where s.endpoint = d.name and s.is_control),
                (select count(*) from marts.endpoint_case c
                 join marts.gwas_phenotype g on g.person_id = c.person_id
                 where c.endpoint = d.name),
                (select count(*) from marts.endpoint_status s
                 join marts.gwas_phenotype g on g.person_id = s.person_id
                 where s.endpoint = d.name and s.is_control)
            from marts.endpoint_definition d
            """
        ).fetchall()
    finally:
        con.close()
    return {name: (a, b, c, d) for name, a, b, c, d in rows}


def _table_rows(text: str) -> dict[str, list[str]]:
    """The body rows of rich tables, by their first cell."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[cells[0]] = cells
    return rows


def test_endpoints_lists_counts_overall_and_among_the_genotyped(
    built_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _expected(built_warehouse)
    assert any(v[2] for v in expected.values())  # the fixture has genotyped cases
    assert main(["endpoints", "--warehouse", str(built_warehouse)]) == 0
    rows = _table_rows(capsys.readouterr().out)
    for name, (cases, controls, g_cases, g_controls) in expected.items():
        cells = rows[name]
        counts = [int(c.replace(",", "")) for c in cells[2:6]]
        assert counts == [cases, controls, g_cases, g_controls], name
        assert cells[6] in ("evaluated", "partial", "not_applicable")
    con = connect(built_warehouse)
    try:  # quantitative traits: every DOUBLE column of the phenotype mart, with its unit
        analytes = dict(
            con.execute(
                "select analyte_name, any_value(unit) from marts.omics_measurement group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    for analyte, unit in analytes.items():
        if analyte in rows:
            assert rows[analyte][2] == (unit or "")
    assert "LDL_C" in rows


def test_gwas_hint_lists_only_endpoints_with_genotyped_cases(
    built_warehouse: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    expected = _expected(built_warehouse)
    empty = sorted(n for n, v in expected.items() if v[2] == 0)
    with_cases = {n for n, v in expected.items() if v[2] > 0}
    assert empty, "the fixture should have an endpoint without genotyped cases"
    start = time.perf_counter()
    code = main(["gwas", "--endpoint", empty[0], "--warehouse", str(built_warehouse),
                 "--out", str(tmp_path / "out")])  # fmt: skip
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err.strip()
    assert code != 0 and seconds < 5 and "\n" not in err and "Traceback" not in err
    assert f"Endpoint {empty[0]!r} has no case among the" in err
    listed = err.split("(cases): ")[1].rstrip(".").split(" ...")[0].split(", ")
    names = {item.split(" (")[0] for item in listed}
    assert names and names <= with_cases
    counts = {
        item.split(" (")[0]: int(item.split(" (")[1].rstrip(")").replace(",", ""))
        for item in listed
    }
    assert all(counts[n] == expected[n][2] for n in names)
