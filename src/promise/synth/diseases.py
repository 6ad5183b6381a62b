"""Disease histories that tie the registers together.

Type 2 diabetes (logistic liability on the baseline hazards, see ``genetics``), breast cancer
(women; some fatal years later), myocardial infarction (hazard doubled after a diabetes
diagnosis; some fatal on the day), hypertension and asthma (background, treated with drugs).
Deaths from these causes end follow-up; events after the end of follow-up are dropped. The
hazard of death from other causes is multiplied from each planted disease's onset on
(``death_hazard_ratio_after`` in ``model.yaml``; :func:`other_cause_death`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of
from promise.synth.genetics import case_probability, dm2_eta
from promise.synth.hazards import cumulative, draw_within, first_event
from promise.synth.model import band_edges, hazard_table, model, model_day
from promise.synth.population import NEVER, Persons, expected_share_b

CAUSE_OTHER, CAUSE_MI, CAUSE_BREAST = 0, 1, 2


@dataclass
class Histories:
    """Event days per person (NEVER when the event does not happen during follow-up)."""

    t2d: np.ndarray
    mi: np.ndarray
    mi_fatal: np.ndarray
    mi_admitted: np.ndarray
    breast: np.ndarray
    hypertension: np.ndarray
    asthma: np.ndarray
    death: np.ndarray  # recorded death (while resident, up to data end), else NEVER
    cause: np.ndarray  # CAUSE_* of a recorded death
    exit: np.ndarray  # first day not under follow-up: death, emigration or day after data end


def _age(days: np.ndarray, birth: np.ndarray) -> np.ndarray:
    return np.asarray((days - birth) / DAYS_PER_YEAR)


def _day(age: np.ndarray, birth: np.ndarray) -> np.ndarray:
    finite = np.isfinite(age)
    return np.where(
        finite, birth + np.floor(np.where(finite, age, 0.0) * DAYS_PER_YEAR), NEVER
    ).astype(np.int64)


def _start(process: str, p: Persons) -> np.ndarray:
    return np.asarray(np.maximum(p.entry, day_of(model()["incidence"][process]["process_start"])))


def simulate(p: Persons, rng: np.random.Generator) -> Histories:
    """Draw every person's disease history for one chunk."""
    n = p.size
    edges = band_edges()
    spec = model()["incidence"]
    end = model_day("data_end") + 1
    exit0 = np.minimum(np.minimum(p.natural_death, p.emigration), end)
    t2d = _type2_diabetes(p, exit0, rng)
    w = p.sex == 1
    a0, a1 = _age(_start("C3_BREAST", p), p.birth), _age(exit0, p.birth)
    breast_age = first_event(
        a0, a1, p.sex, hazard_table("C3_BREAST"), edges, rng.exponential(size=n)
    )
    breast = np.where(w, _day(breast_age, p.birth), NEVER)
    to_death = rng.exponential(spec["C3_BREAST"]["years_to_death_mean"], n) * DAYS_PER_YEAR
    fatal_breast = (rng.random(n) < spec["C3_BREAST"]["fatal"]) & (breast < NEVER)
    breast_death = np.where(fatal_breast, breast + 30 + to_death.astype(np.int64), NEVER)
    limit = np.minimum(exit0, breast_death)
    mi_spec = spec["I9_MI"]
    a0, a1 = _age(_start("I9_MI", p), p.birth), _age(limit, p.birth)
    mi_age = first_event(
        a0, a1, p.sex, hazard_table("I9_MI"), edges, rng.exponential(size=n),
        change_age=np.where(t2d < NEVER, _age(t2d, p.birth), np.inf),
        ratio=float(mi_spec["hazard_ratio_after_E4_DM2"]),
    )  # fmt: skip
    mi = _day(mi_age, p.birth)
    mi_fatal = (rng.random(n) < mi_spec["fatal_same_day"]) & (mi < NEVER)
    mi_admitted = ~mi_fatal | (rng.random(n) >= mi_spec["fatal_without_admission"])
    mi_death = np.where(mi_fatal, mi, NEVER)
    other = other_cause_death(p, {"E4_DM2": t2d, "I9_MI": np.where(mi_fatal, NEVER, mi), "C3_BREAST": breast})  # fmt: skip
    died = np.minimum(np.minimum(other, breast_death), mi_death)
    recorded = (died < p.emigration) & (died < end)
    death = np.where(recorded, died, NEVER)
    cause = np.select(
        [died == mi_death, died == breast_death], [CAUSE_MI, CAUSE_BREAST], CAUSE_OTHER
    )
    exit_day = np.minimum(np.minimum(death, p.emigration), end)
    t2d = np.where(t2d < exit_day, t2d, NEVER)
    breast = np.where(breast < exit_day, breast, NEVER)
    mi = np.where(mi <= exit_day, mi, NEVER)
    return Histories(
        t2d=t2d, mi=mi, mi_fatal=mi_fatal & (mi < NEVER), mi_admitted=mi_admitted,
        breast=breast,
        hypertension=_background("HYPERTENSION", p, exit_day, rng),
        asthma=_background("ASTHMA", p, exit_day, rng),
        death=death, cause=np.where(recorded, cause, CAUSE_OTHER), exit=exit_day,
    )  # fmt: skip


