"""Split decoded lines into fields, flagging lines that cannot be decoded, split or counted.

Lines without a quote character are split by Polars in one vectorised step; the rare lines
with quotes go through :mod:`csv` one by one (quotes never span lines here: a record is a
physical line). Every line keeps its file line number and a structural status.
"""

from __future__ import annotations

import csv

import polars as pl

from promise.ingest.lines import UTF8_BOM, Decoded

UNDECODABLE = "undecodable"
RAGGED = "ragged_row"
BAD_QUOTING = "bad_quoting"


def field_names(n: int) -> list[str]:
    """Positional names of the split fields."""
    return [f"_f{i}" for i in range(n)]


def split_lines(
    decoded: Decoded, *, first_line: int, delimiter: str, n_fields: int
) -> pl.DataFrame:
    """One row per line: ``_line``, ``_text``, ``_status`` and the fields ``_f0..`` (empty = null)."""
    n = decoded.text.len()
    text = decoded.shown
    body = decoded.body
    if body and b'"' not in body and not body.startswith(UTF8_BOM):
        fast = _split_unquoted(body, text, first_line, delimiter, field_names(n_fields))
        if fast is not None:
            return fast
    quoted = text.str.contains('"', literal=True)
    counts = text.str.count_matches(delimiter, literal=True) + 1
    status = pl.select(
        pl.when(decoded.text.is_null())
        .then(pl.lit(UNDECODABLE))
        .when(~quoted & (counts != n_fields))
        .then(pl.lit(RAGGED))
    ).to_series()
    frame = pl.DataFrame(
        {
            "_line": pl.int_range(first_line, first_line + n, dtype=pl.Int64, eager=True),
            "_text": text,
            "_status": status,
        }
    )
    names = field_names(n_fields)
    plain = status.is_null() & ~quoted
    if plain.all():
        return pl.concat([frame, _fields(text, decoded.body, delimiter, names)], how="horizontal")
    good = frame.filter(plain)
    parts = [pl.concat([good, _fields(good["_text"], None, delimiter, names)], how="horizontal")]
    in_quotes = frame.filter(status.is_null() & quoted)
    if in_quotes.height:
        parts.append(_split_quoted(in_quotes, delimiter=delimiter, names=names))
    rest = frame.filter(status.is_not_null())
    parts.append(rest.with_columns([pl.lit(None, dtype=pl.Utf8).alias(name) for name in names]))
    return pl.concat(parts, how="vertical").sort("_line")


def _split_unquoted(
    body: bytes, text: pl.Series, first_line: int, delimiter: str, names: list[str]
) -> pl.DataFrame | None:
    """A decoded chunk without quotes, split by Polars' CSV reader in one step.

    A line has the header's number of fields exactly when its length is the sum of its
    fields' lengths plus one per delimiter: the reader cuts a longer line short and leaves
    the missing fields of a shorter one null, so either way the sum differs. None when the
    reader refuses the chunk (a first line of the wrong length) or does not return one row
    per line: then the delimiters of each line are counted.
    """
    try:  # the reader takes the number of fields from the first line: it must be right
        fields = _read_fields(body, delimiter, names, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError:
        return None
    if fields.height != text.len():
        return None
    lengths = pl.sum_horizontal([pl.col(c).str.len_bytes().fill_null(0) for c in names])
    ragged = fields.select(lengths + (len(names) - 1) != pl.lit(text).str.len_bytes()).to_series()
    status = pl.Series("_status", [None], dtype=pl.Utf8).extend_constant(None, text.len() - 1)
    if ragged.any():
        status = pl.select(pl.when(ragged).then(pl.lit(RAGGED))).to_series()
        fields = fields.select([pl.when(~ragged).then(pl.col(c)).alias(c) for c in names])
    frame = pl.DataFrame(
        {
            "_line": pl.int_range(first_line, first_line + text.len(), dtype=pl.Int64, eager=True),
            "_text": text,
            "_status": status,
        }
    )
    return pl.concat([frame, fields], how="horizontal")


def _read_fields(
    body: bytes, delimiter: str, names: list[str], *, truncate_ragged_lines: bool = False
) -> pl.DataFrame:
    return pl.read_csv(
        body,
        separator=delimiter,
        has_header=False,
        quote_char=None,
        infer_schema=False,
        new_columns=names,
        truncate_ragged_lines=truncate_ragged_lines,
    )


def _fields(lines: pl.Series, body: bytes | None, delimiter: str, names: list[str]) -> pl.DataFrame:
    """Split lines that all have the right number of fields and no quotes (Polars' CSV reader)."""
    if lines.len() == 0:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.Utf8))
    if body is None:
        body = "\n".join(lines.to_list()).encode("utf-8")
    fields = pl.read_csv(
        body,
        separator=delimiter,
        has_header=False,
        quote_char=None,
        infer_schema=False,
        new_columns=names,
    )
    if fields.height == lines.len():
        return fields
    # the reader skipped a line (it never should for lines of n >= 2 fields): split one by one
    split = (
        lines.str.split_exact(delimiter, len(names) - 1).struct.rename_fields(names).struct.unnest()
    )
    return split.select([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in names])


def _split_quoted(frame: pl.DataFrame, *, delimiter: str, names: list[str]) -> pl.DataFrame:
    rows: list[list[str | None]] = []
    statuses: list[str | None] = []
    for text, status in zip(frame["_text"].to_list(), frame["_status"].to_list(), strict=True):
        fields, problem = _csv_fields(text, delimiter)
        if problem is None and len(fields) != len(names):
            problem = RAGGED
        rows.append([f or None for f in fields] if problem is None else [None] * len(names))
        statuses.append(status or problem)
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    fields_frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.Utf8))
    return pl.concat(
        [
            frame.select("_line", "_text").with_columns(_status=pl.Series(statuses, dtype=pl.Utf8)),
            fields_frame,
        ],
        how="horizontal",
    )


def _csv_fields(text: str, delimiter: str) -> tuple[list[str | None], str | None]:
    try:
        parsed = list(csv.reader([text], delimiter=delimiter, quotechar='"', strict=True))
    except csv.Error:
        return [], BAD_QUOTING
    if len(parsed) != 1:
        return [], BAD_QUOTING
    return list(parsed[0]), None
