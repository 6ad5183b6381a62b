"""Drawing the plots in a separate process, and the plain data they are drawn from.

Importing matplotlib and drawing take about as long as a whole NumPy-engine GWAS of a
cleaned file set, so a run hands them to a :class:`PlotWorker`: a process started, with its
matplotlib import, when the run starts (on the core the run's own start-up leaves idle),
which then draws while the summary statistics are written. The plots get plain arrays
(:class:`TraitPoints`), which cross the process boundary cheaply. This module itself does
not import matplotlib.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
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


class PlotWorker:
    """One plotting process per run (spawned: safe beside the JVM and BLAS threads).

    ``draw`` hands it the data and returns a future of
    :func:`promise.gwas.plots.draw_all`'s result. Should the
    process die, the plots are drawn in this process instead.
    """

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._pool.submit(_call, "ready")

    def draw(
        self, traits: Sequence[TraitPoints], scores: pd.DataFrame | None, out: Path
    ) -> Future[dict[str, Path]]:
        return self._pool.submit(_call, "draw_all", list(traits), scores, out)

    def result(
        self, future: Future[dict[str, Path]], traits: Sequence[TraitPoints],
        scores: pd.DataFrame | None, out: Path,
    ) -> dict[str, Path]:  # fmt: skip
        try:
            return future.result()
        except BrokenProcessPool:
            drawn: dict[str, Path] = _call("draw_all", traits, scores, out)
            return drawn

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _call(name: str, *args: Any) -> Any:
    """``promise.gwas.plots.<name>(*args)``, importing matplotlib on first use."""
    from promise.gwas import plots

    return getattr(plots, name)(*args)
