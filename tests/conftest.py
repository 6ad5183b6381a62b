"""Shared fixtures: reference data, a pseudonym key, one Hail session, synthetic data.

Test categories (markers) and their rule:
- unit: pure functions, no I/O beyond tmp_path, each test well under a second;
- integration: real DuckDB, dbt or Hail on small synthetic data;
- reference: checks against tests/reference, real data from outside the project shipped
  with the clone (PROMISE_REFERENCE_DIR may point at another copy; missing fails in CI);
- acceptance: the demo end to end, planted truth recovered;
- reliability: bad input, crashes, second writers, privacy scans.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promise.settings import default_reference_dir

SMALL_PERSONS = 3000
SMALL_VARIANTS = 3000
SMALL_SEED = 7


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``tests/reference`` (override with PROMISE_REFERENCE_DIR); missing fails in CI."""
    path = default_reference_dir()
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"reference data folder {path} is missing (required in CI)")
        pytest.skip(f"reference data folder {path} is missing")
    return path


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for session-wide artefacts (Hail logs and tmp, shared warehouses)."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def key_file(session_dir: Path) -> Path:
    """A pseudonym key file with mode 0600, outside any warehouse."""
    from promise.pseudonym import write_new_key

    path = session_dir / "keys" / "pseudonym.key"
    write_new_key(path)
    return path


@pytest.fixture(scope="session")
def hail_session(session_dir: Path) -> Iterator[Any]:
    """One local Hail session for the whole test run (``hl.init`` costs ~10 s)."""
    from promise.gwas.session import init_hail, stop_hail

    hl = init_hail(work_dir=session_dir / "hail", driver_memory="6g", seed=42)
    yield hl
    stop_hail()


@pytest.fixture(scope="session")
def small_landing(session_dir: Path) -> tuple[Path, dict[str, Any]]:
    """A small synthetic landing folder and its truth, written once per run."""
    from promise.synth import write_cohort

    out = session_dir / "landing"
    truth = write_cohort(out, persons=SMALL_PERSONS, variants=SMALL_VARIANTS, seed=SMALL_SEED)
    return out, truth


@pytest.fixture(scope="session")
def small_warehouse(
    session_dir: Path, small_landing: tuple[Path, dict[str, Any]], key_file: Path, hail_session: Any
) -> Path:
    """The small landing folder ingested into a warehouse (registers, omics, genotypes)."""
    from promise.ingest import run_ingest

    warehouse = session_dir / "warehouse"
    run_ingest(landing=small_landing[0], warehouse=warehouse, key_file=key_file)
    return warehouse


@pytest.fixture(scope="session")
def built_warehouse(small_warehouse: Path) -> Path:
    """The small warehouse with the dbt project built and published."""
    from promise.build import build

    build(warehouse=small_warehouse)
    return small_warehouse
