"""Families among the genotyped: who is whose parent or sibling, and the planted errors.

Built once, before anything is written, from the genotyped persons the pre-pass chose (their
birth days, sexes, ancestries and exits are fixed by then). Family shapes are drawn in the
proportions of ``model.yaml`` (``families``) and filled greedily with genotyped persons of
the same ancestry whose ages fit (a mother 18-42 years older than her child, a father 20-50,
siblings 1-10 years apart, parents alive at the birth); children are Swedish-born index
persons of the Multi-Generation Register (born 1932 or later), whom each person joins at
most once. Parents who are not genotyped are people outside the cohort, with numbers of
their own. Then a few children get a biological father other than the registered one
(pedigree errors) and a few pairs of samples exchange genotypes (sample swaps).

Individuals 0..G-1 are the genotyped in global person order; parents outside the cohort
follow. :mod:`promise.synth.relatedness` draws the meioses and derives the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of
from promise.synth.identities import SerialCounter, date_text
from promise.synth.model import model

Array = np.ndarray[Any, Any]
TRIES = 40
GENETIC_SHAPES = ("trio", "duo", "siblings", "nuclear", "half_siblings")


@dataclass
class People:
    """The genotyped persons in global person order."""

    index: Array
    number: list[str]
    birth: Array
    sex: Array  # 0 male, 1 female
    ancestry: Array
    exit: Array
    native: Array


@dataclass
class Pedigree:
    """Biological and registered parents of every individual (-1: none or not known)."""

    people: People
    number: list[str]
    sex: list[int]
    birth: list[int]
    ancestry: list[int]
    mother: list[int] = field(default_factory=list)
    father: list[int] = field(default_factory=list)
    reg_mother: list[int] = field(default_factory=list)
    reg_father: list[int] = field(default_factory=list)
    adoptive_mother: list[int] = field(default_factory=list)
    family: list[int] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)
    non_paternity: list[int] = field(default_factory=list)
    swaps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def n_genotyped(self) -> int:
        """Genotyped individuals (the first ones)."""
        return len(self.people.number)

    def position(self, person_index: Array) -> Array:
        """Genotyped position of each global person index (-1 when not genotyped)."""
        if not self.n_genotyped:
            return np.full(np.shape(person_index), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.people.index, person_index), self.n_genotyped - 1)
        return np.where(self.people.index[pos] == person_index, pos, -1)

    def members(self, fam: int) -> list[int]:
        """Genotyped members of one family."""
        return [i for i in range(self.n_genotyped) if self.family[i] == fam]

    def families(self) -> list[list[int]]:
        """Genotyped members of every family, by family number."""
        out: list[list[int]] = [[] for _ in self.shapes]
        for i in range(self.n_genotyped):
            if self.family[i] >= 0:
                out[self.family[i]].append(i)
        return out


def build_pedigree(people: People, serials: SerialCounter, rng: np.random.Generator) -> Pedigree:
    """Families among ``people``, with pedigree errors and sample swaps planted."""
    b = _Builder(people, serials, rng)
    spec = model()["families"]
    shapes = list(spec["shapes"])
    weights = np.array([spec["shapes"][s] for s in shapes], dtype=np.float64)
    target = round(float(spec["share_of_genotyped"]) * len(people.number))
    members, attempts = 0, 0
    while members < target and attempts < 20 * max(target, 1):
        attempts += 1
        shape = shapes[int(rng.choice(len(shapes), p=weights / weights.sum()))]
        members += b.try_shape(shape)
    b.plant_non_paternity(int(spec["pedigree_errors"]))
    b.plant_swaps(int(spec["sample_swaps"]))
    return b.ped


class _Builder:
    def __init__(self, people: People, serials: SerialCounter, rng: np.random.Generator) -> None:
        n = len(people.number)
        self.ped = Pedigree(
            people=people, number=list(people.number), sex=people.sex.tolist(),
            birth=people.birth.tolist(), ancestry=people.ancestry.tolist(),
            mother=[-1] * n, father=[-1] * n, reg_mother=[-1] * n, reg_father=[-1] * n,
            adoptive_mother=[-1] * n, family=[-1] * n,
        )  # fmt: skip
        self.serials, self.rng, self.p = serials, rng, people
        self.free = np.ones(n, dtype=bool)
        first = day_of(str(model()["multigen"]["index_born_from"]))
        self.child_ok = people.native & (people.birth >= first)
        self.groups, self.births = {}, {}  # by (sex, ancestry), in order of birth
        for sex in (0, 1):
            for anc in (0, 1):
                idx = np.flatnonzero((people.sex == sex) & (people.ancestry == anc))
                idx = idx[np.argsort(people.birth[idx], kind="stable")]
                self.groups[(sex, anc)], self.births[(sex, anc)] = idx, people.birth[idx]

    def years(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi) * DAYS_PER_YEAR)

    def child(self) -> int:
        n = self.free.size
        for _ in range(TRIES):
            i = int(self.rng.integers(0, n)) if n else -1
            if i >= 0 and self.free[i] and self.child_ok[i]:
                return i
        return -1

    def pick(
        self, sex: int | None, anc: int, lo: int, hi: int, *, alive_at: int, child: bool
    ) -> int:
        """A free genotyped person born in [lo, hi] (of ``sex``, or either), alive at a day."""
        ranges = []
        for s in (0, 1) if sex is None else (sex,):
            births = self.births[(s, anc)]
            first, last = np.searchsorted(births, lo), np.searchsorted(births, hi, "right")
            ranges.append((self.groups[(s, anc)], int(first), int(last)))
        total = sum(b - a for _, a, b in ranges)
        for _ in range(min(TRIES, total)):
            r = int(self.rng.integers(0, total))
            for idx, a, b in ranges:
                if r < b - a:
                    i = int(idx[a + r])
                    break
                r -= b - a
            if self.free[i] and self.p.exit[i] > alive_at and (self.child_ok[i] or not child):
                return i
        return -1

    def founder(self, sex: int, birth: int, anc: int) -> int:
        """A parent outside the cohort, with a number of their own."""
        text = date_text(np.array([birth]), np.zeros(1, dtype=bool))[0]
        ped = self.ped
        ped.number.append(self.serials.next(text, sex))
        ped.sex.append(sex)
        ped.birth.append(birth)
        ped.ancestry.append(anc)
        for column in (
            ped.mother,
            ped.father,
            ped.reg_mother,
            ped.reg_father,
            ped.adoptive_mother,
            ped.family,
        ):
            column.append(-1)
        return len(ped.number) - 1

    def genotyped_parent(self, sex: int, child: int) -> int:
        age = model()["multigen"]["mother_age" if sex else "father_age"]
        born = self.ped.birth[child]
        lo, hi = born - int(age[1] * DAYS_PER_YEAR), born - int(age[0] * DAYS_PER_YEAR)
        return self.pick(sex, self.ped.ancestry[child], lo, hi, alive_at=born, child=False)

    def outside_parent(self, sex: int, child: int) -> int:
        """A parent outside the cohort, young enough for a younger sibling too."""
        age = model()["multigen"]["mother_age" if sex else "father_age"]
        born = self.ped.birth[child] - self.years(age[0], min(age[1], age[0] + 14))
        return self.founder(sex, born, self.ped.ancestry[child])

    def sibling(self, of: int) -> int:
        gap = model()["families"]["sibling_gap_years"]
        born = self.ped.birth[of]
        lo, hi = born + int(gap[0] * DAYS_PER_YEAR), born + int(gap[1] * DAYS_PER_YEAR)
        return self.pick(None, self.ped.ancestry[of], lo, hi, alive_at=0, child=True)

    def try_shape(self, shape: str) -> int:
        """Fill one family of ``shape``; returns how many genotyped joined (0 if none fit)."""
        c = self.child()
        if c < 0:
            return 0
        self.free[c] = False
        picked = self.genotyped_members(shape, c)
        self.free[c] = True
        if picked is None:
            return 0
        kids, mum, dad, adopter = picked
        mum = self.outside_parent(1, c) if mum is None else mum
        dad = self.outside_parent(0, c) if dad is None else dad
        return self.commit(shape, kids, (mum, dad), adopter)

    def genotyped_members(
        self, shape: str, c: int
    ) -> tuple[list[int], int | None, int | None, int] | None:
        """The family's genotyped children, parents (None: outside the cohort) and adoptive
        mother (-1: none), or None when the cohort has nobody who fits."""
        kids, mum, dad, adopter = [c], None, None, -1
        if shape in ("trio", "nuclear"):
            mum, dad = self.genotyped_parent(1, c), self.genotyped_parent(0, c)
        elif shape == "duo" and self.rng.random() < 0.5:
            mum = self.genotyped_parent(1, c)
        elif shape == "duo":
            dad = self.genotyped_parent(0, c)
        elif shape == "adoption":
            age = model()["multigen"]["adoptive_parent_age"]
            born = self.ped.birth[c]
            lo, hi = born - int(age[1] * DAYS_PER_YEAR), born - int(age[0] * DAYS_PER_YEAR)
            adopter = self.pick(1, self.ped.ancestry[c], lo, hi, alive_at=born, child=False)
            if adopter < 0:
                return None
        if mum == -1 or dad == -1:
            return None
        if shape in ("nuclear", "siblings", "half_siblings"):
            kids.append(self.sibling(c))
            if kids[-1] < 0 or (shape == "nuclear" and not self.fits(kids[-1], mum, dad)):
                return None
        if shape == "siblings" and self.rng.random() < 0.3:
            self.free[kids[-1]] = False
            third = self.sibling(kids[-1])
            self.free[kids[-1]] = True
            kids += [third] if third >= 0 else []
        return kids, mum, dad, adopter

    def fits(self, kid: int, mum: int | None, dad: int | None) -> bool:
        """A younger child of genotyped parents: mother at most 45, both alive at the birth."""
        born = self.ped.birth[kid]
        ok = mum is None or (
            born - self.ped.birth[mum] <= 45 * DAYS_PER_YEAR and self.p.exit[mum] > born
        )
        return ok and (dad is None or self.p.exit[dad] > born)

    def commit(self, shape: str, kids: list[int], parents: tuple[int, int], adopter: int) -> int:
        ped = self.ped
        fam = len(ped.shapes)
        ped.shapes.append(shape)
        m, f = parents
        if shape == "half_siblings":  # one parent in common, the other different for each child
            keep_mother = self.rng.random() < 0.5
            second = self.founder(
                1 - int(keep_mother), ped.birth[f if keep_mother else m], ped.ancestry[m]
            )
            kid_parents = [(m, f), (m, second) if keep_mother else (second, f)]
        else:
            kid_parents = [(m, f)] * len(kids)
        for kid, (km, kf) in zip(kids, kid_parents, strict=True):
            ped.mother[kid] = ped.reg_mother[kid] = km
            ped.father[kid] = ped.reg_father[kid] = kf
        if adopter >= 0:
            ped.adoptive_mother[kids[0]] = adopter
        genotyped = [i for i in (*kids, m, f, adopter) if 0 <= i < ped.n_genotyped]
        for i in genotyped:
            ped.family[i] = fam
            self.free[i] = False
        return len(genotyped)

    def plant_non_paternity(self, count: int) -> None:
        """Children of a genotyped registered father whose biological father is another man."""
        ped = self.ped
        g = ped.n_genotyped
        candidates = [c for c in range(g) if 0 <= ped.reg_father[c] < g]
        for c in sorted(
            self.rng.choice(candidates, size=min(count, len(candidates)), replace=False).tolist()
        ):
            registered = ped.reg_father[c]
            born = ped.birth[registered] + self.years(-3, 3)
            ped.father[c] = self.founder(0, born, ped.ancestry[c])
            ped.non_paternity.append(c)

    def plant_swaps(self, count: int) -> None:
        """Pairs of samples whose genotypes were exchanged; one of each pair has genotyped
        relatives (so that the swap can be seen), neither is in a family with a pedigree error."""
        ped = self.ped
        g = ped.n_genotyped
        spoiled = {ped.family[c] for c in ped.non_paternity}
        fams = [f for f, s in enumerate(ped.shapes) if s in GENETIC_SHAPES and f not in spoiled]
        used: set[int] = set()
        for fam in self.rng.permutation(len(fams)).tolist()[:count]:
            a = int(self.rng.choice(ped.members(fams[fam])))
            others = [
                i for i in range(g) if ped.family[i] not in spoiled | {fams[fam]} and i not in used
            ]
            if a in used or not others:
                continue
            b = int(others[int(self.rng.integers(0, len(others)))])
            used.update({a, b})
            ped.swaps.append((min(a, b), max(a, b)))
