"""The marts join a person however their registers were keyed (issue 18, items 4 and 5).

The delivery of ``tests/ingest/identity_landing.py`` goes through a real ingest (with the
order's linkage file) and a real dbt build. Expected rows are read off that delivery; each
person's expected person_id is worked out here (HMAC of the personnummer; a later holder of a
re-used number: sha256 of the number's person_id, ``:holder:`` and the holder), never read off
promise:

- A and B: inpatient care by LopNr, dispensings by personnummer -> one person_id each;
- C: inpatient care under the old number (via the linkage), dispensings and population under
  the new one, and SCB's change old -> new -> everything on the new number's person_id;
- D: D1 -> D2 -> D3 -> everything on D3's person_id; D1 and D2 are nobody in the marts;
- R's re-used number: 1998 stay -> holder 1 (the number's person_id), 2008 stay and the 2010
  dispensing -> holder 2, the 2003 stay (no holder's period) and the undated population row
  -> kept out, listed with reason reused_personnummer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.identity_landing import (
    ORDER,
    IdentityLanding,
    holder_id,
    person_id,
    write_identity_landing,
)
from ingest.scanner import scan, tree_text, written_forms
from promise.build import build
from promise.ingest import run_ingest
from promise.warehouse import connect

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, key_file: Path
) -> tuple[IdentityLanding, Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("identity_build")
    delivery = write_identity_landing(root, reference_dir)
    warehouse = root / "warehouse"
    run_ingest(
        landing=delivery.landing,
        warehouse=warehouse,
        key_file=key_file,
        linkage={ORDER: delivery.linkage},
    )
    result = build(warehouse=warehouse, key_file=key_file)
    assert result.published and result.failures == []
    n = delivery.numbers
    pid = {label: person_id(key_file, n[label]) for label in n}
    pid["R2"] = holder_id(pid["R"], 2)
    return delivery, warehouse, pid


def _query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = connect(warehouse)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _by_person(rows: list[tuple[Any, ...]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for person, value in rows:
        out.setdefault(person, set()).add(value)
    return out


def test_every_person_meets_on_one_person_id(
    built: tuple[IdentityLanding, Path, dict[str, str]],
) -> None:
    _, warehouse, pid = built
    diagnoses = _by_person(
        _query(warehouse, "SELECT person_id, code FROM marts.diagnosis WHERE source = 'inpatient'")
    )
    assert diagnoses == {
        pid["A"]: {"I219", "E119", "J45"},
        pid["B"]: {"K359"},
        pid["C_new"]: {"I10"},
        pid["D3"]: {"E105"},
        pid["R"]: {"S720"},
        pid["R2"]: {"C509"},
    }
    dispensings = _query(
        warehouse,
        "SELECT person_id, atc FROM marts.drug_dispensing ORDER BY person_id, dispense_date",
    )
    assert _by_person(dispensings) == {
        pid["A"]: {"C07AB02"},
        pid["B"]: {"A10BA02"},
        pid["C_new"]: {"C09AA05"},
        pid["D3"]: {"A10AB05"},
        pid["R2"]: {"L02BA01"},
    }
    assert len([r for r in dispensings if r[0] == pid["A"]]) == 2


def test_the_person_mart_holds_each_person_once_under_their_latest_number(
    built: tuple[IdentityLanding, Path, dict[str, str]],
) -> None:
    _, warehouse, pid = built
    persons = {r[0]: r[1] for r in _query(
        warehouse, "SELECT person_id, in_population_register FROM marts.person"
    )}  # fmt: skip
    assert persons == {
        pid["A"]: True,
        pid["B"]: False,
        pid["C_new"]: True,
        pid["D3"]: True,
        pid["R"]: False,  # R's population row has no date: attributed to neither holder
        pid["R2"]: False,
    }
    for gone in ("C_old", "D1", "D2"):
        assert pid[gone] not in persons


def test_rows_of_a_reused_number_nobody_can_be_given_are_listed_with_their_reason(
    built: tuple[IdentityLanding, Path, dict[str, str]],
) -> None:
    _, warehouse, _ = built
    rows = _query(
        warehouse,
        "SELECT source, file, line, reason FROM intermediate.int_person_rows_unattributed "
        "ORDER BY source, line",
    )
    assert rows == [
        ("npr_inpatient", f"npr_inpatient/par_sv_{ORDER}_2024.txt", 8, "reused_personnummer"),
        ("population", "population/rtb_population_2024.csv", 5, "reused_personnummer"),
    ]
    codes = _query(warehouse, "SELECT count(*) FROM marts.diagnosis WHERE code = 'J189'")
    assert codes == [(0,)]


def test_no_lopnr_or_personnummer_anywhere_after_the_build(
    built: tuple[IdentityLanding, Path, dict[str, str]],
) -> None:
    delivery, warehouse, _ = built
    assert scan([warehouse], written_forms(delivery.planted())) == set()
    text = tree_text(warehouse)
    assert {v for v in delivery.lopnr.values() if v in text} == set()
