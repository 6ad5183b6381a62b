"""SAS (``.sas7bdat``) and Stata (``.dta``) landing files, read with pyreadstat in chunks.

Socialstyrelsen and SCB deliver research extracts as SAS datasets (sometimes Stata). Such a
file is described once from its header alone (variables, their types and formats, its own
row count: ``rows_in``, independent of the chunked read), bound to the contract by variable
name, and then read ``CHUNK_ROWS`` observations at a time. Each chunk becomes the same frame a
delimited file's lines become (:func:`promise.ingest.fields.split_lines`): ``_line`` (the
observation number, from 1), ``_text`` (the observation as one delimited line, for the
duplicate check and the quarantine), ``_status`` and the fields ``_f0..`` as text, so the
same checks, pseudonymisation, quarantine and manifest apply.

Values become the text a delimited delivery would hold: a numeric date (a SAS or Stata date
or datetime format) is written as the contract's date form (``YYYYMMDD`` unless the contract
says ``yyyy-MM-dd``); a text date is taken as written; a whole number loses its ``.0`` (a
personnummer stored as a number gets back the leading zeros of its 10-digit form); a
missing value is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyreadstat  # type: ignore[import-untyped]

from promise.contracts import Column, Contract
from promise.errors import PromiseError
from promise.ingest.fields import field_names
from promise.ingest.layout import FileContractError, Layout, bind_names
from promise.ingest.linkage import Linkage

SAS, STATA = "sas", "stata"
#: the reader a file's name asks for, whatever its job's ``format`` (a folder may hold both)
FORMAT_OF_SUFFIX = {
    ".sas7bdat": SAS, ".dta": STATA, ".csv": "delimited", ".txt": "delimited", ".tsv": "delimited",
}  # fmt: skip
CHUNK_ROWS = 200_000
SAS_MAGIC = bytes.fromhex("000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011")
SAS_ENCODING_OFFSET = 70  # the header's character-set code (0: not declared)
SAS_CHARSETS = {
    20: "UTF-8",
    28: "US-ASCII",
    29: "ISO-8859-1",
    40: "ISO-8859-15",
    62: "WINDOWS-1252",
}
ICONV_NAMES = {"latin-1": "ISO-8859-1", "cp1252": "WINDOWS-1252", "utf-8": "UTF-8"}
SAS_DATE_FORMATS = (
    "WEEKDATE", "MMDDYY", "DDMMYY", "YYMMDD", "DATE", "WEEKDATX", "DTDATE", "IS8601DA",
    "E8601DA", "B8601DA", "NLDATE", "EURDFDD", "EURDFDE", "MINGUO", "JULIAN", "YYMMDDN",
)  # fmt: skip
SAS_DATETIME_FORMATS = ("DATETIME", "E8601DT", "DATEAMPM", "MDYAMPM", "IS8601DT", "B8601DT", "B8601DN")  # fmt: skip
SAS_TIME_FORMATS = ("TIME", "HHMM", "TOD", "TIMEAMPM", "IS8601TM", "E8601TM", "B8601TM", "HOUR")
DATE, DATETIME_S, DATETIME_MS, TIME, NUMBER, TEXT = (
    "date", "datetime", "datetime_ms", "time", "number", "text",
)  # fmt: skip
KIND_WORDS = {DATE: "a date", DATETIME_S: "a date-time", DATETIME_MS: "a date-time", TIME: "a time of day"}  # fmt: skip
EPOCH_1960 = -3653  # 1960-01-01 in days since 1970-01-01: SAS's and Stata's day 0


class StatFileError(PromiseError):
    """A SAS or Stata file cannot be read (not such a file, damaged, truncated); nothing loaded."""


@dataclass(frozen=True)
class StatFile:
    """What a SAS or Stata file's header says: its variables, their kinds, its row count."""

    path: Path
    label: str
    kind: str
    names: list[str]
    kinds: dict[str, str]
    formats: dict[str, str]
    rows: int
    encoding: str | None  # passed to pyreadstat: the job's, when the file declares none
    warnings: list[str] = field(default_factory=list)

    @property
    def word(self) -> str:
        """``SAS dataset`` or ``Stata file``, for sentences."""
        return "SAS dataset" if self.kind == SAS else "Stata file"


