"""Every endpoint of FinnGen's R4 definition file evaluates on the synthetic warehouse.

The file is read from tests/reference/finngen_endpoints. The build points at it
(``endpoints_file``) and writes into its own folder whose raw/ is the shared small warehouse's,
so the session's published marts are untouched.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pytest

from promise.build import build

pytestmark = [pytest.mark.reference, pytest.mark.slow]

SWEDISH_COLUMNS = (
    "HD_ICD_10", "HD_ICD_9", "HD_ICD_8", "OUTPAT_ICD", "COD_ICD_10", "COD_ICD_9", "COD_ICD_8",
    "KELA_ATC", "CANC_TOPO", "CANC_MORPH", "OPER_NOM",
)  # fmt: skip
UNAVAILABLE_COLUMNS = (
    "KELA_REIMB",
    "KELA_REIMB_ICD",
    "KELA_VNRO",
    "OPER_HL",
    "OPER_HP1",
    "OPER_HP2",
)


def read_definitions(path: Path) -> dict[str, dict[str, str]]:
    """NAME -> row of the endpoint file, comment rows skipped (read with the csv module)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {r["NAME"].strip(): r for r in rows if r["NAME"] and not r["NAME"].startswith("#")}


def has_value(row: dict[str, str], column: str) -> bool:
    value = (row.get(column) or "").replace("\xa0", "").strip()
    return value not in ("", "$!$")


@pytest.fixture(scope="module")
def reference_build(
    small_warehouse: Path, reference_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, str]]]:
    endpoints = reference_dir / "finngen_endpoints" / "finngen_R4_endpoints_utf8.tsv"
    warehouse = tmp_path_factory.mktemp("reference") / "warehouse"
    warehouse.mkdir()
    (warehouse / "raw").symlink_to(small_warehouse / "raw", target_is_directory=True)
    build(warehouse=warehouse, endpoints_file=endpoints)
    return warehouse, read_definitions(endpoints)


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_endpoint_is_evaluated_or_not_applicable(
    reference_build: tuple[Path, dict[str, dict[str, str]]],
) -> None:
    warehouse, definitions = reference_build
    assert len(definitions) == 3946
    rows = query(
        warehouse, "select name, evaluation, not_applicable_parts from marts.endpoint_definition"
    )
    evaluation = {name: (state, parts) for name, state, parts in rows}
    assert set(evaluation) == set(definitions)
    for name, row in definitions.items():
        state, parts = evaluation[name]
        swedish = any(has_value(row, c) for c in SWEDISH_COLUMNS) or has_value(row, "INCLUDE")
        if not swedish:
            assert state == "not_applicable", name
        if any(has_value(row, c) for c in UNAVAILABLE_COLUMNS):
            assert state in ("partial", "not_applicable") and parts, name
        if state != "evaluated":
            assert parts, name  # the report says why


def test_statuses_for_every_person_and_endpoint(
    reference_build: tuple[Path, dict[str, dict[str, str]]],
    small_landing: tuple[Path, dict[str, Any]],
) -> None:
    warehouse, definitions = reference_build
    (persons,) = query(warehouse, "select count(*) from marts.person")[0]
    (statuses,) = query(warehouse, "select count(*) from marts.endpoint_status")[0]
    assert statuses == persons * len(definitions)
    columns = {
        r[0] for r in query(warehouse, "select column_name from (describe marts.gwas_phenotype)")
    }
    assert set(definitions) <= columns
    # the truth's endpoints have the same cases under R4 as under the shipped seed
    truth = small_landing[1]["endpoint_cases"]
    found = dict(
        query(
            warehouse,
            "select endpoint, count(*) filter (where is_case) from marts.endpoint_status "
            f"where endpoint in ({', '.join(repr(e) for e in truth)}) group by 1",
        )
    )
    assert found == truth
