"""The synthetic registers as SAS and Stata files (``promise synth --format sas|stata``, written
by Debian's readstat) against their planted truth and against the same cohort as text.

truth.json says how many records each file holds and which defects were planted in it (a
SAS or Stata file cannot hold a ragged or undecodable row, so those are left out and truth
says so); docs/interfaces.md section 1 gives each defect's quarantine reason. The same seed
written as delimited text is the established delivery: every row loaded from the SAS or
Stata files must equal, value for value, a row loaded from the text files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promise.ingest import run_ingest
from promise.synth import write_cohort
from promise.synth.layouts import REGISTERS
from promise.warehouse import connect

from .readstat_files import need_readstat
from .scanner import scan, written_forms
from .test_synth_landing import REASON_OF_KIND, landing_numbers

pytestmark = pytest.mark.integration
PERSONS, SEED = 1500, 11
LINEAGE = ("_load_id", "_source_file", "_source_line")
SAS_MAGIC = bytes.fromhex("000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011")


@pytest.fixture(scope="module")
def landings(
    tmp_path_factory: pytest.TempPathFactory, key_file: Path
) -> dict[str, tuple[Path, dict[str, Any], Path]]:
    """The same registers as text, SAS and Stata: (landing, truth, warehouse) by format."""
    need_readstat()
    root = tmp_path_factory.mktemp("sas-landing")
    out = {}
    for kind in ("text", "sas", "stata"):
        landing, warehouse = root / kind / "landing", root / kind / "warehouse"
        truth = write_cohort(
            landing, persons=PERSONS, variants=0, seed=SEED, sources=list(REGISTERS),
            file_format=kind,
        )  # fmt: skip
        run_ingest(landing=landing, warehouse=warehouse, key_file=key_file)
        out[kind] = (landing, truth, warehouse)
    return out


def _query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = connect(warehouse)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("kind", ["sas", "stata"])
def test_every_register_file_reconciles_with_truth(
    landings: dict[str, tuple[Path, dict[str, Any], Path]], kind: str
) -> None:
    landing, truth, warehouse = landings[kind]
    suffix = ".sas7bdat" if kind == "sas" else ".dta"
    assert all(f.endswith(suffix) for f in truth["files"]), truth["files"].keys()
    assert {f.split("/")[0] for f in truth["files"]} == set(REGISTERS)
    manifest = {
        r[0]: r[1:]
        for r in _query(
            warehouse, "SELECT file, rows_in, rows_loaded, rows_quarantined FROM manifest"
        )
    }
    reasons: dict[str, dict[str, int]] = {}
    for file, reason, n in _query(
        warehouse, "SELECT file, reason, count(*) FROM quarantine GROUP BY ALL"
    ):
        reasons.setdefault(file, {})[reason] = n
    assert set(manifest) == set(truth["files"])
    for file, expected in truth["files"].items():
        rows_in, loaded, quarantined = manifest[file]
        assert rows_in == expected["rows"], file
        assert loaded + quarantined == rows_in, file
        planted = {REASON_OF_KIND[k]: n for k, n in expected["malformed"].items() if n}
        assert reasons.get(file, {}) == planted, file
    persons = _query(warehouse, "SELECT count(DISTINCT person_id) FROM raw.population")
    assert persons == [(truth["persons"],)]


@pytest.mark.parametrize("kind", ["sas", "stata"])
def test_loaded_rows_equal_those_of_the_text_delivery(
    landings: dict[str, tuple[Path, dict[str, Any], Path]], kind: str
) -> None:
    """Dates, codes, latin-1 text, personnummer (as person_id, birth date, sex): the same
    values whichever format delivered them, row for row (multisets, lineage aside)."""
    text_wh, other_wh = landings["text"][2], landings[kind][2]
    con = connect(text_wh)
    try:
        for source in REGISTERS:
            cols = list(con.sql(f"SELECT * FROM raw.{source} LIMIT 0").columns)
            keep = ", ".join(f'"{c}"' for c in cols if c not in LINEAGE)
            other = f"read_parquet('{other_wh}/raw/{source}/*/data.parquet', union_by_name=true)"
            mine = f"raw.{source}"
            for a, b in ((mine, other), (other, mine)):
                left = con.sql(
                    f"SELECT count(*) FROM (SELECT {keep} FROM {a} EXCEPT ALL SELECT {keep} FROM {b})"
                ).fetchone()
                assert left == (0,), (source, a)
            n = con.sql(f"SELECT count(*) FROM {mine}").fetchone()
            assert n is not None and n[0] > 0, source
    finally:
        con.close()


def test_sas_files_carry_latin1_text_and_declare_it(
    landings: dict[str, tuple[Path, dict[str, Any], Path]],
) -> None:
    """A latin-1 register (RTB migration) as SAS: latin-1 bytes, ISO-8859-1 (code 29) in the
    header; a UTF-8 register (LMED) declares UTF-8 (code 20); non-ASCII names load intact."""
    landing, _, warehouse = landings["sas"]
    migration = next(landing.glob("migration/*.sas7bdat")).read_bytes()
    lmed = next(landing.glob("lmed/*.sas7bdat")).read_bytes()
    assert migration[:32] == SAS_MAGIC and lmed[:32] == SAS_MAGIC
    assert (migration[70], lmed[70]) == (29, 20)
    assert "Österrike".encode("latin-1") in migration
    assert "Österrike".encode() not in migration
    names = {r[0] for r in _query(warehouse, "SELECT DISTINCT country FROM raw.migration")}
    assert "Österrike" in names


@pytest.mark.reliability
def test_no_personnummer_under_the_sas_and_stata_warehouses(
    landings: dict[str, tuple[Path, dict[str, Any], Path]],
) -> None:
    """Every number written in the text landing of the same seed (the SAS and Stata files hold
    the same ones), in every written form, is absent from everything under both warehouses."""
    numbers = landing_numbers(landings["text"][0])
    assert len(numbers) > PERSONS
    forms = written_forms(numbers)
    assert scan([landings["sas"][2], landings["stata"][2]], forms) == set()
