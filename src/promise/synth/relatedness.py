"""The families' genetics and their truth: meioses, realised kinship, and what a check of
genetic kinship against the register must find.

Every child's two meioses are drawn at the sex-specific crossover rates of ``model.yaml``.
Siblings share stretches of their parents' haplotypes at random, so their realised kinship
scatters around its expectation; a family whose genotyped siblings fall within
``kinship_margin`` of the edge of KING's band for their degree (or outside it) has its
meioses drawn again, so that the degree in ``truth.json`` is the one the genotypes show.

The expected findings of a register-versus-genetics check follow these rules, written here
independently of :mod:`promise.gwas.relatedness`: a registered parent and child must be
parent and offspring genetically, registered full siblings full siblings (or identical
twins), registered half siblings second-degree relatives; adoptive pairs are not checked;
and a genetic duplicate, parent-offspring or full-sibling pair that the register does not
link is a finding too. Genetic relations are between what each sample carries (a swapped
sample carries the other person's genome).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from promise.synth.families import Pedigree
from promise.synth.inheritance import Array, Inheritance, draw_meiosis
from promise.synth.model import model

# KING's kinship boundaries between degrees (Manichaikul et al. 2010): 2^-1.5, 2^-2.5, 2^-3.5
DUPLICATE, FIRST, SECOND = 2**-1.5, 2**-2.5, 2**-3.5
BANDS = {"full_siblings": (FIRST, DUPLICATE), "half_siblings": (SECOND, FIRST)}
DEGREE = {"parent_offspring": 1, "full_siblings": 1, "half_siblings": 2}
MAX_REDRAWS = 200


def draw_inheritance(ped: Pedigree, coords: Array, rng: np.random.Generator) -> Inheritance:
    """Meioses for every child of the pedigree, siblings kept inside their degree's band."""
    rates = model()["families"]["crossovers_per_bp"]
    rate = {1: float(rates["female"]), 0: float(rates["male"])}
    n = len(ped.number)
    children = [c for c in range(n) if ped.mother[c] >= 0]
    inh = Inheritance(
        n_samples=ped.n_genotyped,
        ancestry=np.array(ped.ancestry, dtype=np.int64),
        mother=np.array(ped.mother, dtype=np.int64),
        father=np.array(ped.father, dtype=np.int64),
        meioses={c: (draw_meiosis(rate[1], rng), draw_meiosis(rate[0], rng)) for c in children},
    )
    margin = float(model()["families"]["kinship_margin"])
    for members in ped.families():
        kids = [c for c in members if ped.mother[c] >= 0]
        for _ in range(MAX_REDRAWS):
            if all(_inside(inh, ped, a, b, coords, margin) for a, b in combinations(kids, 2)):
                break
            for c in kids:
                inh.meioses[c] = (draw_meiosis(rate[1], rng), draw_meiosis(rate[0], rng))
    return inh


def _inside(inh: Inheritance, ped: Pedigree, a: int, b: int, coords: Array, margin: float) -> bool:
    relation = genetic_relation(ped, a, b)
    if relation not in BANDS:
        return True
    lo, hi = BANDS[relation]
    return lo + margin < inh.kinship(a, b, coords) < hi - margin


def genetic_relation(ped: Pedigree, u: int, v: int) -> str | None:
    """Biological relation of two individuals whose parents, where known, are founders."""
    if u in (ped.mother[v], ped.father[v]) or v in (ped.mother[u], ped.father[u]):
        return "parent_offspring"
    same = [
        x >= 0 and x == y
        for x, y in ((ped.mother[u], ped.mother[v]), (ped.father[u], ped.father[v]))
    ]
    return "full_siblings" if all(same) else "half_siblings" if any(same) else None


