"""Split decoded lines into fields, flagging lines that cannot be decoded, split or counted.

Lines without a quote character are split by Polars in one vectorised step; the rare lines
with quotes go through :mod:`csv` one by one (quotes never span lines here: a record is a
physical line). Every line keeps its file line number and a structural status.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

import polars as pl

UNDECODABLE = "undecodable"
RAGGED = "ragged_row"
BAD_QUOTING = "bad_quoting"


def field_names(n: int) -> list[str]:
    """Positional names of the split fields."""
    return [f"_f{i}" for i in range(n)]


def split_lines(
    decoded: Sequence[str | None],
    raw: Sequence[bytes],
    *,
    first_line: int,
    delimiter: str,
    n_fields: int,
    encoding: str,
) -> pl.DataFrame:
    """One row per line: ``_line``, ``_text``, ``_status`` and the fields ``_f0..``."""
    text = [
        d if d is not None else r.decode(encoding, errors="replace")
        for d, r in zip(decoded, raw, strict=True)
    ]
    status = [None if d is not None else UNDECODABLE for d in decoded]
    frame = pl.DataFrame(
        {
            "_line": pl.int_range(first_line, first_line + len(text), dtype=pl.Int64, eager=True),
            "_text": pl.Series(text, dtype=pl.Utf8),
            "_status": pl.Series(status, dtype=pl.Utf8),
        }
    )
    names = field_names(n_fields)
    has_quote = frame["_text"].str.contains('"', literal=True)
    plain = frame.filter(~has_quote)
    counts = plain["_text"].str.count_matches(delimiter, literal=True) + 1
    split = (
        plain["_text"]
        .str.split_exact(delimiter, n_fields - 1)
        .struct.rename_fields(names)
        .struct.unnest()
    )
    plain = pl.concat([plain, split], how="horizontal").with_columns(
        _status=pl.when(pl.col("_status").is_null() & (counts != n_fields))
        .then(pl.lit(RAGGED))
        .otherwise(pl.col("_status"))
    )
    if not has_quote.any():
        return plain
    quoted = _split_quoted(frame.filter(has_quote), delimiter=delimiter, names=names)
    return pl.concat([plain, quoted], how="vertical").sort("_line")


def _split_quoted(frame: pl.DataFrame, *, delimiter: str, names: list[str]) -> pl.DataFrame:
    rows: list[list[str | None]] = []
    statuses: list[str | None] = []
    for text, status in zip(frame["_text"].to_list(), frame["_status"].to_list(), strict=True):
        fields, problem = _csv_fields(text, delimiter)
        if problem is None and len(fields) != len(names):
            problem = RAGGED
        rows.append(fields if problem is None else [None] * len(names))
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
