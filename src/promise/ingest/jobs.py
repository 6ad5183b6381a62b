"""Ingest jobs: ``ingest/<source>.yml`` says where a source's files are and how to read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from promise.contracts import Contract, load_contract
from promise.errors import ConfigurationError
from promise.settings import project_root

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: formats read row by row against a contract (the file's extension may pick another of them)
TABLE_FORMATS = ("delimited", "sas", "stata")

ENCODINGS = {
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "utf-8": "utf-8",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
}


@dataclass(frozen=True, kw_only=True)
class Job:
    """How to read one landing source."""

    source: str
    patterns: tuple[str, ...]
    format: str
    delimiter: str = ";"
    decimal: str = "."
    encoding: str = "utf-8"
    contract: Contract | None = None
    target: str = ""
    order: int = 100
    options: dict[str, Any] | None = None

    def files(self, landing: Path) -> list[Path]:
        """The paths under ``landing`` that this job's patterns name, sorted.

        Patterns match case-insensitively (``PAR_SV_2019.SAS7BDAT`` as ``par_sv*.sas7bdat``).
        Folders, FIFOs and unreadable files are included, so that the ingest refuses them in
        one sentence (:func:`promise.ingest.landing.check_files`) rather than skip them.
        """
        found: set[Path] = set()
        for pattern in self.patterns:
            found.update(landing.glob(case_insensitive(pattern)))
        return sorted(found)


def case_insensitive(pattern: str) -> str:
    """A glob pattern whose letters match either case (``a`` -> ``[aA]``; Python 3.11's glob
    has no ``case_sensitive``); letters already inside ``[...]`` are left as they are."""
    out, depth = [], 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        if depth == 0 and char.isalpha() and char.lower() != char.upper():
            out.append(f"[{char.lower()}{char.upper()}]")
        else:
            out.append(char)
    return "".join(out)


def default_jobs_dir() -> Path:
    """``ingest/`` at the repository root."""
    return project_root() / "ingest"


def load_jobs(jobs_dir: Path | None = None) -> list[Job]:
    """Every job in ``jobs_dir``, in load order (biobank before genotypes)."""
    folder = Path(jobs_dir) if jobs_dir else default_jobs_dir()
    paths = sorted(folder.glob("*.yml"))
    if not paths:
        raise ConfigurationError(f"no ingest jobs (*.yml) found in {folder}.")
    return sorted((load_job(p) for p in paths), key=lambda j: (j.order, j.source))


def load_job(path: Path) -> Job:
    """Read one job file; its contract path is relative to the repository root."""
    doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    if not isinstance(doc, dict) or "source" not in doc or "files" not in doc:
        raise ConfigurationError(f"ingest job {path} needs at least `source` and `files`.")
    files = doc["files"]
    patterns = (files,) if isinstance(files, str) else tuple(files)
    encoding = str(doc.get("encoding", "utf-8")).lower()
    if encoding not in ENCODINGS:
        raise ConfigurationError(
            f"ingest job {path}: encoding {encoding!r} is not one of {sorted(ENCODINGS)}."
        )
    if doc.get("header", True) is not True:
        raise ConfigurationError(
            f"ingest job {path}: files without a header line are not supported (header: true)."
        )
    target = str(doc.get("target", f"raw/{doc['source']}"))
    if str(doc.get("format", "delimited")) in TABLE_FORMATS and not (
        target.startswith("raw/") and target.count("/") == 1
    ):
        raise ConfigurationError(
            f"ingest job {path}: target must be raw/<name> (the warehouse views read raw/*/)."
        )
    contract = None
    if doc.get("contract"):
        contract_path = Path(doc["contract"])
        if not contract_path.is_absolute():
            contract_path = Path(path).resolve().parent.parent / contract_path
        contract = load_contract(contract_path)
    known = {
        "source",
        "files",
        "format",
        "delimiter",
        "decimal",
        "encoding",
        "contract",
        "target",
        "order",
        "header",
    }
    return Job(
        source=str(doc["source"]),
        patterns=patterns,
        format=str(doc.get("format", "delimited")),
        delimiter=str(doc.get("delimiter", ";")),
        decimal=str(doc.get("decimal", ".")),
        encoding=ENCODINGS[encoding],
        contract=contract,
        target=target,
        order=int(doc.get("order", 100)),
        options={k: v for k, v in doc.items() if k not in known},
    )
