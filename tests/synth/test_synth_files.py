"""The landing files against truth.json: row counts, planted defects, identities, formats."""

from __future__ import annotations

import fnmatch
import gzip
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from personnummer import personnummer
from synth_scan import (
    DELIVERY,
    LAYOUTS,
    classify,
    data_lines,
    person_of,
    valid_date,
    valid_pnr,
    valid_rows,
)

from promise.pnr import parse

pytestmark = pytest.mark.integration

PNR_FILES = {
    "population/rtb_population.csv": (";", "latin-1", "PersonNr"),
    "migration/rtb_migration.csv": (";", "latin-1", "PersonNr"),
    "npr_inpatient/par_sv_diagnos_1987_1996.txt": ("\t", "latin-1", "PersonNr"),
    "npr_inpatient/par_sv_1997_2025.txt": ("\t", "latin-1", "PersonNr"),
    "npr_outpatient/par_ov_2001_2025.txt": ("\t", "latin-1", "PersonNr"),
    "lmed/lmed_2005_2015.csv": (";", "utf-8", "PersonNr"),
    "lmed/lmed_2016_2025.csv": (";", "utf-8", "PersonNr"),
    "dors/dors.csv": (";", "latin-1", "PersonNr"),
    "cancer/cancer.csv": (";", "latin-1", "PersonNr"),
    "biobank/biobank_samples.csv": (",", "utf-8", "PersonNr"),
}


def _layout(relative: str) -> tuple[str, str, str | None, str | None, str, str | None, str]:
    return next(v for k, v in LAYOUTS.items() if fnmatch.fnmatch(relative, k))


