"""Lines of the Multi-Generation Register file (``multigen/``) for one chunk of persons.

Every person born 1932 or later is an index person with one row: their number and their
biological and adoptive parents' (empty where the register does not know them). Genotyped
family members get the parents the pedigree registers (some of whom are other cohort
members); everyone else gets parents of their own from outside the cohort, known with the
register's completeness, their ages at the birth drawn from ``model.yaml`` (``multigen``),
their numbers from the counter of numbers that no cohort member has.
"""

from __future__ import annotations

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of
from promise.synth.events import Forms
from promise.synth.families import Pedigree
from promise.synth.identities import SerialCounter, date_text
from promise.synth.model import model
from promise.synth.population import Persons


def multigen_lines(
    p: Persons,
    forms: Forms,
    pedigree: Pedigree | None,
    serials: SerialCounter,
    rng: np.random.Generator,
) -> list[str]:
    """One line per index person of the chunk: ``PersonNr;PersonNrMor;PersonNrFar;
    PersonNrAdoptivMor;PersonNrAdoptivFar``."""
    spec = model()["multigen"]
    rows = np.flatnonzero(p.birth >= day_of(str(spec["index_born_from"])))
    numbers = forms.draw(rows, (0.8, 0.15, 0.05), rng)
    position = pedigree.position(p.index[rows]) if pedigree else np.full(rows.size, -1)
    lines = []
    for j, i in enumerate(rows.tolist()):
        k = int(position[j])
        if pedigree is not None and k >= 0 and _registered(pedigree, k):
            parents = [
                pedigree.number[x] if x >= 0 else ""
                for x in (
                    pedigree.reg_mother[k],
                    pedigree.reg_father[k],
                    pedigree.adoptive_mother[k],
                )
            ] + [""]
        else:
            parents = _outside_parents(p, i, serials, rng)
        written = [_written(n, rng) for n in parents]
        lines.append(";".join([str(numbers[j]), *written]))
    return lines


def _registered(ped: Pedigree, k: int) -> bool:
    return max(ped.reg_mother[k], ped.reg_father[k], ped.adoptive_mother[k]) >= 0


def _outside_parents(
    p: Persons, i: int, serials: SerialCounter, rng: np.random.Generator
) -> list[str]:
    """Mother, father, adoptive mother, adoptive father of a person whose parents are
    nobody else's: each known with the register's completeness."""
    spec = model()["multigen"]
    origin = "foreign_born" if p.foreign[i] else "native"
    born = int(p.birth[i])
    out = []
    for sex, known, age in ((1, "mother_known", "mother_age"), (0, "father_known", "father_age")):
        present = rng.random() < float(spec[known][origin])
        out.append(_number(born, sex, spec[age], serials, rng) if present else "")
    adopted = rng.random() < float(spec["adopted_share"])
    for sex in (1, 0):
        present = adopted and rng.random() < 0.9
        out.append(_number(born, sex, spec["adoptive_parent_age"], serials, rng) if present else "")
    return out


def _number(
    child_born: int, sex: int, age: list[float], serials: SerialCounter, rng: np.random.Generator
) -> str:
    born = child_born - int(rng.uniform(age[0], age[1]) * DAYS_PER_YEAR)
    return serials.next(date_text(np.array([born]), np.zeros(1, dtype=bool))[0], sex)


def _written(number: str, rng: np.random.Generator) -> str:
    """A parent's number as written: 12 digits, sometimes with the hyphen (no 10-digit
    forms, whose century would depend on the parent's age)."""
    if not number:
        return ""
    return number if rng.random() < 0.9 else f"{number[:8]}-{number[8:]}"
