"""Split decoded lines into fields, flagging lines that cannot be decoded, split or counted.

Lines without a quote character are split by Polars in one vectorised step; the rare lines
with quotes go through :mod:`csv` one by one (quotes never span lines here: a record is a
physical line). Every line keeps its file line number and a structural status.
"""

from __future__ import annotations

import csv

import polars as pl

from promise.ingest.lines import Decoded

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
        return pl.concat([frame, _fields(text, decoded.whole, delimiter, names)], how="horizontal")
    good = frame.filter(plain)
    parts = [pl.concat([good, _fields(good["_text"], None, delimiter, names)], how="horizontal")]
    in_quotes = frame.filter(status.is_null() & quoted)
    if in_quotes.height:
        parts.append(_split_quoted(in_quotes, delimiter=delimiter, names=names))
    rest = frame.filter(status.is_not_null())
    parts.append(rest.with_columns([pl.lit(None, dtype=pl.Utf8).alias(name) for name in names]))
    return pl.concat(parts, how="vertical").sort("_line")


def _fields(lines: pl.Series, whole: str | None, delimiter: str, names: list[str]) -> pl.DataFrame:
    """Split lines that all have the right number of fields and no quotes (Polars' CSV reader)."""
    if lines.len() == 0:
        return pl.DataFrame(schema=dict.fromkeys(names, pl.Utf8))
    body = (whole if whole is not None else "\n".join(lines.to_list())).encode("utf-8")
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
