"""The hand-built reference cohort (tests/reference/cohort/) through a real ingest and dbt build.

Forty-seven persons with Skatteverket test numbers, each a named scenario (persons.csv), in the
registers' delivery formats (landing/). Every expected answer (expected_*.csv/yaml) was worked
out by hand from the registers' documentation and FinnGen's definitions, with its reason
written beside it; none was read off promise. The endpoints are the shipped Swedish seed plus
four small FinnGen-format rows (extra_endpoints.tsv) for the mechanisms the seed does not use
(OUTPAT_ICD, PRE_CONDITIONS, CONTROL_EXCLUDE, SINGLE_OK).

Each test lists every row that differs, with the issue item it belongs to, before failing.
"""

from __future__ import annotations

import csv
import hmac
import json
import math
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from promise.analyses import run_analysis
from promise.build import BuildResult, build
from promise.ingest import run_ingest
from promise.pseudonym import load_key
from promise.settings import project_root
from promise.warehouse import connect

pytestmark = [pytest.mark.reference, pytest.mark.integration]

COHORT = project_root() / "tests" / "reference" / "cohort"


def read_csv(name: str) -> list[dict[str, str]]:
    with (COHORT / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def endpoint_file(target: Path) -> Path:
    """The shipped seed plus the cohort's extra rows, in one FinnGen-format TSV."""
    tables = []
    for path in (
        project_root() / "seeds" / "finngen_endpoints_se.csv",
        COHORT / "extra_endpoints.tsv",
    ):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            tables.append((list(reader.fieldnames or []), list(reader)))
    header = list(dict.fromkeys(tables[0][0] + tables[1][0]))
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, header, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n"
        )
        writer.writeheader()
        for _, rows in tables:
            writer.writerows({k: row.get(k) or "" for k in header} for row in rows)
    return target


