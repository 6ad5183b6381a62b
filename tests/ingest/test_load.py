"""Loading hand-made files: counts by reason, typed raw rows, pseudonyms, idempotence, refusals."""

from __future__ import annotations

import hmac
import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from promise.errors import KeyFileError, WarehouseLockedError
from promise.ingest import run_ingest
from promise.ingest.layout import FileContractError
from promise.pnr import parse
from promise.pseudonym import load_key, write_new_key
from promise.warehouse import WarehouseLock, connect

from .handmade import (
    inpatient_header,
    inpatient_row,
    migration_lines,
    pick_numbers,
    short_form,
    write_lines,
)

pytestmark = pytest.mark.integration
DELIVERY = date(2025, 12, 31)


@pytest.fixture
def numbers(reference_dir: Path) -> list[str]:
    return pick_numbers(reference_dir, 40)


def expected_id(key_file: Path, normalized: str) -> str:
    """HMAC-SHA256 through the standard library, independent of promise.pseudonym's fast path."""
    return hmac.new(load_key(key_file), normalized.encode(), "sha256").hexdigest()[:24]


def _ingest(landing: Path, warehouse: Path, key_file: Path) -> list:
    return run_ingest(
        landing=landing, warehouse=warehouse, key_file=key_file, reference_date=DELIVERY
    )


def _by_file(results: list) -> dict:
    return {r.file: r for r in results}


