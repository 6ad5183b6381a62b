"""Checks on a FinnGen-format endpoint file before dbt evaluates it.

dbt would stop on the first pattern its regex engine (RE2) rejects, with a message about SQL.
This reads the file first and names the endpoint, column and pattern instead.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from promise.errors import ConfigurationError

PATTERN_COLUMNS = (
    "OUTPAT_ICD", "HD_ICD_10", "HD_ICD_9", "HD_ICD_8", "HD_ICD_10_EXCL", "HD_ICD_9_EXCL",
    "HD_ICD_8_EXCL", "COD_ICD_10", "COD_ICD_9", "COD_ICD_8", "COD_ICD_10_EXCL", "COD_ICD_9_EXCL",
    "COD_ICD_8_EXCL", "OPER_NOM", "KELA_ATC", "CANC_TOPO", "CANC_TOPO_EXCL", "CANC_MORPH",
    "CANC_MORPH_EXCL",
)  # fmt: skip
_BRACKET_PIPE = re.compile(r"(\[[^\]|]*)\|")
_NOT_RE2 = re.compile(r"\(\?[=!<]|\\[1-9]")


def alternatives(pattern: str) -> list[str]:
    """The '|' alternatives of a FinnGen pattern as the dbt model splits them."""
    cleaned = pattern.replace("\xa0", "").replace(" ", "").upper()
    while _BRACKET_PIPE.search(cleaned):
        cleaned = _BRACKET_PIPE.sub(r"\1", cleaned)
    return [a for a in cleaned.split("|") if a and a != "$!$"]


def check_endpoint_file(path: Path) -> int:
    """Number of endpoints in ``path``; raises if it is not a usable FinnGen-format TSV."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        if "NAME" not in (reader.fieldnames or []):
            raise ConfigurationError(
                f"{path} has no NAME column; give a tab-separated FinnGen endpoint file."
            )
        count = 0
        for row in reader:
            name = (row.get("NAME") or "").strip()
            if not name or name.startswith("#"):
                continue
            count += 1
            for column in PATTERN_COLUMNS:
                for alternative in alternatives(row.get(column) or ""):
                    _check(alternative, name=name, column=column, path=path)
    return count


def _check(alternative: str, *, name: str, column: str, path: Path) -> None:
    if "&" in alternative or alternative.startswith("%") or alternative == "ANY":
        return  # reported as not applicable by the build, never run as a regex
    problem = "uses a construct RE2 lacks" if _NOT_RE2.search(alternative) else None
    if problem is None:
        try:
            re.compile(f"^(?:{alternative})")
        except re.error as exc:
            problem = str(exc)
    if problem:
        raise ConfigurationError(
            f"endpoint {name} in {path}: {column} pattern {alternative!r} is not a valid regular "
            f"expression ({problem}); correct it or remove the endpoint."
        )
