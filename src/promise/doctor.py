"""Health checks for ``promise doctor``: one line each, with what to fix when wrong."""

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

from promise.errors import KeyFileError
from promise.pseudonym import KEY_ENV, key_is_private, load_key

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


def check_key(environ: Mapping[str, str]) -> Check:
    name = environ.get(KEY_ENV, "")
    if not name:
        return Check(
            "key",
            False,
            f"{KEY_ENV} not set",
            "create one with `promise keygen PATH` and export the variable",
        )
    path = Path(name)
    try:
        load_key(path)
    except KeyFileError as exc:
        return Check("key", False, str(exc), "create one with `promise keygen PATH`")
    if not key_is_private(path):
        return Check("key", False, f"{path} is readable by others", f"chmod 600 {path}")
    return Check("key", True, f"{path} present, mode 0600")


def check_warehouse(warehouse: Path) -> Check:
    target = warehouse if warehouse.exists() else warehouse.parent
    if not target.exists():
        return Check(
            "warehouse", False, f"{warehouse}: parent folder missing", f"mkdir -p {warehouse}"
        )
    if not os.access(target, os.W_OK):
        return Check(
            "warehouse",
            False,
            f"{warehouse} not writable",
            "choose --warehouse DIR you can write to",
        )
    state = "exists" if warehouse.exists() else "will be created"
    return Check("warehouse", True, f"{warehouse} writable ({state})")


def run_checks(*, warehouse: Path, environ: Mapping[str, str]) -> list[Check]:
    """Every check, in the order printed."""
    return [
        check_java(),
        check_memory(),
        check_packages(),
        check_key(environ),
        check_warehouse(warehouse),
    ]
