"""Where the project and its reference data live.

Run-time settings (warehouse, key file) come from the environment through the CLI options
(``PROMISE_WAREHOUSE``, ``PROMISE_PSEUDONYM_KEY_FILE``); this module only locates files.
Everything the demo and the tests read ships with the clone: Skatteverket's test numbers as
package data, the tests' reference data under ``tests/reference``. ``PROMISE_REFERENCE_DIR``
points both at another copy (a folder holding ``personnummer/``, ``hail_regression/``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

REFERENCE_ENV = "PROMISE_REFERENCE_DIR"


def project_root() -> Path:
    """The repository root (where ``pyproject.toml`` and ``dbt_project.yml`` live)."""
    return Path(__file__).resolve().parents[2]


def reference_override() -> Path | None:
    """``$PROMISE_REFERENCE_DIR`` when set and not empty."""
    value = os.environ.get(REFERENCE_ENV, "").strip()
    return Path(value) if value else None


def default_reference_dir() -> Path:
    """The tests' reference data: ``$PROMISE_REFERENCE_DIR``, else ``tests/reference`` of the checkout."""
    return reference_override() or project_root() / "tests" / "reference"


def test_numbers_dir() -> Path:
    """Skatteverket's test personnummer (``allPins.json``, ``allCoords.json``).

    The copy shipped with the package, unless ``$PROMISE_REFERENCE_DIR`` names another.
    """
    override = reference_override()
    if override is not None:
        return override / "personnummer"
    return Path(__file__).resolve().parent / "synth" / "data" / "personnummer"
