"""What kinship is used for: checking the register's pedigree, choosing unrelated samples,
and the counts a report may show.

- :func:`pedigree_mismatches` sets the genetic relationship of every pair (from the sparse
  KING table of :mod:`promise.gwas.kinship`) against the relation the Multi-Generation
  Register states (``marts.family_relation``), for pairs whose two persons are genotyped.
  A registered parent and child must be parent and offspring genetically, registered full
  siblings full siblings (or identical twins), registered half siblings second-degree
  relatives; a duplicate, parent-offspring or full-sibling pair the register does not link
  is a finding too (more distant genetic relatives are not, since family_relation does not
  list grandparents, aunts or cousins). Adoptive pairs and siblings of unknown kind (a parent
  missing from the register) are not checked. A finding is a likely sample swap,
  non-paternity or register error, for a person to look at.
- :func:`unrelated_subset` keeps a maximal set of samples with no pair above a kinship
  cutoff, like PLINK 2's ``--king-cutoff`` (``--related drop``): greedily, the sample with
  the most remaining relatives above the cutoff goes first (ties: the later sample).
- :func:`relatedness_counts` counts related pairs by degree and against the register,
  small counts suppressed (:mod:`promise.disclosure`), for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from promise.disclosure import DEFAULT_THRESHOLD, protect
from promise.gwas.kinship import FIRST, SECOND, THIRD

#: genetic relationships (``relationship`` of the kinship table) each registered relation allows
EXPECTED: dict[str, tuple[str, ...]] = {
    "parent_offspring": ("parent_offspring",),
    "full_siblings": ("full_siblings", "duplicate"),
    "maternal_half_siblings": ("second_degree",),
    "paternal_half_siblings": ("second_degree",),
}
#: genetic relationships the register must know about when it links nobody
MUST_BE_REGISTERED = ("duplicate", "parent_offspring", "full_siblings")
UNRELATED = "unrelated"
MISMATCH_SCHEMA: dict[str, pl.DataType] = {
    "id1": pl.Utf8(),
    "id2": pl.Utf8(),
    "registered": pl.Utf8(),
    "genetic": pl.Utf8(),
    "kinship": pl.Float64(),
    "finding": pl.Utf8(),
}
DEGREE_LABELS = ("duplicate", "first", "second", "third")


def _pair_key(a: pl.Expr, b: pl.Expr) -> list[pl.Expr]:
    return [pl.min_horizontal(a, b).alias("id1"), pl.max_horizontal(a, b).alias("id2")]


def pedigree_mismatches(
    kinship: pl.DataFrame, relations: pl.DataFrame, samples: Iterable[str]
) -> pl.DataFrame:
    """Pairs where the register and the genotypes disagree (:data:`MISMATCH_SCHEMA`).

    ``kinship`` is a KING table (``id1, id2, kinship, relationship``); ``relations`` has
    ``person_id_1, person_id_2, relation`` (``marts.family_relation``); ``samples`` are the
    genotyped ids the table was computed over. ``id1`` < ``id2``; ``kinship`` is null where
    the pair is below the table's filter (``genetic`` = ``unrelated``).
    """
    genotyped = pl.Series("id", list(samples), dtype=pl.Utf8).unique()
    registered = (
        relations.select(*_pair_key(pl.col("person_id_1"), pl.col("person_id_2")), "relation")
        .filter(pl.col("id1").is_in(genotyped.implode()) & pl.col("id2").is_in(genotyped.implode()))
        .unique(["id1", "id2"], keep="first")
        .rename({"relation": "registered"})
    )
    genetic = kinship.filter(pl.col("relationship").is_not_null()).select(
        *_pair_key(pl.col("id1"), pl.col("id2")), "kinship", pl.col("relationship").alias("genetic")
    )
    both = registered.join(genetic, on=["id1", "id2"], how="full", coalesce=True).with_columns(
        pl.col("genetic").fill_null(UNRELATED)
    )
    allowed = pl.col("registered").replace_strict(
        {k: list(v) for k, v in EXPECTED.items()}, default=None, return_dtype=pl.List(pl.Utf8)
    )
    wrong = (
        pl.when(pl.col("registered").is_null())
        .then(pl.col("genetic").is_in(list(MUST_BE_REGISTERED)))
        .when(allowed.is_null())
        .then(False)  # adoptive pairs, siblings of unknown kind: nothing to expect
        .otherwise(~allowed.list.contains(pl.col("genetic")))
    )
    finding = (
        pl.when(pl.col("registered").is_null())
        .then(pl.format("genetically {} but not linked by the register", pl.col("genetic")))
        .otherwise(
            pl.format("registered {} but genetically {}", pl.col("registered"), pl.col("genetic"))
        )
    )
    return (
        both.filter(wrong)
        .with_columns(finding.alias("finding"))
        .select(list(MISMATCH_SCHEMA))
        .cast(MISMATCH_SCHEMA)  # type: ignore[arg-type]
        .sort("id1", "id2")
    )


def unrelated_subset(
    kinship: pl.DataFrame, samples: Sequence[str], cutoff: float = SECOND
) -> list[str]:
    """The samples kept when relatives above ``cutoff`` are dropped (``--related drop``), in
    the order of ``samples``: while any pair above the cutoff remains, the sample with the
    most such pairs is removed (of those tied, the one latest in ``samples``).

    ``cutoff`` is a kinship (KING's degree boundaries: 0.354 keeps all but duplicates, 0.177
    drops first-degree relatives, 0.0884 second-degree too, 0.0442 third-degree too); the
    table must have been computed with a filter at or below it.
    """
    order = {s: i for i, s in enumerate(samples)}
    close = kinship.filter(pl.col("kinship") > cutoff)
    neighbours: dict[int, set[int]] = {}
    for a, b in close.select("id1", "id2").iter_rows():
        if a in order and b in order and a != b:
            neighbours.setdefault(order[a], set()).add(order[b])
            neighbours.setdefault(order[b], set()).add(order[a])
    dropped = np.zeros(len(order), dtype=bool)
    while neighbours:
        worst = max(neighbours, key=lambda i: (len(neighbours[i]), i))
        dropped[worst] = True
        for other in neighbours.pop(worst):
            neighbours[other].discard(worst)
            if not neighbours[other]:
                del neighbours[other]
    return [s for s in samples if not dropped[order[s]]]


def relatedness_counts(
    kinship: pl.DataFrame, mismatches: pl.DataFrame, *, threshold: int = DEFAULT_THRESHOLD
) -> pl.DataFrame:
    """Related pairs by KING degree, split into those consistent with the register (or not
    checked) and findings, with totals; counts from 1 to ``threshold - 1`` and whatever
    would reveal them are suppressed (null), as everything leaving the warehouse is."""
    degree = pl.col("degree").cast(pl.Int64)
    pairs = kinship.filter(pl.col("degree").is_not_null()).select(
        *_pair_key(pl.col("id1"), pl.col("id2")), degree.alias("degree")
    )
    flagged = mismatches.filter(pl.col("kinship").is_not_null()).select("id1", "id2")
    found = pairs.join(flagged.with_columns(pl.lit(1).alias("flag")), on=["id1", "id2"], how="left")
    table = np.zeros((len(DEGREE_LABELS), 2), dtype=np.int64)
    for d, flag in found.select("degree", "flag").iter_rows():
        table[d, 1 if flag else 0] += 1
    unseen = mismatches.filter(pl.col("kinship").is_null()).height  # registered, not related
    released = protect(table, threshold=threshold).released
    rows = [*DEGREE_LABELS, "total"]
    return pl.DataFrame(
        {
            "degree": rows,
            "consistent_or_unchecked": [_count(released[i, 0]) for i in range(len(rows))],
            "findings": [_count(released[i, 1]) for i in range(len(rows))],
            "all": [_count(released[i, 2]) for i in range(len(rows))],
        }
    ).with_columns(
        pl.lit(_count(protect(np.array([unseen]), threshold=threshold).released[0])).alias(
            "registered_but_unrelated"
        )
    )


def _count(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


__all__ = [
    "FIRST",
    "SECOND",
    "THIRD",
    "pedigree_mismatches",
    "relatedness_counts",
    "unrelated_subset",
]
