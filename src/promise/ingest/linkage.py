"""Linkage files: an order's running numbers (LopNr) and the personnummer each stands for.

Research deliveries from Socialstyrelsen and SCB are often keyed by a running number of the
order (``LopNr``, ``lopnr``, ``P1234_LopNr_PersonNr``); the key from LopNr to personnummer is
held by the data controller. ``promise ingest --linkage ORDER=FILE`` gives one such key per
order. Ingestion turns a LopNr into the personnummer, and that into the same ``person_id`` a
register keyed by personnummer gives, so both kinds of register join.

A linkage file is read whole into memory, checked (one LopNr, one valid personnummer per
line; no LopNr twice) and never written anywhere: not to the warehouse, the quarantine, a
log or an error message (messages name line numbers, never values). LopNr of two orders are
never mixed: a file keyed by LopNr is read through the linkage of its own order only (the
order named in its LopNr column, ``P<order>_LopNr_PersonNr``, or in its file name).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from promise.contracts import Contract
from promise.errors import PromiseError
from promise.pnr import parse_column

ORDER_MARK = "<order>"
LOPNR = "_lopnr"
PNR = "_pnr"


class LinkageError(PromiseError):
    """A linkage file or ``--linkage`` option that cannot be used; nothing was loaded."""


@dataclass(frozen=True)
class Linkage:
    """One order's key: LopNr (normalised text) -> personnummer (as written)."""

    order: str
    path: Path
    keys: pl.DataFrame = field(repr=False)

    def personnummer(self, lopnr: pl.Series) -> pl.Series:
        """The personnummer each LopNr stands for (null where the linkage lacks it)."""
        frame = pl.DataFrame({LOPNR: normalise(lopnr)})
        joined = frame.join(self.keys, on=LOPNR, how="left", maintain_order="left")
        return joined[PNR]

    def known(self, lopnr: pl.Series) -> pl.Series:
        """Whether each (non-null) LopNr is in the linkage."""
        return normalise(lopnr).is_in(self.keys[LOPNR].implode())


@dataclass(frozen=True)
class LopNrKey:
    """How a file keyed by LopNr is read: its LopNr column and its order's linkage."""

    column: str
    linkage: Linkage


def normalise(values: pl.Series) -> pl.Series:
    """LopNr as text without blanks, leading zeros or a ``.0`` (SAS writes numbers as floats)."""
    text = values.cast(pl.Utf8).str.strip_chars()
    digits = text.str.replace(r"^0+([0-9])", "$1").str.replace(r"\.0+$", "")
    return digits.zip_with(text.str.contains(r"^[0-9]+(\.0+)?$").fill_null(False), text)


def parse_option(values: Iterable[str]) -> dict[str, Path]:
    """``ORDER=FILE`` options -> {order: path}; one sentence for a malformed or repeated one."""
    found: dict[str, Path] = {}
    for value in values:
        order, sep, name = value.partition("=")
        order = order.strip()
        if not sep or not re.fullmatch(r"[0-9A-Za-z]+", order) or not name.strip():
            raise LinkageError(
                f"--linkage {value!r} is not ORDER=FILE (the order's number, then the linkage "
                "file of that order); nothing was loaded."
            )
        if order in found:
            raise LinkageError(
                f"--linkage names order {order} twice; give one linkage file per order; "
                "nothing was loaded."
            )
        found[order] = Path(name.strip())
    return found


def read_linkages(
    files: Mapping[str, Path],
    *,
    contracts: Iterable[Contract],
    warehouse: Path,
    reference_date: date,
) -> dict[str, Linkage]:
    """Every order's linkage file, checked; the column names come from the contracts."""
    lopnr_names, pnr_names = identity_names(contracts)
    return {
        order: read_linkage(
            order,
            Path(path),
            lopnr_names=lopnr_names,
            pnr_names=pnr_names,
            warehouse=warehouse,
            reference_date=reference_date,
        )
        for order, path in files.items()
    }


def identity_names(contracts: Iterable[Contract]) -> tuple[list[str], list[str]]:
    """The LopNr names and the personnummer names the contracts declare."""
    lopnr: list[str] = []
    pnr: list[str] = []
    for contract in contracts:
        column = contract.personnummer
        if column is not None:
            lopnr += [a for a in column.lopnr_aliases if a not in lopnr]
            pnr += [n for n in (column.name, *column.aliases) if n not in pnr]
    return lopnr, pnr


