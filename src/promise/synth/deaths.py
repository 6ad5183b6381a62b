"""Cause of Death Register and Cancer Register rows.

Deaths carry an underlying cause (the fatal disease, else a background cause of the era)
and contributing causes (diabetes, hypertension, others). Partial dates (``19870500``,
``19870000``) are written only for deaths before 1990 whose record can make nobody a case,
so that a date's lower bound never precedes a planted onset. Cancers before 1977 have
6-digit dates (``YYYYMM``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of, year_of, yyyymmdd
from promise.synth.diseases import CAUSE_BREAST, CAUSE_MI, Histories
from promise.synth.events import Forms, disease_codes, era, pick, poisson_days
from promise.synth.model import codes, model_day, register_start
from promise.synth.population import NEVER, Persons

N_MORSAK = 17


@dataclass
class CodedRows:
    """Formatted lines with the person row, day and codes of each (for the endpoint tally)."""

    lines: list[str]
    rows: np.ndarray
    days: np.ndarray
    codes: list[list[str]]


def format_deaths(p: Persons, h: Histories, forms: Forms, rng: np.random.Generator) -> CodedRows:
    """One ``dors`` line per recorded death."""
    rows = np.flatnonzero(h.death < NEVER)
    days = h.death[rows]
    n = rows.size
    eras = era(days)
    c = codes()
    underlying = [""] * n
    for version in (8, 9, 10):
        idx = np.flatnonzero(eras == version)
        for i, code in zip(
            idx.tolist(), pick(c["death_causes"][version], idx.size, rng), strict=True
        ):
            underlying[i] = code
    cause = h.cause[rows]
    early = (days < register_start("icd9")) & (cause == 0)
    u = rng.random(n)
    for i, code in zip(
        np.flatnonzero(cause == CAUSE_MI).tolist(),
        disease_codes("I9_MI", days[cause == CAUSE_MI], rng),
        strict=True,
    ):
        underlying[i] = code
    for i, code in zip(
        np.flatnonzero(cause == CAUSE_BREAST).tolist(),
        disease_codes("C3_BREAST", days[cause == CAUSE_BREAST], rng),
        strict=True,
    ):
        underlying[i] = code
    fatal_mi = np.flatnonzero(early & (u < 0.15))
    for i in fatal_mi.tolist():
        underlying[i] = "410,99"
    fatal_breast = np.flatnonzero(early & (u >= 0.15) & (u < 0.18) & (p.sex[rows] == 1))
    for i in fatal_breast.tolist():
        underlying[i] = "174,99"
    contributing = _contributing(p, h, rows, days, rng)
    neutral = (
        (cause == 0) & (h.t2d[rows] == NEVER) & (h.mi[rows] == NEVER) & (h.breast[rows] == NEVER)
    )
    neutral &= ~np.isin(np.arange(n), np.concatenate([fatal_mi, fatal_breast]))
    precision = np.where(
        neutral & (days < day_of("1990-01-01")), rng.choice(3, n, p=[0.9, 0.07, 0.03]), 0
    )
    ymd = yyyymmdd(days)
    written = np.where(
        precision == 1, ymd // 100 * 100, np.where(precision == 2, ymd // 10000 * 10000, ymd)
    )
    pnr = forms.draw(rows, (0.7, 0.2, 0.1), rng)
    dod, year = written.tolist(), year_of(days).tolist()
    lines: list[str] = []
    all_codes: list[list[str]] = []
    for i in range(n):
        more = contributing[i]
        lines.append(
            f"{pnr[i]};{dod[i]};{year[i]};{eras[i]};{underlying[i]};"
            + ";".join(more + [""] * (N_MORSAK - len(more)))
        )
        all_codes.append([underlying[i], *more])
    return CodedRows(lines=lines, rows=rows, days=days, codes=all_codes)


def _contributing(
    p: Persons, h: Histories, rows: np.ndarray, days: np.ndarray, rng: np.random.Generator
) -> list[list[str]]:
    n = rows.size
    out: list[list[str]] = [[] for _ in range(n)]
    draws = rng.random((n, 3))
    eras = era(days)
    for name, onset, col, share in (
        ("E4_DM2", h.t2d, 0, 0.4),
        ("HYPERTENSION", h.hypertension, 1, 0.3),
    ):
        has = np.flatnonzero((onset[rows] < days) & (draws[:, col] < share))
        for i, code in zip(has.tolist(), disease_codes(name, days[has], rng), strict=True):
            out[i].append(code)
    c = codes()["contributing_causes"]
    for i in np.flatnonzero(draws[:, 2] < 0.6).tolist():
        options = c[int(eras[i])]
        out[i].append(options[int(rng.integers(0, len(options)))])
    return out


def format_cancers(p: Persons, h: Histories, forms: Forms, rng: np.random.Generator) -> CodedRows:
    """One ``cancer`` line per tumour: planted breast cancers plus background tumours."""
    c = codes()["cancers"]
    breast = np.flatnonzero(h.breast < NEVER)
    start = np.maximum(p.entry, model_day("cohort_start"))
    per_year = np.asarray(codes()["background_cancer_per_1000_py"], dtype=np.float64) / 1000.0
    bg_rows, bg_days = poisson_days(p, start, h.exit, per_year, rng, cap=2)
    kinds = rng.integers(0, len(c["background"]), bg_rows.size)
    sex_ok = np.array(
        [
            c["background"][k]["sex"] in (None, ("male", "female")[p.sex[r]])
            for k, r in zip(kinds.tolist(), bg_rows.tolist(), strict=True)
        ],
        dtype=bool,
    )
    bg_rows, bg_days, kinds = bg_rows[sex_ok], bg_days[sex_ok], kinds[sex_ok]
    rows = np.concatenate([breast, bg_rows])
    days = np.concatenate([h.breast[breast], bg_days])
    spec = [
        {"icdo3": pick(c["C3_BREAST"]["icdo3"], 1, rng)[0], "icd7": c["C3_BREAST"]["icd7"],
         "snomed": pick(c["C3_BREAST"]["snomed"], 1, rng)[0], "ben": ""}
        for _ in range(breast.size)
    ] + [c["background"][k] for k in kinds.tolist()]  # fmt: skip
    ymd = yyyymmdd(days)
    short = days < register_start("cancer_8digit")
    diadat = [
        str(v // 100) if s else str(v) for v, s in zip(ymd.tolist(), short.tolist(), strict=True)
    ]
    pnr = forms.draw(rows, (0.7, 0.2, 0.1), rng)
    year = year_of(days).tolist()
    age = ((days - p.birth[rows]) / DAYS_PER_YEAR).astype(np.int64).tolist()
    kon = (p.sex[rows] + 1).tolist()
    lines = [
        f"{pnr[i]};{diadat[i]};{year[i]};{s['icd7']};{s['icdo3']};{s['snomed']};{s['ben']};{kon[i]};{age[i]}"
        for i, s in enumerate(spec)
    ]
    return CodedRows(lines=lines, rows=rows, days=days, codes=[[s["icdo3"]] for s in spec])
