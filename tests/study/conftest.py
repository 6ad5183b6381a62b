"""Fixtures of the study and profile tests: a synthetic cohort large enough to recover
planted hazard ratios, ingested and built once per session (about a minute)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

#: 30,000 persons give about 3,600 persons turning 60 in 2001-2020 and 220 myocardial
#: infarctions in their 10 years after (the planted ratio's 95% CI is about x/÷ 1.3).
PERSONS = 30_000
SEED = 11


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> tuple[Path, dict[str, Any]]:
    """A built warehouse of PERSONS synthetic persons (registers and omics, no genotypes:
    no Hail) and the cohort's truth.json."""
    from promise.build import build
    from promise.ingest import run_ingest
    from promise.synth import layouts, write_cohort

    root = tmp_path_factory.mktemp("cohort")
    sources = [s for s in layouts.SOURCES if s != "genotypes"]
    truth = write_cohort(root / "landing", persons=PERSONS, variants=0, seed=SEED, sources=sources)
    warehouse = root / "warehouse"
    run_ingest(landing=root / "landing", warehouse=warehouse, key_file=key_file)
    build(warehouse=warehouse, quiet=True)
    return warehouse, truth