def other_cause_death(p: Persons, onsets: dict[str, np.ndarray]) -> np.ndarray:
    """Day of death from other causes when its Gompertz hazard is multiplied by
    ``death_hazard_ratio_after[disease]`` from each onset day (NEVER: no onset) on.

    The person's natural death (:mod:`promise.synth.population`) fixes the Exp(1) draw: the
    Gompertz hazard integrated from entry to it. Onsets are applied in the order they happen;
    at an onset at age ``x`` while alive, with death due at ``y``, the remaining integrated
    hazard ``H(x, y)`` is spent ``ratio`` times faster, so the new death ``y'`` solves
    ``H(x, y') = H(x, y) / ratio``: ``exp(b y') = exp(b x) + (exp(b y) - exp(b x)) / ratio``
    for ``H(x, y) = exp(a) / b (exp(b y) - exp(b x))``, that is
    ``y' = x + log1p(expm1(b (y - x)) / ratio) / b``. No new random draw is made, so a person
    without a planted disease dies on the same day as before.
    """
    ratios = model()["death_hazard_ratio_after"]
    names = list(onsets)
    days = np.column_stack([onsets[n] for n in names])
    ratio = np.array([float(ratios[n]) for n in names])
    order = np.argsort(days, axis=1, kind="stable")
    b = np.where(p.sex == 0, model()["mortality"]["male"]["b"], model()["mortality"]["female"]["b"])
    death = p.natural_death.copy()
    for k in range(len(names)):
        onset = np.take_along_axis(days, order[:, k : k + 1], axis=1)[:, 0]
        factor = ratio[order[:, k]]
        alive = (onset < death) & (onset < NEVER)
        x, y = _age(onset, p.birth), _age(death - 1, p.birth)
        later = x + np.log1p(np.expm1(b * np.clip(y - x, 0.0, None)) / factor) / b
        moved = p.birth + np.floor(np.where(alive, later, 0.0) * DAYS_PER_YEAR).astype(np.int64) + 1
        death = np.where(alive, np.maximum(moved, onset + 1), death)
    return np.asarray(death)


def _type2_diabetes(p: Persons, exit0: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Onset day of type 2 diabetes under the logistic liability (NEVER if none)."""
    edges, rates = band_edges(), hazard_table("E4_DM2")
    a0, a1 = _age(_start("E4_DM2", p), p.birth), _age(exit0, p.birth)
    a1 = np.maximum(a1, a0)
    total = cumulative(a0, a1, p.sex, rates, edges)
    prob = case_probability(-np.expm1(-total), dm2_eta(p.causal, p.ancestry), expected_share_b())
    case = rng.random(p.size) < prob
    age = draw_within(a0, a1, p.sex, rates, edges, rng.random(p.size))
    return np.where(case, _day(age, p.birth), NEVER)


def _background(
    process: str, p: Persons, exit_day: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    a0, a1 = _age(_start(process, p), p.birth), _age(exit_day, p.birth)
    age = first_event(
        a0, a1, p.sex, hazard_table(process), band_edges(), rng.exponential(size=p.size)
    )
    return _day(age, p.birth)


def start_of_follow_up(process: str, p: Persons) -> np.ndarray:
    """Day from which a process's hazard applies to each person."""
    return _start(process, p)
