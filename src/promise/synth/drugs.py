"""Prescribed Drug Register rows from July 2005.

Treated conditions give regular dispensing series after diagnosis (A10B after type 2
diabetes, C09/C08 after hypertension, R03 after asthma, statins and aspirin after a heart
attack; shares, delays and intervals in ``model.yaml`` ``drug_initiation``, written to
``truth.json``); background courses fill the rest. The two dates mean what Socialstyrelsen's variable
list says: EDATUM is the dispensing date (expeditionsdatum), FDATUM the day the prescription
was written (förskrivningsdatum). A series is one prescription renewed every year, so its
refills share an FDATUM; a background course is one prescription written up to a month before
it is filled. Quirks: decimal packages for dose-dispensed drugs, negative corrections that
cancel an earlier row (never on A10B, so that counting dispensings for endpoints is
unambiguous), empty DDD per package, empty FDATUM on 1% of rows, 2005 dispensings piled on
month ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.synth.calendar import year_of, yyyymmdd
from promise.synth.diseases import Histories
from promise.synth.events import Forms, poisson_days
from promise.synth.model import band_rates, codes, model, register_start
from promise.synth.population import NEVER, Persons

CAP = 90
RENEWED_EVERY = 365
MISSING_FDATUM = 0.01


@dataclass
class Dispensings:
    """Dispensing rows before formatting: dispensing day and the day its prescription was written."""

    rows: np.ndarray
    day: np.ndarray
    written: np.ndarray
    drug: list[dict[str, str]]


def _series(
    p: Persons, onset: np.ndarray, stop: np.ndarray, options: list[dict[str, str]], interval: int,
    share: float, rng: np.random.Generator, delay: int = 14,
) -> Dispensings:  # fmt: skip
    start = np.maximum(np.maximum(onset + delay, register_start("lmed")), p.entry)
    treated = (onset < NEVER) & (start < stop) & (rng.random(p.size) < share)
    who = np.flatnonzero(treated)
    count = np.minimum((stop[who] - start[who]) // interval + 1, CAP)
    rows = np.repeat(who, count)
    step = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
    days = start[rows] + step * interval + rng.integers(0, interval // 4, rows.size)
    ok = days < stop[rows]
    choice = rng.integers(0, len(options), p.size)
    first_written = start - rng.integers(0, 15, p.size)  # the prescription, renewed yearly
    renewals = (days - start[rows]) // RENEWED_EVERY
    written = first_written[rows] + renewals * RENEWED_EVERY
    return Dispensings(
        rows[ok], days[ok], written[ok], [options[choice[r]] for r in rows[ok].tolist()]
    )


def dispensings(p: Persons, h: Histories, rng: np.random.Generator) -> Dispensings:
    """All dispensings of a chunk, unsorted."""
    d = codes()["drugs"]
    stop = h.exit
    onsets = {"E4_DM2": h.t2d, "I9_MI": h.mi, "HYPERTENSION": h.hypertension, "ASTHMA": h.asthma}
    parts = [
        _series(
            p, np.min([onsets[a] for a in spec["after"]], axis=0), stop, d[spec["drugs"]],
            int(spec["interval_days"]), float(spec["share"]), rng, int(spec["delay_days"]),
        )
        for spec in model()["drug_initiation"].values()
    ]  # fmt: skip
    rows, days = poisson_days(
        p,
        np.maximum(p.entry, register_start("lmed")),
        stop,
        band_rates("background_drug_courses_per_year"),
        rng,
    )
    options = d["background"]
    pick = rng.integers(0, len(options), rows.size)
    written = days - rng.integers(0, 31, rows.size)
    parts.append(Dispensings(rows, days, written, [options[i] for i in pick.tolist()]))
    return Dispensings(
        np.concatenate([x.rows for x in parts]),
        np.concatenate([x.day for x in parts]),
        np.concatenate([x.written for x in parts]),
        [drug for x in parts for drug in x.drug],
    )


def _month_end(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return ((d.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype(np.int64)


def _comma(value: str) -> str:
    return value.replace(".", ",")


def format_lmed(
    p: Persons, h: Histories, disp: Dispensings, forms: Forms, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, list[str]]:
    """Semicolon lines (decimal comma); returns lines, person rows and ATC codes per line.

    EDATUM is the dispensing day, FDATUM the prescription's (empty on 1% of rows). Correction
    rows (negative ANTAL) follow the row they cancel and carry the same ATC and dates.
    """
    n = disp.rows.size
    dispensed = disp.day.copy()
    month_end = _month_end(dispensed)
    pile = (year_of(dispensed) == 2005) & (rng.random(n) < 0.3) & (month_end < h.exit[disp.rows])
    dispensed = np.where(pile, month_end, dispensed)
    written = np.minimum(disp.written, dispensed)
    pnr = forms.draw(disp.rows, (0.6, 0.3, 0.1), rng)
    ed, ar = yyyymmdd(dispensed).tolist(), year_of(dispensed).tolist()
    missing = (rng.random(n) < MISSING_FDATUM).tolist()
    fd = ["" if m else str(v) for v, m in zip(yyyymmdd(written).tolist(), missing, strict=True)]
    draws = rng.random((n, 2))
    packs = rng.integers(1, 4, n)
    antal = [
        _comma(f"{q * 0.25:.2f}") if d else str(q)
        for q, d in zip(packs.tolist(), (draws[:, 0] < 0.03).tolist(), strict=True)
    ]
    correct = (draws[:, 1] < 0.005).tolist()
    who = disp.rows.tolist()
    lines: list[str] = []
    rows: list[int] = []
    atcs: list[str] = []
    for i in range(n):
        drug = disp.drug[i]
        atc = drug["atc"]
        tail = f"{drug['forpddd'].replace('.', ',')};{drug['vnr']};{ar[i]}"
        head = f"{pnr[i]};{atc};{ed[i]};{fd[i]};"
        lines.append(f"{head}{antal[i]};{tail}")
        rows.append(who[i])
        atcs.append(atc)
        if correct[i] and not atc.startswith("A10B"):
            lines.append(f"{head}-{antal[i]};{tail}")
            rows.append(who[i])
            atcs.append(atc)
    return lines, np.asarray(rows, dtype=np.int64), atcs
