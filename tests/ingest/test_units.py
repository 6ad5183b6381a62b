"""Pure pieces of ingestion: contracts, record counting, decoding, masking, partial dates."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from promise.contracts import load_contract
from promise.ingest.checks import check_column
from promise.ingest.jobs import load_jobs
from promise.ingest.lines import (
    Chunk,
    count_records,
    decode_chunk,
    iter_chunks,
    sha256_and_records,
    sha256_of,
)
from promise.ingest.masking import MASK, mask_expr
from promise.ingest.reshape import raw_schema
from promise.settings import project_root

pytestmark = pytest.mark.unit

# Raw columns per source as listed in docs/interfaces.md section 3 (typed out from the doc).
DOC_COLUMNS = {
    "population": ["sex_code", "country_of_birth", "county_of_birth", "reused_number"],
    "migration": ["migration_type", "migration_date", "country"],
    "lmed": [
        "atc",
        "prescription_date",
        "dispense_date",
        "packages",
        "ddd_per_package",
        "product_number",
        "year",
    ],
    "dors": [
        "death_date_lower",
        "death_date_upper",
        "death_date_precision",
        "year",
        "icd_version",
        "underlying_cause",
    ]
    + [f"contributing_cause_{i}" for i in range(1, 18)],
    "cancer": [
        "diagnosis_date_lower",
        "diagnosis_date_upper",
        "diagnosis_date_precision",
        "year",
        "icd7",
        "icdo3_topography",
        "snomed3_morphology",
        "benign",
        "sex_code",
        "age",
    ],  # fmt: skip
    "biobank": ["sample_id", "sampling_date", "sample_type"],
    "multigen": [
        "mother_id",
        "mother_birth_date",
        "father_id",
        "father_birth_date",
        "adoptive_mother_id",
        "adoptive_mother_birth_date",
        "adoptive_father_id",
        "adoptive_father_birth_date",
    ],
    "olink": [
        "sample_id",
        "olink_id",
        "uniprot",
        "assay",
        "panel",
        "plate_id",
        "qc_warning",
        "lod",
        "npx",
        "below_lod",
    ],
    "metabolomics": ["sample_id", "measure", "value", "unit"],
    "pnr_reuse": ["holder", "valid_from", "valid_to"],
    "npr_inpatient": ["year", "admission_date", "discharge_date", "main_diagnosis"]
    + [f"diagnosis_{i}" for i in range(1, 31)]
    + ["diagnoses"]
    + [f"external_cause_{i}" for i in range(1, 6)]
    + ["procedures", "hospital", "department", "care_type", "age", "sex_code"],
}
PERSON = ["person_id", "birth_date", "sex", "is_coordination_number"]
LINEAGE = ["_load_id", "_source_file", "_source_line"]


def test_every_job_has_a_contract_and_the_raw_columns_of_the_interface() -> None:
    jobs = {j.source: j for j in load_jobs()}
    assert set(DOC_COLUMNS) | {"npr_outpatient", "genotypes", "pnr_changes"} == set(jobs)
    for source, columns in DOC_COLUMNS.items():
        contract = jobs[source].contract
        assert contract is not None and contract.source == source
        schema = list(raw_schema(contract))
        person = PERSON if source not in {"olink", "metabolomics"} else []
        assert schema == LINEAGE + person + columns, source


def test_contracts_declare_pii_and_quality() -> None:
    for path in sorted((project_root() / "data-contracts").glob("*.odcs.yaml")):
        contract = load_contract(path)
        assert contract.quality, path.name
        pnr = contract.personnummer
        if pnr is not None:
            assert pnr.classification == "restricted" and pnr.required
        for relative in contract.relatives:  # another person's number is just as identifying
            assert relative.classification == "restricted", (path.name, relative.name)


@pytest.mark.parametrize(
    ("data", "records"),
    [
        (b"", 0),
        (b"H", 0),
        (b"H\n", 0),
        (b"H\na", 1),  # truncated last line: still a record
        (b"H\na\n", 1),
        (b"H\r\na\r\nb\r\n", 2),
        (b"H\n\n", 1),  # a blank line is a record (it will be quarantined)
        (b"H\na\n\nb", 3),
    ],
)
def test_count_records_and_chunks_agree(tmp_path: Path, data: bytes, records: int) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert count_records(path) == records
    assert sha256_and_records(path) == (sha256_of(path), records)
    assert sum(c.n_lines for c in iter_chunks(path, block_size=3)) == records


def test_decoding_flags_undecodable_lines_and_utf8_in_latin1() -> None:
    chunk = Chunk(2, "a;å\nb;c".encode() + b"\nd;\xe5")
    utf8 = decode_chunk(chunk, "utf-8")
    assert utf8.text.to_list() == ["a;å", "b;c", None]
    assert utf8.shown.to_list()[2] == "d;\ufffd"
    latin = decode_chunk(chunk, "latin-1")
    assert latin.utf8_like == 1  # the first line is UTF-8 'å' (two bytes) in a latin-1 file
    assert latin.text.to_list()[2] == "d;å"


def test_mask_hides_digit_runs_that_could_be_numbers() -> None:
    values = pl.Series(
        ["191212121212", "x 121212-1212 y", "12121212+1212", "20070230", "123456", "SE1212121212ab"]
    )
    masked = pl.select(mask_expr(pl.lit(values))).to_series().to_list()
    assert masked == [MASK, f"x {MASK} y", MASK, "20070230", "123456", f"SE{MASK}ab"]


@pytest.mark.parametrize(
    ("text", "lower", "upper", "precision"),
    [
        ("19870512", date(1987, 5, 12), date(1987, 5, 12), "day"),
        ("19870500", date(1987, 5, 1), date(1987, 5, 31), "month"),
        ("19880200", date(1988, 2, 1), date(1988, 2, 29), "month"),  # leap year
        ("19870000", date(1987, 1, 1), date(1987, 12, 31), "year"),
        ("197402", date(1974, 2, 1), date(1974, 2, 28), "month"),
        ("19870230", None, None, None),
        ("19871300", None, None, None),
        ("19870012", None, None, None),
    ],
)
def test_partial_dates(
    text: str, lower: date | None, upper: date | None, precision: str | None
) -> None:
    contract = load_contract(project_root() / "data-contracts" / "cancer.odcs.yaml")
    checked = check_column(
        contract.column("DIADAT"), decimal=".", reference_date=date(2025, 12, 31)
    )
    frame = pl.DataFrame({"DIADAT": [text]}).select(checked.outputs)
    assert frame.row(0) == (lower, upper, precision)
    failed = pl.DataFrame({"DIADAT": [text]}).select(
        pl.any_horizontal([f.condition for f in checked.failures])
    )
    assert failed.item() is (lower is None)


def test_icd_pattern_accepts_each_era_with_and_without_dots() -> None:
    contract = load_contract(project_root() / "data-contracts" / "npr_inpatient.odcs.yaml")
    pattern = re.compile(contract.column("HDIA").pattern or "")
    for code in [
        "I252",
        "I25.2",
        "E119",
        "250A",
        "410X",
        "410,99",
        "250,00",
        "E888X",
        "BLANKED",
        "J45",
    ]:
        assert pattern.match(code), code
    for code in ["XX!9", "I2", "1234567", "I25..2", "i252", ""]:
        assert not pattern.match(code), code


def test_seen_lines_finds_repeats_across_chunks_and_levels() -> None:
    from promise.ingest.duplicates import SeenLines, mark_duplicates

    seen = SeenLines()
    chunks = [[f"line {i}" for i in range(k * 100, k * 100 + 100)] for k in range(7)]
    chunks[6][:3] = ["line 5", "line 250", "line 250"]  # two earlier lines, one of them twice
    flags = [
        mark_duplicates(pl.DataFrame({"_text": c}), seen, eligible=pl.lit(True)).to_list()
        for c in chunks
    ]
    assert sum(sum(f) for f in flags[:6]) == 0
    assert flags[6][:4] == [True, True, True, False]
    assert len(seen) == 600 + 97


def test_duplicate_flags_match_a_plain_set_of_earlier_lines() -> None:
    """Many repeats within and across chunks, some lines not eligible: the same flags as a set."""
    import random

    from promise.ingest.duplicates import SeenLines, mark_duplicates

    rng = random.Random(7)
    for _ in range(30):
        seen, earlier = SeenLines(), set()
        for _ in range(rng.randint(1, 6)):
            texts = [f"l{rng.randint(0, 40)}" for _ in range(rng.randint(1, 60))]
            eligible = [rng.random() < 0.8 for _ in texts]
            frame = pl.DataFrame({"_text": texts, "_ok": eligible})
            flags = mark_duplicates(frame, seen, eligible=pl.col("_ok")).to_list()
            expected = []
            for text, ok in zip(texts, eligible, strict=True):
                expected.append(ok and text in earlier)
                if ok:
                    earlier.add(text)
            assert flags == expected
        assert len(seen) == len(earlier)


def test_contract_patterns_and_values_never_admit_a_personnummer() -> None:
    """Columns skipped by the hidden-personnummer check must reject every written form by themselves."""
    forms = ["191212121212", "1212121212", "121212-1212", "121212+1212", "19121212-1212"]
    for path in sorted((project_root() / "data-contracts").glob("*.odcs.yaml")):
        for col in load_contract(path).columns:
            if col.pattern is not None:
                assert not any(re.search(col.pattern, f) for f in forms), (path.name, col.name)
            if col.valid_values is not None:
                assert not set(forms) & set(col.valid_values), (path.name, col.name)


def test_person_lookup_agrees_with_parsing_each_chunk_afresh() -> None:
    """Cached across chunks, restarted past its bound, or with every hash colliding: the
    added columns are those of a lookup made from nothing for that chunk alone."""
    from promise.ingest.persons import PersonIds, PersonLookup
    from promise.pseudonym import Pseudonymizer

    ids = PersonIds(Pseudonymizer(b"k" * 32))
    day = date(2025, 12, 31)
    chunks = [
        ["191212121212", "121212-1212", None, "x", "191212121212"],
        ["19121212-1212", "121212-1212", "20000101-0000", "", None],
        ["121212-1212", "191212121212", "bad", "19121212-1212", "121212+1212"],
    ]
    lookups = [
        PersonLookup(ids, reference_date=day),
        PersonLookup(ids, reference_date=day, max_cached=4),
        PersonLookup(ids, reference_date=day),
    ]
    for values in chunks:
        frame = pl.DataFrame(
            {"_line": range(len(values)), "p": values}, schema_overrides={"p": pl.Utf8}
        )
        expected = PersonLookup(ids, reference_date=day).add_columns(frame, "p")
        for lookup in lookups:
            assert lookup.add_columns(frame, "p").equals(expected)
        collided = lookups[2]  # every cached value now shares one hash with every other
        collided._cache = collided._cache.with_columns(
            pl.lit(7, dtype=pl.UInt64).alias("_pnr_hash")
        )
    assert lookups[1]._cache.height <= 5  # the bound, or the values of the last chunk alone


@pytest.mark.parametrize(
    ("text", "value", "reason"),
    [
        ("2000", 2000, None),
        ("+2000", 2000, None),
        ("02000", 2000, None),
        ("-2147483647", -2147483647, "out_of_range"),  # fits 32 bits, below the minimum 1800
        ("-2147483648", None, "out_of_range"),
        ("2147483648", None, "out_of_range"),
        ("-9223372036854775808", None, "out_of_range"),  # abs() of it overflows
        ("99999999999999999999", None, "invalid_number"),
        (" 2000", None, "invalid_number"),
        ("2000.0", None, "invalid_number"),
        ("+", None, "invalid_number"),
        ("\u0662\u0660", None, "invalid_number"),  # Arabic-Indic digits
    ],
)
def test_integer_checks(text: str, value: int | None, reason: str | None) -> None:
    contract = load_contract(project_root() / "data-contracts" / "npr_inpatient.odcs.yaml")
    checked = check_column(contract.column("AR"), decimal=".", reference_date=date(2025, 12, 31))
    frame = pl.DataFrame({"AR": [text]})
    assert frame.select(checked.outputs).item() == value
    failed = frame.select(
        [f.condition.fill_null(False).alias(str(k)) for k, f in enumerate(checked.failures)]
    ).row(0)
    reasons = [f.reason for f, hit in zip(checked.failures, failed, strict=True) if hit]
    assert (reasons[0] if reasons else None) == reason


@pytest.mark.parametrize(
    "data",
    [
        b"a\tb\n\nc\td",
        b"\n\na",
        b"a\n\n",
        b'a\x1fb\x1ec\x1d\x00d\n#x\n  \n"q"',  # every separator candidate used
        b"a\r\nb",
        b"",
    ],
)
def test_ascii_chunks_split_into_their_lines(data: bytes) -> None:
    decoded = decode_chunk(Chunk(2, data), "latin-1")
    assert decoded.text.to_list() == data.decode().replace("\r\n", "\n").split("\n")
    assert decoded.shown.to_list() == decoded.text.to_list()
    assert decoded.utf8_like == 0
