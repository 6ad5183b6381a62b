"""Parse one personnummer in any written form."""

from __future__ import annotations

from datetime import date

from promise.pnr.rules import (
    COORDINATION_DAY_OFFSET,
    INTERIM_PATTERN,
    PATTERN,
    InvalidPersonnummer,
    Personnummer,
    birth_date_of,
    infer_year,
    luhn_digit,
    sex_from_serial,
)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        raise InvalidPersonnummer("not a number or text")
    if isinstance(value, int):
        text = str(value)
        # an integer drops the leading zero of a 10-digit form such as 0905271474
        return text.zfill(10) if len(text) == 9 else text
    if isinstance(value, str):
        return value.strip()
    raise InvalidPersonnummer("not a number or text")


def parse(
    value: object, *, reference_date: date | None = None, allow_interim: bool = False
) -> Personnummer:
    """Parse and validate a personnummer or samordningsnummer.

    Parameters
    ----------
    value:
        ``YYYYMMDDNNNC``, ``YYYYMMDD-NNNC``, ``YYMMDD-NNNC``, ``YYMMDD+NNNC``, ``YYMMDDNNNC``
        (surrounding whitespace allowed) or an integer.
    reference_date:
        The delivery date that fixes the century of 10-digit forms; default today.
    allow_interim:
        Accept interim numbers (a letter in position 9); rejected by default.

    Raises
    ------
    InvalidPersonnummer
        With a reason (format, check digit, date, serial); never the number itself.
    """
    reference = reference_date or date.today()
    text = _as_text(value)
    match = PATTERN.match(text)
    interim = False
    if match is None:
        match = INTERIM_PATTERN.match(text)
        if match is None:
            raise InvalidPersonnummer("not in a personnummer format")
        if not allow_interim:
            raise InvalidPersonnummer("interim numbers are not accepted")
        interim = True
    ymd, serial, check = match["date"], match["serial"], int(match["check"])
    luhn_serial = "1" + serial[1:] if interim else serial
    if luhn_digit(ymd + luhn_serial) != check:
        raise InvalidPersonnummer("check digit does not match")
    if serial == "000":
        raise InvalidPersonnummer("serial number 000 is not issued")
    month, raw_day = int(ymd[2:4]), int(ymd[4:6])
    coordination = raw_day >= COORDINATION_DAY_OFFSET
    day = raw_day - COORDINATION_DAY_OFFSET if coordination else raw_day
    if match["century"] is not None:
        year = int(match["century"] + ymd[:2])
    else:
        year = infer_year(int(ymd[:2]), match["sep"] == "+", month, day, reference)
    born = birth_date_of(year, month, day, coordination=coordination)
    if born is None:
        raise InvalidPersonnummer("birth date does not exist")
    if born[0] > reference:
        raise InvalidPersonnummer("birth date is after the reference date")
    return Personnummer(
        normalized=f"{year:04d}{ymd[2:]}{serial}{check}",
        birth_date=born[0],
        birth_date_precision=born[1],
        sex=sex_from_serial(luhn_serial),
        is_coordination_number=coordination,
        is_interim=interim,
    )


def written_forms(pnr: Personnummer, *, reference_date: date | None = None) -> dict[str, str]:
    """Every way a deliverer may write this number, keyed by form name.

    The 10-digit separated form uses ``+`` when the person has turned 100 at
    ``reference_date`` (default today), as Skatteverket prescribes.
    """
    reference = reference_date or date.today()
    n = pnr.normalized
    centenarian = _has_turned(pnr.birth_date, 100, reference)
    sep = "+" if centenarian else "-"
    forms = {
        "long": n,
        "long_dash": f"{n[:8]}-{n[8:]}",
        "short_separated": f"{n[2:8]}{sep}{n[8:]}",
        "integer": n,
    }
    if not centenarian:
        forms["short"] = n[2:]
    return forms


def _has_turned(born: date, years: int, reference: date) -> bool:
    try:
        anniversary = born.replace(year=born.year + years)
    except ValueError:  # 29 February in a non-leap year
        anniversary = date(born.year + years, 3, 1)
    return anniversary <= reference
