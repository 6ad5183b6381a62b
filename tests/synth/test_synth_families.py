"""The synthetic Multi-Generation Register and the families among the genotyped, read back
from the written files with the independent readers of synth_scan.

- index persons are those born 1932 or later, one row each, every parent born before them,
  parents known about as often as the register knows them (Ekbom 2011: mother 97%, father
  95% of index persons; SCB: ~1.5% adopted);
- only genotyped persons share a registered parent or are one another's parents, and about a
  fifth of the genotyped do;
- a parent and child of truth.json carry no opposite homozygote outside the planted causal
  variants (whose genotypes drove the simulated diseases and are not inherited);
- crossovers per meiosis average the map lengths of deCODE's map (Kong et al. 2002: 4,281 cM
  female, 2,590 cM male), i.e. 42.8 and 25.9.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from synth_scan import LAYOUTS, clean_rows, person_of, read_plink, read_vcf, valid_rows

from promise.synth.inheritance import CHROM_LENGTHS, OFFSETS, draw_meiosis

pytestmark = pytest.mark.integration
ROLES = ("PersonNrMor", "PersonNrFar", "PersonNrAdoptivMor", "PersonNrAdoptivFar")


def _register(landing: Path) -> list[dict[str, str]]:
    """Clean multigen rows with every number normalised ('' where empty)."""
    out = []
    for row in clean_rows(landing / "multigen" / "mgr.csv", LAYOUTS["multigen/mgr*.csv"]):
        parsed = {k: person_of(v) if v else None for k, v in row.items()}
        assert all(v is not None for k, v in parsed.items() if row[k]), row
        out.append({k: v.normalized if v else "" for k, v in parsed.items()})
    return out


def _genotyped(landing: Path) -> tuple[list[str], np.ndarray]:
    """Normalised numbers of the genotyped samples (VCF, then PLINK) and their counts."""
    owner = {}
    for row in valid_rows(landing / "biobank" / "biobank_samples.csv", ",", "utf-8"):
        person = person_of(row["PersonNr"])
        if person is not None:
            owner[row["SampleID"]] = person.normalized
    vcf_ids, _, vcf = read_vcf(landing / "genotypes" / "batch1.vcf.bgz")
    iids, _, bed = read_plink(landing / "genotypes" / "batch2")
    people = [person_of(s).normalized for s in vcf_ids] + [owner[i] for i in iids]  # type: ignore[union-attr]
    return people, np.hstack([vcf, bed])


def test_index_persons_and_their_parents(small_landing: tuple[Path, dict[str, Any]]) -> None:
    landing, _ = small_landing
    rows = _register(landing)
    index = [r["PersonNr"] for r in rows]
    assert len(index) == len(set(index))
    born = {r["PersonNr"]: person_of(r["PersonNr"]).birth_date for r in rows}  # type: ignore[union-attr]
    assert min(born.values()).year >= 1932
    population = {
        person_of(r["PersonNr"]).normalized  # type: ignore[union-attr]
        for r in clean_rows(landing / "population" / "rtb_population.csv", LAYOUTS["population/rtb_population*.csv"])
    }  # fmt: skip
    assert {p for p in population if p[:4] >= "1932"} == set(index)
    for r in rows:
        for role in ("PersonNrMor", "PersonNrFar"):
            if r[role]:
                assert person_of(r[role]).birth_date < born[r["PersonNr"]], r  # type: ignore[union-attr]
    n = len(rows)
    mothers = sum(1 for r in rows if r["PersonNrMor"]) / n
    fathers = sum(1 for r in rows if r["PersonNrFar"]) / n
    adopted = sum(1 for r in rows if r["PersonNrAdoptivMor"] or r["PersonNrAdoptivFar"]) / n
    # natives 98% / 96%, foreign-born 30% / 25% (model.yaml), foreign-born ~15-25% of index persons
    assert 0.75 < mothers < 0.95 and 0.70 < fathers < 0.93 and 0.005 < adopted < 0.03
    print(f"{n} index persons: mother {mothers:.3f}, father {fathers:.3f}, adopted {adopted:.4f}")


def test_only_the_genotyped_are_related_and_a_fifth_of_them_are(
    small_landing: tuple[Path, dict[str, Any]],
) -> None:
    landing, truth = small_landing
    rows = _register(landing)
    genotyped, _ = _genotyped(landing)
    children_of: dict[str, set[str]] = defaultdict(set)
    related: set[str] = set()
    for r in rows:
        for role in ROLES:
            if r[role]:
                children_of[r[role]].add(r["PersonNr"])
                if r[role] in set(genotyped):
                    related |= {r[role], r["PersonNr"]}
    for children in children_of.values():
        if len(children) > 1:
            related |= children
    assert related <= set(genotyped)
    share = len(related) / len(genotyped)
    assert 0.15 <= share <= 0.25
    assert share == pytest.approx(truth["relatedness"]["share_of_genotyped"], abs=0.01)
    print(f"{len(related)} of {len(genotyped)} genotyped are related in the register ({share:.3f})")


def test_parents_and_children_carry_no_opposite_homozygotes(
    small_landing: tuple[Path, dict[str, Any]],
) -> None:
    landing, truth = small_landing
    people, g = _genotyped(landing)
    column = {p: i for i, p in enumerate(people)}
    causal = sum(len(t["causal"]) for group in truth["gwas"].values() for t in group)
    pairs = [p for p in truth["relatedness"]["pairs"] if p["relation"] == "parent_offspring"]
    assert pairs
    worst = 0
    for pair in pairs:
        a, b = g[:, column[pair["id1"]]], g[:, column[pair["id2"]]]
        opposite = int((((a == 0) & (b == 2)) | ((a == 2) & (b == 0))).sum())
        worst = max(worst, opposite)
    assert worst <= causal
    unrelated = [(i, j) for i, j in combinations(range(0, 40, 2), 2)]
    typical = np.median([(((g[:, i] == 0) & (g[:, j] == 2)) | ((g[:, i] == 2) & (g[:, j] == 0))).sum()
                         for i, j in unrelated])  # fmt: skip
    assert typical > 20 * max(worst, 1)
    print(f"{len(pairs)} parent-offspring pairs: at most {worst} opposite homozygotes "
          f"({causal} causal variants); unrelated pairs: median {typical:.0f}")  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(("rate", "map_cm"), [(1.49e-8, 4281), (0.90e-8, 2590)])
def test_crossovers_per_meiosis_follow_the_map_length(rate: float, map_cm: float) -> None:
    rng = np.random.default_rng(5)
    starts = set(OFFSETS.tolist()) | {-1}
    counts = [
        sum(1 for s in draw_meiosis(rate, rng).tolist() if s not in starts) for _ in range(600)
    ]
    expected = map_cm / 100.0
    assert abs(np.mean(counts) - expected) < 3 * np.sqrt(expected / 600) + 0.5
    assert sum(CHROM_LENGTHS) == 2_875_001_522  # GRCh38 autosomes