def registered_relation(ped: Pedigree, u: int, v: int) -> str | None:
    """The relation the Multi-Generation Register states between two persons."""
    if u in (ped.reg_mother[v], ped.reg_father[v]) or v in (ped.reg_mother[u], ped.reg_father[u]):
        return "parent_offspring"
    if ped.adoptive_mother[v] == u or ped.adoptive_mother[u] == v:
        return "adoptive_parent_offspring"
    mother = ped.reg_mother[u] >= 0 and ped.reg_mother[u] == ped.reg_mother[v]
    father = ped.reg_father[u] >= 0 and ped.reg_father[u] == ped.reg_father[v]
    if mother and father:
        return "full_siblings"
    if mother:
        return "maternal_half_siblings"
    return "paternal_half_siblings" if father else None


def _carrier(ped: Pedigree) -> list[int]:
    """Whose genome each genotyped sample carries (the other one's for a swapped pair)."""
    genome = list(range(ped.n_genotyped))
    for a, b in ped.swaps:
        genome[a], genome[b] = b, a
    return genome


def _finding(registered: str | None, genetic: str | None) -> bool:
    expected = {
        "parent_offspring": {"parent_offspring"},
        "full_siblings": {"full_siblings", "duplicate"},
        "maternal_half_siblings": {"half_siblings"},
        "paternal_half_siblings": {"half_siblings"},
    }
    if registered == "adoptive_parent_offspring":
        return False
    if registered is None:
        return genetic in {"parent_offspring", "full_siblings", "duplicate"}
    return genetic not in expected[registered]


def relatedness_truth(ped: Pedigree, inh: Inheritance, coords: Array) -> dict[str, Any]:
    """``truth.json`` ``relatedness``: genetic pairs, planted errors, expected findings."""
    g = ped.n_genotyped
    genome = _carrier(ped)
    label = {carried: sample for sample, carried in enumerate(genome)}
    pairs, candidates = [], set()
    for members in ped.families():
        for u, v in combinations(members, 2):
            candidates.add((min(u, v), max(u, v)))
            relation = genetic_relation(ped, u, v)
            if relation is None:
                continue
            x, y = sorted((label[u], label[v]))
            candidates.add((x, y))
            pairs.append({
                "id1": ped.number[x], "id2": ped.number[y], "relation": relation,
                "degree": DEGREE[relation], "kinship": round(inh.kinship(u, v, coords), 4),
            })  # fmt: skip
    findings = []
    for x, y in sorted(candidates):
        registered = registered_relation(ped, x, y)
        genetic = genetic_relation(ped, genome[x], genome[y])
        if _finding(registered, genetic):
            findings.append({
                "id1": ped.number[x], "id2": ped.number[y],
                "registered": registered, "genetic": genetic,
            })  # fmt: skip
    in_families = sum(1 for i in range(g) if ped.family[i] >= 0)
    shapes = {s: ped.shapes.count(s) for s in sorted(set(ped.shapes))}
    return {
        "note": NOTE,
        "families": shapes,
        "persons_in_families": in_families,
        "share_of_genotyped": round(in_families / g, 4) if g else 0.0,
        "pairs": sorted(pairs, key=lambda p: (p["id1"], p["id2"])),
        "pedigree_errors": [
            {"child": ped.number[c], "registered_father": ped.number[ped.reg_father[c]]}
            for c in ped.non_paternity
        ],
        "sample_swaps": [{"id1": ped.number[a], "id2": ped.number[b]} for a, b in ped.swaps],
        "mismatches": findings,
    }


NOTE = (
    "Persons are identified by their normalised personnummer (12 digits); every id here is a "
    "genotyped person. 'pairs' lists every genetically related pair of genotyped samples "
    "(relation parent_offspring, full_siblings or half_siblings; KING degree; realised "
    "kinship over the written variants) between what each sample carries: the two samples of "
    "a sample swap carry each other's genotypes. 'pedigree_errors' are children whose "
    "registered father (in multigen/) is not their biological father; 'mismatches' are the "
    "pairs a check of genetic kinship against the register must report (registered relation "
    "or null, genetic relation or null): registered parent-offspring, full or half siblings "
    "whose genotypes say otherwise, and genetic first-degree pairs the register does not link. "
    "At the planted causal variants every person keeps the genotype that drove their disease, "
    "so those few variants are not inherited."
)
