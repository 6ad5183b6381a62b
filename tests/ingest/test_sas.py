"""SAS (.sas7bdat) and Stata (.dta) deliveries, hand-made (issue 18.1, 18.3 and its bad input).

Files are written by Debian's ``readstat`` (text and plain numbers), and where a date format
is needed by writers that set one: pyreadstat's SAS writer (``readstat`` 1.1.8's converter
drops formats: "TODO format translation" in its mod_readstat.c) and pandas' Stata writer.
Expected values are read off the rows as written here; SAS and Stata count days from
1960-01-01 (and SAS date-times seconds, Stata's ``%tc`` milliseconds), which the tests
compute with the standard library.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from promise.errors import PromiseError
from promise.ingest import run_ingest
from promise.ingest.jobs import load_jobs
from promise.ingest.landing import unread_files
from promise.warehouse import connect

from .handmade import pick_numbers, write_lines
from .readstat_files import write_readstat

pytestmark = pytest.mark.integration
LMED = ["PersonNr", "ATC", "EDATUM", "FDATUM", "ANTAL", "forpddd", "VNR", "AR"]
REFERENCE = date(2025, 1, 1)
DAY0 = date(1960, 1, 1)


def _ingest(landing: Path, warehouse: Path, key: Path) -> list:  # type: ignore[type-arg]
    return run_ingest(landing=landing, warehouse=warehouse, key_file=key, reference_date=REFERENCE)


def _query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    con = connect(warehouse)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _birth(pnr: str) -> date:
    return date(int(pnr[:4]), int(pnr[4:6]), int(pnr[6:8]))


def test_lmed_sas_delivery_as_socialstyrelsen_names_it(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """t_r_lmed__<order>_<year>.sas7bdat, PersonNr stored as a number, FDATUM empty in four
    of six rows: all six load, each dispensing dated by its EDATUM."""
    p = pick_numbers(reference_dir, 6)
    edatum = ["20190105", "20190212", "20190320", "20190401", "20190515", "20190630"]
    fdatum = ["20190101", "", "", "", "", "20190601"]
    rows = [
        [p[i], atc, edatum[i], fdatum[i], "1", "30", f"0{i}1234", "2019"]
        for i, atc in enumerate(["C10AA01", "A10BA02", "N02BE01", "C10AA05", "R03AC02", "C09AA02"])
    ]
    landing = tmp_path / "landing"
    write_readstat(
        landing / "lmed" / "t_r_lmed__12345_2019.sas7bdat", LMED, rows,
        numeric=("PersonNr", "ANTAL", "forpddd", "AR"),
    )  # fmt: skip
    (result,) = _ingest(landing, tmp_path / "wh", key_file)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (6, 6, 0)
    loaded = _query(
        tmp_path / "wh",
        "SELECT _source_line, birth_date, dispense_date, prescription_date, packages, atc "
        "FROM raw.lmed ORDER BY _source_line",
    )
    expected = [
        (
            i + 1,
            _birth(p[i]),
            datetime.strptime(edatum[i], "%Y%m%d").date(),
            datetime.strptime(fdatum[i], "%Y%m%d").date() if fdatum[i] else None,
            1.0,
            rows[i][1],
        )
        for i in range(6)
    ]
    assert loaded == expected


def test_sas_and_stata_dates_and_datetimes(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """EDATUM a SAS date (YYMMDD10., days), FDATUM a SAS date-time (DATETIME20., seconds);
    the same as Stata %td (days) and %tc (milliseconds) from pandas; and as numbers
    written YYYYMMDD without a format (readstat). Each file: three rows, the same dates."""
    p = pick_numbers(reference_dir, 3)
    days = [date(2019, 1, 2), date(2020, 2, 29), date(2024, 12, 31)]
    prescribed = [datetime(2018, 12, 30, 13, 45), None, datetime(2024, 12, 1, 0, 0, 1)]
    frame = pd.DataFrame(
        {
            "PersonNr": p,
            "ATC": ["C10AA01", "A10BA02", "N02BE01"],
            "EDATUM": [float((d - DAY0).days) for d in days],
            "FDATUM": [
                (t - datetime(1960, 1, 1)).total_seconds() if t else float("nan")
                for t in prescribed
            ],
            "ANTAL": [1.0, 2.0, 3.0],
            "forpddd": [30.0, 10.0, 1.5],
            "VNR": ["012345", "023456", "034567"],  # each file its own VNR: no row repeats
            "AR": [2019.0, 2020.0, 2024.0],
        }
    )
    landing = tmp_path / "landing"
    (landing / "lmed").mkdir(parents=True)
    pyreadstat.write_sas7bdat(
        frame, str(landing / "lmed" / "lmed_sasdates.sas7bdat"),
        variable_format={"EDATUM": "YYMMDD10.", "FDATUM": "DATETIME20."},
    )  # fmt: skip
    stata = frame.assign(
        VNR=["112345", "123456", "134567"],
        EDATUM=pd.to_datetime([d.isoformat() for d in days]),
        FDATUM=pd.to_datetime([t.isoformat() if t else None for t in prescribed]),
    )
    stata.to_stata(
        landing / "lmed" / "lmed_statadates.dta", write_index=False, version=118,
        convert_dates={"EDATUM": "td", "FDATUM": "tc"},
    )  # fmt: skip
    as_numbers = [
        [
            p[i],
            "C10AA01",
            d.strftime("%Y%m%d"),
            t.strftime("%Y%m%d") if t else "",
            "1",
            "30",
            "",
            "2019",
        ]
        for i, (d, t) in enumerate(zip(days, prescribed, strict=True))
    ]
    write_readstat(
        landing / "lmed" / "lmed_numberdates.sas7bdat", LMED, as_numbers,
        numeric=("EDATUM", "FDATUM", "ANTAL", "forpddd", "AR"),
    )  # fmt: skip
    results = _ingest(landing, tmp_path / "wh", key_file)
    assert [(r.rows_in, r.rows_loaded) for r in results] == [(3, 3)] * 3
    by_file = _query(
        tmp_path / "wh",
        "SELECT _source_file, list(dispense_date ORDER BY _source_line), "
        "list(prescription_date ORDER BY _source_line) FROM raw.lmed GROUP BY 1",
    )
    want = (days, [date(2018, 12, 30), None, date(2024, 12, 1)])
    assert {f: (d, q) for f, d, q in by_file} == {
        "lmed/lmed_sasdates.sas7bdat": want,
        "lmed/lmed_statadates.dta": want,
        "lmed/lmed_numberdates.sas7bdat": want,
    }


def test_latin1_sas_text_and_ten_digit_numbers(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """An RTB migration file in latin-1 declaring ISO-8859-1: Å, Ö, ü load as written; a
    personnummer written as a 10-digit number of a person born 2000-2009 (its leading zero
    lost as a number) still belongs to that person."""
    pins = json.loads((reference_dir / "personnummer" / "allPins.json").read_text())
    young = next(n for n in pins if n.startswith("2003"))
    p = [*pick_numbers(reference_dir, 2), young]
    rows = [
        [p[0], "Inv", "20010203", "Åland"],
        [p[1][2:], "Utv", "20100115", "Österrike"],
        [p[2][2:], "Inv", "20200301", "Türkei"],
    ]
    landing = tmp_path / "landing"
    write_readstat(
        landing / "migration" / "rtb_migration.sas7bdat", ["PersonNr", "PostTyp", "Datum", "Land"],
        rows, numeric=("PersonNr",), encoding="latin-1",
    )  # fmt: skip
    (result,) = _ingest(landing, tmp_path / "wh", key_file)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)
    got = _query(tmp_path / "wh", "SELECT birth_date, country FROM raw.migration ORDER BY 1")
    assert sorted(got) == sorted(
        [(_birth(p[0]), "Åland"), (_birth(p[1]), "Österrike"), (_birth(p[2]), "Türkei")]
    )


def test_default_patterns_take_order_names_in_any_case(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    wanted = {
        "npr_inpatient/ut_r_par_sv_12345_2021.sas7bdat": "npr_inpatient",
        "npr_inpatient/PAR_SV_2019.TXT": "npr_inpatient",
        "npr_outpatient/UT_R_PAR_OV_12345_2021.SAS7BDAT": "npr_outpatient",
        "lmed/t_r_lmed__12345_2019.sas7bdat": "lmed",
        "lmed/lmed_2020.dta": "lmed",
        "lmed/LMED_2016_2025.csv": "lmed",
        "dors/ut_r_dors_12345_2020.sas7bdat": "dors",
        "cancer/ut_r_can_12345.sas7bdat": "cancer",
        "population/rtb_population.csv": "population",
        "migration/rtb_migration_2020.dta": "migration",
    }
    unmatched = ["lmed/formats.sas7bcat", "lmed/readme.txt", "dors/dodsorsak.xlsx"]
    for name in [*wanted, *unmatched]:
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_bytes(b"")
    found = {
        path.relative_to(landing).as_posix(): job.source
        for job in load_jobs()
        for path in job.files(landing)
    }
    assert found == wanted
    ignored = {f.label: f.why for f in unread_files(landing)}
    assert set(ignored) == set(unmatched)
    assert "no pattern of ingest/lmed.yml matches its name" in ignored["lmed/readme.txt"]
    assert "SAS format catalog" in ignored["lmed/formats.sas7bcat"]


# ---------------------------------------------------------------- bad input


def _delivery_with(tmp_path: Path, reference_dir: Path) -> tuple[Path, list[str]]:
    """A landing folder holding one good LMED SAS file (so a refusal must cover it too)."""
    p = pick_numbers(reference_dir, 3)
    landing = tmp_path / "landing"
    write_readstat(
        landing / "lmed" / "t_r_lmed__12345_2018.sas7bdat", LMED,
        [[p[0], "C10AA01", "20180105", "", "1", "30", "", "2018"]],
    )  # fmt: skip
    return landing, p


def _nothing_loaded(warehouse: Path) -> None:
    assert not list(warehouse.glob("raw/*/*/data.parquet"))
    assert not list(warehouse.glob(".tmp/*"))


def test_column_of_the_wrong_type_quarantines_its_rows(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """ATC delivered as numbers (a SAS numeric variable): each such row is quarantined
    (not_allowed, column ATC); the rows where it is missing and required too."""
    landing, p = _delivery_with(tmp_path, reference_dir)
    write_readstat(
        landing / "lmed" / "t_r_lmed__12345_2019.sas7bdat", LMED,
        [[p[1], "101", "20190105", "", "1", "30", "", "2019"],
         [p[2], "202", "20190106", "", "1", "30", "", "2019"]],
        numeric=("ATC",),
    )  # fmt: skip
    results = {r.file: r for r in _ingest(landing, tmp_path / "wh", key_file)}
    bad = results["lmed/t_r_lmed__12345_2019.sas7bdat"]
    assert (bad.rows_in, bad.rows_loaded, bad.rows_quarantined) == (2, 0, 2)
    rows = _query(tmp_path / "wh", 'SELECT line, "column", reason FROM quarantine ORDER BY line')
    assert rows == [(1, "ATC", "not_allowed"), (2, "ATC", "not_allowed")]


def test_date_where_the_contract_wants_text_is_refused(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    landing, p = _delivery_with(tmp_path, reference_dir)
    frame = pd.DataFrame(
        {
            "PersonNr": [p[1]],
            "ATC": [21550.0],
            "EDATUM": ["20190105"],
            "FDATUM": [""],
            "ANTAL": ["1"],
            "forpddd": ["30"],
            "VNR": [""],
            "AR": ["2019"],
        }  # fmt: skip
    )
    pyreadstat.write_sas7bdat(
        frame, str(landing / "lmed" / "t_r_lmed__12345_2019.sas7bdat"),
        variable_format={"ATC": "DATE9."},
    )  # fmt: skip
    with pytest.raises(
        PromiseError,
        match=r"column ATC of lmed/t_r_lmed__12345_2019\.sas7bdat holds a date \(DATE9\.?\)",
    ):
        _ingest(landing, tmp_path / "wh", key_file)
    _nothing_loaded(tmp_path / "wh")


def test_truncated_sas_file_is_refused(tmp_path: Path, reference_dir: Path, key_file: Path) -> None:
    landing, p = _delivery_with(tmp_path, reference_dir)
    whole = write_readstat(
        tmp_path / "full" / "t_r_lmed__12345_2019.sas7bdat", LMED,
        [[p[1], "C10AA01", f"2019{m:02d}05", "", "1", "30", "", "2019"] for m in range(1, 13)] * 50,
    )  # fmt: skip
    data = whole.read_bytes()
    (landing / "lmed" / whole.name).write_bytes(data[: len(data) // 2])
    with pytest.raises(
        PromiseError,
        match=r"t_r_lmed__12345_2019\.sas7bdat cannot be read as a SAS dataset .*truncated",
    ):
        _ingest(landing, tmp_path / "wh", key_file)
    _nothing_loaded(tmp_path / "wh")


def test_text_under_a_sas_name_is_refused(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    landing, p = _delivery_with(tmp_path, reference_dir)
    write_lines(
        landing / "lmed" / "t_r_lmed__12345_2019.sas7bdat",
        [";".join(LMED), f"{p[1]};C10AA01;20190105;;1;30;;2019"],
    )
    with pytest.raises(
        PromiseError,
        match=r"lmed/t_r_lmed__12345_2019\.sas7bdat is not a SAS dataset \(its first bytes are text\)",
    ):
        _ingest(landing, tmp_path / "wh", key_file)
    _nothing_loaded(tmp_path / "wh")


def test_a_job_declaring_format_sas_reads_other_names_as_sas(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """``format: sas`` in the job: a ``.dat`` file is read as a SAS dataset; a ``.csv`` beside
    it as delimited text (the extension decides when it names a kind)."""
    p = pick_numbers(reference_dir, 2)
    landing = tmp_path / "landing"
    sas = write_readstat(
        tmp_path / "made" / "x.sas7bdat", LMED, [[p[0], "C10AA01", "20190105", "", "1", "30", "", "2019"]]
    )  # fmt: skip
    (landing / "lmed").mkdir(parents=True)
    sas.rename(landing / "lmed" / "lmed_2019.dat")
    write_lines(
        landing / "lmed" / "lmed_2020.csv",
        [";".join(LMED), f"{p[1]};A10BA02;20200105;;1;30;;2020"], encoding="utf-8",
    )  # fmt: skip
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    contract = Path(__file__).resolve().parents[2] / "data-contracts" / "lmed.odcs.yaml"
    (jobs / "lmed.yml").write_text(
        f"source: lmed\nfiles: ['lmed/*.dat', 'lmed/*.csv']\nformat: sas\ndelimiter: ';'\n"
        f"decimal: ','\nencoding: utf-8\ncontract: {contract}\ntarget: raw/lmed\n"
    )
    results = run_ingest(
        landing=landing, warehouse=tmp_path / "wh", key_file=key_file, jobs_dir=jobs,
        reference_date=REFERENCE,
    )  # fmt: skip
    assert sorted((r.file, r.rows_loaded) for r in results) == [
        ("lmed/lmed_2019.dat", 1),
        ("lmed/lmed_2020.csv", 1),
    ]


def test_old_stata_file_is_read_in_the_jobs_encoding(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """Stata format 117 names no encoding (pandas writes it in latin-1): the migration job's
    declared latin-1 decodes it; format 118 is UTF-8 by definition."""
    p = pick_numbers(reference_dir, 2)
    landing = tmp_path / "landing"
    (landing / "migration").mkdir(parents=True)
    for version, person, country in ((117, p[0], "Österrike"), (118, p[1], "Åland")):
        pd.DataFrame(
            {"PersonNr": [person], "PostTyp": ["Inv"], "Datum": ["20010203"], "Land": [country]}
        ).to_stata(
            landing / "migration" / f"rtb_migration_{version}.dta", write_index=False,
            version=version,
        )  # fmt: skip
    assert (
        "Österrike".encode("latin-1") in (landing / "migration/rtb_migration_117.dta").read_bytes()
    )
    _ingest(landing, tmp_path / "wh", key_file)
    got = _query(tmp_path / "wh", "SELECT _source_file, country FROM raw.migration ORDER BY 1")
    assert got == [
        ("migration/rtb_migration_117.dta", "Österrike"),
        ("migration/rtb_migration_118.dta", "Åland"),
    ]


def test_sas_text_not_in_its_declared_encoding_is_refused(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    """Latin-1 bytes in a SAS file whose header says UTF-8 (readstat's own): one sentence."""
    landing, p = _delivery_with(tmp_path, reference_dir)
    write_readstat(
        landing / "migration" / "rtb_migration.sas7bdat", ["PersonNr", "PostTyp", "Datum", "Land"],
        [[p[1], "Inv", "20010203", "Österrike"]], encoding="latin-1",
    )  # fmt: skip
    declare = landing / "migration" / "rtb_migration.sas7bdat"
    with declare.open("r+b") as handle:  # back to UTF-8 (code 20), bytes still latin-1
        handle.seek(70)
        handle.write(bytes([20]))
    with pytest.raises(
        PromiseError, match=r"rtb_migration\.sas7bdat holds text that cannot be decoded"
    ):
        _ingest(landing, tmp_path / "wh", key_file)
    _nothing_loaded(tmp_path / "wh")
