"""The planted incidence rates explain the first events found in the files.

For each endpoint, person-time at risk in the window is rebuilt from the files (birth and
sex from the personnummer, immigration and emigration from the migration register, death
from the death register, first qualifying record from the registers) and multiplied by
truth.json's rates; the observed number of first events must agree within 3 Poisson SDs.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from synth_scan import LAYOUTS, clean_rows, person_of

pytestmark = pytest.mark.integration

BANDS = ((0, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 200))


def _date(text: str) -> date:
    text = text if len(text) == 8 else text + "01"
    return date(int(text[:4]), max(int(text[4:6]), 1), max(int(text[6:8]), 1))


def _rows(landing: Path, glob: str) -> list[dict[str, str]]:
    layout = LAYOUTS[glob]
    return [r for p in sorted(landing.glob(glob)) for r in clean_rows(p, layout)]


def _key(text: str) -> str:
    person = person_of(text)
    assert person is not None
    return person.normalized


def _first_events(landing: Path) -> dict[str, dict[str, date]]:
    """Earliest qualifying record per person for E4_DM2, I9_MI and C3_BREAST."""
    first: dict[str, dict[str, date]] = {"E4_DM2": {}, "I9_MI": {}, "C3_BREAST": {}}

    def note(name: str, who: str, when: date) -> None:
        if who not in first[name] or when < first[name][who]:
            first[name][who] = when

    for glob in (
        "npr_inpatient/par_sv_diagnos*.txt",
        "npr_inpatient/par_sv_[0-9]*.txt",
        "npr_outpatient/par_ov*.txt",
    ):
        for row in _rows(landing, glob):
            found = row.get("DIAGNOS", "").split(" ") + [
                v for k, v in row.items() if k == "HDIA" or k.startswith("DIA")
            ]
            when = _date(row["INDATUM"])
            if when.year >= 1997 and any(c.startswith("E11") for c in found):
                note("E4_DM2", _key(row["PersonNr"]), when)
            if any(
                c.startswith(("I21", "I22")) or (when.year < 1997 and c.startswith("410"))
                for c in found
            ):
                note("I9_MI", _key(row["PersonNr"]), when)
    for row in _rows(landing, "dors/dors*.csv"):
        found = [v for k, v in row.items() if k == "ULORSAK" or k.startswith("MORSAK")]
        when = _date(row["DODSDAT"])
        if any(c.startswith(("I21", "I22", "410")) for c in found):
            note("I9_MI", _key(row["PersonNr"]), when)
        if any(c.startswith("E11") for c in found):
            note("E4_DM2", _key(row["PersonNr"]), when)
    for row in _rows(landing, "cancer/cancer*.csv"):
        if row["ICDO3"].startswith("C50"):
            note("C3_BREAST", _key(row["PersonNr"]), _date(row["DIADAT"]))
    return first


def _follow_up(landing: Path) -> dict[str, tuple[date, date, str, date]]:
    """Person -> (entry, exit, sex, birth date)."""
    entry: dict[str, date] = {}
    leave: dict[str, date] = {}
    for row in _rows(landing, "migration/rtb_migration*.csv"):
        (entry if row["PostTyp"] == "Inv" else leave)[_key(row["PersonNr"])] = _date(row["Datum"])
    for row in _rows(landing, "dors/dors*.csv"):
        who = _key(row["PersonNr"])
        died = _date(row["DODSDAT"]) + timedelta(
            days=1
        )  # the day of death is still followed (fatal events)
        leave[who] = min(leave.get(who, date.max), died)
    out = {}
    for row in _rows(landing, "population/rtb_population*.csv"):
        person = person_of(row["PersonNr"])
        assert person is not None
        who = person.normalized
        start = entry.get(who, max(person.birth_date, date(1969, 1, 1)))
        out[who] = (start, leave.get(who, date(2026, 1, 1)), person.sex, person.birth_date)
    return out


def _years_in_bands(birth: date, start: date, stop: date) -> list[float]:
    a0 = (start - birth).days / 365.2425
    a1 = (stop - birth).days / 365.2425
    return [max(0.0, min(a1, hi) - max(a0, lo)) for lo, hi in BANDS]


@pytest.mark.parametrize("name", ["E4_DM2", "I9_MI", "C3_BREAST"])
def test_planted_rates_explain_first_events(
    small_landing: tuple[Path, dict[str, Any]], name: str
) -> None:
    landing, truth = small_landing
    spec = truth["incidence"][name]
    w0, w1 = (date.fromisoformat(d) for d in spec["window"])
    first = _first_events(landing)
    dm2 = first["E4_DM2"]
    expected = observed = 0.0
    for who, (entry, leave, sex, birth) in _follow_up(landing).items():
        event = first[name].get(who)
        start, stop = max(entry, w0), min(leave, w1 + timedelta(days=1))
        if event is not None and event < start:
            continue
        if event is not None and event < stop:
            stop, observed = event, observed + 1
        if stop <= start:
            continue
        rates = list(spec["per_1000_py"][sex].values())
        onset = dm2.get(who)
        if name == "I9_MI" and onset is not None and onset < stop:
            split = max(onset, start)
            before = _years_in_bands(birth, start, split)
            after = _years_in_bands(birth, split, stop)
            hr = spec["hazard_ratio_after_E4_DM2"]
            expected += (
                sum(r * (b + hr * a) for r, b, a in zip(rates, before, after, strict=True)) / 1000
            )
        else:
            expected += (
                sum(r * y for r, y in zip(rates, _years_in_bands(birth, start, stop), strict=True))
                / 1000
            )
    assert expected > 25
    print(f"{name}: observed {observed:.0f} first events in the window, expected {expected:.1f}")
    assert abs(observed - expected) < 3 * math.sqrt(expected), (name, observed, expected)
