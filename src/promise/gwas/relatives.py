"""Relatives in a GWAS run: kinship of the analysed samples, ``--related drop``, and the
check against the register, as the report and ``kinship.tsv`` show them.

The fast engine calls :func:`assess` after sample and variant QC, with the LD-pruned common
variants (:class:`promise.gwas.fastpca.Pruned`): KING-robust kinship of every pair of the
analysed samples (:mod:`promise.gwas.kinship`, only pairs at or above 0.0442, third-degree
relatives and closer, are kept); with ``--related drop`` the samples :func:`unrelated_subset`
keeps (PLINK 2's ``--king-cutoff`` at ``--king-cutoff``); in warehouse mode the pedigree of
the Multi-Generation Register (``marts.family_relation``) set against the genetic
relationships (:func:`pedigree_mismatches`), and every count by degree under the
warehouse's disclosure floor (``promise.yml``) suppressed. Sample ids are those of the run:
person_id pseudonyms in warehouse mode, never a personnummer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.gwas.kinship import MIN_KINSHIP, SECOND, king_robust, write_kinship
from promise.gwas.relatedness import pedigree_mismatches, relatedness_counts, unrelated_subset
from promise.privacy.disclosure import DEFAULT_THRESHOLD

Array = np.ndarray[Any, Any]
KINSHIP_FILE = "kinship.tsv"
#: LD-pruned variants kinship is computed on at most (every k-th beyond): at 20,000 an
#: unrelated pair's KING estimate varies by about 0.005, a tenth of the third-degree bound,
#: and 5,000 samples cost one 5,000 x 5,000 x 20,000 product (seconds, not minutes)
KINSHIP_VARIANTS = 20_000


@dataclass(frozen=True, kw_only=True)
class Relatedness:
    """Kinship of one run's samples and what was done with it."""

    table: pl.DataFrame  # KING table, pairs >= MIN_KINSHIP
    samples: list[str]  # the samples kinship was computed over
    kept: list[str]  # the samples analysed after --related
    mode: str  # keep | drop
    cutoff: float
    n_variants: int
    variants: str  # what they are, for the report ("LD-pruned common variants")
    counts: pl.DataFrame  # relatedness_counts: pairs by degree, disclosure-controlled
    mismatches: pl.DataFrame | None  # against the register; None: no register (own files)
    threshold: int  # the disclosure floor the counts were released at

    @property
    def dropped(self) -> int:
        return len(self.samples) - len(self.kept)

    def pairs(self, samples: list[str]) -> tuple[Array, Array, Array]:
        """(first, second, kinship) of the pairs of second-degree relatives or closer among
        ``samples`` (kinship above 0.0884; third-degree estimates are mostly noise at a few
        thousand variants, and add little), as positions in it: what
        :func:`.engines.kinshipcalibration.relatedness_factor` takes."""
        where = {s: i for i, s in enumerate(samples)}
        rows = [
            (where[a], where[b], k)
            for a, b, k in self.table.select("id1", "id2", "kinship").iter_rows()
            if a in where and b in where and k is not None and k > SECOND
        ]
        if not rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        first, second, kin = zip(*rows, strict=True)
        return np.array(first), np.array(second), np.array(kin, dtype=np.float64)


def assess(
    codes: Array,
    samples: list[str],
    *,
    mode: str,
    cutoff: float,
    relations: pl.DataFrame | None,
    threshold: int = DEFAULT_THRESHOLD,
    variants: str = "LD-pruned common variants",
) -> Relatedness:
    """Kinship of ``samples`` from ``codes`` (variants x samples, :func:`king_robust`'s),
    the samples kept by ``mode`` (``drop``: no pair above ``cutoff``), and with ``relations``
    (``marts.family_relation``) the register check."""
    table = king_robust(codes, samples, min_kinship=min(MIN_KINSHIP, cutoff))
    kept = unrelated_subset(table, samples, cutoff) if mode == "drop" else list(samples)
    mismatches = None if relations is None else pedigree_mismatches(table, relations, samples)
    counts = relatedness_counts(
        table.filter(pl.col("kinship") >= MIN_KINSHIP),
        mismatches if mismatches is not None else _no_mismatches(),
        threshold=threshold,
    )
    return Relatedness(
        table=table.filter(pl.col("kinship") >= MIN_KINSHIP),
        samples=list(samples),
        kept=kept,
        mode=mode,
        cutoff=cutoff,
        n_variants=int(codes.shape[0]),
        variants=variants,
        counts=counts,
        mismatches=mismatches,
        threshold=threshold,
    )


def _no_mismatches() -> pl.DataFrame:
    from promise.gwas.relatedness import MISMATCH_SCHEMA

    return pl.DataFrame(schema=MISMATCH_SCHEMA)


def register_relations(warehouse: Path) -> pl.DataFrame | None:
    """``marts.family_relation`` of a built warehouse (``person_id_1, person_id_2,
    relation``); None where the warehouse has no such mart (no Multi-Generation Register)."""
    import duckdb

    from promise.warehouse import connect

    con = connect(Path(warehouse))
    try:
        return con.sql("select person_id_1, person_id_2, relation from marts.family_relation").pl()
    except duckdb.Error:
        return None
    finally:
        con.close()


def disclosure_floor(warehouse: Path) -> int:
    """The warehouse's disclosure threshold (``promise.yml``, else the default)."""
    from promise.privacy.policy import load_policy

    return load_policy(Path(warehouse)).threshold


def write_table(relatedness: Relatedness, out: Path) -> Path:
    """``kinship.tsv`` in the results folder: the pairs at or above 0.0442."""
    return write_kinship(relatedness.table, out / KINSHIP_FILE)


__all__ = [
    "KINSHIP_FILE",
    "KINSHIP_VARIANTS",
    "Relatedness",
    "assess",
    "disclosure_floor",
    "register_relations",
    "write_table",
]
