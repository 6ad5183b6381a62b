"""The rules a personnummer obeys, shared by the scalar and the column path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from promise.errors import PromiseError

Sex = Literal["male", "female"]
Precision = Literal["day", "month", "year"]

#: Letters Skatteverket uses in position 9 of interim numbers (tillfälliga personnummer).
INTERIM_LETTERS = "TRSUWXJKLMN"

#: Every accepted written form: optional century, YYMMDD, optional separator, serial, check digit.
PATTERN = re.compile(
    r"^(?P<century>\d{2})?(?P<date>\d{6})(?P<sep>[-+]?)(?P<serial>\d{3})(?P<check>\d)$",
    re.ASCII,  # digits 0-9 only: \d would also take Arabic-Indic and other Unicode digits
)
INTERIM_PATTERN = re.compile(
    rf"^(?P<century>\d{{2}})?(?P<date>\d{{6}})(?P<sep>[-+]?)(?P<serial>[{INTERIM_LETTERS}]\d{{2}})(?P<check>\d)$",
    re.ASCII,
)

COORDINATION_DAY_OFFSET = 60


class InvalidPersonnummer(PromiseError, ValueError):
    """A value that is not a valid personnummer or samordningsnummer.

    The message states the reason and never contains the full number.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid personnummer: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Personnummer:
    """A parsed, valid number. ``normalized`` is always 12 digits (``YYYYMMDDNNNC``)."""

    normalized: str
    birth_date: date
    birth_date_precision: Precision
    sex: Sex
    is_coordination_number: bool
    is_interim: bool = False

    def __repr__(self) -> str:  # never print the number itself
        return f"Personnummer(born={self.birth_date.year}, sex={self.sex})"


def luhn_digit(nine: str) -> int:
    """Check digit for the nine digits ``YYMMDDNNN`` (Luhn, weights 2,1,2,...)."""
    total = 0
    for i, ch in enumerate(nine):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def sex_from_serial(serial: str) -> Sex:
    """The third serial digit (position 9) is odd for men and even for women."""
    return "male" if int(serial[2]) % 2 == 1 else "female"


def infer_year(yy: int, plus: bool, month: int, day: int, reference: date) -> int:
    """Full birth year of a 10-digit form, relative to the delivery date ``reference``.

    Without ``+`` the person was born on or before ``reference``; with ``+`` the person had
    turned 100 by then. Month or day 0 (unknown) count as the earliest possible date.
    """
    base = reference.year - 100 if plus else reference.year
    year = base - ((base - yy) % 100)
    if year == base and (max(month, 1), max(day, 1)) > (reference.month, reference.day):
        year -= 100
    return year


def birth_date_of(
    year: int, month: int, day: int, *, coordination: bool
) -> tuple[date, Precision] | None:
    """The birth date and its precision, or None when the number cannot carry it.

    A personnummer holds a real calendar date. A coordination number may hold month 00
    (unknown month: precision ``year``), day 00 (written as 60, unknown day: precision
    ``month``) or, as Skatteverket's own test numbers do, a day 1-31 that the month does
    not have (taken as unknown day: precision ``month``).
    """
    if not 0 <= month <= 12 or not 0 <= day <= 31:
        return None
    if coordination and month == 0:
        return date(year, 1, 1), "year"
    if month == 0 or (day == 0 and not coordination):
        return None
    if day == 0:
        return date(year, month, 1), "month"
    try:
        return date(year, month, day), "day"
    except ValueError:
        if coordination:
            return date(year, month, 1), "month"
        return None