def format_of(path: Path, default: str) -> str:
    """``sas`` or ``stata`` by the file's extension (any case), else ``default``."""
    return FORMAT_OF_SUFFIX.get(path.suffix.lower(), default)


def looks_like(kind: str, head: bytes) -> bool:
    """Whether the first bytes are those of a SAS dataset or a Stata file."""
    if kind == SAS:
        return head[:32] == SAS_MAGIC
    return head.startswith(b"<stata_dta>") or (
        len(head) > 2 and head[0] in range(102, 116) and head[1] in (1, 2)
    )


def describe(path: Path, *, label: str, kind: str, declared_encoding: str) -> StatFile:
    """Read the header only; one sentence if the file is not what its name says or is damaged."""
    with Path(path).open("rb") as handle:
        head = handle.read(4096)
    word = "SAS dataset" if kind == SAS else "Stata file"
    if not looks_like(kind, head):
        seems = "text" if _is_text(head) else "something else"
        raise StatFileError(
            f"{label} is not a {word} (its first bytes are {seems}); deliver the file as the "
            f"register wrote it, or rename it to what it is; nothing was loaded."
        )
    warnings: list[str] = []
    encoding = _encoding(head, kind, declared_encoding, warnings)
    reader = _reader(kind)
    try:
        _, meta = reader(str(path), metadataonly=True, encoding=encoding)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise StatFileError(
            f"{label} cannot be read as a {word} ({exc}): it is probably truncated or damaged; "
            "deliver it again; nothing was loaded."
        ) from None
    names = list(meta.column_names)
    formats = {n: str(f or "") for n, f in (meta.original_variable_types or {}).items()}
    types = meta.readstat_variable_types or {}
    kinds = {n: _kind(kind, str(types.get(n, "")), formats.get(n, "")) for n in names}
    rows = meta.number_rows
    if rows is None:
        raise StatFileError(
            f"{label} does not state its number of rows in its header, so its load could not be "
            "reconciled; write it again with SAS or Stata; nothing was loaded."
        )
    return StatFile(
        path=Path(path), label=label, kind=kind, names=names, kinds=kinds, formats=formats,
        rows=int(rows), encoding=encoding, warnings=warnings,
    )  # fmt: skip


def bind(
    stat: StatFile, contract: Contract, *, linkages: Mapping[str, Linkage] | None = None
) -> Layout:
    """Bind the file's variables to the contract (a LopNr-keyed file through its order's
    linkage); refuse a variable whose kind its column cannot take (a date where the
    contract wants text or a number, a time of day anywhere)."""
    layout = bind_names(stat.names, label=stat.label, contract=contract, linkages=linkages)
    for i, col in layout.bound.items():
        name = stat.names[i]
        kind = stat.kinds[name]
        fmt = stat.formats.get(name) or "no format"
        if kind == TIME or (kind in KIND_WORDS and col.logical_type != "date"):
            want = "a date" if col.logical_type == "date" else f"{col.logical_type} values"
            raise FileContractError(
                f"column {name} of {stat.label} holds {KIND_WORDS[kind]} ({fmt}) but contract "
                f"{contract.id} wants {want} there; correct the delivery; nothing was loaded."
            )
    layout.warnings.extend(stat.warnings)
    return layout


