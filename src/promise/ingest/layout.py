"""Bind a file's header to its contract: which field is which column, what is missing or extra.

A delivered name binds to the contract column it names (case-insensitive), else to a column
that declares it among its ``aliases`` (names of other delivery years, such as ``FDDD`` for
``forpddd`` or ``DIA01`` for ``DIA1``). An alias with ``<n>`` binds a family of fields
(``OP1``, ``OP2``, ...) that fill one column, joined by blanks in position order. A name among
the personnummer column's ``lopnrAliases`` keys the file by an order's running number: its
values go through that order's linkage file (:mod:`promise.ingest.linkage`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from promise.contracts import Column, Contract
from promise.errors import PromiseError
from promise.ingest.lines import read_header
from promise.ingest.linkage import Linkage, LopNrKey, name_pattern

POSITION_MARK = "<n>"


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
    joined: dict[str, tuple[int, ...]] = field(default_factory=dict)
    key: LopNrKey | None = None

    def named_columns(self, names: list[str]) -> list[pl.Expr]:
        """Every contract column from the positional fields ``names`` (absent ones as null)."""
        exprs = [pl.col(names[i]).alias(col.name) for i, col in self.bound.items()]
        for column, positions in self.joined.items():
            text = pl.concat_str(
                [pl.col(names[i]) for i in positions], separator=" ", ignore_nulls=True
            )
            exprs.append(pl.when(text == "").then(None).otherwise(text).alias(column))
        exprs += [pl.lit(None, dtype=pl.Utf8).alias(c.name) for c in self.absent]
        return exprs


@dataclass(frozen=True)
class _Match:
    column: Column
    kind: str  # "name", "alias", "family", "running_number"
    position: int = 0
    order: str | None = None


def bind_header(
    path: Path,
    *,
    label: str,
    contract: Contract,
    delimiter: str,
    encoding: str,
    linkages: Mapping[str, Linkage] | None = None,
) -> Layout:
    """Read the header of ``path`` and match it to ``contract`` (see :func:`bind_names`).

    Raises :class:`FileContractError` when the header is missing or undecodable, or for any
    reason :func:`bind_names` gives.
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
    return bind_names(
        names, label=label, contract=contract, linkages=linkages, bom=bom, encoding=encoding
    )


def bind_names(
    names: list[str],
    *,
    label: str,
    contract: Contract,
    linkages: Mapping[str, Linkage] | None = None,
    bom: bool = False,
    encoding: str = "",
) -> Layout:
    """Match delivered column names (a header line's, or a SAS/Stata file's variables) to
    ``contract``.

    Raises :class:`FileContractError` when a name repeats, two names fill one column, a
    column the contract needs is missing, or a LopNr-keyed file has no linkage of its order.
    """
    names = [n.strip() for n in names]
    lowered = [n.lower() for n in names]
    repeated = sorted({n for n in lowered if lowered.count(n) > 1})
    if repeated:
        raise FileContractError(
            f"{label} repeats the column(s) {', '.join(repeated)} in its header."
        )
    matches = {i: m for i, n in enumerate(names) if (m := _match(n, contract)) is not None}
    _refuse_doubles(names, matches, label)
    bound = {i: m.column for i, m in matches.items() if m.kind != "family"}
    joined: dict[str, tuple[int, ...]] = {}
    for i, m in sorted(matches.items(), key=lambda kv: kv[1].position):
        if m.kind == "family":
            joined[m.column.name] = (*joined.get(m.column.name, ()), i)
    present = {c.name for c in bound.values()} | set(joined)
    missing = [
        c.name for c in contract.columns if c.name not in present and not c.optional_presence
    ]
    if missing:
        raise FileContractError(
            f"{label} lacks the required column(s) {', '.join(missing)} of contract "
            f"{contract.id} {contract.version}; nothing was loaded."
        )
    lopnr = [(i, m) for i, m in matches.items() if m.kind == "running_number"]
    key = _lopnr_key(names[lopnr[0][0]], lopnr[0][1].order, label, linkages) if lopnr else None
    warnings = []
    if bom:
        warnings.append("file starts with a UTF-8 byte order mark (removed)")
        if encoding != "utf-8":
            warnings.append(f"a UTF-8 byte order mark in a file declared {encoding}")
    extra = [n for i, n in enumerate(names) if i not in matches]
    if extra:
        warnings.append(f"column(s) not in the contract, not loaded: {', '.join(extra)}")
    absent = tuple(c for c in contract.columns if c.name not in present)
    return Layout(
        n_fields=len(names),
        bound=bound,
        absent=absent,
        bom=bom,
        warnings=warnings,
        joined=joined,
        key=key,
    )


