"""Validate a whole column of personnummer at once (Polars expressions, no Python loop per row).

The same rules as :mod:`promise.pnr.scalar`; a test checks that both paths agree.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from promise.pnr.rules import COORDINATION_DAY_OFFSET

#: Reasons a value can be rejected, as short codes (never the value itself).
REASONS = ("format", "check_digit", "serial", "date", "future")

_PATTERN = r"^(\d{2})?(\d{6})([-+]?)(\d{3})(\d)$"


def _digits(expr: pl.Expr, start: int, length: int = 1) -> pl.Expr:
    return expr.str.slice(start, length).cast(pl.Int32, strict=False)


def _luhn_ok(ten: pl.Expr) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int32)
    for i in range(9):
        product = _digits(ten, i) * (2 if i % 2 == 0 else 1)
        total = total + pl.when(product > 9).then(product - 9).otherwise(product)
    return (10 - total % 10) % 10 == _digits(ten, 9)


def _text(values: pl.Series) -> pl.Series:
    if values.dtype.is_integer():
        text = values.cast(pl.Utf8)
        return pl.select(
            pl.when(text.str.len_chars() == 9).then(text.str.zfill(10)).otherwise(text)
        ).to_series()
    return values.cast(pl.Utf8).str.strip_chars()


def parse_column(values: pl.Series, *, reference_date: date | None = None) -> pl.DataFrame:
    """Parse a column of numbers in any written form.

    Returns one row per input with ``normalized`` (12 digits, null when invalid), ``valid``,
    ``reason`` (null when valid), ``birth_date``, ``birth_date_precision``, ``sex``
    (``male``/``female``) and ``is_coordination_number``. Interim numbers are rejected.
    """
    reference = reference_date or date.today()
    ref_md = reference.month * 100 + reference.day
    frame = pl.DataFrame({"_t": _text(values)})
    parts = pl.col("_t").str.extract_groups(_PATTERN)
    frame = frame.with_columns(parts.alias("_p")).unnest("_p")
    frame = frame.rename({"1": "_century", "2": "_ymd", "3": "_sep", "4": "_serial", "5": "_check"})
    yy, month, raw_day = (
        _digits(pl.col("_ymd"), 0, 2),
        _digits(pl.col("_ymd"), 2, 2),
        _digits(pl.col("_ymd"), 4, 2),
    )
    coordination = raw_day >= COORDINATION_DAY_OFFSET
    day = pl.when(coordination).then(raw_day - COORDINATION_DAY_OFFSET).otherwise(raw_day)
    base = pl.when(pl.col("_sep") == "+").then(reference.year - 100).otherwise(reference.year)
    inferred = base - (base - yy) % 100
    after_ref = (month.clip(1, None) * 100 + day.clip(1, None)) > ref_md
    inferred = pl.when((inferred == base) & after_ref).then(inferred - 100).otherwise(inferred)
    year = (
        pl.when(pl.col("_century").is_not_null())
        .then(_digits(pl.col("_century"), 0, 2) * 100 + yy)
        .otherwise(inferred)
    )
    frame = frame.with_columns(
        _year=year, _month=month, _day=day, _coord=coordination, _raw_day=raw_day
    )
    y4 = pl.col("_year").cast(pl.Utf8).str.zfill(4)
    mm = pl.col("_month").cast(pl.Utf8).str.zfill(2)
    exact = pl.format("{}{}{}", y4, mm, pl.col("_day").cast(pl.Utf8).str.zfill(2)).str.to_date(
        "%Y%m%d", strict=False
    )
    first_of_month = pl.format("{}{}01", y4, mm).str.to_date("%Y%m%d", strict=False)
    first_of_year = pl.format("{}0101", y4).str.to_date("%Y%m%d", strict=False)
    in_range = pl.col("_month").is_between(0, 12) & pl.col("_day").is_between(0, 31)
    # see promise.pnr.rules.birth_date_of for the rule in words
    coord_date = (
        pl.when(~in_range)
        .then(None)
        .when(pl.col("_month") == 0)
        .then(first_of_year)
        .when((pl.col("_day") == 0) | exact.is_null())
        .then(first_of_month)
        .otherwise(exact)
    )
    coord_precision = (
        pl.when(pl.col("_month") == 0)
        .then(pl.lit("year"))
        .when((pl.col("_day") == 0) | exact.is_null())
        .then(pl.lit("month"))
        .otherwise(pl.lit("day"))
    )
    parsed_date = pl.when(pl.col("_coord")).then(coord_date).otherwise(exact)
    precision_expr = pl.when(pl.col("_coord")).then(coord_precision).otherwise(pl.lit("day"))
    frame = frame.with_columns(
        _date=parsed_date,
        _precision=precision_expr,
        _luhn=_luhn_ok(pl.col("_ymd") + pl.col("_serial") + pl.col("_check")),
    )
    reason = (
        pl.when(pl.col("_ymd").is_null())
        .then(pl.lit("format"))
        .when(~pl.col("_luhn"))
        .then(pl.lit("check_digit"))
        .when(pl.col("_serial") == "000")
        .then(pl.lit("serial"))
        .when(pl.col("_date").is_null())
        .then(pl.lit("date"))
        .when(pl.col("_date") > pl.lit(reference))
        .then(pl.lit("future"))
    )
    frame = frame.with_columns(reason=reason)
    valid = pl.col("reason").is_null()
    return frame.select(
        normalized=pl.when(valid).then(
            pl.col("_year").cast(pl.Utf8).str.zfill(4)
            + pl.col("_ymd").str.slice(2, 4)
            + pl.col("_serial")
            + pl.col("_check")
        ),
        valid=valid,
        reason=pl.col("reason"),
        birth_date=pl.when(valid).then(pl.col("_date")),
        birth_date_precision=pl.when(valid).then(pl.col("_precision")),
        sex=pl.when(valid).then(
            pl.when(_digits(pl.col("_serial"), 2) % 2 == 1)
            .then(pl.lit("male"))
            .otherwise(pl.lit("female"))
        ),
        is_coordination_number=pl.when(valid).then(pl.col("_coord")),
    )
