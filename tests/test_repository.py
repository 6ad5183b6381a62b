"""The repository's promises to a newcomer: required layout, the two commands, CI entry."""

from __future__ import annotations

import subprocess

import pytest

from promise.settings import project_root

pytestmark = pytest.mark.unit

ROOT = project_root()
REQUIRED = (
    "pyproject.toml",
    "README.md",
    "ingest",
    "models",
    "analyses",
    "src/promise",
    "tests",
    "data-contracts",
)


def test_required_top_level() -> None:
    missing = [name for name in REQUIRED if not (ROOT / name).exists()]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block


def test_ci_runs_exactly_the_readme_test_command() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert any(line.split("||")[0].strip() == "make test" for line in lines)
    # as a new user: a fresh clone, nothing beside it, no override of the reference data
    assert "unset PROMISE_REFERENCE_DIR" in lines
    assert any(line.startswith("git clone") for line in lines)


def test_no_generated_or_private_files_are_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.splitlines()
    bad = [
        path
        for path in tracked
        if path.endswith((".duckdb", ".log", ".key", ".parquet"))
        or path.startswith(("warehouse/", "landing/", "demo/", "target/"))
    ]
    assert bad == []
