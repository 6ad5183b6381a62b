"""Registers keyed by an order's running number (LopNr) through the order's linkage file.

The delivery of :mod:`identity_landing` is loaded with ``--linkage 4711=FILE``: each LopNr
becomes the person_id its personnummer gives (worked out here with HMAC, independently of
promise), a LopNr the linkage lacks is quarantined, and neither a LopNr nor a personnummer
is written anywhere. Bad linkage files and files of another order are refused in one sentence
with nothing loaded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from promise.cli import main
from promise.ingest import run_ingest
from promise.ingest.layout import FileContractError
from promise.ingest.linkage import LinkageError
from promise.pseudonym import KEY_ENV
from promise.warehouse import connect

from .handmade import write_lines
from .identity_landing import ORDER, IdentityLanding, person_id, write_identity_landing
from .scanner import scan, tree_text, written_forms

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> IdentityLanding:
    return write_identity_landing(tmp_path_factory.mktemp("identity"), reference_dir)


@pytest.fixture(scope="module")
def loaded(
    delivery: IdentityLanding, tmp_path_factory: pytest.TempPathFactory, key_file: Path
) -> tuple[Path, str]:
    """The delivery loaded through the CLI, in-process; the warehouse and what it printed."""
    warehouse = tmp_path_factory.mktemp("linked") / "warehouse"
    printed = _cli(
        ["ingest", "--landing", str(delivery.landing), "--warehouse", str(warehouse),
         "--linkage", f"{ORDER}={delivery.linkage}"],
        key_file,
    )  # fmt: skip
    return warehouse, printed


def _cli(argv: list[str], key_file: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = str(key_file)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    finally:
        if saved is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = saved
    return f"{out.getvalue()}{err.getvalue()}exit code {rc}\n"


def test_lopnr_rows_get_the_person_id_of_their_personnummer(
    delivery: IdentityLanding, loaded: tuple[Path, str], key_file: Path
) -> None:
    warehouse, printed = loaded
    assert printed.endswith("exit code 0\n"), printed
    n = delivery.numbers
    con = connect(warehouse)
    npr = dict(
        con.execute(
            "SELECT main_diagnosis, person_id FROM raw.npr_inpatient WHERE admission_date "
            "IN ('2005-03-01', '2007-07-07', '2003-03-03', '2002-02-02')"
        ).fetchall()
    )
    # the linkage's personnummer, hashed here: A, B, C's old number, D1
    assert npr == {
        "I219": person_id(key_file, n["A"]),
        "K359": person_id(key_file, n["B"]),
        "I10": person_id(key_file, n["C_old"]),
        "E105": person_id(key_file, n["D1"]),
    }
    # A's rows keyed by LopNr and by personnummer meet on one person_id
    lmed_a = con.execute(
        "SELECT DISTINCT person_id FROM raw.lmed WHERE product_number = '111111'"
    ).fetchall()
    assert lmed_a == [(person_id(key_file, n["A"]),)]
    # aliases from the contracts: DIA01 -> diagnosis_1, OP1 + OP2 -> procedures, FDDD -> ddd
    row = con.execute(
        "SELECT diagnosis_1, procedures FROM raw.npr_inpatient WHERE main_diagnosis = 'I219'"
    ).fetchone()
    assert row == ("E119", "FNG05")
    assert con.execute("SELECT sum(ddd_per_package) FROM raw.lmed").fetchone() == (178.0,)


def test_unknown_lopnr_is_quarantined_and_no_lopnr_is_written(
    delivery: IdentityLanding, loaded: tuple[Path, str]
) -> None:
    warehouse, printed = loaded
    con = connect(warehouse)
    rows = con.execute(
        "SELECT line, reason, \"column\", record FROM quarantine WHERE source = 'npr_inpatient' "
        "ORDER BY line"
    ).fetchall()
    # line 10: the LopNr the linkage lacks; line 11: the ragged line
    assert [(r[0], r[1]) for r in rows] == [(10, "unknown_lopnr"), (11, "ragged_row")]
    assert rows[0][2] == "PersonNr"  # the contract column the LopNr stood in for
    assert json.loads(rows[1][3]) == {"text": "***MASKED***\tX\t20110101"}
    assert json.loads(rows[0][3])["person_id"] == "***MASKED***"
    assert con.execute(
        "SELECT rows_in, rows_loaded, rows_quarantined FROM manifest WHERE source = 'npr_inpatient'"
    ).fetchone() == (10, 8, 2)
    lopnr = set(delivery.lopnr.values())
    text = tree_text(warehouse) + printed
    assert {v for v in lopnr if v in text} == set()
    forms = written_forms(delivery.planted())
    assert scan([warehouse], forms, extra=(printed,)) == set()


def _refused(
    exc: pytest.ExceptionInfo[Exception], warehouse: Path, delivery: IdentityLanding
) -> str:
    """The refusal's sentence, after checking it leaks nothing and nothing was loaded."""
    message = str(exc.value)
    assert message.endswith("nothing was loaded."), message
    assert message.count(". ") == 0, message  # one sentence
    for value in (*delivery.lopnr.values(), *delivery.numbers.values()):
        assert value not in message
    assert not (warehouse / "raw").exists()
    return message