def test_migration_counts_by_reason_and_typed_rows(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, reasons, loaded = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    (result,) = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (9, loaded, 6)
    assert result.quarantined_by_reason == reasons
    con = connect(tmp_path / "wh")
    rows = con.sql(
        "SELECT person_id, sex, migration_type, migration_date, country, _source_line FROM raw.migration ORDER BY _source_line"
    ).fetchall()
    # line 3 is written YYMMDD-NNNC: it must get the same pseudonym as the 12-digit form
    assert rows[0][0] == expected_id(key_file, numbers[0])
    assert rows[1][0] == expected_id(key_file, numbers[1])
    assert [r[2] for r in rows] == ["in", "out", "out"]
    assert rows[0][3] == date(2001, 2, 3)
    assert rows[2][4] == "Åland"  # latin-1 decoded
    assert [r[5] for r in rows] == [2, 3, 9]
    sex_digit = int(numbers[0][10])
    assert rows[0][1] == ("male" if sex_digit % 2 else "female")
    q = con.sql('SELECT line, "column", reason FROM quarantine ORDER BY line').fetchall()
    assert q == [
        (4, "Datum", "invalid_date"),
        (5, "PostTyp", "not_allowed"),
        (6, None, "duplicate_row"),
        (7, "PersonNr", "invalid_personnummer"),
        (8, None, "ragged_row"),
        (10, "Datum", "missing_required"),
    ]


def test_quarantine_records_never_hold_a_personnummer(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, _, _ = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    records = connect(tmp_path / "wh").sql("SELECT record FROM quarantine").fetchall()
    text = "\n".join(r[0] for r in records)
    for pnr in numbers[:8]:
        assert pnr not in text and pnr[2:] not in text and short_form(pnr) not in text
    assert expected_id(key_file, numbers[2]) in text  # the impossible-date row keeps its pseudonym
    assert "***MASKED***" in text  # the bad check digit is masked


def test_second_run_changes_nothing_and_a_new_file_adds_exactly_it(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, _, _ = migration_lines(numbers)
    land, wh = tmp_path / "land", tmp_path / "wh"
    write_lines(land / "migration" / "rtb_migration_1.csv", lines)
    _ingest(land, wh, key_file)
    before = _snapshot(wh)
    again = _ingest(land, wh, key_file)
    assert [r.status for r in again] == ["skipped"]
    assert _snapshot(wh) == before
    write_lines(
        land / "migration" / "rtb_migration_2.csv",
        ["PersonNr;PostTyp;Datum;Land", f"{numbers[20]};Inv;20200101;Norge"],
    )
    third = _by_file(_ingest(land, wh, key_file))
    assert third["migration/rtb_migration_1.csv"].status == "skipped"
    assert third["migration/rtb_migration_2.csv"].rows_loaded == 1
    after = _snapshot(wh)
    assert set(before) < set(after) and {k: after[k] for k in before} == before
    assert len(set(after) - set(before)) == 3  # data, quarantine, manifest of the one new load


def _snapshot(warehouse: Path) -> dict[str, bytes]:
    return {
        p.relative_to(warehouse).as_posix(): p.read_bytes()
        for p in sorted((warehouse / "raw").rglob("*"))
        if p.is_file()
    }


def test_same_content_under_two_names_is_loaded_once(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, _, _ = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1_copy.csv", lines)
    results = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert sorted(r.status for r in results) == ["loaded", "skipped"]


def test_inpatient_icd_codes_partial_dates_and_diagnos_variant(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    land = tmp_path / "land"
    p = numbers
    write_lines(
        land / "npr_inpatient" / "par_sv_1.txt",
        [
            inpatient_header(),
            inpatient_row(
                p[0], indatum="20100105", utdatum="20100110", hdia="I252", dia=["E119", "I10"]
            ),
            inpatient_row(
                p[1], indatum="19900105", utdatum="19900110", hdia="250A"
            ),  # ICD-9 Swedish
            inpatient_row(p[2], indatum="19800105", utdatum="19800110", hdia="410,99"),  # ICD-8
            inpatient_row(p[3], indatum="20100105", utdatum="20100110", hdia="I25.2"),  # with a dot
            inpatient_row(
                p[4], indatum="20100105", utdatum="20100110", hdia="XX!9"
            ),  # unknown code
            inpatient_row(p[5], indatum="20101305", utdatum="20101310", hdia="I252"),  # month 13
            inpatient_row(p[6], indatum="20300105", utdatum="20300110", hdia="I252"),  # future
        ],
    )
    write_lines(
        land / "npr_inpatient" / "par_sv_diagnos_1.txt",
        [
            inpatient_header(diagnos=True),
            inpatient_row(
                p[7], indatum="20150101", utdatum="20150103", hdia="", diagnos="I21 I10  E119"
            ),
        ],
    )
    results = _by_file(_ingest(land, tmp_path / "wh", key_file))
    main = results["npr_inpatient/par_sv_1.txt"]
    assert (main.rows_in, main.rows_loaded) == (7, 4)
    assert main.quarantined_by_reason == {"not_allowed": 1, "invalid_date": 2}
    con = connect(tmp_path / "wh")
    codes = con.sql(
        "SELECT main_diagnosis FROM raw.npr_inpatient WHERE diagnoses IS NULL ORDER BY _source_line"
    ).fetchall()
    assert [c[0] for c in codes] == ["I252", "250A", "410,99", "I25.2"]
    variant = con.sql(
        "SELECT main_diagnosis, diagnosis_1, diagnosis_2, diagnosis_3, diagnoses, discharge_date FROM raw.npr_inpatient WHERE diagnoses IS NOT NULL"
    ).fetchall()
    assert variant == [("I21", "I10", "E119", None, "I21 I10  E119", date(2015, 1, 3))]


def test_cause_of_death_partial_dates(tmp_path: Path, key_file: Path, numbers: list[str]) -> None:
    header = "PersonNr;DODSDAT;AR;ICD;ULORSAK;" + ";".join(f"MORSAK{i}" for i in range(1, 18))
    empty = ";" * 16
    rows = [
        f"{numbers[0]};19870512;1987;9;410A;{empty}",
        f"{numbers[1]};19870500;1987;9;410A;{empty}",
        f"{numbers[2]};19880000;1988;9;410A;{empty}",
        f"{numbers[3]};19880230;1988;9;410A;{empty}",  # impossible
        f"{numbers[4]};19880012;1988;9;410A;{empty}",  # month unknown, day known: not a date
    ]
    write_lines(tmp_path / "land" / "dors" / "dors_1.csv", [header, *rows])
    (result,) = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert result.quarantined_by_reason == {"invalid_date": 2}
    got = (
        connect(tmp_path / "wh")
        .sql(
            "SELECT death_date_lower, death_date_upper, death_date_precision FROM raw.dors ORDER BY _source_line"
        )
        .fetchall()
    )
    assert got == [
        (date(1987, 5, 12), date(1987, 5, 12), "day"),
        (date(1987, 5, 1), date(1987, 5, 31), "month"),
        (date(1988, 1, 1), date(1988, 12, 31), "year"),
    ]


def test_cancer_six_digit_dates_and_benign_flag(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines = [
        "PersonNr;DIADAT;AR;ICD7;ICDO3;SNOMED3;BEN;KON;ALDER",
        f"{numbers[0]};197502;1975;1740;C50.9;85003;;2;45",
        f"{numbers[1]};20100304;2010;1740;C509;80703;3;1;60",
    ]
    write_lines(tmp_path / "land" / "cancer" / "cancer_1.csv", lines)
    (result,) = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert result.rows_loaded == 2
    got = (
        connect(tmp_path / "wh")
        .sql(
            "SELECT diagnosis_date_lower, diagnosis_date_upper, diagnosis_date_precision, benign, age FROM raw.cancer ORDER BY _source_line"
        )
        .fetchall()
    )
    assert got == [
        (date(1975, 2, 1), date(1975, 2, 28), "month", False, 45),
        (date(2010, 3, 4), date(2010, 3, 4), "day", True, 60),
    ]


def test_utf8_file_with_bom_decimal_comma_and_undecodable_line(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    path = tmp_path / "land" / "lmed" / "lmed_1.csv"
    lines = [
        "PersonNr;ATC;EDATUM;FDATUM;ANTAL;forpddd;VNR;AR",
        f"{numbers[0]};C10AA01;20100101;20100105;1,5;30;123456;2010",
        f"{numbers[1]};Q99ZZ99;20100101;20100105;1;30;123456;2010",  # not an ATC code
        f"{numbers[2]};A10BA02;20100101;20100105;-1;;123456;2010",
    ]
    write_lines(path, lines, encoding="utf-8", bom=True, newline="\r\n")
    with path.open("ab") as handle:  # a latin-1 'å' (0xE5) in a UTF-8 file
        handle.write(
            f"{numbers[3]};A10BA02;20100101;20100105;1;30;V\xe5l;2010\r\n".encode("latin-1")
        )
    (result,) = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert (result.rows_in, result.rows_loaded) == (4, 2)
    assert result.quarantined_by_reason == {"not_allowed": 1, "undecodable": 1}
    assert any("byte order mark" in w for w in result.warnings)
    got = (
        connect(tmp_path / "wh")
        .sql("SELECT atc, packages, ddd_per_package FROM raw.lmed ORDER BY _source_line")
        .fetchall()
    )
    assert got == [("C10AA01", 1.5, 30.0), ("A10BA02", -1.0, None)]


def test_omics_long_and_wide(tmp_path: Path, key_file: Path, numbers: list[str]) -> None:
    land = tmp_path / "land"
    write_lines(
        land / "biobank" / "biobank_samples_1.csv",
        [
            "SampleID,PersonNr,SamplingDate,SampleType",
            f"S1,{numbers[0]},2015-03-01,plasma",
            f"S2,{short_form(numbers[1])},2015-02-30,plasma",
        ],
        encoding="utf-8",
    )
    write_lines(
        land / "olink" / "olink_npx_1.csv",
        [
            "SampleID;OlinkID;UniProt;Assay;Panel;PlateID;QC_Warning;LOD;NPX",
            "S1;OID00001;Q8NBP7;PCSK9;Cardiometabolic;P1;PASS;1,25;0,5",
            "S1;OID00002;P01375;TNF;Inflammation;P1;WARN;1,0;3,75",
            "S1;OID00003;P01375;TNF;Inflammation;P1;MAYBE;1,0;3,75",
        ],
        encoding="utf-8",
    )
    write_lines(
        land / "metabolomics" / "nmr_metabolomics_1.tsv",
        ["SampleID\tTotal_C\tLDL_C\tGlucose", "S1\t5.1\t3.2\t", "S2\t4.0\tabc\t5.5"],
        encoding="utf-8",
    )
    results = _by_file(_ingest(land, tmp_path / "wh", key_file))
    assert results["biobank/biobank_samples_1.csv"].quarantined_by_reason == {"invalid_date": 1}
    assert results["olink/olink_npx_1.csv"].quarantined_by_reason == {"not_allowed": 1}
    assert results["metabolomics/nmr_metabolomics_1.tsv"].quarantined_by_reason == {
        "invalid_number": 1
    }
    con = connect(tmp_path / "wh")
    assert con.sql(
        "SELECT assay, lod, npx, below_lod FROM raw.olink ORDER BY _source_line"
    ).fetchall() == [
        ("PCSK9", 1.25, 0.5, True),
        ("TNF", 1.0, 3.75, False),
    ]
    assert con.sql(
        "SELECT sample_id, measure, value, unit FROM raw.metabolomics ORDER BY measure"
    ).fetchall() == [
        ("S1", "LDL_C", 3.2, "mmol/l"),
        ("S1", "Total_C", 5.1, "mmol/l"),
    ]


def test_refuses_without_key_and_with_another_key(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, _, _ = migration_lines(numbers)
    land, wh = tmp_path / "land", tmp_path / "wh"
    write_lines(land / "migration" / "rtb_migration_1.csv", lines)
    with pytest.raises(KeyFileError, match="PROMISE_PSEUDONYM_KEY_FILE"):
        run_ingest(landing=land, warehouse=wh, key_file=None)
    with pytest.raises(KeyFileError, match="does not exist"):
        run_ingest(landing=land, warehouse=wh, key_file=tmp_path / "missing.key")
    assert not wh.exists()
    _ingest(land, wh, key_file)
    before = _snapshot(wh)
    other = write_new_key(tmp_path / "other.key")
    write_lines(
        land / "migration" / "rtb_migration_2.csv",
        ["PersonNr;PostTyp;Datum;Land", f"{numbers[30]};Inv;20200101;Norge"],
    )
    with pytest.raises(KeyFileError, match="not the key of warehouse"):
        _ingest(land, wh, other)
    assert _snapshot(wh) == before


def test_refuses_a_file_missing_a_required_column_and_writes_nothing(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    land = tmp_path / "land"
    lines, _, _ = migration_lines(numbers)
    write_lines(land / "migration" / "rtb_migration_1.csv", lines)
    write_lines(
        land / "population" / "rtb_population_1.csv",
        ["PersonNr;Kon;FodelseLand", f"{numbers[0]};1;Sverige"],
    )
    with pytest.raises(FileContractError, match="lacks the required column.*FodelseLan.*AterPnr"):
        _ingest(land, tmp_path / "wh", key_file)
    assert not (tmp_path / "wh").exists()


def test_second_writer_is_refused_within_five_seconds(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    land, wh = tmp_path / "land", tmp_path / "wh"
    lines, _, _ = migration_lines(numbers)
    write_lines(land / "migration" / "rtb_migration_1.csv", lines)
    with WarehouseLock(wh):
        start = time.monotonic()
        with pytest.raises(WarehouseLockedError, match="another `promise ingest`"):
            _ingest(land, wh, key_file)
        assert time.monotonic() - start < 5
        env = {"PROMISE_PSEUDONYM_KEY_FILE": str(key_file), "PATH": "/usr/bin:/bin"}
        start = time.monotonic()
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "promise"),
                "ingest",
                "--landing",
                str(land),
                "--warehouse",
                str(wh),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - start
    assert proc.returncode == 3, proc.stderr
    assert "another `promise ingest`" in proc.stderr
    assert elapsed < 5 + 5  # interpreter start-up plus the 5 s budget for the refusal itself
    assert not (wh / "raw").exists()


def test_sql_command_formats_and_read_only(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    from promise.cli import main

    lines, _, _ = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    from promise.sql import QueryError, run_query

    out = run_query(
        warehouse=tmp_path / "wh", query="SELECT rows_in, rows_loaded FROM manifest", fmt="json"
    )
    assert json.loads(out) == [{"rows_in": 9, "rows_loaded": 3}]
    csv_out = run_query(
        warehouse=tmp_path / "wh",
        query="SELECT reason, count(*) AS n FROM quarantine GROUP BY 1 ORDER BY 1",
        fmt="csv",
    )
    assert csv_out.splitlines()[0] == "reason,n" and "ragged_row,1" in csv_out
    with pytest.raises(QueryError, match="read-only"):
        run_query(warehouse=tmp_path / "wh", query=f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'")
    assert (
        main(["sql", "--warehouse", str(tmp_path / "wh"), "SELECT count(*) FROM raw.migration"])
        == 0
    )


def test_pnr_forms_agree_on_person_id(tmp_path: Path, key_file: Path, numbers: list[str]) -> None:
    n = numbers[10]
    forms = [n, n[2:], short_form(n), f"{n[:8]}-{n[8:]}"]
    lines = [
        "PersonNr;PostTyp;Datum;Land",
        *(f"{f};Inv;2001010{i + 1};Norge" for i, f in enumerate(forms)),
    ]
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    (result,) = _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    assert result.rows_loaded == 4
    ids = (
        connect(tmp_path / "wh")
        .sql("SELECT DISTINCT person_id, birth_date FROM raw.migration")
        .fetchall()
    )
    assert ids == [(expected_id(key_file, n), parse(n).birth_date)]


def test_cli_ingest_prints_a_table(
    tmp_path: Path, key_file: Path, numbers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from promise.cli import main

    lines, _, _ = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    rc = main(
        [
            "ingest",
            "--landing",
            str(tmp_path / "land"),
            "--warehouse",
            str(tmp_path / "wh"),
            "--delivery-date",
            "2025-12-31",
        ],
        environ={"PROMISE_PSEUDONYM_KEY_FILE": str(key_file)},
    )
    assert rc == 0
    assert "rtb_migration_1" in capsys.readouterr().out
    shutil.rmtree(tmp_path / "wh")


def test_sql_reads_statements_from_stdin(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    lines, _, _ = migration_lines(numbers)
    write_lines(tmp_path / "land" / "migration" / "rtb_migration_1.csv", lines)
    _ingest(tmp_path / "land", tmp_path / "wh", key_file)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "promise"), "sql", "--warehouse", str(tmp_path / "wh"), "--format", "csv"],
        input="SELECT count(*) AS n FROM raw.migration; SELECT count(*) AS q FROM quarantine;",
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["n", "3", "q", "6"]
