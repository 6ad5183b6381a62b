"""`promise sql`'s table layout never hides a column, and a missing warehouse is one sentence.

Before: the table format printed DuckDB's box rendering, which drops middle columns of a wide
result at the terminal's width ("12 columns (5 shown)"); and without --warehouse the command
failed on a nonexistent ./warehouse with a DuckDB message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promise.cli import main
from promise.sql import Result, render

pytestmark = pytest.mark.unit

WIDE = Result(
    names=[f"column_{i:02d}" for i in range(12)],
    types=["VARCHAR"] * 6 + ["BIGINT"] * 6,
    rows=[tuple(f"value-{r}-{i}-" + "x" * 12 for i in range(6)) + tuple(range(r, r + 6)) for r in range(3)],
)  # fmt: skip


def every_value_shown(text: str, result: Result) -> bool:
    return all(name in text for name in result.names) and all(
        str(value) in text for row in result.rows for value in row
    )


def test_a_wide_result_switches_to_one_record_at_a_time() -> None:
    text = render(WIDE, "table", width=80)
    assert every_value_shown(text, WIDE)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "-[ record 3 ]" in text and text.rstrip().endswith("(3 rows)")


def test_a_result_that_fits_stays_a_table() -> None:
    text = render(WIDE, "table", width=None)  # not a terminal: no width limit
    assert every_value_shown(text, WIDE)
    header = text.splitlines()[0]
    assert header.index("column_00") < header.index("column_11")  # one line, every column
    narrow = Result(names=["sex", "n"], types=["VARCHAR", "BIGINT"], rows=[("female", 7)])
    assert render(narrow, "table", width=80).splitlines()[2] == " female │ 7"


def test_nulls_and_newlines_cannot_break_the_layout() -> None:
    result = Result(names=["a", "b"], types=["VARCHAR", "VARCHAR"], rows=[(None, "x\ny")])
    assert render(result, "table").splitlines()[2] == " NULL │ x\\ny"


def test_no_warehouse_found_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROMISE_WAREHOUSE", raising=False)
    monkeypatch.setattr("promise.locate.project_root", lambda: tmp_path)  # no demo/ beside
    assert main(["sql", "SELECT 1"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "no warehouse found" in err and "--warehouse" in err
