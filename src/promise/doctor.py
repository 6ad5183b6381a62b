"""Health checks for ``promise doctor``: one line each, with what to fix when wrong.

Without ``--warehouse`` the doctor looks where the other commands do (``./warehouse``, then
the demo's ``demo/warehouse``); for the demo's warehouse it also accepts the demo's own key
(``demo/keys/pseudonym.key``) when ``PROMISE_PSEUDONYM_KEY_FILE`` is not set, so that after
``make demo`` it reports what the demo made. A warehouse whose manifest holds two key
fingerprints is reported as damaged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil

from promise.errors import KeyFileError, PromiseError
from promise.locate import NoWarehouseError, find_warehouse, key_path
from promise.privacy.keys import key_problem, manifest_fingerprints
from promise.pseudonym import KEY_ENV, key_fingerprint, load_key

MIN_RAM_GIB = 8
PACKAGES = ("duckdb", "polars", "pyarrow", "hail", "pyspark", "dbt-core", "dbt-duckdb")
SUPPORTED_JAVA = (8, 11, 17)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def java_major(version_text: str) -> int | None:
    """The Java major version in ``java -version`` output (``"17.0.15"`` -> 17, ``"1.8"`` -> 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def check_java() -> Check:
    java = shutil.which("java")
    if java is None:
        return Check(
            "java",
            False,
            "not found",
            "install a Java 11 or 17 runtime (Debian: apt-get install openjdk-17-jre-headless)",
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    major = java_major(out.stderr + out.stdout)
    if major not in SUPPORTED_JAVA:
        return Check(
            "java", False, f"version {major}", "Hail needs Java 8, 11 or 17; set JAVA_HOME to one"
        )
    return Check("java", True, f"Java {major} at {java}")


def check_memory() -> Check:
    gib = psutil.virtual_memory().total / 2**30
    ok = gib >= MIN_RAM_GIB
    return Check(
        "memory",
        ok,
        f"{gib:.1f} GiB RAM",
        "" if ok else f"Hail and dbt builds want at least {MIN_RAM_GIB} GiB",
    )


def check_packages() -> Check:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            return Check(
                "packages", False, f"{name} missing", "run `make setup` (uv sync --frozen)"
            )
    return Check("packages", True, ", ".join(versions))


def check_key(environ: Mapping[str, str], warehouse: Warehouse | None = None) -> Check:
    """The key file: set (or the demo's, for the demo's warehouse), private, 32 random bytes,
    outside the warehouse, and the key the warehouse's manifest was made with."""
    path, origin = key_path(environ, KEY_ENV)
    uses_demo = warehouse is not None and warehouse.how == "demo"
    if path is None or (origin == "demo" and not uses_demo):
        return Check(
            "key",
            False,
            f"{KEY_ENV} not set",
            "create one with `promise keygen PATH` (outside the warehouse) and export the variable",
        )
    where = None if warehouse is None else warehouse.path
    try:
        problem = key_problem(path, warehouse=where)
        key = load_key(path)
    except KeyFileError as exc:
        return Check("key", False, str(exc), "create one with `promise keygen PATH`")
    if problem is not None:
        return Check("key", False, problem)
    fingerprint = key_fingerprint(key)
    label = f"{path} (the demo's key; {KEY_ENV} is not set)" if origin == "demo" else str(path)
    known = set(warehouse.fingerprints) if warehouse is not None else set()
    if known and fingerprint not in known:
        return Check(
            "key",
            False,
            f"{label}: fingerprint {fingerprint} is not the key of {where} ({', '.join(sorted(known))})",
            "use the key the warehouse was loaded with",
        )
    match = f", the key of {where}" if known else ""
    return Check(
        "key", True, f"{label}: private, 32+ random bytes, fingerprint {fingerprint}{match}"
    )


@dataclass(frozen=True)
class Warehouse:
    """The warehouse the doctor looks at, how it was found, and its manifest's fingerprints."""

    path: Path
    how: str
    fingerprints: dict[str, int]


def find(given: Path | None) -> Warehouse | None:
    """The warehouse named or found (see :mod:`promise.locate`), None when there is none."""
    try:
        path, how = find_warehouse(given)
    except NoWarehouseError:
        return None
    fingerprints = dict(manifest_fingerprints(path)) if path.is_dir() else {}
    return Warehouse(path=path, how=how, fingerprints=fingerprints)


def check_warehouse(warehouse: Warehouse | None) -> Check:
    """Where the warehouse is, whether it is writable, loaded, built, and not damaged."""
    if warehouse is None:
        return Check(
            "warehouse",
            True,
            "none yet: ./warehouse does not exist and there is no demo/warehouse "
            "(`promise ingest` creates one, `make demo` makes a synthetic one)",
        )
    path = warehouse.path
    label = f"{path} (the demo's)" if warehouse.how == "demo" else str(path)
    target = path if path.exists() else path.parent
    if not target.exists():
        return Check("warehouse", False, f"{path}: parent folder missing", f"mkdir -p {path}")
    if not os.access(target, os.W_OK):
        return Check(
            "warehouse", False, f"{path} not writable", "choose --warehouse DIR you can write to"
        )
    if not path.exists():
        return Check("warehouse", True, f"{label} writable (will be created)")
    fingerprints = warehouse.fingerprints
    if len(fingerprints) > 1:
        listed = ", ".join(f"{fp} ({n} loads)" for fp, n in sorted(fingerprints.items()))
        return Check(
            "warehouse",
            False,
            f"{label} is damaged: its manifest holds {len(fingerprints)} pseudonym keys: {listed}",
            "restore it from a backup, or load every delivery again into a new warehouse",
        )
    loads = sum(fingerprints.values())
    built = (path / "promise.duckdb").is_file()
    state = f"{loads} loads, one key" if loads else "no load yet"
    marts = "marts built" if built else "marts not built (run `promise build`)"
    return Check("warehouse", True, f"{label} writable, {state}, {marts}")


def check_disclosure(warehouse: Warehouse | None) -> Check:
    """The disclosure rules exports of this warehouse follow (``WAREHOUSE/promise.yml``)."""
    from promise.privacy.policy import load_policy

    if warehouse is None or not warehouse.path.is_dir():
        return Check("disclosure", True, "defaults (no warehouse yet)")
    try:
        policy = load_policy(warehouse.path)
    except PromiseError as exc:
        return Check("disclosure", False, str(exc))
    return Check("disclosure", True, policy.describe())


def run_checks(*, warehouse: Path | None, environ: Mapping[str, str]) -> list[Check]:
    """Every check, in the order printed."""
    found = find(warehouse)
    return [
        check_java(),
        check_memory(),
        check_packages(),
        check_key(environ, found),
        check_warehouse(found),
        check_disclosure(found),
    ]
