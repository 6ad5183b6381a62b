"""Genotypes inherited through a pedigree, with recombination.

Founders (everyone without parents in the pedigree: the unrelated genotyped, and parents
outside the cohort) draw two haplotypes from their ancestry's allele frequencies, as the
genotypes of unrelated people always were drawn. A child's haplotype from each parent is a
mosaic of that parent's two: along each chromosome the transmitted haplotype switches at
crossovers, Poisson at the parent's sex-specific rate per base pair, uniform in position;
each chromosome starts on either haplotype. A meiosis is stored as the sorted genome
coordinates (chromosome offset + position) at which the transmitted haplotype switches, so
the haplotype a child got at a variant is the parity of the switches before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]
# GRCh38 chromosome lengths (Genome Reference Consortium, GCA_000001405.15)
CHROM_LENGTHS = (
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
)  # fmt: skip
OFFSETS = np.concatenate([[0], np.cumsum(CHROM_LENGTHS[:-1])]).astype(np.int64)
MAX_CELLS = 20_000_000  # haplotype cells (variants x individuals x 2) held at once


def coordinates(chrom: Array, pos: Array) -> Array:
    """Genome coordinates of variants (chromosome 1-22, position)."""
    return np.asarray(OFFSETS[np.asarray(chrom) - 1] + np.asarray(pos), dtype=np.int64)


def draw_meiosis(rate_per_bp: float, rng: np.random.Generator) -> Array:
    """Switch coordinates of one meiosis: a random start, crossovers, a random phase at the
    start of every further chromosome."""
    switches: list[Array] = []
    if rng.random() < 0.5:
        switches.append(np.array([-1], dtype=np.int64))
    for c, length in enumerate(CHROM_LENGTHS):
        if c and rng.random() < 0.5:
            switches.append(OFFSETS[c : c + 1])
        count = int(rng.poisson(length * rate_per_bp))
        switches.append(OFFSETS[c] + rng.integers(0, length, count, dtype=np.int64))
    return np.sort(np.concatenate(switches))


def transmitted(switches: Array, coords: Array) -> Array:
    """Which parental haplotype (0/1) a meiosis passes on at each coordinate."""
    return np.asarray(np.searchsorted(switches, coords, side="right") % 2, dtype=np.int64)


@dataclass
class Inheritance:
    """Who inherits from whom. Individuals 0..n_samples-1 are the genotyped samples in file
    order; the rest are parents outside the cohort (never written)."""

    n_samples: int
    ancestry: Array  # per individual
    mother: Array  # biological, -1 for founders
    father: Array
    meioses: dict[int, tuple[Array, Array]]  # child -> (from mother, from father)

    def generations(self) -> list[Array]:
        """Individuals in the order they can be filled: founders, then their children, ..."""
        depth = np.zeros(self.ancestry.size, dtype=np.int64)
        for _ in range(self.ancestry.size):
            parents = np.maximum(
                np.where(self.mother >= 0, depth[self.mother] + 1, 0),
                np.where(self.father >= 0, depth[self.father] + 1, 0),
            )
            if np.array_equal(parents, depth):
                break
            depth = parents
        return [np.flatnonzero(depth == d) for d in range(int(depth.max(initial=0)) + 1)]

    def genotypes(self, freq: Array, coords: Array, rng: np.random.Generator) -> Array:
        """Alternate-allele counts (variants x samples, int8) for variants with alt-allele
        frequencies ``freq`` (variants x 2 ancestries) at ``coords``."""
        n = self.ancestry.size
        step = max(1, MAX_CELLS // (2 * n))
        gens = self.generations()
        parts = [
            self._block(freq[s : s + step], coords[s : s + step], gens, rng)
            for s in range(0, coords.size, step)
        ]
        return np.concatenate(parts) if parts else np.empty((0, self.n_samples), np.int8)

    def _block(
        self, freq: Array, coords: Array, gens: list[Array], rng: np.random.Generator
    ) -> Array:
        hap = np.empty((coords.size, self.ancestry.size, 2), dtype=np.int8)
        founders = gens[0]
        p = freq[:, self.ancestry[founders]]
        hap[:, founders, 0] = rng.random(p.shape) < p
        hap[:, founders, 1] = rng.random(p.shape) < p
        rows = np.arange(coords.size)[:, None]
        for children in gens[1:]:
            for side, parents in ((0, self.mother), (1, self.father)):
                choice = np.column_stack(
                    [transmitted(self.meioses[int(c)][side], coords) for c in children]
                )
                hap[:, children, side] = hap[rows, parents[children][None, :], choice]
        return np.asarray(hap[:, : self.n_samples].sum(axis=2, dtype=np.int8))

    def kinship(self, a: int, b: int, coords: Array) -> float:
        """Realised kinship of two individuals over ``coords``, for pedigrees whose founders
        are unrelated and not inbred and whose parents are founders: 1/4 for a parent and
        child, else 1/4 of the summed shares of the genome where they got the same haplotype
        of a common parent."""
        if a in (self.mother[b], self.father[b]) or b in (self.mother[a], self.father[a]):
            return 0.25
        shared = 0.0
        for side_a, parent_a in ((0, self.mother[a]), (1, self.father[a])):
            for side_b, parent_b in ((0, self.mother[b]), (1, self.father[b])):
                if parent_a >= 0 and parent_a == parent_b:
                    same = transmitted(self.meioses[a][side_a], coords) == transmitted(
                        self.meioses[b][side_b], coords
                    )
                    shared += float(same.mean())
        return shared / 4.0
