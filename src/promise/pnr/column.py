"""Validate a whole column of personnummer at once (Polars expressions, no Python loop per row).

The same rules as :mod:`promise.pnr.scalar` (a test checks that both paths agree), done
with integer arithmetic: digits by division, dates as days since 1970 by the civil-calendar
formula, so no string is parsed twice.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from promise.pnr.rules import COORDINATION_DAY_OFFSET

#: Reasons a value can be rejected, as short codes (never the value itself).
REASONS = ("format", "check_digit", "serial", "date", "future")

_PATTERN = r"^(\d{2})?(\d{6})([-+]?)(\d{3})(\d)$"
_EPOCH = date(1970, 1, 1)


def _luhn_total(nine: pl.Expr) -> pl.Expr:
    """Luhn sum of the nine digits ``YYMMDDNNN`` held as one integer."""
    total = pl.lit(0, dtype=pl.Int64)
    for i in range(9):
        digit = (nine // 10 ** (8 - i)) % 10
        product = digit * 2 if i % 2 == 0 else digit
        total = total + product - pl.when(product > 9).then(9).otherwise(0)
    return total


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def _epoch_days(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a valid date (H. Hinnant's days_from_civil)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


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
    ``reason`` (one of :data:`REASONS`, null when valid), ``birth_date``,
    ``birth_date_precision``, ``sex`` (``male``/``female``) and ``is_coordination_number``.
    Interim numbers are rejected.
    """
    reference = reference_date or date.today()
    ref_md = reference.month * 100 + reference.day
    c = pl.col
    groups = c("_t").str.extract_groups(_PATTERN)
    frame = (
        pl.DataFrame({"_t": _text(values)})
        .lazy()
        .select(
            _century=groups.struct.field("1").cast(pl.Int64),
            _ymd=groups.struct.field("2").cast(pl.Int64),
            _plus=groups.struct.field("3") == "+",
            _serial=groups.struct.field("4").cast(pl.Int64),
            _check=groups.struct.field("5").cast(pl.Int64),
        )
        .with_columns(
            _yy=c("_ymd") // 10000,
            _month=(c("_ymd") // 100) % 100,
            _raw_day=c("_ymd") % 100,
            _luhn=(10 - _luhn_total(c("_ymd") * 1000 + c("_serial")) % 10) % 10 == c("_check"),
        )
        .with_columns(_coord=c("_raw_day") >= COORDINATION_DAY_OFFSET)
        .with_columns(
            _day=pl.when(c("_coord"))
            .then(c("_raw_day") - COORDINATION_DAY_OFFSET)
            .otherwise(c("_raw_day"))
        )
    )
    base = pl.when(c("_plus")).then(reference.year - 100).otherwise(reference.year)
    inferred = base - (base - c("_yy")) % 100
    after_ref = c("_month").clip(1, None) * 100 + c("_day").clip(1, None) > ref_md
    inferred = pl.when((inferred == base) & after_ref).then(inferred - 100).otherwise(inferred)
    frame = frame.with_columns(
        _year=pl.when(c("_century").is_not_null())
        .then(c("_century") * 100 + c("_yy"))
        .otherwise(inferred)
    )
    # see promise.pnr.rules.birth_date_of for the rule in words
    month_ok = c("_month").is_between(1, 12)
    exact = month_ok & c("_day").is_between(1, _days_in_month(c("_year"), c("_month")))
    coord_ok = c("_month").is_between(0, 12) & c("_day").is_between(0, 31)
    precision = (
        pl.when(c("_coord") & (c("_month") == 0))
        .then(pl.lit("year"))
        .when(c("_coord") & ~exact)
        .then(pl.lit("month"))
        .otherwise(pl.lit("day"))
    )
    frame = frame.with_columns(
        _date_ok=pl.when(c("_coord")).then(coord_ok).otherwise(exact),
        _precision=precision,
    ).with_columns(
        _date=_epoch_days(
            c("_year"),
            pl.when(c("_precision") == "year").then(1).otherwise(c("_month")),
            pl.when(c("_precision") == "day").then(c("_day")).otherwise(1),
        )
        .cast(pl.Int32)
        .cast(pl.Date)
    )
    reason = (
        pl.when(c("_ymd").is_null())
        .then(pl.lit("format"))
        .when(~c("_luhn"))
        .then(pl.lit("check_digit"))
        .when(c("_serial") == 0)
        .then(pl.lit("serial"))
        .when(~c("_date_ok"))
        .then(pl.lit("date"))
        .when(c("_date") > pl.lit(reference))
        .then(pl.lit("future"))
    )
    frame = frame.with_columns(reason=reason)
    valid = c("reason").is_null()
    normalized = (
        (c("_year") * 10**8 + (c("_ymd") % 10000) * 10**4 + c("_serial") * 10 + c("_check"))
        .cast(pl.Utf8)
        .str.zfill(12)
    )
    return frame.select(
        normalized=pl.when(valid).then(normalized),
        valid=valid,
        reason=c("reason"),
        birth_date=pl.when(valid).then(c("_date")),
        birth_date_precision=pl.when(valid).then(c("_precision")),
        sex=pl.when(valid).then(
            pl.when(c("_serial") % 2 == 1).then(pl.lit("male")).otherwise(pl.lit("female"))
        ),
        is_coordination_number=pl.when(valid).then(c("_coord")),
    ).collect()
