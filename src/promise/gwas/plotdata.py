"""What the plots are drawn from: plain arrays, cheap to send to the plotting process.

:mod:`promise.gwas.plots` draws from these and :mod:`promise.gwas.plotworker` sends them;
neither imports the other at module level, so the two never form an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from promise.gwas.results import TraitSummary

OTHER_CONTIG = 99  # plotted after the numbered chromosomes
Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class TraitPoints:
    """What the plots need of one trait: its variants' chromosome codes (numbers, other
    contigs as :data:`OTHER_CONTIG`), positions and p-values (NaN where undefined)."""

    trait: str
    title: str
    label: str
    chromosome: Array
    position: Array
    p: Array


def trait_points(summaries: Sequence[TraitSummary]) -> list[TraitPoints]:
    """Plot data of each summary; traits of one group share their coordinate arrays."""
    shown: list[TraitPoints] = []
    for s in summaries:
        chromosome = s.frame["chromosome"].cast(int, strict=False).fill_null(OTHER_CONTIG)
        chrom, pos = chromosome.to_numpy(), s.frame["base_pair_location"].to_numpy()
        last = shown[-1] if shown else None
        if last and np.array_equal(last.chromosome, chrom) and np.array_equal(last.position, pos):
            chrom, pos = last.chromosome, last.position  # pickled once
        shown.append(
            TraitPoints(
                trait=s.trait,
                title=f"{s.trait} ({s.kind}, n = {s.n:,})",
                label=f"{s.trait}: λGC = {s.lambda_gc:.3f}",
                chromosome=chrom,
                position=pos,
                p=s.frame["p_value"].cast(float).fill_null(np.nan).to_numpy(),
            )
        )
    return shown


@dataclass(frozen=True)
class PcaPoints:
    """What the PCA plot needs: the scores (index ``s``, ``PC1``..), the share of the
    genotype variance each PC explains, and per-sample labels to colour by (index ``s``,
    one column per legend title), or no labels."""

    scores: pd.DataFrame
    explained: list[float]
    groups: pd.DataFrame | None = None
