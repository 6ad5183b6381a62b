"""``family_relation`` from a hand-written Multi-Generation Register file, through the real
ingest and dbt build.

The pedigree (test numbers chosen by birth year; X, Y and Z are parents outside the cohort,
in no population row):

    M1 (1950) + F1 (1948) -> C1 (1975), C2 (1978)     full siblings
    M1        + F2 (1952) -> C3 (1982)                maternal half sibling of C1 and C2
    M2 (1955) + F1        -> C4 (1980)                paternal half sibling of C1 and C2
    M2        + unknown   -> C5 (1985)                maternal sibling of C4, father unknown
    X         + Y         -> C6 (1990), C7 (1992)     full siblings through parents not in the cohort
    Z         (adopted by M2) -> A1 (1988)            adoptive parent and offspring M2-A1
    P (female) and Q (male), born on the same day, each registered as the other's parent: a
    cycle no single row reveals (neither is born after the other); both links left out.

The expected pairs below are read off this drawing by hand.
"""

from __future__ import annotations

import hmac
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from promise.build import build
from promise.ingest import run_ingest
from promise.pseudonym import load_key

pytestmark = pytest.mark.integration
DELIVERY = date(2025, 12, 31)

EXPECTED = {
    ("M1", "C1", "parent_offspring"), ("F1", "C1", "parent_offspring"),
    ("M1", "C2", "parent_offspring"), ("F1", "C2", "parent_offspring"),
    ("M1", "C3", "parent_offspring"), ("F2", "C3", "parent_offspring"),
    ("M2", "C4", "parent_offspring"), ("F1", "C4", "parent_offspring"),
    ("M2", "C5", "parent_offspring"),
    ("M2", "A1", "adoptive_parent_offspring"),
    ("C1", "C2", "full_siblings"),
    ("C1", "C3", "maternal_half_siblings"), ("C2", "C3", "maternal_half_siblings"),
    ("C1", "C4", "paternal_half_siblings"), ("C2", "C4", "paternal_half_siblings"),
    ("C4", "C5", "maternal_siblings"),
    ("C6", "C7", "full_siblings"),
}  # fmt: skip


def _numbers(reference_dir: Path) -> dict[str, str]:
    pins = list(
        dict.fromkeys(json.loads((reference_dir / "personnummer" / "allPins.json").read_text()))
    )

    def born(year: str, female: bool, skip: int = 0) -> str:
        return [p for p in pins if p[:4] == year and int(p[10]) % 2 != female][skip]

    people = {
        "M1": born("1950", True), "F1": born("1948", False), "F2": born("1952", False),
        "M2": born("1955", True), "C1": born("1975", True), "C2": born("1978", False),
        "C3": born("1982", True), "C4": born("1980", False), "C5": born("1985", True),
        "C6": born("1990", True), "C7": born("1992", False), "A1": born("1988", False),
        "X": born("1960", True), "Y": born("1958", False), "Z": born("1965", True, 1),
    }  # fmt: skip
    same_day = {}
    for p in pins:  # a woman and a man born on the same day, in the 1960s
        if p[:3] == "196":
            same_day.setdefault(p[:8], {})[int(p[10]) % 2] = p
    day = next(v for k, v in sorted(same_day.items()) if len(v) == 2)
    people["P"], people["Q"] = day[0], day[1]
    return people


@pytest.fixture(scope="module")
def family_relation(
    tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, key_file: Path
) -> tuple[set[tuple[str, str, str]], dict[str, str], list[tuple[object, ...]]]:
    n = _numbers(reference_dir)
    land = tmp_path_factory.mktemp("family") / "landing"
    (land / "population").mkdir(parents=True)
    (land / "multigen").mkdir()
    cohort = [k for k in n if k not in {"X", "Y", "Z"}]
    (land / "population" / "rtb_population.csv").write_text(
        "PersonNr;Kon;FodelseLand;FodelseLan;AterPnr\n"
        + "".join(f"{n[k]};{2 - int(n[k][10]) % 2};Sverige;01;0\n" for k in cohort),
        encoding="latin-1",
    )
    rows = {
        "C1": ("M1", "F1", "", ""), "C2": ("M1", "F1", "", ""), "C3": ("M1", "F2", "", ""),
        "C4": ("M2", "F1", "", ""), "C5": ("M2", "", "", ""), "C6": ("X", "Y", "", ""),
        "C7": ("X", "Y", "", ""), "A1": ("Z", "", "M2", ""), "P": ("", "Q", "", ""),
        "Q": ("P", "", "", ""), "M1": ("", "", "", ""),
    }  # fmt: skip
    (land / "multigen" / "mgr_2024.csv").write_text(
        "PersonNr;PersonNrMor;PersonNrFar;PersonNrAdoptivMor;PersonNrAdoptivFar\n"
        + "".join(
            ";".join([n[child], *(n[p] if p else "" for p in parents)]) + "\n"
            for child, parents in rows.items()
        ),
        encoding="latin-1",
    )
    warehouse = land.parent / "warehouse"
    run_ingest(landing=land, warehouse=warehouse, key_file=key_file, reference_date=DELIVERY)
    result = build(warehouse=warehouse)
    key = load_key(key_file)
    label = {hmac.new(key, v.encode(), "sha256").hexdigest()[:24]: k for k, v in n.items()}
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        found = con.sql(
            "select person_id_1, person_id_2, relation, pair_id, parent_role, shared_parent, "
            "degree, expected_kinship from marts.family_relation"
        ).fetchall()
    finally:
        con.close()
    pairs = {(label[a], label[b], rel) for a, b, rel, *_ in found}
    warnings = {x.name: x.message or "" for x in result.nodes if x.status == "warn"}
    return pairs, warnings, found


def test_pairs_are_those_derived_by_hand(
    family_relation: tuple[set[tuple[str, str, str]], dict[str, str], list[tuple[object, ...]]],
) -> None:
    pairs, _, _ = family_relation

    # siblings come smaller person_id first, so compare them as unordered pairs
    def unordered(p: set[tuple[str, str, str]]) -> set[tuple[frozenset[str], str]]:
        return {(frozenset((a, b)), rel) for a, b, rel in p}

    assert unordered(pairs) == unordered(EXPECTED)
    parent_first = {(a, b) for a, b, rel in EXPECTED if "parent" in rel}
    assert {(a, b) for a, b, rel in pairs if "parent" in rel} == parent_first


def test_columns_say_how_the_pair_is_related(
    family_relation: tuple[set[tuple[str, str, str]], dict[str, str], list[tuple[object, ...]]],
) -> None:
    _, _, found = family_relation
    by_relation = {row[2]: row for row in found}
    assert by_relation["full_siblings"][5:] == ("both", 1, 0.25)
    assert by_relation["maternal_half_siblings"][5:] == ("mother", 2, 0.125)
    assert by_relation["paternal_half_siblings"][5:] == ("father", 2, 0.125)
    assert by_relation["maternal_siblings"][5:] == ("mother", None, None)
    assert by_relation["adoptive_parent_offspring"][4:] == ("adoptive_mother", None, None, None)
    assert all(row[3] == ":".join(sorted(row[:2])) for row in found)  # type: ignore[arg-type]


def test_the_cycle_is_left_out_with_a_warning(
    family_relation: tuple[set[tuple[str, str, str]], dict[str, str], list[tuple[object, ...]]],
) -> None:
    pairs, warnings, _ = family_relation
    assert not {p for p in pairs if {"P", "Q"} & set(p[:2])}
    assert warnings["parent_links_without_cycles"] == "Got 2 results, configured to warn if != 0"
