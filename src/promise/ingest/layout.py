"""Bind a file's header to its contract: which field is which column, what is missing or extra."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from promise.contracts import Column, Contract
from promise.errors import PromiseError
from promise.ingest.lines import read_header


class FileContractError(PromiseError):
    """A file cannot be read or breaks its contract at file level (e.g. a missing column)."""


@dataclass(frozen=True)
class Layout:
    """How the fields of each line map onto contract columns."""

    n_fields: int
    bound: dict[int, Column]
    absent: tuple[Column, ...]
    bom: bool
    warnings: list[str] = field(default_factory=list)


def bind_header(
    path: Path, *, label: str, contract: Contract, delimiter: str, encoding: str
) -> Layout:
    """Read the header of ``path`` and match it to ``contract`` (names case-insensitive).

    Raises :class:`FileContractError` when the header is missing or undecodable, repeats a
    column, or lacks a column the contract needs.
    """
    raw, bom = read_header(path)
    if not raw:
        raise FileContractError(
            f"{label} is empty or has no header line; deliver it again with a header."
        )
    try:
        text = raw.decode("utf-8" if bom else encoding)
    except UnicodeDecodeError as exc:
        raise FileContractError(
            f"the header of {label} cannot be decoded as {encoding}; check the file's encoding."
        ) from exc
    try:
        names = next(csv.reader([text], delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise FileContractError(
            f"the header of {label} cannot be split on {delimiter!r}; check the delimiter."
        ) from exc
    return bind_names(names, label=label, contract=contract, bom=bom, encoding=encoding)


def bind_names(
    names: list[str], *, label: str, contract: Contract, bom: bool = False, encoding: str = ""
) -> Layout:
    """Match delivered column names (a header line's, or a SAS/Stata file's variables) to
    ``contract``, case-insensitively; the same refusals as :func:`bind_header`."""
    names = [n.strip() for n in names]
    lowered = [n.lower() for n in names]
    repeated = sorted({n for n in lowered if lowered.count(n) > 1})
    if repeated:
        raise FileContractError(
            f"{label} repeats the column(s) {', '.join(repeated)} in its header."
        )
    by_name = {c.name.lower(): c for c in contract.columns}
    bound = {i: by_name[n] for i, n in enumerate(lowered) if n in by_name}
    present = {c.name.lower() for c in bound.values()}
    missing = [
        c.name
        for c in contract.columns
        if c.name.lower() not in present and not c.optional_presence
    ]
    if missing:
        raise FileContractError(
            f"{label} lacks the required column(s) {', '.join(missing)} of contract "
            f"{contract.id} {contract.version}; nothing was loaded."
        )
    warnings = []
    if bom:
        warnings.append("file starts with a UTF-8 byte order mark (removed)")
        if encoding != "utf-8":
            warnings.append(f"a UTF-8 byte order mark in a file declared {encoding}")
    extra = [n for n in names if n.lower() not in by_name]
    if extra:
        warnings.append(f"column(s) not in the contract, not loaded: {', '.join(extra)}")
    absent = tuple(c for c in contract.columns if c.name.lower() not in present)
    return Layout(n_fields=len(names), bound=bound, absent=absent, bom=bom, warnings=warnings)
