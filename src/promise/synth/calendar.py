"""Dates as integer days since 1970-01-01, converted in bulk to the registers' text forms."""

from __future__ import annotations

from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)
DAYS_PER_YEAR = 365.2425


def day_of(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date string."""
    return (date.fromisoformat(iso) - EPOCH).days


def iso_of(day: int) -> str:
    """ISO date string of a day number."""
    return date.fromordinal(EPOCH.toordinal() + int(day)).isoformat()


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day-of-month arrays for day numbers."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    years = d.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (d - months).astype(np.int64) + 1
    return year, month, day


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Dates as integers ``YYYYMMDD``."""
    year, month, day = ymd_parts(days)
    return np.asarray(year * 10000 + month * 100 + day)


def yyyymmdd_text(days: np.ndarray) -> list[str]:
    """Dates as ``YYYYMMDD`` strings."""
    return [str(v) for v in yyyymmdd(days).tolist()]


def iso_text(days: np.ndarray) -> list[str]:
    """Dates as ``YYYY-MM-DD`` strings."""
    return [str(v) for v in np.asarray(days, dtype="int64").astype("datetime64[D]").astype(str)]


def years_of(days: np.ndarray) -> np.ndarray:
    """Day numbers as fractional calendar years (1970.0 = 1970-01-01)."""
    return 1970.0 + np.asarray(days, dtype=np.float64) / DAYS_PER_YEAR


def days_of_years(years: np.ndarray) -> np.ndarray:
    """Fractional calendar years back to day numbers (floored)."""
    return np.floor((np.asarray(years, dtype=np.float64) - 1970.0) * DAYS_PER_YEAR).astype(np.int64)


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return ymd_parts(days)[0]
