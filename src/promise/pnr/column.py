"""Validate a whole column of personnummer at once (Polars expressions, no Python loop per row).

The same rules as :mod:`promise.pnr.scalar` (a test checks that both paths agree), done
with integers and small look-up tables, so that each row costs a few dozen vectorised
operations:

- the text is read as integers once, without a regular expression (capturing groups cost
  more than all the rest of the parse);
- the Luhn sum comes from two tables of three-digit groups;
- whether the written month and day make a birth date, its precision and its day of the year
  come from one table built by :func:`promise.pnr.rules.birth_date_of` itself, for every
  ``MMDD`` in a common and in a leap year;
- dates are days since 1970 from a table of each year's 1 January.
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache

import polars as pl

from promise.pnr.rules import COORDINATION_DAY_OFFSET, birth_date_of

#: Reasons a value can be rejected, as short codes (never the value itself).
REASONS = ("format", "check_digit", "serial", "date", "future")

PRECISIONS = ("day", "month", "year")  # birth_date_precision by code
YEARS = 10_000  # years 0-9999: a year has at most four digits
MMDD = 10_000  # month and day as written (coordination days 60-91 included)


@cache
def luhn_table(weights: tuple[int, int, int]) -> pl.Series:
    """Luhn contribution of every three-digit group 000-999 under ``weights``."""
    totals = []
    for group in range(1000):
        total = 0
        for weight, digit in zip(weights, f"{group:03d}", strict=True):
            product = weight * int(digit)
            total += product - 9 if product > 9 else product
        totals.append(total)
    return pl.Series(totals, dtype=pl.Int16)


@cache
def calendar_table() -> pl.DataFrame:
    """Row ``leap * 10000 + MMDD`` (MMDD as written): ``day_of_year`` (0 for 1 January;
    null when the number cannot carry a birth date) and ``precision`` (index in PRECISIONS).
    """
    day_of_year: list[int | None] = []
    precision: list[int | None] = []
    for year in (2001, 2000):  # a common year, then a leap year
        jan1 = date(year, 1, 1).toordinal()
        for mmdd in range(MMDD):
            month, day = divmod(mmdd, 100)
            coordination = day >= COORDINATION_DAY_OFFSET
            if coordination:
                day -= COORDINATION_DAY_OFFSET
            born = birth_date_of(year, month, day, coordination=coordination)
            day_of_year.append(None if born is None else born[0].toordinal() - jan1)
            precision.append(None if born is None else PRECISIONS.index(born[1]))
    return pl.DataFrame(
        {"day_of_year": day_of_year, "precision": precision},
        schema={"day_of_year": pl.Int32, "precision": pl.Int8},
    )


@cache
def year_table() -> pl.DataFrame:
    """Row ``year`` (0-9999): ``jan1`` (days from 1970-01-01 to 1 January; null for year 0,
    which the calendar, like Python's ``date``, does not have) and ``leap`` (0/1)."""
    jan1: list[int | None] = [None]
    leap = [1]
    for year in range(1, YEARS):
        # H. Hinnant's days_from_civil for 1 January, i.e. day 306 of March-based year - 1
        y = year - 1
        era = y // 400
        yoe = y - era * 400
        jan1.append(era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + 306 - 719468)
        leap.append(int((year % 4 == 0 and year % 100 != 0) or year % 400 == 0))
    return pl.DataFrame({"jan1": jan1, "leap": leap}, schema={"jan1": pl.Int32, "leap": pl.Int32})


@lru_cache(maxsize=16)
def after_reference_table(reference: date) -> pl.Series:
    """Row ``MMDD`` (as written): does that month and day (0 read as 1) come after the
    reference's? (see promise.pnr.rules.infer_year)"""
    after = []
    for mmdd in range(MMDD):
        month, day = divmod(mmdd, 100)
        if day >= COORDINATION_DAY_OFFSET:
            day -= COORDINATION_DAY_OFFSET
        after.append((max(month, 1), max(day, 1)) > (reference.month, reference.day))
    return pl.Series(after, dtype=pl.Boolean)


def _text(values: pl.Expr, *, integer: bool) -> pl.Expr:
    """The values as text to read: stripped, or for integers with the leading zero back."""
    if integer:
        # an integer drops the leading zero of a 10-digit form such as 0905271474
        text = values.cast(pl.Utf8)
        return pl.when(text.str.len_chars() == 9).then(text.str.zfill(10)).otherwise(text)
    return values.cast(pl.Utf8).str.strip_chars()


def _read_digits(frame: pl.LazyFrame, text: str) -> pl.LazyFrame:
    """Columns ``_n`` (the digits as one integer), ``_long`` (12 digits) and ``_plus``.

    ``_n`` is null unless the text has an accepted shape (that of
    :data:`promise.pnr.rules.PATTERN`): 10 or 12 ASCII digits, or 11 or 13 characters that
    are digits but for a ``-`` or ``+`` fifth from the end. The text is cut before its last
    five characters: the head must be all digits, the tail five digits or a separator and
    four digits. ``str.to_integer`` accepts nothing but ASCII digits after an optional sign,
    so a sign is ruled out with ``starts_with`` where it would not be the separator.
    """
    c = pl.col
    # each step reads only columns of the step before: Polars does not always share
    # common subexpressions, and a string operation done twice costs as much as the rest
    return (
        frame.select(
            _head=c(text).str.head(-5), _tail=c(text).str.tail(5), _len=c(text).str.len_bytes()
        )
        .select(
            _head_n=c("_head").str.to_integer(strict=False),
            _tail_n=c("_tail").str.to_integer(strict=False),
            _signed=c("_head").str.starts_with("-") | c("_head").str.starts_with("+"),
            _minus=c("_tail").str.starts_with("-"),
            _plus=c("_tail").str.starts_with("+"),
            _len=c("_len"),
        )
        .with_columns(_sep=c("_minus") | c("_plus"))
        .select(
            _n=pl.when(
                c("_head_n").is_not_null()
                & c("_tail_n").is_not_null()
                & ~c("_signed")
                & pl.when(c("_sep"))
                .then((c("_len") == 11) | (c("_len") == 13))
                .otherwise((c("_len") == 10) | (c("_len") == 12))
            ).then(
                pl.when(c("_sep"))
                .then(c("_head_n") * 10_000 + c("_tail_n").abs())
                .otherwise(c("_head_n") * 100_000 + c("_tail_n"))
            ),
            _long=c("_len") >= 12,
            _plus=c("_plus"),
        )
    )


def parse_column(values: pl.Series, *, reference_date: date | None = None) -> pl.DataFrame:
    """Parse a column of numbers in any written form.

    Returns one row per input with ``normalized`` (12 digits, null when invalid), ``valid``,
    ``reason`` (one of :data:`REASONS`, null when valid), ``birth_date``,
    ``birth_date_precision``, ``sex`` (``male``/``female``) and ``is_coordination_number``.
    Interim numbers are rejected.
    """
    reference = reference_date or date.today()
    c = pl.col
    lit = pl.lit
    luhn_212, luhn_121 = luhn_table((2, 1, 2)), luhn_table((1, 2, 1))
    calendar, years = calendar_table(), year_table()
    base = pl.when(c("_plus")).then(reference.year - 100).otherwise(reference.year)
    # every column is null on a row of the wrong shape (_n null); a table is only ever
    # indexed by a column that is in range or null
    frame = (
        pl.DataFrame({"_v": values})
        .lazy()
        .select(_t=_text(c("_v"), integer=values.dtype.is_integer()))
        .pipe(_read_digits, "_t")
        .select(
            _century=pl.when(c("_long")).then(c("_n") // 10**10),
            _ymd=(c("_n") // 10**4) % 10**6,
            _serial=(c("_n") // 10) % 1000,
            _check=c("_n") % 10,
            _base=base,
        )
        .with_columns(
            _yy=c("_ymd") // 10_000,
            _mmdd=c("_ymd") % 10_000,
            # the nine digits YYMMDDNNN weigh 2,1,2 | 1,2,1 | 2,1,2 in groups of three
            _luhn=lit(luhn_212).gather(c("_ymd") // 1000)
            + lit(luhn_121).gather(c("_ymd") % 1000)
            + lit(luhn_212).gather(c("_serial")),
        )
        .with_columns(
            _luhn_ok=(10 - c("_luhn") % 10) % 10 == c("_check"),
            _inferred=c("_base") - (c("_base") - c("_yy")) % 100,
            _after_ref=lit(after_reference_table(reference)).gather(c("_mmdd")),
        )
        .with_columns(
            _year=pl.when(c("_century").is_not_null())
            .then(c("_century") * 100 + c("_yy"))
            .when((c("_inferred") == c("_base")) & c("_after_ref"))
            .then(c("_inferred") - 100)
            .otherwise(c("_inferred"))
        )
        .with_columns(
            _cal=lit(years["leap"]).gather(c("_year")) * MMDD + c("_mmdd"),
            _jan1=lit(years["jan1"]).gather(c("_year")),
        )
        .with_columns(
            _day_of_year=lit(calendar["day_of_year"]).gather(c("_cal")),
            _precision=lit(calendar["precision"]).gather(c("_cal")),
        )
        .with_columns(_days=c("_jan1") + c("_day_of_year"))
        .with_columns(
            # index in REASONS of the first rule broken, null when valid
            _reason=pl.when(c("_ymd").is_null())
            .then(0)
            .when(~c("_luhn_ok"))
            .then(1)
            .when(c("_serial") == 0)
            .then(2)
            .when(c("_days").is_null())  # no such day, or no such year (0)
            .then(3)
            .when(c("_days") > (reference - date(1970, 1, 1)).days)
            .then(4)
        )
        .with_columns(_valid=c("_reason").is_null())
        .select(
            _number=pl.when(c("_valid")).then(
                c("_year") * 10**8 + c("_mmdd") * 10**4 + c("_serial") * 10 + c("_check")
            ),
            valid=c("_valid"),
            # text columns by table look-up: one string column built instead of one per branch
            reason=lit(pl.Series(REASONS)).gather(c("_reason")),
            birth_date=pl.when(c("_valid")).then(c("_days")).cast(pl.Date),
            birth_date_precision=lit(pl.Series(PRECISIONS)).gather(
                pl.when(c("_valid")).then(c("_precision"))
            ),
            sex=lit(pl.Series(["female", "male"])).gather(
                pl.when(c("_valid")).then(c("_serial") % 2)
            ),
            is_coordination_number=pl.when(c("_valid")).then(
                c("_mmdd") % 100 >= COORDINATION_DAY_OFFSET
            ),
        )
        .collect()
    )
    # formatted in a query of its own: inside the one above it cost more, and eagerly it
    # runs on one core
    text = c("_number").cast(pl.Utf8)
    if (frame["_number"] < 10**11).any():  # a year before 1000
        text = text.str.zfill(12)
    normalized = frame.lazy().select(text).collect().to_series()
    return frame.with_columns(_number=normalized).rename({"_number": "normalized"})
