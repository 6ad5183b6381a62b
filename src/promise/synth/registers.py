"""National Patient Register rows: inpatient care from 1987, specialised outpatient care from 2001.

Disease onsets are recorded on the day they happen (inpatient before 2001, mostly outpatient
after); people whose diabetes began before 1997 get an ICD-10 diabetes code in 1997-2000
if still followed, so that the ICD-10 era holds no unrecorded prevalent cases. Background
care fills the rest with codes that match none of the planted endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of, year_of, yyyymmdd
from promise.synth.diseases import Histories
from promise.synth.events import Events, Forms, disease_codes, era, pick, poisson_days
from promise.synth.model import band_rates, codes, model_day, register_start
from promise.synth.population import NEVER, Persons

K_BACKGROUND, K_T2D, K_MI, K_BREAST, K_HTN, K_ASTHMA, K_FOLLOW = range(7)
N_DIA, N_EKOD = 30, 5


@dataclass
class Records:
    """Formatted lines of one file plus what the endpoint tally needs."""

    lines: list[str]
    rows: np.ndarray
    days: np.ndarray
    codes: list[list[str]]


def _onset(
    ev: Events, h_days: np.ndarray, lo: int, hi: int, name: str, kind: int, rng: np.random.Generator
) -> None:
    rows = np.flatnonzero((h_days >= lo) & (h_days < hi))
    ev.add(rows, h_days[rows], disease_codes(name, h_days[rows], rng), kind)


def inpatient_events(p: Persons, h: Histories, rng: np.random.Generator) -> Events:
    """Inpatient stays (admission days) from 1987 to the end of follow-up."""
    ev = Events()
    start, out_start, icd10 = (
        register_start("npr_inpatient"),
        register_start("npr_outpatient"),
        register_start("icd10"),
    )
    _onset(ev, h.t2d, start, out_start, "E4_DM2", K_T2D, rng)
    late = h.t2d >= out_start
    later = np.flatnonzero(late & (h.t2d < NEVER) & (rng.random(p.size) < 0.1))
    ev.add(later, h.t2d[later], disease_codes("E4_DM2", h.t2d[later], rng), K_T2D)
    lo = np.maximum(np.maximum(h.t2d, icd10), p.entry)
    hi = np.minimum(h.exit, out_start)
    need = np.flatnonzero((h.t2d < icd10) & (lo < hi))
    days = lo[need] + (rng.random(need.size) * (hi[need] - lo[need])).astype(np.int64)
    ev.add(need, days, pick(codes()["background_inpatient"][10], need.size, rng), K_FOLLOW)
    for i in range(len(ev.main) - need.size, len(ev.main)):
        ev.secondary[i].append("E119")
    mi = np.flatnonzero((h.mi >= start) & (h.mi < NEVER) & h.mi_admitted)
    ev.add(mi, h.mi[mi], disease_codes("I9_MI", h.mi[mi], rng), K_MI)
    bday = np.minimum(h.breast + rng.integers(0, 30, p.size), h.exit - 1)
    br = np.flatnonzero((h.breast >= start) & (h.breast < NEVER))
    ev.add(br, bday[br], disease_codes("C3_BREAST", bday[br], rng), K_BREAST)
    _onset(ev, h.hypertension, start, out_start, "HYPERTENSION", K_HTN, rng)
    _onset(ev, h.asthma, start, out_start, "ASTHMA", K_ASTHMA, rng)
    rows, days = poisson_days(
        p, np.maximum(p.entry, start), h.exit, band_rates("inpatient_per_year"), rng
    )
    eras = era(days)
    main = [""] * rows.size
    for version in (9, 10):
        idx = np.flatnonzero(eras == version)
        for i, code in zip(
            idx.tolist(), pick(codes()["background_inpatient"][version], idx.size, rng), strict=True
        ):
            main[i] = code
    ev.add(rows, days, main, K_BACKGROUND)
    _comorbidities(ev, h, rng)
    return ev


def outpatient_events(p: Persons, h: Histories, rng: np.random.Generator) -> Events:
    """Specialised outpatient visits from 2001 to the end of follow-up."""
    ev = Events()
    start = register_start("npr_outpatient")
    t2d = np.where(h.t2d >= start, h.t2d, NEVER)
    first = np.flatnonzero(t2d < NEVER)
    ev.add(first, t2d[first], disease_codes("E4_DM2", t2d[first], rng), K_T2D)
    _onset(ev, h.hypertension, start, NEVER, "HYPERTENSION", K_HTN, rng)
    _onset(ev, h.asthma, start, NEVER, "ASTHMA", K_ASTHMA, rng)
    for name, onset, rate in (
        ("E4_DM2", h.t2d, 0.4),
        ("HYPERTENSION", h.hypertension, 0.15),
        ("ASTHMA", h.asthma, 0.15),
    ):
        lo = np.maximum(np.maximum(onset, start) + 30, p.entry)
        lo = np.where(onset < NEVER, lo, h.exit)
        rows, days = poisson_days(p, lo, h.exit, np.full(7, rate), rng, cap=12)
        ev.add(rows, days, disease_codes(name, days, rng), K_FOLLOW)
    mi = np.flatnonzero((h.mi < NEVER) & ~h.mi_fatal & (h.mi + 40 < h.exit) & (h.mi + 40 >= start))
    ev.add(mi, h.mi[mi] + 40, ["I252"] * mi.size, K_FOLLOW)
    br = np.flatnonzero((h.breast < NEVER) & (h.breast + 60 < h.exit) & (h.breast + 60 >= start))
    ev.add(br, h.breast[br] + 60, disease_codes("C3_BREAST", h.breast[br] + 60, rng), K_FOLLOW)
    rows, days = poisson_days(
        p, np.maximum(p.entry, start), h.exit, band_rates("outpatient_per_year"), rng
    )
    ev.add(rows, days, pick(codes()["outpatient_codes"], rows.size, rng), K_BACKGROUND)
    _comorbidities(ev, h, rng)
    return ev


def _comorbidities(ev: Events, h: Histories, rng: np.random.Generator) -> None:
    """Secondary diagnoses: known chronic conditions (after onset) and a random extra code."""
    rows, days, _ = ev.arrays()
    draws = rng.random((rows.size, 3))
    extra = pick(codes()["outpatient_codes"], rows.size, rng)
    eras = era(days)
    for name, onset, col in (
        ("E4_DM2", h.t2d, 0),
        ("HYPERTENSION", h.hypertension, 1),
        ("ASTHMA", h.asthma, 2),
    ):
        has = np.flatnonzero((onset[rows] < days) & (draws[:, col] < 0.5) & (eras >= 9))
        for i, code in zip(has.tolist(), disease_codes(name, days[has], rng), strict=True):
            if code not in ev.secondary[i] and code != ev.main[i]:
                ev.secondary[i].append(code)
    for i in np.flatnonzero((draws[:, 0] > 0.7) & (eras == 10)).tolist():
        if extra[i] != ev.main[i]:
            ev.secondary[i].append(extra[i])


def format_npr(
    p: Persons,
    h: Histories,
    ev: Events,
    forms: Forms,
    rng: np.random.Generator,
    *,
    inpatient: bool,
    diagnos: bool,
    select: np.ndarray,
) -> Records:
    """Tab-separated NPR lines of the ``select``ed events; ``diagnos`` writes one ``DIAGNOS`` string."""
    rows, days, kind = ev.arrays()
    sel = np.flatnonzero(select)
    rows, days, kind = rows[sel], days[sel], kind[sel]
    main = [ev.main[i] for i in sel.tolist()]
    secondary = [ev.secondary[i] for i in sel.tolist()]
    n = rows.size
    end = model_day("data_end")
    icd10 = register_start("icd10")
    los = np.where(kind == K_MI, rng.integers(2, 10, n), rng.integers(0, 7, n))
    out_day = np.maximum(np.minimum(np.minimum(days + los, end), h.exit[rows] - 1), days)
    out_day = np.where((days < icd10) & (out_day >= icd10), icd10 - 1, out_day)
    pnr = forms.draw(rows, (0.55, 0.35, 0.10), rng)
    ind, utd = yyyymmdd(days).tolist(), yyyymmdd(out_day).tolist()
    year = year_of(out_day if inpatient else days).tolist()
    age = ((days - p.birth[rows]) / DAYS_PER_YEAR).astype(np.int64).tolist()
    kon = (p.sex[rows] + 1).tolist()
    c = codes()
    hosp = pick(c["hospitals"], n, rng)
    dept = pick(c["departments"]["inpatient" if inpatient else "outpatient"], n, rng)
    eras = era(days)
    op = _procedures(kind, eras, rng)
    ekod = _external(main, eras, rng) if inpatient else [""] * n
    lines: list[str] = []
    all_codes: list[list[str]] = []
    for i in range(n):
        diags = [main[i], *secondary[i]]
        all_codes.append(diags)
        head = f"{pnr[i]}\t{year[i]}\t{ind[i]}\t" + (f"{utd[i]}\t" if inpatient else "")
        body = " ".join(diags) if diagnos else "\t".join(diags + [""] * (N_DIA + 1 - len(diags)))
        ek = (ekod[i] + "\t" * (N_EKOD - 1) + "\t") if inpatient else ""
        lines.append(f"{head}{body}\t{ek}{op[i]}\t{hosp[i]}\t{dept[i]}\t1\t{age[i]}\t{kon[i]}")
    return Records(lines=lines, rows=rows, days=days, codes=all_codes)


def _procedures(kind: np.ndarray, eras: np.ndarray, rng: np.random.Generator) -> list[str]:
    c = codes()["procedures"]
    n = kind.size
    draw = rng.random(n)
    picks = rng.integers(0, 1 << 30, (n, 2))
    out = [""] * n
    for i in np.flatnonzero(draw < 0.3).tolist():
        if eras[i] == 10:
            options = (
                c["MI"] if kind[i] == K_MI else (c["C3_BREAST"] if kind[i] == K_BREAST else c[10])
            )
            first = options[picks[i, 0] % len(options)]
            out[i] = f"{first} {options[picks[i, 1] % len(options)]}" if draw[i] < 0.024 else first
        else:
            out[i] = c[9][picks[i, 0] % len(c[9])]
    return out


def _external(main: list[str], eras: np.ndarray, rng: np.random.Generator) -> list[str]:
    c = codes()["external_causes"]
    out = [""] * len(main)
    for i, code in enumerate(main):
        if code.startswith("S") or code in ("820B",):
            options = c[10] if eras[i] == 10 else c[9]
            out[i] = options[int(rng.integers(0, len(options)))]
    return out


def diagnos_cutoff() -> int:
    """Admissions before this day go to the ``DIAGNOS`` delivery variant."""
    return day_of("1997-01-01")