class Cohort:
    """The built cohort: its warehouse, build result and pseudonym of every person."""

    def __init__(self, warehouse: Path, result: BuildResult, key_file: Path) -> None:
        self.warehouse = warehouse
        self.result = result
        key = load_key(key_file)
        self.person_id = {
            p["person"]: hmac.new(key, p["personnummer"].encode(), "sha256").hexdigest()[:24]
            for p in read_csv("persons.csv")
        }
        self.label = {v: k for k, v in self.person_id.items()}

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = connect(self.warehouse)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def cohort(key_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    root = tmp_path_factory.mktemp("cohort")
    landing = shutil.copytree(COHORT / "landing", root / "landing")
    warehouse = root / "warehouse"
    run_ingest(landing=landing, warehouse=warehouse, key_file=key_file)
    result = build(warehouse=warehouse, endpoints_file=endpoint_file(root / "endpoints.tsv"))
    return Cohort(warehouse, result, key_file)


def _flag(text: str) -> bool:
    return {"true": True, "false": False}[text]


def _report(mismatches: list[str]) -> None:
    if mismatches:
        pytest.fail(
            f"{len(mismatches)} rows differ from the hand-derived table:\n" + "\n".join(mismatches)
        )


def test_every_row_of_the_landing_folder_is_loaded(cohort: Cohort) -> None:
    # every delivered row is valid as the registers define it (an empty FDATUM included)
    rows = cohort.query("select source, reason, count(*) from quarantine group by all")
    assert rows == []


def test_the_build_warns_about_people_without_residence(cohort: Cohort) -> None:
    # G01 is in neither the population nor the migration register (issue 16.4)
    warnings = {n.name: n.message for n in cohort.result.nodes if n.status == "warn"}
    assert warnings == {"persons_without_residence": "Got 1 result, configured to warn if != 0"}


def test_endpoint_status_matches_the_table(cohort: Cohort) -> None:
    mismatches = []
    for row in read_csv("expected_endpoint_status.csv"):
        found = cohort.query(
            "select is_case, first_event_date, age_at_onset, is_control "
            "from marts.endpoint_status where person_id = ? and endpoint = ?",
            [cohort.person_id[row["person"]], row["endpoint"]],
        )
        expected = (
            _flag(row["is_case"]),
            date.fromisoformat(row["first_event_date"]) if row["first_event_date"] else None,
            float(row["age_at_onset"]) if row["age_at_onset"] else None,
            _flag(row["is_control"]),
        )
        got = found[0] if found else None
        same = got is not None and (
            got[0] == expected[0]
            and got[1] == expected[1]
            and got[3] == expected[3]
            and (got[2] is None) == (expected[2] is None)
            and (got[2] is None or expected[2] is None or abs(got[2] - expected[2]) < 1e-3)
        )
        if not same:
            mismatches.append(
                f"[{row['issue_item']}] {row['person']} {row['endpoint']}: "
                f"expected (case, first, age, control) = {expected}, found {got}"
            )
    _report(mismatches)


def test_observation_periods_match_the_table(cohort: Cohort) -> None:
    expected: dict[str, set[tuple[str, ...]]] = {
        p["person"]: set() for p in read_csv("persons.csv")
    }
    items = {}
    for row in read_csv("expected_observation_period.csv"):
        spell = (row["start_date"], row["end_date"], row["start_reason"], row["end_reason"])
        expected[row["person"]].add(spell)
        items[row["person"]] = row["issue_item"]
    found: dict[str, set[tuple[str, ...]]] = {label: set() for label in expected}
    for person_id, *spell in cohort.query(
        "select person_id, start_date::varchar, end_date::varchar, start_reason, end_reason "
        "from marts.observation_period"
    ):
        found[cohort.label.get(person_id, f"unknown {person_id}")].add(tuple(spell))
    mismatches = [
        f"[{items.get(label, '16.4')}] {label}: expected {sorted(expected.get(label, set()))}, "
        f"found {sorted(found[label])}"
        for label in sorted(found)
        if found[label] != expected.get(label)
    ]
    _report(mismatches)


def _analysis_row(table: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    for candidate in table.iter_rows(named=True):
        if all(candidate[k] == v for k, v in row.items()):
            return dict(candidate)
    return None


def test_analyses_match_the_table(cohort: Cohort) -> None:
    checks = yaml.safe_load((COHORT / "expected_analyses.yaml").read_text())["checks"]
    tables: dict[str, Any] = {}
    mismatches = []
    for check in checks:
        key = json.dumps([check["analysis"], check["variables"]], sort_keys=True)
        if key not in tables:
            tables[key] = run_analysis(
                warehouse=cohort.warehouse, name=check["analysis"], variables=check["variables"]
            )
        found = _analysis_row(tables[key], check["row"])
        value = None if found is None else found[check["column"]]
        expected = check["expected"]
        ok = value is not None and math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-4)
        if not ok:
            mismatches.append(
                f"[{check['issue_item']}] {check['analysis']} {check['row']} {check['column']}: "
                f"expected {expected}, found {value}"
            )
    _report(mismatches)


def test_every_endpoint_of_the_file_is_defined(cohort: Cohort) -> None:
    # the seed's TAGS start with '#': DuckDB once took that for a comment marker and dropped them
    with (cohort.warehouse.parent / "endpoints.tsv").open(encoding="utf-8") as handle:
        names = {line.split("\t")[3] for line in handle.readlines()[1:]}
    found = {name for (name,) in cohort.query("select name from marts.endpoint_definition")}
    assert found == names and len(found) == 71


def test_endpoint_definitions_report_what_sweden_cannot_match(cohort: Cohort) -> None:
    mismatches = []
    for row in read_csv("expected_endpoint_definition.csv"):
        found = cohort.query(
            "select evaluation, not_applicable_parts from marts.endpoint_definition where name = ?",
            [row["endpoint"]],
        )
        evaluation, parts = found[0] if found else (None, [])
        if evaluation != row["evaluation"] or (row["part"] and row["part"] not in parts):
            mismatches.append(
                f"[{row['issue_item']}] {row['endpoint']}: expected {row['evaluation']} "
                f"with {row['part'] or 'no part'}, found {evaluation} with {parts}"
            )
    _report(mismatches)