def test_duplicate_lopnr_in_the_linkage_is_refused(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    lines = delivery.linkage.read_text().splitlines()
    linkage = write_lines(tmp_path / "dup.csv", [*lines, lines[2]])  # line 8 repeats line 3
    with pytest.raises(LinkageError) as exc:
        run_ingest(landing=delivery.landing, warehouse=tmp_path / "w", key_file=key_file,
                   linkage={ORDER: linkage})  # fmt: skip
    assert "line 3, 8" in _refused(exc, tmp_path / "w", delivery)


def test_a_linkage_with_an_invalid_personnummer_is_refused(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    lines = delivery.linkage.read_text().splitlines()
    linkage = write_lines(tmp_path / "bad.csv", [*lines, "731000001;191212121213"])
    with pytest.raises(LinkageError) as exc:
        run_ingest(landing=delivery.landing, warehouse=tmp_path / "w", key_file=key_file,
                   linkage={ORDER: linkage})  # fmt: skip
    assert "no valid personnummer" in _refused(exc, tmp_path / "w", delivery)


def test_lopnr_of_another_order_are_never_read_through_this_linkage(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(delivery.landing, landing)
    (landing / "npr_inpatient" / f"par_sv_{ORDER}_2024.txt").rename(
        landing / "npr_inpatient" / "par_sv_9999_2024.txt"
    )
    with pytest.raises(FileContractError) as exc:
        run_ingest(landing=landing, warehouse=tmp_path / "w", key_file=key_file,
                   linkage={ORDER: delivery.linkage})  # fmt: skip
    assert "names none of the orders given (4711)" in _refused(exc, tmp_path / "w", delivery)


def test_a_lopnr_column_naming_its_order_must_agree_with_the_linkage(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(delivery.landing, landing)
    npr = landing / "npr_inpatient" / f"par_sv_{ORDER}_2024.txt"
    npr.write_bytes(npr.read_bytes().replace(b"LopNr\t", b"P5555_LopNr_PersonNr\t", 1))
    with pytest.raises(FileContractError) as exc:
        run_ingest(landing=landing, warehouse=tmp_path / "w", key_file=key_file,
                   linkage={ORDER: delivery.linkage, "5555": delivery.linkage})  # fmt: skip
    assert "its file name names order 4711" in _refused(exc, tmp_path / "w", delivery)


def test_lopnr_without_a_linkage_is_refused(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    with pytest.raises(FileContractError) as exc:
        run_ingest(landing=delivery.landing, warehouse=tmp_path / "w", key_file=key_file)
    assert "no linkage file was given" in _refused(exc, tmp_path / "w", delivery)


def test_a_linkage_inside_the_warehouse_is_refused(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    warehouse = tmp_path / "w"
    inside = warehouse / "keys" / "linkage.csv"
    inside.parent.mkdir(parents=True)
    shutil.copy(delivery.linkage, inside)
    with pytest.raises(LinkageError) as exc:
        run_ingest(landing=delivery.landing, warehouse=warehouse, key_file=key_file,
                   linkage={ORDER: inside})  # fmt: skip
    assert "lies inside the warehouse" in _refused(exc, warehouse, delivery)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("4711", "is not ORDER=FILE"),
        ("=x.csv", "is not ORDER=FILE"),
        ("4711=/no/such.csv", "does not exist"),
    ],
)
def test_the_cli_refuses_a_bad_linkage_option_in_one_sentence(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path, option: str, words: str
) -> None:
    printed = _cli(
        ["ingest", "--landing", str(delivery.landing), "--warehouse", str(tmp_path / "w"),
         "--linkage", option],
        key_file,
    )  # fmt: skip
    assert words in printed and "Traceback" not in printed
    assert not printed.endswith("exit code 0\n")
    assert not (tmp_path / "w" / "raw").exists()


def test_a_sas_delivery_keyed_by_numeric_lopnr_links_too(
    delivery: IdentityLanding, tmp_path: Path, key_file: Path
) -> None:
    """Socialstyrelsen's SAS file, LopNr stored as a number (read back as 731094826.0)."""
    from .identity_landing import NPR_FILE, NPR_HEADER
    from .readstat_files import write_readstat

    landing = tmp_path / "landing"
    shutil.copytree(delivery.landing, landing)
    text = landing / NPR_FILE
    rows = [line.split("\t") for line in text.read_text(encoding="latin-1").splitlines()[1:]]
    text.unlink()
    write_readstat(
        landing / "npr_inpatient" / f"ut_r_par_sv_{ORDER}_2024.sas7bdat",
        NPR_HEADER,
        [r for r in rows if len(r) == len(NPR_HEADER)],
        numeric=("LopNr",),
    )
    warehouse = tmp_path / "w"
    run_ingest(landing=landing, warehouse=warehouse, key_file=key_file,
               linkage={ORDER: delivery.linkage})  # fmt: skip
    con = connect(warehouse)
    got = dict(
        con.execute(
            "SELECT main_diagnosis, person_id FROM raw.npr_inpatient WHERE main_diagnosis IN "
            "('I219', 'K359')"
        ).fetchall()
    )
    n = delivery.numbers
    assert got == {"I219": person_id(key_file, n["A"]), "K359": person_id(key_file, n["B"])}
    reasons = con.execute(
        "SELECT reason, count(*) FROM quarantine WHERE source = 'npr_inpatient' GROUP BY 1"
    ).fetchall()
    assert reasons == [("unknown_lopnr", 1)]
    text_out = tree_text(warehouse)
    assert {v for v in delivery.lopnr.values() if v in text_out} == set()
