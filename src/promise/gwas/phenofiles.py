"""Phenotype and covariate files a researcher brings, read into one sample-keyed frame.

Accepted layouts (whitespace- or tab-separated):

- PLINK 2 / regenie style ``FID IID col ...`` with a header line: the sample id is ``IID``;
- the same without a header line (PLINK's own convention: a first line that does not start
  with ``FID``/``IID`` and holds only values after its first two fields): ``FID IID`` then
  ``PHENO1``, ``PHENO2``, ... as PLINK 2 names them;
- a ``Sample`` (or ``IID``, ``s``) column anywhere; else the first column is the id
  (``IND_ID`` in EPACTS files);
- a PLINK ``.fam`` file (no header): gives ``PHENO`` (column 6) and ``is_female``
  (column 5 == 2; unknown sex 0 is missing).

Missing values are ``NA``, ``NaN``, ``.`` and empty fields, and the ``missing_codes``
(PLINK's ``-9`` by default, :data:`PLINK_MISSING`); a binary trait coded 1/2 also reads 0
as missing (:func:`binary_coding`), as PLINK 2 does.

Tables are Polars frames whose first column ``s`` is the sample id, with every other
column as the file's text; :func:`numeric_columns` and :func:`covariate_columns` turn them
into floats (null where missing).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from promise.errors import PromiseError

MISSING_STRINGS = ("", "na", "nan", ".", "none", "null")
ID_COLUMNS = ("sample", "iid", "s")
FAM_COLUMNS = ("FID", "IID", "PAT", "MAT", "SEX", "PHENO")
KEY = "s"
#: PLINK's missing phenotype code (``--input-missing-phenotype``, default -9)
PLINK_MISSING = -9.0
BOOLEAN_WORDS = ("true", "false")
_WHITESPACE = re.compile(r"[ \t\r\f\v]+")


class PhenotypeFileError(PromiseError):
    """A phenotype or covariate file cannot be read or lacks a requested column."""


def read_fields(path: Path, *, header: bool, names: Sequence[str] = ()) -> pl.DataFrame:
    """A whitespace-separated text file as text columns: named by its header line, or by
    ``names`` (else ``column_1`` ...) when it has none. Blank lines are skipped; a line with
    another number of fields than the first is an error naming the line. Runs of blanks
    become one tab and Polars' CSV reader splits the lines; a file with blank lines or
    blanks at line ends, or one that Polars finds ragged, is checked line by line first."""
    text = _tab_separated(_lines(path))
    frame = _parse_tidy(text, header=header, names=names)
    if frame is None:
        checked = _checked_lines(text, path, header=header, names=names)
        frame = _parse(checked, header=header, names=names)
    return frame


def _parse_tidy(text: str, *, header: bool, names: Sequence[str]) -> pl.DataFrame | None:
    """``text`` parsed as it is, or None when it needs the line-by-line check: blank lines,
    blanks at a line's ends, or lines with another number of fields than the first (Polars
    refuses more, and leaves nulls for fewer, which a whole field never is)."""
    ends = ("\n\t", "\t\n", "\n\n")
    if not text.strip() or text.startswith(("\t", "\n")) or any(e in text for e in ends):
        return None
    try:
        frame = _parse(text, header=header, names=names)
    except pl.exceptions.PolarsError:
        return None
    short = frame.select(pl.any_horizontal(pl.all().is_null()).any()).item()
    return None if short else frame


def _parse(text: str, *, header: bool, names: Sequence[str]) -> pl.DataFrame:
    if not text.strip():
        return pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    return pl.read_csv(
        io.BytesIO(text.encode("utf-8")),
        separator="\t",
        has_header=header,
        new_columns=None if header else list(names) or None,
        quote_char=None,
        infer_schema=False,
    )


def _checked_lines(text: str, path: Path, *, header: bool, names: Sequence[str]) -> str:
    """The non-blank lines of ``text`` without blanks at their ends, each checked to have as
    many fields as the first (or as ``names``)."""
    rows = [(i, line.strip("\t")) for i, line in enumerate(text.split("\n"), start=1)]
    rows = [(i, line) for i, line in rows if line]
    if header and not rows:
        raise PhenotypeFileError(f"{path} is empty: it needs a header line.")
    width = len(names) if names and not header else len(rows[0][1].split("\t")) if rows else 0
    for number, line in rows:
        fields = len(line.split("\t"))
        if fields != width:
            raise PhenotypeFileError(
                f"Line {number} of {path} has {fields} fields where {width} are expected: "
                "every line needs a value (NA when missing) in every column."
            )
    return "\n".join(line for _, line in rows)


def _tab_separated(text: str) -> str:
    """``text`` with every run of blanks on a line turned into one tab (plain replacements
    for the usual single-space or single-tab files, a regular expression otherwise)."""
    if not any(c in text for c in "\r\f\v") and "  " not in text and "\t\t" not in text:
        if "\t" not in text:
            return text.replace(" ", "\t")
        if " " not in text:
            return text
    return _WHITESPACE.sub("\t", text)


def _lines(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise PhenotypeFileError(f"{path} is not UTF-8 text: save it as UTF-8.") from exc


def read_sample_table(path: Path) -> pl.DataFrame:
    """Read one phenotype/covariate file as text, keyed by sample id (column ``s``)."""
    if not path.is_file():
        raise PhenotypeFileError(f"The file {path} does not exist: check the path.")
    if path.suffix == ".fam":
        return _fam_table(path)
    fields = _first_line(path)
    if not has_header(fields):
        names = ["FID", "IID", *(f"PHENO{i}" for i in range(1, len(fields) - 1))]
        frame = read_fields(path, header=False, names=names)
        return _unique_samples(frame.select(pl.col("IID").alias(KEY), *names[2:]), path)
    return _keyed_by_sample(read_fields(path, header=True), path)


def has_header(fields: Sequence[str]) -> bool:
    """Whether a file's first line (split in fields) is a header. As PLINK 2 reads it: a
    line starting with ``FID`` or ``IID`` (``#`` allowed) is one; a line of at least three
    fields whose fields after the first two are all values (numbers, ``NA``, true/false) is
    a header-less ``FID IID value ...`` row; anything else names columns."""
    if not fields or fields[0].lstrip("#").upper() in ("FID", "IID"):
        return True
    return len(fields) < 3 or not all(_is_value(f) for f in fields[2:])


def _is_value(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in MISSING_STRINGS or lowered in BOOLEAN_WORDS:
        return True
    try:
        float(lowered)
    except ValueError:
        return False
    return True


def _first_line(path: Path) -> list[str]:
    """The fields of the first non-blank line of ``path``."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.split()
    return []


def _fam_table(path: Path) -> pl.DataFrame:
    frame = read_fields(path, header=False, names=FAM_COLUMNS)
    sex = pl.col("SEX").replace_strict({"1": "0", "2": "1"}, default="NA")
    return _unique_samples(frame.select(pl.col("IID").alias(KEY), "PHENO", is_female=sex), path)


def _keyed_by_sample(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    frame = frame.rename({c: c.lstrip("#") for c in frame.columns})
    lower = {c.lower(): c for c in frame.columns}
    id_col = next((lower[c] for c in ID_COLUMNS if c in lower), frame.columns[0])
    dropped = {id_col, lower.get("fid")}
    rest = [c for c in frame.columns if c not in dropped]
    return _unique_samples(frame.select(pl.col(id_col).alias(KEY), *rest), path)


def _unique_samples(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    repeated = frame.filter(pl.col(KEY).is_duplicated())
    if len(repeated):
        raise PhenotypeFileError(
            f"Sample {repeated[KEY][0]!r} appears twice in {path}: keep one row per sample."
        )
    return frame


def fid_iid_aliases(path: Path) -> dict[str, str]:
    """``FID_IID`` -> ``IID`` for a ``FID IID`` file: BGEN files written by PLINK 2 use it."""
    if path.suffix == ".fam":
        frame = read_fields(path, header=False, names=FAM_COLUMNS)
    elif not has_header(_first_line(path)):
        names = ["FID", "IID", *(f"V{i}" for i in range(len(_first_line(path)) - 2))]
        frame = read_fields(path, header=False, names=names)
    else:
        frame = read_fields(path, header=True)
        frame = frame.rename({c: c.lstrip("#").upper() for c in frame.columns})
        if not {"FID", "IID"} <= set(frame.columns):
            return {}
    fid, iid = frame["FID"].to_list(), frame["IID"].to_list()
    return {f"{f}_{i}": i for f, i in zip(fid, iid, strict=True)}


def read_id_list(path: Path) -> list[str]:
    """Sample ids from a ``FID IID`` (no header) or one-id-per-line file; IID is the id."""
    if not path.is_file():
        raise PhenotypeFileError(f"The sample list {path} does not exist: check the path.")
    ids = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split()
        if fields and fields[0].upper() not in ("FID", "#FID", "IID", "#IID"):
            ids.append(fields[1] if len(fields) > 1 else fields[0])
    return ids


def merge_tables(tables: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Outer-join several sample tables (the first one's samples first, in its order); a
    column in two files is taken from the first."""
    merged: pl.DataFrame | None = None
    for table in tables:
        if merged is None:
            merged = table
            continue
        new = [c for c in table.columns if c not in merged.columns]
        merged = merged.join(
            table.select(KEY, *new), on=KEY, how="full", coalesce=True, maintain_order="left_right"
        )
    return merged if merged is not None else pl.DataFrame(schema={KEY: pl.String})


def pick_columns(table: pl.DataFrame, names: Sequence[str] | None, *, what: str) -> list[str]:
    """The requested columns (all but the sample id when ``names`` is None), with a clear
    error for a typo."""
    available = [c for c in table.columns if c != KEY]
    if not names:
        return available
    missing = [n for n in names if n not in available]
    if missing:
        raise PhenotypeFileError(
            f"{what} column {missing[0]!r} is not in the file; available: "
            + ", ".join(available)
            + "."
        )
    return list(names)


def is_missing(text: pl.Expr) -> pl.Expr:
    return text.is_null() | text.str.to_lowercase().is_in(MISSING_STRINGS)


def numeric_columns(
    table: pl.DataFrame, names: Sequence[str], *, missing_codes: Sequence[float] = ()
) -> pl.DataFrame:
    """Column ``s`` and ``names`` as floats, all in one query: booleans become 1/0, missing
    markers and ``missing_codes`` null; a value that is none of these is an error."""
    codes = [float(c) for c in missing_codes]

    def parsed(name: str) -> tuple[pl.Expr, pl.Expr]:
        text = pl.col(name).cast(pl.String).str.strip_chars()
        lowered = text.str.to_lowercase()
        boolean = pl.when(lowered == "true").then(1.0).when(lowered == "false").then(0.0)
        number = text.cast(pl.Float64, strict=False)  # the file's literal number
        value = pl.coalesce(boolean, number.fill_nan(None))
        missing = is_missing(text)
        # Codes apply to what the file says (a literal 0), not to false mapped to 0.
        dropped = missing | number.is_in(codes) if codes else missing
        bad = (~missing & value.is_null()).arg_true().first()
        return pl.when(dropped).then(None).otherwise(value).alias(name), bad.alias(name)

    pairs = [parsed(n) for n in names]
    bad = table.select(pair[1] for pair in pairs)
    for name in names:
        if bad[name][0] is not None:
            text = table[name][int(bad[name][0])]
            raise PhenotypeFileError(
                f"Column {name!r} has the non-numeric value {text.strip()!r}: "
                "use NA for missing values."
            )
    return table.select(KEY, *(pair[0] for pair in pairs))


def covariate_columns(
    table: pl.DataFrame, names: Sequence[str], *, missing_codes: Sequence[float] = ()
) -> pl.DataFrame:
    """Column ``s`` and the covariates as floats; text covariates one-hot encoded (first
    level dropped). ``missing_codes`` (PLINK's -9 for a researcher's files) are missing
    in numeric covariates, as PLINK reads covariates; 0 never is (``is_female`` is 0/1)."""
    parts: list[pl.Series] = []
    codes = [float(c) for c in missing_codes]
    for name in names:
        text = pl.col(name).cast(pl.String)
        coded = text.str.strip_chars().cast(pl.Float64, strict=False).is_in(codes)
        given = ~(is_missing(text) | coded.fill_null(False))
        columns = table.select(
            given=given,
            text=pl.when(given).then(text),
            number=pl.when(given)
            .then(text.str.strip_chars().cast(pl.Float64, strict=False))
            .fill_nan(None),
        )
        if columns["number"].is_not_null().sum() == columns["given"].sum():
            parts.append(columns["number"].rename(name))
        else:
            parts.extend(_one_hot(columns["text"], name))
    return pl.DataFrame([table[KEY], *parts])


def _one_hot(column: pl.Series, name: str) -> list[pl.Series]:
    """An indicator per level but the first; a missing value stays missing (null == level
    is null)."""
    levels = sorted(column.drop_nulls().unique().to_list())
    return [(column == level).cast(pl.Float64).rename(f"{name}_{level}") for level in levels[1:]]
