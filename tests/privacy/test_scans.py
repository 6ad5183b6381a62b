"""The Arrow scans behind raw.<source>, manifest and quarantine unite files by column name.

Before: a warehouse whose quarantine files came from Polars (string views) and from PyArrow
(large strings), as `make demo`'s does, could not be opened by promise sql at all.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from promise.privacy.scans import table_scan

pytestmark = pytest.mark.unit


def test_string_flavours_and_missing_columns_unite(tmp_path: Path) -> None:
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pl.DataFrame({"load_id": ["L1"], "line": [3]}).write_parquet(first)  # string view
    pq.write_table(  # large string, an int32 and a column the first file lacks
        pa.table({"load_id": pa.array(["L2"], pa.large_string()), "line": pa.array([4], pa.int32()),
                  "detail": ["x"]}),
        second,
    )  # fmt: skip
    con = duckdb.connect()
    con.register("scan", table_scan([first, second], "quarantine"))
    rows = con.sql("SELECT load_id, line, detail FROM scan ORDER BY load_id").fetchall()
    assert rows == [("L1", 3, None), ("L2", 4, "x")]


def test_a_real_type_conflict_is_one_sentence(tmp_path: Path) -> None:
    pl.DataFrame({"line": [[1, 2]]}).write_parquet(tmp_path / "a.parquet")
    pl.DataFrame({"line": [{"x": 1}]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(Exception, match="published files of quarantine disagree"):
        table_scan([tmp_path / "a.parquet", tmp_path / "b.parquet"], "quarantine")
