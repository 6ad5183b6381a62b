"""Fixtures of the privacy tests: a small real warehouse, ingested with a key and built."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from promise.synth import layouts

PERSONS = 400
SEED = 3


@dataclass(frozen=True)
class Site:
    """A landing folder, a key outside the warehouse, the warehouse, and a folder outside."""

    root: Path
    landing: Path
    key: Path
    warehouse: Path
    outside: Path


def make_site(root: Path) -> Site:
    """Synthesise registers (no genotypes: no Hail), ingest them under a fresh key, build."""
    from promise.build import build
    from promise.ingest import run_ingest
    from promise.pseudonym import write_new_key
    from promise.synth import write_cohort

    sources = [s for s in layouts.SOURCES if s != "genotypes"]
    landing = root / "landing"
    write_cohort(landing, persons=PERSONS, variants=0, seed=SEED, sources=sources)
    key = write_new_key(root / "keys" / "pseudonym.key")
    warehouse = root / "warehouse"
    run_ingest(landing=landing, warehouse=warehouse, key_file=key)
    build(warehouse=warehouse, quiet=True)
    shutil.rmtree(warehouse / ".build", ignore_errors=True)
    (root / "outside").mkdir()
    return Site(root=root, landing=landing, key=key, warehouse=warehouse, outside=root / "outside")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One built warehouse for the privacy tests (about 15 s); tests must not change it."""
    return make_site(tmp_path_factory.mktemp("privacy"))
