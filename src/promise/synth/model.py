"""The generative model's parameters, read once from ``model.yaml`` beside this module.

Rates, code lists and planted effects live in YAML so that they can be read, cited and
changed without touching the simulation code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from promise.synth.calendar import day_of

MODEL_FILE = Path(__file__).with_name("model.yaml")
CODES_FILE = Path(__file__).with_name("codes.yaml")
SEXES = ("male", "female")


@cache
def model() -> dict[str, Any]:
    """The parsed ``model.yaml``."""
    with MODEL_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


@cache
def codes() -> dict[str, Any]:
    """The parsed ``codes.yaml`` (diagnosis, procedure, drug and country lists)."""
    with CODES_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def model_day(key: str) -> int:
    """A top-level date of the model as days since 1970-01-01."""
    return day_of(str(model()[key]))


def register_start(name: str) -> int:
    """First day a register covers, as days since 1970-01-01."""
    return day_of(str(model()["register_start"][name]))


def band_edges() -> np.ndarray:
    """Lower age edges of the hazard bands, plus an open upper edge."""
    return np.array([*model()["age_bands"], 200.0], dtype=np.float64)


def hazard_table(process: str) -> np.ndarray:
    """Per-year hazards of a process as a (2, bands) array: row 0 men, row 1 women."""
    spec = model()["incidence"][process]
    return np.array([spec["male"], spec["female"]], dtype=np.float64) / 1000.0


def band_rates(key: str) -> np.ndarray:
    """A per-age-band rate vector (events per person-year) from the model."""
    return np.asarray(model()[key], dtype=np.float64)
