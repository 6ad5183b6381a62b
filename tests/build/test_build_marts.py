"""The marts of the hand-made raw layer (tests/build/tiny_raw.py), checked by hand."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tiny_raw import pid

from promise.build import BuildResult

pytestmark = pytest.mark.integration


def cases(con: duckdb.DuckDBPyConnection, endpoint: str) -> set[str]:
    rows = con.execute(
        "select person_id from marts.endpoint_status where endpoint = ? and is_case", [endpoint]
    ).fetchall()
    labels = {pid(f"p{i}"): f"p{i}" for i in range(1, 9)}
    return {labels[r[0]] for r in rows}


def test_build_ran_every_kind_of_node(tiny_build: tuple[Path, BuildResult]) -> None:
    result = tiny_build[1]
    assert result.published and result.failures == []
    assert result.count("unit_test") >= 6
    assert result.count("test") >= 90  # generic key tests plus tests/dbt singular tests
    assert result.count("model") == 45  # 16 staging, 17 intermediate, 12 marts


def test_transfer_collapses_into_one_stay(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    # p1: 2005-03-01..05 and 2005-03-06..10 (transfer) are one stay, 2008-01-01 another
    stays = tiny_marts.execute(
        "select count(distinct event_id), min(event_date) from marts.diagnosis "
        "where person_id = ? and source = 'inpatient' and event_date < date '2006-01-01'",
        [pid("p1")],
    ).fetchone()
    assert stays == (1, __import__("datetime").date(2005, 3, 1))


def test_codes_normalised_with_versions(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    rows = set(
        tiny_marts.execute(
            "select code_raw, code, icd_version, is_main from marts.diagnosis where person_id = ?",
            [pid("p3")],
        ).fetchall()
    )
    # ICD-8 comma form (1985), Swedish ICD-9 letter (1990), ICD-10 cause of death (2010)
    assert rows == {
        ("410,99", "41099", 8, True),
        ("250A", "250A", 9, True),
        ("I21.9", "I219", 10, True),
        ("E11.9", "E119", 10, False),
    }


def test_diagnos_string_variant_first_token_is_main(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    rows = set(
        tiny_marts.execute(
            "select code, is_main from marts.diagnosis where person_id = ?", [pid("p5")]
        ).fetchall()
    )
    assert rows == {("E119", True), ("I10", False)}


def test_blanked_codes_are_dropped(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    codes = tiny_marts.execute(
        "select code from marts.diagnosis where person_id = ?", [pid("p7")]
    ).fetchall()
    assert codes == [("I48",)]


def test_correction_cancels_a_dispensing(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    # p7: three C10AA01 dispensings, the last cancelled two days later -> two remain
    rows = tiny_marts.execute(
        "select count(*), sum(ddd) from marts.drug_dispensing where person_id = ?", [pid("p7")]
    ).fetchone()
    assert rows == (2, 60.0)
    assert cases(tiny_marts, "RX_STATIN") == set()  # needs 3 dispensings


def test_residence_spells(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    spells = tiny_marts.execute(
        "select start_date::varchar, end_date::varchar, start_reason, end_reason "
        "from marts.observation_period where person_id = ? order by start_date",
        [pid("p4")],
    ).fetchall()
    assert spells == [
        ("2000-01-01", "2010-01-01", "immigration", "emigration"),
        ("2015-01-01", "2025-12-31", "immigration", "end_of_data"),
    ]
    died = tiny_marts.execute(
        "select end_date::varchar, end_reason from marts.observation_period where person_id = ?",
        [pid("p3")],
    ).fetchall()
    assert died == [("2010-05-10", "death")]


def test_endpoint_cases_by_hand(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    # E4_DM2 (E11 in HD or COD, or >= 3 A10B dispensings): p1 secondary E11.9 on the stay,
    # p2 outpatient E11.9 (+3 A10BA02), p3 contributing cause E11.9, p5 DIAGNOS E119;
    # p6 has only 2 dispensings.
    assert cases(tiny_marts, "E4_DM2") == {"p1", "p2", "p3", "p5"}
    # I9_MI: p1 I21.9 (2005), p3 ICD-8 410,99 (1985) and I21.9 as cause of death
    assert cases(tiny_marts, "I9_MI") == {"p1", "p3"}
    # C3_BREAST is female only: p8's C50.9 counts, p1's does not
    assert cases(tiny_marts, "C3_BREAST") == {"p8"}
    assert cases(tiny_marts, "DEATH") == {"p3"}


def test_endpoint_status_details(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    row = tiny_marts.execute(
        "select first_event_date::varchar, n_events, age_at_onset, is_control "
        "from marts.endpoint_status where endpoint = 'I9_MI' and person_id = ?",
        [pid("p3")],
    ).fetchone()
    # born 1940-03-01, first MI 1985-01-01: 16,377 days / 365.25
    assert row == ("1985-01-01", 2, pytest.approx(16377 / 365.25, abs=1e-3), False)
    male_breast = tiny_marts.execute(
        "select is_case, is_control from marts.endpoint_status where endpoint = 'C3_BREAST' and person_id = ?",
        [pid("p1")],
    ).fetchone()
    assert male_breast == (False, False)  # wrong sex: neither case nor control
    e4 = tiny_marts.execute(
        "select n_events from marts.endpoint_status where endpoint = 'E4_DM2' and person_id = ?",
        [pid("p2")],
    ).fetchone()
    assert e4 == (4,)  # the outpatient visit and three dispensings


def test_gwas_phenotype(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    rows = tiny_marts.execute(
        'select sample_id, sex, is_female, "E4_DM2", "C3_BREAST", "LDL_C", "PCSK9" '
        "from marts.gwas_phenotype order by sample_id"
    ).fetchall()
    # p2's first sample is S2 (2011): LDL_C 3.1, PCSK9 5.5; p1 is male: C3_BREAST excluded
    assert rows == [("S1", "male", 0, 1, None, 2.5, 4.25), ("S2", "female", 1, 1, 0, 3.1, 5.5)]


def test_every_mart_column_carries_its_description(tiny_marts: duckdb.DuckDBPyConnection) -> None:
    # persist_docs writes _marts__models.yml's descriptions as DuckDB comments; gwas_phenotype's
    # generated endpoint and omics columns get theirs from a post-hook
    bare = tiny_marts.execute(
        "select table_name, column_name from duckdb_columns() "
        "where schema_name = 'marts' and coalesce(comment, '') = ''"
    ).fetchall()
    assert bare == []
    tables = dict(
        tiny_marts.execute(
            "select table_name, comment from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
    )
    assert len(tables) == 12 and all(tables.values())
    assert "starts at birth" in tables["observation_period"]
    (ldl,) = tiny_marts.execute(
        "select comment from duckdb_columns() where table_name = 'gwas_phenotype' "
        "and column_name = 'LDL_C'"
    ).fetchone()
    assert ldl == "nmr LDL_C (mmol/l) of the person's first sample"
