"""Corrected and re-sent deliveries (issue 18.6): nothing is counted twice, the manifest says why.

One LMED file of six dispensings (hand-written below, all valid) is delivered, then re-sent
with a final newline and CRLF line ends (same rows: a correction changing nothing), then
corrected in one row (ATC of the third row), then sent again under a new name (refused, or
with --allow-overlap loaded as quarantine only), and a file with two old and two new rows.
Every expected count is read off the rows as written here; the marts are built at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import promise
from promise.build import build
from promise.errors import PromiseError
from promise.ingest import FileResult, run_ingest
from promise.warehouse import connect

from .handmade import pick_numbers, write_lines

pytestmark = pytest.mark.integration
HEADER = "PersonNr;ATC;EDATUM;FDATUM;ANTAL;forpddd;VNR;AR"
NAME = "lmed/lmed_2019.csv"


def _rows(p: list[str]) -> list[str]:
    return [
        f"{p[0]};C10AA01;20190105;20190101;1;30;012345;2019",
        f"{p[1]};A10BA02;20190212;;2;10;023456;2019",  # FDATUM empty
        f"{p[2]};N02BE01;20190320;20190301;1;1,5;034567;2019",
        f"{p[3]};C10AA05;20190401;20190315;3;30;045678;2019",
        f"{p[4]};R03AC02;20190515;;1;20;056789;2019",
        f"{p[5]};C09AA02;20190630;20190601;1;30;067890;2019",
    ]


def _ingest(landing: Path, warehouse: Path, key: Path, **options: bool) -> list[FileResult]:
    """The results of the files this run read (those already loaded, same bytes, left out)."""
    from datetime import date

    results = run_ingest(
        landing=landing, warehouse=warehouse, key_file=key, reference_date=date(2025, 1, 1),
        **options,
    )  # fmt: skip
    return [r for r in results if r.status != "skipped"]  # files already loaded, same bytes


def _query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    con = connect(warehouse)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def test_resent_corrected_and_renamed_files_count_once(
    tmp_path: Path, reference_dir: Path, key_file: Path
) -> None:
    p = pick_numbers(reference_dir, 8)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    rows = _rows(p)
    write_lines(landing / NAME, [HEADER, *rows], encoding="utf-8", final_newline=False)
    (first,) = _ingest(landing, warehouse, key_file)
    assert (first.status, first.rows_loaded) == ("loaded", 6)

    # 1. the same rows with a final newline and CRLF line ends: other bytes, same name
    write_lines(landing / NAME, [HEADER, *rows], encoding="utf-8", newline="\r\n")
    (resent,) = _ingest(landing, warehouse, key_file)
    assert resent.supersedes == first.load_id
    assert (resent.rows_added, resent.rows_removed, resent.rows_loaded) == (0, 0, 6)
    assert _query(warehouse, "SELECT count(*) FROM raw.lmed") == [(6,)]

    # 2. one row corrected (the third row's ATC N02BE01 -> N02BE51): shown by a dry run first
    corrected = [*rows[:2], rows[2].replace("N02BE01", "N02BE51"), *rows[3:]]
    write_lines(landing / NAME, [HEADER, *corrected], encoding="utf-8")
    (dry,) = _ingest(landing, warehouse, key_file, dry_run=True)
    assert dry.status.startswith("dry run") and (dry.rows_added, dry.rows_removed) == (1, 1)
    assert "1 row(s) added, 1 removed" in (dry.note or "")
    assert _query(warehouse, "SELECT count(*) FROM manifest") == [(2,)]  # nothing published
    (fixed,) = _ingest(landing, warehouse, key_file)
    assert (fixed.supersedes, fixed.rows_added, fixed.rows_removed) == (resent.load_id, 1, 1)
    atcs = dict(_query(warehouse, "SELECT atc, count(*) FROM raw.lmed GROUP BY 1"))
    assert atcs.get("N02BE51") == 1 and "N02BE01" not in atcs and sum(atcs.values()) == 6
    # the connection people get (promise sql, promise.connect) leaves the same loads out
    with promise.connect(warehouse) as con:
        assert dict(con.sql("SELECT atc, count(*) FROM raw.lmed GROUP BY 1").fetchall()) == atcs
        assert con.sql(
            "SELECT count(*) FROM manifest WHERE superseded_by IS NOT NULL"
        ).fetchall() == [(2,)]

    # 3. the corrected file again under a new name, without its final newline (the same
    # bytes under any name are simply skipped): refused in one sentence naming the file
    write_lines(
        landing / "lmed/lmed_2019_v2.csv", [HEADER, *corrected], encoding="utf-8",
        final_newline=False,
    )  # fmt: skip
    with pytest.raises(
        PromiseError, match=r"repeats 6 row\(s\) already loaded from lmed/lmed_2019\.csv"
    ):
        _ingest(landing, warehouse, key_file)
    assert _query(warehouse, "SELECT count(*) FROM manifest") == [(3,)]
    (renamed,) = _ingest(landing, warehouse, key_file, allow_overlap=True)
    assert (renamed.rows_in, renamed.rows_loaded, renamed.rows_quarantined) == (6, 0, 6)
    assert renamed.quarantined_by_reason == {"already_loaded": 6}

    # 4. two rows already loaded and two new ones (persons 7 and 8) under a third name
    extra = [
        corrected[0],
        corrected[4],
        f"{p[6]};C10AA01;20190705;;1;30;012345;2019",
        f"{p[7]};A10BA02;20190801;20190720;2;10;023456;2019",
    ]
    write_lines(landing / "lmed/lmed_2019_extra.csv", [HEADER, *extra], encoding="utf-8")
    (partial,) = _ingest(landing, warehouse, key_file, allow_overlap=True)
    assert (partial.rows_loaded, partial.rows_quarantined) == (2, 2)

    # the manifest tells the story: three loads of lmed_2019.csv, two superseded
    story = _query(
        warehouse,
        "SELECT file, rows_loaded, supersedes IS NOT NULL, superseded_by IS NOT NULL, "
        "rows_added, rows_removed FROM manifest ORDER BY started_at",
    )
    assert story == [
        (NAME, 6, False, True, None, None),
        (NAME, 6, True, True, 0, 0),
        (NAME, 6, True, False, 1, 1),
        ("lmed/lmed_2019_v2.csv", 0, False, False, None, None),
        ("lmed/lmed_2019_extra.csv", 2, False, False, None, None),
    ]
    assert _query(warehouse, "SELECT count(*) FROM raw.lmed") == [(8,)]
    published = {p.name for p in warehouse.glob("raw/lmed/*/*")}
    assert published == {"data.parquet", "quarantine.parquet", "manifest.parquet"}
    assert not (warehouse / ".tmp").exists() or not any((warehouse / ".tmp").iterdir())

    # the marts: every dispensing once (6 of the corrected file + 2 new), the old ATC gone
    build(warehouse=warehouse, key_file=key_file, quiet=True)
    marts = _query(
        warehouse,
        "SELECT count(*), count(DISTINCT (person_id, atc, dispense_date)), "
        "count(*) FILTER (WHERE atc = 'N02BE01'), count(*) FILTER (WHERE atc = 'N02BE51') "
        "FROM marts.drug_dispensing",
    )
    assert marts == [(8, 8, 0, 1)]


def test_cli_shows_the_correction_first_and_refuses_overlap_in_one_sentence(
    tmp_path: Path,
    reference_dir: Path,
    key_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from promise.cli import main

    monkeypatch.setenv("PROMISE_PSEUDONYM_KEY_FILE", str(key_file))
    monkeypatch.setenv("COLUMNS", "250")
    p = pick_numbers(reference_dir, 6)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    args = ["ingest", "--landing", str(landing), "--warehouse", str(warehouse)]
    args += ["--delivery-date", "2025-01-01"]
    rows = _rows(p)
    write_lines(landing / NAME, [HEADER, *rows], encoding="utf-8")
    assert main(args) == 0
    write_lines(landing / NAME, [HEADER, *rows[:5]], encoding="utf-8")  # the last row withdrawn
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"correction of {NAME}" in out and "0 row(s) added, 1 removed" in out
    assert "dry run: nothing was loaded" in out
    assert _query(warehouse, "SELECT count(*) FROM raw.lmed") == [(6,)]
    write_lines(landing / "lmed/lmed_2019_copy.csv", [HEADER, *rows[:2]], encoding="utf-8")
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "repeats 2 row(s) already loaded from lmed/lmed_2019.csv" in " ".join(err.split())
    assert "Traceback" not in err
    assert _query(warehouse, "SELECT count(*) FROM manifest") == [(1,)]
