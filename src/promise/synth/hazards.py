"""Piecewise-constant hazards by age band: cumulative hazard and its inverse, vectorised.

A person is at risk between ages ``a0`` and ``a1`` (years); the hazard in band ``k`` is
``rates[sex, k]`` per year. The first event under the hazard is found by drawing
``E ~ Exp(1)`` and solving ``Lambda(a0, a) = E`` (inverse transform).
"""

from __future__ import annotations

import numpy as np


def band_exposure(a0: np.ndarray, a1: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Years spent in each age band between ``a0`` and ``a1``: shape (n, bands)."""
    lo = np.maximum(a0[:, None], edges[None, :-1])
    hi = np.minimum(a1[:, None], edges[None, 1:])
    return np.asarray(np.clip(hi - lo, 0.0, None))


def cumulative(
    a0: np.ndarray, a1: np.ndarray, sex: np.ndarray, rates: np.ndarray, edges: np.ndarray
) -> np.ndarray:
    """Integrated hazard between ages ``a0`` and ``a1`` (zero where ``a1 <= a0``)."""
    return np.asarray((band_exposure(a0, a1, edges) * rates[sex]).sum(axis=1))


def invert(
    a0: np.ndarray,
    target: np.ndarray,
    sex: np.ndarray,
    rates: np.ndarray,
    edges: np.ndarray,
) -> np.ndarray:
    """Age at which the hazard integrated from ``a0`` reaches ``target`` (inf if never)."""
    big = np.full_like(a0, 1e9)
    exposure = band_exposure(a0, big, edges)
    per_band = exposure * rates[sex]
    cum = np.cumsum(per_band, axis=1)
    reached = cum >= target[:, None]
    found = reached.any(axis=1)
    band = np.argmax(reached, axis=1)
    rows = np.arange(a0.size)
    before = cum[rows, band] - per_band[rows, band]
    start = np.maximum(a0, edges[band])
    rate = rates[sex, band]
    with np.errstate(divide="ignore", invalid="ignore"):
        age = start + (target - before) / rate
    return np.where(found & (rate > 0), age, np.inf)


def first_event(
    a0: np.ndarray,
    a1: np.ndarray,
    sex: np.ndarray,
    rates: np.ndarray,
    edges: np.ndarray,
    draws: np.ndarray,
    *,
    change_age: np.ndarray | None = None,
    ratio: float = 1.0,
) -> np.ndarray:
    """Age at the first event in ``[a0, a1)``, or inf; ``draws`` are Exp(1) variates.

    With ``change_age``, the hazard is multiplied by ``ratio`` from that age on (a
    time-varying exposure such as a diagnosis that raises the risk of another).
    """
    if change_age is None:
        age = invert(a0, draws, sex, rates, edges)
    else:
        split = np.clip(change_age, a0, a1)
        before = cumulative(a0, split, sex, rates, edges)
        first = invert(a0, draws, sex, rates, edges)
        later = invert(split, (draws - before) / ratio, sex, rates, edges)
        age = np.where(draws < before, first, later)
    return np.where(age < a1, age, np.inf)


def draw_within(
    a0: np.ndarray,
    a1: np.ndarray,
    sex: np.ndarray,
    rates: np.ndarray,
    edges: np.ndarray,
    uniform: np.ndarray,
) -> np.ndarray:
    """Age of an event known to happen in ``[a0, a1)``, distributed as the hazard's shape."""
    total = cumulative(a0, a1, sex, rates, edges)
    prob = -np.expm1(-total)
    target = -np.log1p(-uniform * prob)
    age = invert(a0, target, sex, rates, edges)
    return np.asarray(np.minimum(age, np.nextafter(a1, a0)))