def name_pattern(alias: str) -> re.Pattern[str]:
    """A declared name as a case-insensitive pattern; ``<order>`` captures digits as ``order``."""
    head, mark, tail = alias.partition(ORDER_MARK)
    text = re.escape(head) + ("(?P<order>[0-9]+)" + re.escape(tail) if mark else "")
    return re.compile(text, re.IGNORECASE)


def read_linkage(
    order: str,
    path: Path,
    *,
    lopnr_names: list[str],
    pnr_names: list[str],
    warehouse: Path,
    reference_date: date,
) -> Linkage:
    """Read and check one linkage file (refusals name lines, never values)."""
    what = f"the linkage file {path} (order {order})"
    _check_place(path, what, warehouse)
    rows = _rows(path, what)
    header = [h.strip() for h in rows[0]]
    lopnr_at = _find(header, lopnr_names, what, "a LopNr column")
    pnr_at = _find(header, pnr_names, what, "a personnummer column")
    body = rows[1:]
    ragged = [i + 2 for i, r in enumerate(body) if len(r) != len(header)]
    _refuse_lines(ragged, what, "do not have the header's fields")
    keys = pl.DataFrame(
        {
            LOPNR: normalise(pl.Series([r[lopnr_at] for r in body], dtype=pl.Utf8)),
            PNR: pl.Series([r[pnr_at].strip() for r in body], dtype=pl.Utf8),
        }
    ).with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in (LOPNR, PNR)
    )
    line = pl.int_range(2, keys.height + 2, eager=True)
    empty = line.filter(keys[LOPNR].is_null() | keys[PNR].is_null()).to_list()
    _refuse_lines(empty, what, "lack a LopNr or a personnummer")
    repeated = line.filter(keys[LOPNR].is_duplicated()).to_list()
    _refuse_lines(
        repeated,
        what,
        "repeat a LopNr (a LopNr stands for one person: ask the data controller for a "
        "corrected key)",
    )
    parsed = parse_column(keys[PNR], reference_date=reference_date)
    invalid = line.filter(parsed["reason"].is_not_null()).to_list()
    _refuse_lines(invalid, what, "hold no valid personnummer or samordningsnummer")
    if keys.height == 0:
        raise LinkageError(f"{what} has no LopNr; nothing was loaded.")
    return Linkage(order=order, path=path, keys=keys)


def _check_place(path: Path, what: str, warehouse: Path) -> None:
    if not path.is_file():
        raise LinkageError(f"{what} does not exist or is not a file; nothing was loaded.")
    inside = path.resolve().is_relative_to(Path(warehouse).resolve())
    if inside:
        raise LinkageError(
            f"{what} lies inside the warehouse {warehouse}; a linkage file is kept outside it, "
            "like the pseudonym key; move it and run again; nothing was loaded."
        )


def _rows(path: Path, what: str) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LinkageError(f"{what} cannot be read ({exc.strerror}); nothing was loaded.") from None
    text = data.decode("utf-8-sig") if _is_utf8(data) else data.decode("latin-1")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise LinkageError(f"{what} is empty or has no header line; nothing was loaded.")
    delimiter = max(";,\t", key=lines[0].count)
    try:
        return list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        raise LinkageError(
            f"{what} cannot be split into fields (bad quoting); nothing was loaded."
        ) from None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _find(header: list[str], names: list[str], what: str, kind: str) -> int:
    patterns = [name_pattern(n) for n in names]
    found = [i for i, h in enumerate(header) if any(p.fullmatch(h) for p in patterns)]
    if len(found) != 1:
        problem = "has no" if not found else "has more than one"
        raise LinkageError(
            f"{what} {problem} {kind} ({', '.join(names)}) in its header; nothing was loaded."
        )
    return found[0]


def _refuse_lines(lines: list[int], what: str, problem: str) -> None:
    if lines:
        shown = ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
        raise LinkageError(
            f"{what}: {len(lines)} line(s) {problem} (line {shown}); nothing was loaded."
        )