def iter_frames(stat: StatFile, layout: Layout) -> Iterator[pl.DataFrame]:
    """The file's observations, ``CHUNK_ROWS`` at a time, as frames of text fields."""
    names = field_names(len(stat.names))
    texts = [
        _as_text(pl.col(n), stat.kinds[n], layout.bound.get(i)).alias(names[i])
        for i, n in enumerate(stat.names)
    ]
    first = 1
    try:
        for chunk, _ in pyreadstat.read_file_in_chunks(
            _reader(stat.kind), str(stat.path), chunksize=CHUNK_ROWS, output_format="polars",
            disable_datetime_conversion=True, encoding=stat.encoding,
        ):  # fmt: skip
            if chunk.height == 0:
                break
            fields = chunk.select(texts)
            yield pl.concat(
                [
                    fields.select(
                        pl.int_range(first, first + chunk.height, dtype=pl.Int64).alias("_line"),
                        pl.concat_str(
                            [pl.col(c).fill_null("") for c in names], separator=";"
                        ).alias("_text"),
                        pl.lit(None, dtype=pl.Utf8).alias("_status"),
                    ),
                    fields,
                ],
                how="horizontal",
            )
            first += chunk.height
    except UnicodeDecodeError:
        said = stat.encoding or "as its header declares"
        raise StatFileError(
            f"{stat.label} holds text that cannot be decoded ({said}) after observation "
            f"{first - 1}; write it again with its true encoding declared (or set `encoding` in "
            "its ingest job if its header declares none); nothing was loaded."
        ) from None
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise StatFileError(
            f"{stat.label} cannot be read past observation {first - 1} ({exc}): it is probably "
            f"truncated or damaged; deliver it again; nothing was loaded."
        ) from None
    if first - 1 != stat.rows:
        raise StatFileError(
            f"{stat.label} states {stat.rows} rows in its header but {first - 1} could be read: "
            "it is probably truncated; deliver it again; nothing was loaded."
        )


def _as_text(value: pl.Expr, kind: str, col: Column | None) -> pl.Expr:
    """One variable as the text a delimited file would hold (empty -> null)."""
    if kind == TEXT:  # SAS pads text with blanks; readstat removes them, as SAS does on output
        return pl.when(value != "").then(value)
    number = value.cast(pl.Float64)
    number = pl.when(number.is_not_nan()).then(number)
    as_text = number.cast(pl.Utf8)
    if kind in (DATE, DATETIME_S, DATETIME_MS):
        days = {DATE: number, DATETIME_S: number / 86_400, DATETIME_MS: number / 86_400_000}[kind]
        day = (days.floor() + EPOCH_1960).cast(pl.Int32, strict=False).cast(pl.Date)
        fmt = "%Y-%m-%d" if col is not None and col.date_format == "yyyy-MM-dd" else "%Y%m%d"
        # a number no date can be stays as written, so the date check rejects it
        return pl.when(day.is_not_null()).then(day.dt.strftime(fmt)).otherwise(as_text)
    whole = (number.round(0) == number) & (number.abs() < 2**63)
    integral: pl.Expr = number.cast(pl.Int64, strict=False).cast(pl.Utf8)
    if col is not None and col.is_personnummer:  # leading zeros a number cannot keep
        integral = pl.when(number < 10**10).then(integral.str.zfill(10)).otherwise(integral)
    return pl.when(whole).then(integral).otherwise(as_text)


def _kind(file_kind: str, readstat_type: str, fmt: str) -> str:
    if readstat_type == "string":
        return TEXT
    if file_kind == STATA:
        if fmt.startswith(("%tc", "%tC")):
            return TIME if fmt.startswith(("%tcHH", "%tCHH")) else DATETIME_MS
        if fmt.startswith(("%td", "%d")):
            return DATE
        return NUMBER
    name = fmt.upper().rstrip("0123456789.")
    if name in SAS_DATETIME_FORMATS:
        return DATETIME_S
    if name in SAS_DATE_FORMATS:
        return DATE
    if name in SAS_TIME_FORMATS:
        return TIME
    return NUMBER


def _encoding(head: bytes, kind: str, declared: str, warnings: list[str]) -> str | None:
    """The encoding to read with: the file's own when its header names one, else the job's."""
    job = ICONV_NAMES.get(declared, declared.upper())
    if kind == STATA:  # format 118+ is UTF-8 by definition; older ones name no encoding
        release = re.search(rb"<release>(\d+)</release>", head[:200])
        return None if release and int(release.group(1)) >= 118 else job
    code = head[SAS_ENCODING_OFFSET] if len(head) > SAS_ENCODING_OFFSET else 0
    if code == 0:
        return job
    own = SAS_CHARSETS.get(code)
    if own is not None and own != job and own != "US-ASCII":
        warnings.append(
            f"the file declares its text {own}, the ingest job {job}: read as the file declares"
        )
    return None


def _is_text(head: bytes) -> bool:
    sample = head[:512]
    return bool(sample) and all(b >= 9 for b in sample) and b"\x00" not in sample


def _reader(kind: str) -> Any:
    return pyreadstat.read_sas7bdat if kind == SAS else pyreadstat.read_dta
