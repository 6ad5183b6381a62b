"""One source of truth for the raw schema (issue 18 item 7).

The staging folders' sources files and docs/interfaces.md's raw columns are renderings of the
contracts; the tests' hand-made raw layer uses only declared columns; a Parquet column no
contract declares (a renamed column) stops the build instead of reaching staging as NULLs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import duckdb
import pytest
from tiny_raw import write_tiny_raw

from promise.build import BuildFailedError, build
from promise.raw_sources import raw_tables, rendered_files, staging_folders
from promise.settings import project_root

ROOT = project_root()
STAGING = ROOT / "models" / "staging"


@pytest.mark.unit
def test_committed_sources_files_and_interfaces_are_the_rendering_of_the_contracts() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in rendered_files(ROOT).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], "run: python -m promise.raw_sources --write"


@pytest.mark.unit
def test_one_staging_folder_per_source_with_its_own_files() -> None:
    assert not list(STAGING.glob("*.yml")), "sources and models files live in the source folders"
    folders = {p.parent for p in STAGING.rglob("*.sql")}
    for folder in folders:
        assert (folder / f"_{folder.name}__models.yml").is_file(), folder.name
        models = {p.stem for p in folder.glob("*.sql")}
        assert all(m.startswith(f"stg_{folder.name}__") for m in models), folder.name
    reads = staging_folders(ROOT)
    for folder in set(reads.values()):
        assert (folder / f"_{folder.name}__sources.yml").is_file(), folder.name
    assert set(reads) == {t.name for t in raw_tables()}  # every raw table, read in one folder


@pytest.mark.unit
def test_the_unattributed_listing_covers_every_person_table() -> None:
    """int_person_rows_unattributed names its tables; they must be every person-keyed raw
    table the staging models resolve (the identity tables are read with resolve=false)."""
    identity = set()
    for sql in STAGING.rglob("*.sql"):
        identity.update(re.findall(r"raw_source\('([a-z_]+)', resolve=false\)", sql.read_text()))
    expected = {
        t.name for t in raw_tables() if "person_id" in {c.name for c in t.columns}
    } - identity
    model = (ROOT / "models" / "intermediate" / "int_person_rows_unattributed.sql").read_text()
    listed = set(
        re.findall(r"'([a-z_]+)'", model[model.index("set tables") : model.index("%}\n{% for")])
    )
    assert listed == expected


@pytest.mark.unit
def test_the_hand_made_raw_layer_uses_only_declared_columns(tmp_path: Path) -> None:
    warehouse = write_tiny_raw(tmp_path / "w")
    declared = {t.name: {c.name for c in t.columns} for t in raw_tables()}
    con = duckdb.connect()
    for data in sorted((warehouse / "raw").glob("*/*/data.parquet")):
        table = data.parent.parent.name
        written = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{data}'").fetchall()}
        assert written <= declared[table], (table, written - declared[table])


@pytest.mark.unit
def test_the_build_benchmarks_raw_layer_uses_only_declared_columns(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_build", ROOT / "benchmarks" / "build.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_raw(tmp_path / "w", 200)
    declared = {t.name: {c.name for c in t.columns} for t in raw_tables()}
    con = duckdb.connect()
    for data in sorted((tmp_path / "w" / "raw").glob("*/*/data.parquet")):
        table = data.parent.parent.name
        written = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{data}'").fetchall()}
        assert written <= declared[table], (table, written - declared[table])


@pytest.mark.integration
def test_a_renamed_raw_column_stops_the_build(tmp_path: Path) -> None:
    warehouse = write_tiny_raw(tmp_path / "w")
    lmed = warehouse / "raw" / "lmed" / "L1" / "data.parquet"
    con = duckdb.connect()
    renamed = lmed.with_name("renamed.parquet")
    con.execute(
        f"COPY (SELECT * RENAME (dispense_date AS expedition_date) FROM '{lmed}') "
        f"TO '{renamed}' (FORMAT parquet)"
    )
    renamed.replace(lmed)
    with pytest.raises(BuildFailedError) as exc:
        build(warehouse=warehouse, quiet=True)
    assert "stg_lmed__dispensings" in str(exc.value)
    log = (warehouse / ".dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "raw.lmed has column(s) expedition_date that no contract declares" in log
    assert not (warehouse / "promise.duckdb").exists()