def _match(name: str, contract: Contract) -> _Match | None:
    """The column ``name`` fills: by its own name first, then by a declared alias."""
    lowered = name.lower()
    for col in contract.columns:
        if col.name.lower() == lowered:
            return _Match(col, "name")
    for col in contract.columns:
        if any(a.lower() == lowered for a in col.aliases if POSITION_MARK not in a):
            return _Match(col, "alias")
    for col in contract.columns:
        for alias in col.aliases:
            if POSITION_MARK in alias:
                head, _, tail = alias.partition(POSITION_MARK)
                found = re.fullmatch(
                    re.escape(head) + "([0-9]+)" + re.escape(tail), name, re.IGNORECASE
                )
                if found:
                    return _Match(col, "family", position=int(found.group(1)))
    for col in contract.columns:
        for alias in col.lopnr_aliases:
            found = name_pattern(alias).fullmatch(name)
            if found:
                return _Match(col, "running_number", order=found.groupdict().get("order"))
    return None


def _refuse_doubles(names: list[str], matches: dict[int, _Match], label: str) -> None:
    """Two delivered names may not fill one column, except the fields of one family."""
    by_column: dict[str, list[int]] = {}
    for i, m in matches.items():
        by_column.setdefault(m.column.name, []).append(i)
    for column, where in by_column.items():
        kinds = {matches[i].kind for i in where}
        if len(where) > 1 and kinds != {"family"}:
            both = ", ".join(names[i] for i in where)
            what = (
                "a personnummer and a LopNr column; deliver one key"
                if "running_number" in kinds
                else "more than one column for one contract column; deliver one"
            )
            raise FileContractError(
                f"{label} has {what} ({both} all fill {column}); nothing was loaded."
            )


def _lopnr_key(
    column: str, header_order: str | None, label: str, linkages: Mapping[str, Linkage] | None
) -> LopNrKey:
    """The linkage of the file's own order: named by its LopNr column or its file name."""
    given = dict(linkages or {})
    refuse = f"{label} is keyed by LopNr (column {column})"
    if not given:
        raise FileContractError(
            f"{refuse} and no linkage file was given: run `promise ingest --linkage ORDER=FILE` "
            "with the order's key from LopNr to personnummer; nothing was loaded."
        )
    tokens = set(re.split(r"[^0-9A-Za-z]+", Path(label).name))
    named = sorted(o for o in given if o in tokens)
    if header_order is not None:
        others = [o for o in named if o != header_order]
        if header_order not in given or others:
            raise FileContractError(
                f"{refuse} of order {header_order}, "
                + (
                    f"but its file name names order {', '.join(others)}"
                    if others
                    else f"and no linkage file was given for that order (given: {', '.join(sorted(given))})"
                )
                + "; LopNr of one order mean nothing in another; nothing was loaded."
            )
        return LopNrKey(column=column, linkage=given[header_order])
    if len(named) != 1:
        problem = (
            f"but its file name names none of the orders given ({', '.join(sorted(given))})"
            if not named
            else f"but its file name names several orders ({', '.join(named)})"
        )
        raise FileContractError(
            f"{refuse} {problem}; LopNr of one order mean nothing in another, so put the "
            "order's number in the file name (as Socialstyrelsen does) or give that order's "
            "linkage file; nothing was loaded."
        )
    return LopNrKey(column=column, linkage=given[named[0]])
