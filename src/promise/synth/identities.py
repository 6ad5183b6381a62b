"""Identities of synthetic people: Skatteverket's test numbers first, generated ones after.

Skatteverket publishes test personnummer (``allPins.json``) and samordningsnummer
(``allCoords.json``) that belong to nobody. A cohort takes them, by birth year, as far as
they go; beyond that it generates valid numbers from the same birth-date range, with
serial numbers that never repeat a test number, and marks them as generated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from promise.errors import ConfigurationError
from promise.pnr import luhn_digit, parse
from promise.synth.calendar import EPOCH, ymd_parts

SOURCE_PIN, SOURCE_COORD, SOURCE_GENERATED = 0, 1, 2
MALE_DIGITS = (1, 3, 5, 7, 9)
FEMALE_DIGITS = (0, 2, 4, 6, 8)
SERIALS_PER_SEX = 500


def luhn_digits(nine: np.ndarray) -> np.ndarray:
    """Luhn check digits for an (n, 9) digit array ``YYMMDDNNN`` (weights 2,1,2,...)."""
    weights = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])
    products = nine * weights
    total = (products - 9 * (products > 9)).sum(axis=1)
    return np.asarray((10 - total % 10) % 10)


@dataclass(frozen=True)
class Pool:
    """Test numbers of one kind grouped by birth year, in a seeded shuffled order."""

    by_year: dict[int, list[tuple[str, int, int]]]  # year -> [(normalized, birth_day, sex)]
    taken: dict[int, int] = field(default_factory=dict)

    def take(self, year: int) -> tuple[str, int, int] | None:
        """The next unused number born in ``year``, or None when the year is used up."""
        entries = self.by_year.get(year, [])
        used = self.taken.get(year, 0)
        if used >= len(entries):
            return None
        self.taken[year] = used + 1
        return entries[used]


@cache
def load_test_numbers(path: Path, *, reference: date) -> tuple[tuple[str, int, int], ...]:
    """Parse a Skatteverket list into (normalized, birth_day, sex 0/1), duplicates dropped (cached)."""
    if not path.is_file():
        raise ConfigurationError(
            f"Skatteverket's test numbers {path.name} were not found in {path.parent}: "
            "they ship with promise, so reinstall it (uv sync), or unset PROMISE_REFERENCE_DIR "
            "or point it at a folder that holds personnummer/."
        )
    seen: set[str] = set()
    out: list[tuple[str, int, int]] = []
    for value in json.loads(path.read_text(encoding="utf-8")):
        pnr = parse(str(value), reference_date=reference)
        if pnr.normalized in seen:
            continue
        seen.add(pnr.normalized)
        out.append((pnr.normalized, (pnr.birth_date - EPOCH).days, int(pnr.sex == "female")))
    return tuple(out)


def make_pool(entries: tuple[tuple[str, int, int], ...], rng: np.random.Generator) -> Pool:
    """Group numbers by birth year and shuffle each year with ``rng``."""
    by_year: dict[int, list[tuple[str, int, int]]] = {}
    for entry in sorted(entries):
        by_year.setdefault(int(entry[0][:4]), []).append(entry)
    for year in sorted(by_year):
        order = rng.permutation(len(by_year[year]))
        by_year[year] = [by_year[year][i] for i in order]
    return Pool(by_year=by_year)


class SerialCounter:
    """Hands out unused serial numbers per birth date and sex for generated numbers.

    Serials are a fixed permutation of the 500 per sex, offset by the date, so that a
    date's numbers look scattered; test numbers and serial 000 are skipped. The cohort's
    counter walks the permutation from its start and the one for parents outside the cohort
    (``from_end``) from its end, each at most half of it, so the two never hand out the same
    number. Memory grows with the number of distinct birth dates (at most ~50,000), not with
    the cohort.
    """

    def __init__(self, reserved: set[str], *, from_end: bool = False) -> None:
        self.reserved = reserved
        self.from_end = from_end
        self.count: dict[tuple[str, int], int] = {}

    def next(self, yyyymmdd: str, sex: int) -> str:
        """Next free 12-digit number ``YYYYMMDDNNNC`` for the date (with day +60 if coordination)."""
        key = (yyyymmdd, sex)
        k = self.count.get(key, 0)
        digits = FEMALE_DIGITS if sex else MALE_DIGITS
        offset = int(yyyymmdd) % SERIALS_PER_SEX
        while True:
            if k >= SERIALS_PER_SEX // 2:
                raise ConfigurationError("too many persons born on one day: lower --persons")
            step = SERIALS_PER_SEX - 1 - k if self.from_end else k
            j = (step * 263 + offset) % SERIALS_PER_SEX
            serial = f"{j // 5:02d}{digits[j % 5]}"
            k += 1
            nine = yyyymmdd[2:] + serial
            if serial == "000" or (yyyymmdd + serial) in self.reserved:
                continue
            check = luhn_digit(nine)
            self.count[key] = k
            return f"{yyyymmdd}{serial}{check}"


def date_text(days: np.ndarray, coordination: np.ndarray) -> list[str]:
    """``YYYYMMDD`` of birth days, with 60 added to the day for coordination numbers."""
    year, month, day = ymd_parts(days)
    day = day + 60 * coordination.astype(np.int64)
    return [
        f"{y:04d}{m:02d}{d:02d}"
        for y, m, d in zip(year.tolist(), month.tolist(), day.tolist(), strict=True)
    ]


def written_form_table(normalized: list[str], centenarian: np.ndarray) -> np.ndarray:
    """An (n, 3) array of written forms: ``YYYYMMDDNNNC``, ``YYMMDD-NNNC`` (``+`` at 100), ``YYYYMMDD-NNNC``."""
    seps = np.where(centenarian, "+", "-").tolist()
    rows = [
        (n, f"{n[2:8]}{s}{n[8:]}", f"{n[:8]}-{n[8:]}")
        for n, s in zip(normalized, seps, strict=True)
    ]
    return np.array(rows, dtype=object).reshape(len(normalized), 3)


def has_turned_100(birth_days: np.ndarray, reference: date) -> np.ndarray:
    """Whether each person (by birth day) has turned 100 at ``reference``."""
    year, month, day = ymd_parts(birth_days)
    md = month * 100 + day
    ref_md = reference.month * 100 + reference.day
    return np.asarray(
        (year + 100 < reference.year) | ((year + 100 == reference.year) & (md <= ref_md))
    )
