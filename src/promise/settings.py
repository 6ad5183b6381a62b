"""One typed settings object, read from the environment (prefix ``PROMISE_``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "PROMISE_"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the warehouse lives, where the key is, where the reference data is."""

    warehouse: Path
    key_file: Path | None
    reference_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        key = env.get(f"{ENV_PREFIX}PSEUDONYM_KEY_FILE")
        return cls(
            warehouse=Path(env.get(f"{ENV_PREFIX}WAREHOUSE", "warehouse")),
            key_file=Path(key) if key else None,
            reference_dir=Path(env.get(f"{ENV_PREFIX}REFERENCE_DIR", str(default_reference_dir()))),
        )


def project_root() -> Path:
    """The repository root (where ``pyproject.toml`` and ``dbt_project.yml`` live)."""
    return Path(__file__).resolve().parents[2]


def default_reference_dir() -> Path:
    """``../shared/reference`` beside the checkout."""
    return project_root().parent / "shared" / "reference"