def test_every_file_is_in_truth(small_landing: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = small_landing
    written = {
        str(p.relative_to(landing))
        for p in landing.rglob("*")
        if p.is_file() and p.name not in ("truth.json", "delivery.yml")
    }
    accounted = set(truth["files"]) | {"genotypes/batch2.bim", "genotypes/batch2.fam"}
    assert written == accounted
    genotypes = truth["genotypes"]
    assert truth["files"]["genotypes/batch1.vcf.bgz"]["samples"] == genotypes["batches"]["batch1"]
    assert truth["files"]["genotypes/batch2.bed"]["samples"] == genotypes["batches"]["batch2"]
    fam = (landing / "genotypes" / "batch2.fam").read_text().splitlines()
    bim = (landing / "genotypes" / "batch2.bim").read_text().splitlines()
    assert len(fam) == genotypes["batches"]["batch2"]
    assert len(bim) == truth["files"]["genotypes/batch2.bed"]["rows"] == truth["variants"]
    sources = {p.name for p in landing.iterdir() if p.is_dir()}
    assert sources == {
        "population", "migration", "npr_inpatient", "npr_outpatient", "lmed", "dors", "cancer",
        "biobank", "olink", "metabolomics", "genotypes", "multigen",
    }  # fmt: skip


def test_counts_in_files_equal_truth(small_landing: tuple[Path, dict[str, Any]]) -> None:
    """An independent reader finds exactly the rows and defects truth.json announces."""
    landing, truth = small_landing
    for relative, entry in truth["files"].items():
        if relative.startswith("genotypes/"):
            continue
        found = classify(landing / relative, _layout(relative))
        assert found["rows"] == entry["rows"], relative
        assert {k: v for k, v in found.items() if k != "rows"} == entry["malformed"], relative


def test_each_file_has_each_applicable_defect(small_landing: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = small_landing
    for relative, entry in truth["files"].items():
        if relative.startswith("genotypes/"):
            continue
        delim, enc, pnr, date_col, _, code, _ = _layout(relative)
        bad = entry["malformed"]
        assert bad["duplicate_row"] >= 1 and bad["ragged_row"] >= 1, relative
        assert (bad["bad_check_digit"] >= 1) == (pnr is not None), relative
        assert (bad["impossible_date"] >= 1) == (date_col is not None), relative
        assert (bad["unknown_code"] >= 1) == (code is not None), relative
        assert (bad["wrong_encoding"] >= 1) == (enc == "utf-8"), relative
        assert sum(bad.values()) <= 0.02 * entry["rows"] + 6, relative


def test_every_identity_is_valid(small_landing: tuple[Path, dict[str, Any]]) -> None:
    """Every PersonNr outside the planted bad rows is valid for promise.pnr and the personnummer package."""
    landing, truth = small_landing
    population = {
        parse(r["PersonNr"], reference_date=DELIVERY).normalized
        for r in valid_rows(landing / "population" / "rtb_population.csv", ";", "latin-1")
        if valid_pnr(r["PersonNr"])
    }
    assert len(population) == truth["persons"]
    ids = truth["identities"]
    assert ids["allPins"] + ids["allCoords"] + ids["generated"] == truth["persons"]
    forms = {"12": 0, "10": 0, "plus": 0, "dash12": 0}
    for relative, (delim, enc, column) in PNR_FILES.items():
        invalid = 0
        for row in valid_rows(landing / relative, delim, enc):
            text = row[column]
            if not valid_pnr(text):
                invalid += 1
                continue
            person = person_of(text)
            assert person is not None
            if (
                person.birth_date_precision == "day"
            ):  # the package rejects Skatteverket's month-00 / day-60 numbers
                assert personnummer.valid(text), relative  # an independent implementation agrees
            assert person.normalized in population, relative
            forms[
                "plus"
                if "+" in text
                else "dash12"
                if len(text) == 13
                else "10"
                if len(text) == 11
                else "12"
            ] += 1
            if len(text) == 11:  # the century sign says whether the person has turned 100
                assert ("+" in text) == (DELIVERY.year - person.birth_date.year >= 100 + (
                    (DELIVERY.month, DELIVERY.day) < (person.birth_date.month, person.birth_date.day)
                ))  # fmt: skip
        assert invalid == truth["files"][relative]["malformed"]["bad_check_digit"], relative
    assert all(n > 0 for n in forms.values()), forms
    with gzip.open(landing / "genotypes" / "batch1.vcf.bgz", "rt") as vcf:
        header = next(line for line in vcf if line.startswith("#CHROM"))
    vcf_ids = header.rstrip("\n").split("\t")[9:]
    assert len(vcf_ids) == truth["genotypes"]["batches"]["batch1"]
    assert all(valid_pnr(s) and person_of(s).normalized in population for s in vcf_ids)  # type: ignore[union-attr]
    assert len({len(s) for s in vcf_ids}) > 1  # mixed written forms


def test_coordination_numbers_and_generated_numbers_present(
    small_landing: tuple[Path, dict[str, Any]],
) -> None:
    landing, truth = small_landing
    coordination = 0
    for row in valid_rows(landing / "population" / "rtb_population.csv", ";", "latin-1"):
        if valid_pnr(row["PersonNr"]):
            coordination += parse(row["PersonNr"], reference_date=DELIVERY).is_coordination_number
    assert coordination >= truth["identities"]["allCoords"] > 0
    assert (
        truth["identities"]["generated"] > 0
    )  # 3,000 persons outgrow the test numbers of some years


def test_register_quirks_are_present(small_landing: tuple[Path, dict[str, Any]]) -> None:
    """ICD-8/9/10 forms, DIAGNOS strings, partial death dates, 6-digit cancer dates, decimal and negative packages."""
    landing, _ = small_landing
    dors = list(valid_rows(landing / "dors" / "dors.csv", ";", "latin-1"))
    assert any("," in r["ULORSAK"] and r["ICD"] == "8" for r in dors)
    assert any(r["ULORSAK"][3:4].isalpha() and r["ICD"] == "9" for r in dors)
    assert any(r["DODSDAT"].endswith("00") for r in dors)
    cancers = list(valid_rows(landing / "cancer" / "cancer.csv", ";", "latin-1"))
    assert any(len(r["DIADAT"]) == 6 and int(r["DIADAT"][:4]) < 1977 for r in cancers)
    assert all(len(r["DIADAT"]) == 8 for r in cancers if int(r["AR"]) >= 1977)
    diagnos = list(
        valid_rows(landing / "npr_inpatient" / "par_sv_diagnos_1987_1996.txt", "\t", "latin-1")
    )
    assert any(" " in r["DIAGNOS"] for r in diagnos) and any(
        r["DIAGNOS"].startswith("250") for r in diagnos
    )
    lmed = [
        r for p in sorted((landing / "lmed").glob("*.csv")) for r in valid_rows(p, ";", "utf-8")
    ]
    assert any("," in r["ANTAL"] for r in lmed) and any(r["ANTAL"].startswith("-") for r in lmed)
    # EDATUM is the dispensing date (from July 2005), FDATUM the prescribing date: never later,
    # shared by the refills of one prescription, sometimes empty (Socialstyrelsen's variable list)
    assert min(r["EDATUM"] for r in lmed) >= "20050701"
    dated = [r for r in lmed if valid_date(r["EDATUM"], "ymd")]  # not the planted bad dates
    assert all(r["FDATUM"] <= r["EDATUM"] for r in dated if r["FDATUM"])
    assert any(not r["FDATUM"] for r in lmed)
    refills = Counter((r["PersonNr"], r["ATC"], r["FDATUM"]) for r in lmed if r["FDATUM"])
    assert max(refills.values()) >= 3
    assert (landing / "lmed" / "lmed_2005_2015.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    olink = list(valid_rows(landing / "olink" / "olink_npx.csv", ";", "utf-8"))
    below = [
        r for r in olink if float(r["NPX"].replace(",", ".")) < float(r["LOD"].replace(",", "."))
    ]
    assert below and any(r["QC_Warning"] == "WARN" for r in olink)
    path = landing / "npr_inpatient" / "par_sv_1997_2025.txt"
    inpatient = [r for r in valid_rows(path, "\t", "latin-1") if valid_date(r["INDATUM"], "ymd")]
    assert all(r["INDATUM"] >= "19970101" and r["UTDATUM"] >= r["INDATUM"] for r in inpatient)
    assert any(r["OP"] for r in inpatient)


def test_vcf_is_bgzf(small_landing: tuple[Path, dict[str, Any]]) -> None:
    """Every gzip member carries the BC extra field with its size; the file ends with the EOF block."""
    raw = (small_landing[0] / "genotypes" / "batch1.vcf.bgz").read_bytes()
    offset, blocks = 0, 0
    while offset < len(raw):
        magic, flags, xlen, si1, si2, bsize = struct.unpack_from("<HxB6xH2BxxH", raw, offset)
        assert magic == 0x8B1F and flags == 4 and xlen == 6 and (si1, si2) == (66, 67)
        offset += bsize + 1
        blocks += 1
    assert offset == len(raw) and blocks > 1
    assert raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    text = gzip.decompress(raw)
    assert text.startswith(b"##fileformat=VCFv4.2")


def test_data_lines_helper_counts_header_out(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbfA;B\n1;2\n3;4\n")
    assert list(data_lines(path)) == [b"1;2", b"3;4"]
