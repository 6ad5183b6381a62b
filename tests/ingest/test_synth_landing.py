"""Ingest of a synthetic landing folder (promise synth) against its planted truth.

truth.json says, for every file, how many records it has and how many malformed rows of
each kind were planted; docs/interfaces.md section 1 says which quarantine reason each kind
gets. The scanner collects every personnummer written anywhere in the landing folder and
looks for each of its written forms in everything under the warehouse and the Hail logs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from promise.ingest import run_ingest
from promise.warehouse import connect

from .scanner import find_forms, matrix_table_text, scan, tree_text, written_forms

pytestmark = pytest.mark.integration
REASON_OF_KIND = {
    "bad_check_digit": "invalid_personnummer",
    "impossible_date": "invalid_date",
    "unknown_code": "not_allowed",
    "duplicate_row": "duplicate_row",
    "wrong_encoding": "undecodable",
    "ragged_row": "ragged_row",
}
GENOTYPE_FILES = re.compile(r"^genotypes/")


def _manifest(warehouse: Path) -> dict[str, dict[str, Any]]:
    con = connect(warehouse)
    rows = con.sql("SELECT * FROM manifest").pl().to_dicts()
    con.close()
    return {r["file"]: r for r in rows}


def _reasons(warehouse: Path) -> dict[str, dict[str, int]]:
    con = connect(warehouse)
    rows = con.sql("SELECT file, reason, count(*) FROM quarantine GROUP BY ALL").fetchall()
    con.close()
    out: dict[str, dict[str, int]] = {}
    for file, reason, n in rows:
        out.setdefault(file, {})[reason] = n
    return out


def test_every_file_reconciles_with_truth(
    small_landing: tuple[Path, dict[str, Any]], small_warehouse: Path
) -> None:
    _, truth = small_landing
    manifest = _manifest(small_warehouse)
    reasons = _reasons(small_warehouse)
    registers = {f: t for f, t in truth["files"].items() if not GENOTYPE_FILES.match(f)}
    assert set(registers) <= set(manifest)
    for file, expected in registers.items():
        row = manifest[file]
        assert row["rows_in"] == expected["rows"], file
        assert row["rows_loaded"] + row["rows_quarantined"] == row["rows_in"], file
        planted = {REASON_OF_KIND[k]: n for k, n in expected["malformed"].items() if n}
        assert reasons.get(file, {}) == planted, file
    genotype_files = {
        f: t for f, t in truth["files"].items() if GENOTYPE_FILES.match(f) and "samples" in t
    }
    for file, expected in genotype_files.items():  # genotype files count samples, not lines
        assert manifest[file]["rows_in"] == expected["samples"], file
        assert (
            manifest[file]["rows_loaded"] + manifest[file]["rows_quarantined"]
            == expected["samples"]
        ), file


def test_genotype_batches_match_truth(
    small_landing: tuple[Path, dict[str, Any]], small_warehouse: Path
) -> None:
    _, truth = small_landing
    con = connect(small_warehouse)
    batches = dict(
        con.sql("SELECT batch, count(*) FROM raw.genotyped_samples GROUP BY 1").fetchall()
    )
    orphans = con.sql(
        "SELECT count(*) FROM raw.genotyped_samples WHERE person_id NOT IN (SELECT person_id FROM raw.population)"
    ).fetchone()
    con.close()
    assert batches == truth["genotypes"]["batches"]
    assert orphans == (0,)
    for batch in truth["genotypes"]["batches"]:
        assert (small_warehouse / "genotypes" / f"{batch}.mt").is_dir()


def test_every_written_form_maps_to_one_person(
    small_landing: tuple[Path, dict[str, Any]], small_warehouse: Path
) -> None:
    """Each synthetic person has one valid population row; every other register row joins to one."""
    _, truth = small_landing
    con = connect(small_warehouse)
    assert con.sql("SELECT count(DISTINCT person_id) FROM raw.population").fetchone() == (
        truth["persons"],
    )
    for source in (
        "migration",
        "npr_inpatient",
        "npr_outpatient",
        "lmed",
        "dors",
        "cancer",
        "biobank",
    ):
        missing = con.sql(
            f"SELECT count(*) FROM raw.{source} WHERE person_id NOT IN (SELECT person_id FROM raw.population)"
        ).fetchone()
        assert missing == (0,), source
    con.close()


def test_loading_again_changes_nothing(
    small_landing: tuple[Path, dict[str, Any]], small_warehouse: Path, key_file: Path
) -> None:
    before = _files(small_warehouse / "raw")
    results = run_ingest(landing=small_landing[0], warehouse=small_warehouse, key_file=key_file)
    assert {r.status for r in results} == {"skipped"}
    assert _files(small_warehouse / "raw") == before


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- the scanner


def landing_numbers(landing: Path) -> set[str]:
    """Every personnummer-like value written in the landing folder (valid or not), as 12 digits or as written."""
    found: set[str] = set()
    for path in landing.rglob("*"):
        if path.is_file() and path.suffix in {".csv", ".txt"}:
            found.update(
                re.findall(r"[0-9]{6,8}[-+]?[0-9]{4}", path.read_bytes().decode("latin-1"))
            )
    vcf = next(landing.glob("genotypes/*.vcf*"), None)
    if vcf is not None:
        import gzip

        with gzip.open(vcf, "rt") as handle:
            for line in handle:
                if line.startswith("#CHROM"):
                    found.update(line.rstrip("\n").split("\t")[9:])
                    break
    return {v for v in found if re.fullmatch(r"[0-9]{6,8}[-+]?[0-9]{4}", v)}


def test_scanner_finds_a_planted_number(tmp_path: Path) -> None:
    """The scanner itself: numbers hidden in a compressed Parquet cell, a log, a gzip file and
    a file name are found, in every written form."""
    import gzip

    pl.DataFrame({"x": ["a 19121212-1212 b"]}).write_parquet(
        tmp_path / "t.parquet", compression="zstd"
    )
    (tmp_path / "x.log").write_text("id=7198001011234;")
    (tmp_path / "y.txt.gz").write_bytes(gzip.compress(b"ref 500505 1236 and 19121212\t1212"))
    (tmp_path / "z-4404041234").mkdir()
    forms = written_forms({"191212121212", "198001011234", "195005051236", "194404041234"})
    expected = {
        # the Parquet cell: the dashed 12-digit form and, inside it, the dashed 10-digit form
        "19121212-1212",
        "121212-1212",
        # the log: the 12-digit form of the second number (so its 10-digit form) in a longer run
        "198001011234",
        "8001011234",
        # the gzip file: the third number with a blank, the first with a tab (a blank form)
        "500505 1236",
        "19121212 1212",
        "121212 1212",
        # a folder's name
        "4404041234",
    }
    assert find_forms(tree_text(tmp_path), forms) == expected


def test_no_personnummer_anywhere_under_the_warehouse(
    small_landing: tuple[Path, dict[str, Any]],
    small_warehouse: Path,
    session_dir: Path,
    hail_session: Any,
) -> None:
    numbers = landing_numbers(small_landing[0])
    assert (
        len(numbers) > small_landing[1]["persons"]
    )  # every person, in several forms, plus malformed ones
    forms = written_forms(numbers)
    places = [small_warehouse, session_dir / "hail"]
    assert scan(places, forms, hl=hail_session) == set()
    for mt in (small_warehouse / "genotypes").glob("*.mt"):
        keys = set(hail_session.read_matrix_table(str(mt)).s.collect())
        assert not keys & forms
        assert all(re.fullmatch(r"[0-9a-f]{24}", k) for k in keys)
        assert not find_forms(matrix_table_text(hail_session, mt), forms)
