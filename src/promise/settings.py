"""Where the project and its reference data live.

Run-time settings (warehouse, key file) come from the environment through the CLI options
(``PROMISE_WAREHOUSE``, ``PROMISE_PSEUDONYM_KEY_FILE``); this module only locates files.
"""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    """The repository root (where ``pyproject.toml`` and ``dbt_project.yml`` live)."""
    return Path(__file__).resolve().parents[2]


def default_reference_dir() -> Path:
    """``../shared/reference`` beside the checkout."""
    return project_root().parent / "shared" / "reference"
