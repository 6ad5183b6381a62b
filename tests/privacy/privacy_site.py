"""The privacy tests' site: a small real warehouse, its landing folder, its key, and a
folder outside; and a snapshot of files to prove nothing changed."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

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


def snapshot(*folders: Path) -> dict[str, tuple[int, str]]:
    """Mode and SHA-256 of every file under ``folders`` (hidden ones included)."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() or path.is_symlink():
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "link"
                found[str(path)] = (path.lstat().st_mode, digest)
    return found
