"""Who is in the cohort: birth, sex, country of birth, immigration, emigration, natural death.

The extract holds everyone registered in Sweden at some time since 1969. Birth years are
drawn in proportion to Swedish births per year times survival to 1969 (for those born
earlier); foreign-born shares by birth decade follow SCB; mortality is Gompertz, entered
alive at the start of follow-up. Arrays hold one chunk of persons; nothing is kept
across chunks except the identity pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, EPOCH, day_of
from promise.synth.genetics import draw_causal
from promise.synth.identities import SOURCE_COORD, SOURCE_GENERATED, SOURCE_PIN, Pool, SerialCounter
from promise.synth.model import model, model_day

NEVER = 10**7  # a day number far beyond any date in the data
EPOCH_ORDINAL = EPOCH.toordinal()


@dataclass
class Persons:
    """One chunk of persons; days are counted from 1970-01-01."""

    index: np.ndarray  # global person index
    normalized: list[str]
    source: np.ndarray  # SOURCE_PIN / SOURCE_COORD / SOURCE_GENERATED
    birth: np.ndarray
    sex: np.ndarray  # 0 male, 1 female
    foreign: np.ndarray
    country: np.ndarray  # index into the country list of the person's ancestry (-1 native)
    county: np.ndarray
    reused: np.ndarray
    immigration: np.ndarray  # day of the Inv record, NEVER if none
    entry: np.ndarray  # start of follow-up
    natural_death: np.ndarray
    emigration: np.ndarray
    ancestry: np.ndarray  # 0 = A, 1 = B
    causal: np.ndarray  # (n, causal variants) effect-allele counts

    @property
    def size(self) -> int:
        """Number of persons in the chunk."""
        return int(self.index.size)


def gompertz_survival(age: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Probability of surviving from birth to ``age`` under the model's Gompertz hazards."""
    a, b = _gompertz(sex)
    return np.asarray(np.exp(-np.exp(a) / b * np.expm1(b * age)))


def _gompertz(sex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    spec = model()["mortality"]
    a = np.where(sex == 0, spec["male"]["a"], spec["female"]["a"])
    b = np.where(sex == 0, spec["male"]["b"], spec["female"]["b"])
    return a, b


@cache
def birth_year_weights() -> tuple[np.ndarray, np.ndarray]:
    """Birth years and their probabilities among people registered at some time since 1969."""
    lo, hi = (int(x[:4]) for x in model()["birth_range"])
    years = np.arange(lo, hi + 1)
    births = np.array(
        [model()["births_per_year_by_decade"][int(y // 10 * 10)] for y in years], float
    )
    age_1969 = np.clip(1969.0 - years - 0.5, 0.0, None)
    surv = 0.5 * (
        gompertz_survival(age_1969, np.zeros(1, int)) + gompertz_survival(age_1969, np.ones(1, int))
    )
    w = births * surv
    return years, w / w.sum()


@cache
def expected_share_b() -> float:
    """Expected share of ancestry B in the cohort (used to centre the liability)."""
    years, w = birth_year_weights()
    share = np.array([model()["foreign_born_share_by_decade"][int(y // 10 * 10)] for y in years])
    foreign = float(w @ share)
    anc = model()["ancestry"]
    return float(foreign * anc["foreign_born_B"] + (1 - foreign) * anc["native_B"])


def assign_identities(
    years: np.ndarray,
    coordination: np.ndarray,
    rng: np.random.Generator,
    pins: Pool,
    coords: Pool,
    serials: SerialCounter,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Numbers, sources, birth days and sexes: test numbers by birth year, then generated."""
    end = day_of(model()["birth_range"][1])
    n = years.size
    normalized: list[str] = []
    source = np.empty(n, np.int8)
    birth = np.empty(n, np.int64)
    sex = np.empty(n, np.int8)
    offsets = rng.random(n)
    sexes = (rng.random(n) >= 0.512).astype(np.int8)
    for i in range(n):
        year, coord = int(years[i]), bool(coordination[i])
        taken = (coords if coord else pins).take(year)
        if taken is not None:
            normalized.append(taken[0])
            birth[i], sex[i] = taken[1], taken[2]
            source[i] = SOURCE_COORD if coord else SOURCE_PIN
            continue
        first, last = day_of(f"{year}-01-01"), min(day_of(f"{year}-12-31"), end)
        day = first + int(offsets[i] * (last - first + 1))
        born = date.fromordinal(EPOCH_ORDINAL + day)
        text = f"{born.year:04d}{born.month:02d}{born.day + (60 if coord else 0):02d}"
        normalized.append(serials.next(text, int(sexes[i])))
        birth[i], sex[i], source[i] = day, sexes[i], SOURCE_GENERATED
    return normalized, source, birth, sex


def draw_persons(
    index: np.ndarray,
    rng: np.random.Generator,
    pins: Pool,
    coords: Pool,
    serials: SerialCounter,
) -> Persons:
    """One chunk of persons with identities and base life-course dates."""
    spec = model()
    n = index.size
    years_all, weights = birth_year_weights()
    years = rng.choice(years_all, size=n, p=weights)
    share = np.array([spec["foreign_born_share_by_decade"][int(y // 10 * 10)] for y in years])
    foreign = rng.random(n) < share
    coordination = foreign & (rng.random(n) < spec["coordination_share_of_foreign_born"])
    normalized, source, birth, sex = assign_identities(
        years, coordination, rng, pins, coords, serials
    )
    start, end = model_day("cohort_start"), model_day("data_end")
    imm = spec["immigration_age"]
    age_in = imm["offset"] + rng.gamma(imm["shape"], imm["scale"], n)
    immigration = birth + (age_in * DAYS_PER_YEAR).astype(np.int64)
    late = immigration > end - 30
    immigration = np.where(
        late, birth + (rng.random(n) * (end - 30 - birth)).astype(np.int64), immigration
    )
    immigration = np.where(foreign & (immigration >= start), np.maximum(immigration, birth), NEVER)
    entry = np.where(immigration < NEVER, immigration, np.maximum(birth, start))
    a, b = _gompertz(sex)
    age0 = (entry - birth) / DAYS_PER_YEAR
    age_death = np.log(np.exp(b * age0) + b * rng.exponential(size=n) / np.exp(a)) / b
    natural_death = birth + (age_death * DAYS_PER_YEAR).astype(np.int64) + 1
    rate = np.where(
        foreign, spec["emigration_per_year"]["foreign_born"], spec["emigration_per_year"]["native"]
    )
    emigration = entry + (rng.exponential(size=n) / rate * DAYS_PER_YEAR).astype(np.int64) + 1
    emigration = np.where(emigration <= end, emigration, NEVER)
    anc = spec["ancestry"]
    ancestry = (rng.random(n) < np.where(foreign, anc["foreign_born_B"], anc["native_B"])).astype(
        np.int64
    )
    country = np.where(foreign, rng.integers(0, 10, n), -1)
    county = rng.integers(0, 1 << 30, n)
    reused = rng.random(n) < spec["reused_number_share"]
    causal = draw_causal(ancestry, rng)
    return Persons(
        index=index, normalized=normalized, source=source, birth=birth, sex=sex.astype(np.int64),
        foreign=foreign, country=country, county=county, reused=reused, immigration=immigration,
        entry=entry, natural_death=natural_death, emigration=emigration, ancestry=ancestry,
        causal=causal,
    )  # fmt: skip


def delivery_reference() -> date:
    """The delivery date that fixes the century of 10-digit numbers."""
    return date.fromisoformat(str(model()["delivery_date"]))
