"""Publishing: atomic rename, old readers undisturbed, failed builds publish nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from promise.build import BuildFailedError, BuildResult, build
from promise.cli import main
from promise.errors import ConfigurationError

pytestmark = pytest.mark.reliability


def _copy_raw(tiny_build: tuple[Path, BuildResult], target: Path) -> Path:
    shutil.copytree(tiny_build[0] / "raw", target / "raw")
    return target


def test_old_reader_keeps_its_snapshot_and_a_failed_build_publishes_nothing(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    shutil.copy(tiny_build[0] / "promise.duckdb", warehouse / "promise.duckdb")
    reader = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    persons_before = reader.execute("select count(*) from marts.person").fetchone()

    # a population row with an impossible sex value: the accepted_values test on person fails
    bad = warehouse / "raw" / "population" / "L2" / "data.parquet"
    bad.parent.mkdir(parents=True)
    duckdb.execute(
        f"copy (select 'L2' as _load_id, 'f' as _source_file, 1 as _source_line, "
        f"'{'f' * 24}' as person_id, date '1970-01-01' as birth_date, 'unknown' as sex, "
        f"false as is_coordination_number) to '{bad}' (format parquet)"
    )
    published = (warehouse / "promise.duckdb").stat()
    with pytest.raises(BuildFailedError, match="nothing was published"):
        build(warehouse=warehouse)
    after = (warehouse / "promise.duckdb").stat()
    assert (after.st_ino, after.st_mtime_ns) == (published.st_ino, published.st_mtime_ns)
    assert list((warehouse / ".build").glob("*/promise.duckdb")) == []  # candidate removed

    # fix the raw layer and rebuild while the reader still holds the old file open
    bad.unlink()
    extra = warehouse / "raw" / "population" / "L2" / "data.parquet"
    duckdb.execute(
        f"copy (select 'L2' as _load_id, 'f' as _source_file, 1 as _source_line, "
        f"'{'e' * 24}' as person_id, date '1970-01-01' as birth_date, 'female' as sex, "
        f"false as is_coordination_number) to '{extra}' (format parquet)"
    )
    result = build(warehouse=warehouse)
    assert result.published
    assert reader.execute("select count(*) from marts.person").fetchone() == persons_before
    reader.close()
    fresh = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    assert fresh.execute("select count(*) from marts.person").fetchone() == (persons_before[0] + 1,)
    fresh.close()
    assert not (Path.cwd() / "target").exists() or not any((Path.cwd() / "target").iterdir())
    assert (warehouse / ".dbt" / "target" / "manifest.json").is_file()


def test_missing_raw_layer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="promise ingest"):
        build(warehouse=tmp_path / "nowhere")


def test_cli_build_with_a_user_endpoint_file(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    endpoints = tmp_path / "my_endpoints.tsv"
    # a minimal FinnGen-format file: only some columns, one endpoint including another
    endpoints.write_text(
        "NAME\tLONGNAME\tINCLUDE\tHD_ICD_10\tCOD_ICD_10\n"
        "MY_MI\tMyocardial infarction\t\tI21|I22\tI21|I22\n"
        "MY_CVD\tMI or AF\tMY_MI\tI48\t\n"
    )
    assert main(["build", "--warehouse", str(warehouse), "--endpoints", str(endpoints)]) == 0
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    counts = dict(
        con.execute(
            "select endpoint, count(*) filter (where is_case) from marts.endpoint_status group by 1"
        ).fetchall()
    )
    con.close()
    # tiny_raw: MI in p1 and p3; AF (I48) in p7 -> MY_CVD = {p1, p3, p7}
    assert counts == {"MY_MI": 2, "MY_CVD": 3}


@pytest.mark.unit
def test_a_broken_pattern_is_named_before_dbt_runs(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    endpoints = tmp_path / "bad.tsv"
    endpoints.write_text("NAME\tHD_ICD_10\nGOOD\tI2[1-5]|I46\nBROKEN\tI2[1-5\n")
    with pytest.raises(ConfigurationError, match="endpoint BROKEN .* HD_ICD_10"):
        build(warehouse=tmp_path, endpoints_file=endpoints)
