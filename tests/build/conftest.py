"""Fixtures of the build tests: the hand-made raw layer, built once per session."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tiny_raw import write_tiny_raw

from promise.build import BuildResult, build


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """The hand-made warehouse with the marts built from the shipped endpoint seed."""
    warehouse = write_tiny_raw(tmp_path_factory.mktemp("tiny") / "warehouse")
    return warehouse, build(warehouse=warehouse)


@pytest.fixture()
def tiny_marts(tiny_build: tuple[Path, BuildResult]) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the tiny warehouse's published marts."""
    con = duckdb.connect(str(tiny_build[0] / "promise.duckdb"), read_only=True)
    yield con
    con.close()
