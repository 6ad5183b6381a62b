"""How each analysis may leave: ``analyses/_analyses.yml`` (``meta.export`` of each).

An analysis is exported with its band edges, windows and dates fixed by its spec, whatever
its SQL's defaults are; an export may set only the ``free`` variables (an endpoint, an ATC
group). The spec also says which output columns are dimensions, counts and person-time, and
gives the derived columns (rates, intervals) as SQL over the released counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promise.privacy.policy import DisclosureError
from promise.privacy.release import Layout
from promise.settings import project_root

SPEC_FILE = Path("analyses") / "_analyses.yml"


@dataclass(frozen=True)
class ExportSpec:
    """The export rules of one analysis."""

    name: str
    layout: Layout
    free: list[str]
    fixed: dict[str, Any]
    derived: dict[str, str] = field(default_factory=dict)


def load_spec(name: str, root: Path | None = None) -> ExportSpec:
    """The spec of analysis ``name``; an analysis without one cannot be exported."""
    path = (root or project_root()) / SPEC_FILE
    document = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    for entry in (document or {}).get("analyses", []):
        if entry.get("name") == name:
            export = ((entry.get("config") or {}).get("meta") or {}).get("export")
            if isinstance(export, dict):
                return _spec(name, export, path)
    raise DisclosureError(
        f"analysis {name} has no export rules in {path} (config.meta.export); add them before "
        "it can leave the warehouse."
    )


def _spec(name: str, export: dict[str, Any], path: Path) -> ExportSpec:
    def names(key: str) -> list[str]:
        value = export.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DisclosureError(f"{path}: {name}.{key} must be a list of column names.")
        return value

    fixed = export.get("fixed") or {}
    derived = export.get("derived") or {}
    if not isinstance(fixed, dict) or not isinstance(derived, dict):
        raise DisclosureError(f"{path}: {name}.fixed and {name}.derived must be mappings.")
    layout = Layout(
        dimensions=names("dimensions"),
        counts=names("counts"),
        person_time=names("person_time"),
        labels=names("labels"),
    )
    return ExportSpec(
        name=name,
        layout=layout,
        free=names("free"),
        fixed=dict(fixed),
        derived={str(k): str(v) for k, v in derived.items()},
    )
