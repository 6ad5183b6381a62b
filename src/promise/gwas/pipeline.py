"""The GWAS pipeline: genotypes + traits -> engine (QC, PCA, association) -> outputs.

Warehouse mode and own-files mode differ only in how they build the
:class:`~promise.gwas.inputs.GenotypeSource` and :class:`~promise.gwas.traits.Phenotypes`
handed to :func:`run_gwas`; the pipeline itself is the same. The engine is chosen once
(:func:`promise.gwas.engines.interface.choose_engine`), runs, and hands back per-trait
tables that :mod:`promise.gwas.outputs` writes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

from promise.gwas import preflight, qc, results
from promise.gwas.engines.interface import check_relatives, choose_engine, make_engine
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import Engine, GwasOptions
from promise.gwas.outputs import RunFacts, safe_name, software_versions, write_outputs
from promise.gwas.plotworker import PlotWorker
from promise.gwas.traits import Phenotypes

__all__ = ["GwasResult", "StepClock", "choose_engine", "run_gwas", "safe_name",
           "software_versions"]  # fmt: skip

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class GwasResult:
    """What a run wrote and the figures it reports."""

    out: Path
    summaries: list[results.TraitSummary]
    qc_steps: list[qc.QcStep]
    files: list[Path] = field(default_factory=list)
    n_samples: int = 0
    n_variants: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = ""


class StepClock:
    """Passes progress messages on and records the seconds spent in each step."""

    def __init__(self, say: Progress) -> None:
        self._say = say
        self._step: str | None = None
        self._since = time.perf_counter()
        self.timings: dict[str, float] = {}

    def __call__(self, message: str) -> None:
        self.stop()
        self._step, self._since = message, time.perf_counter()
        self._say(message)

    def within(self, done: int, total: int, unit: str = "") -> None:
        """How far the current step is, passed on where the receiver shows it."""
        show = getattr(self._say, "within", None)
        if show is not None:
            show(done, total, unit)

    def stop(self) -> dict[str, float]:
        """Close the current step; return every step's seconds so far."""
        if self._step is not None:
            spent = time.perf_counter() - self._since
            self.timings[self._step] = self.timings.get(self._step, 0.0) + spent
            self._step = None
        return self.timings


def run_gwas(
    *,
    out: Path,
    genotypes: GenotypeSource,
    phenotypes: Phenotypes,
    options: GwasOptions | None = None,
    spark_master: str | None = None,
    driver_memory: str | None = None,
    title: str | None = None,
    progress: Progress | None = None,
    plotter: PlotWorker | None = None,
    inspected: bool = False,
    browser: bool = False,
) -> GwasResult:
    """Run the whole GWAS and write ``out/<trait>.tsv.gz`` (+ meta), plots and ``report.html``
    (and with ``browser``, ``top_hits.tsv`` and ``browser/``).

    The inputs are first checked (:func:`promise.gwas.preflight.inspect`) unless the caller
    did (``inspected``). ``plotter``: a plotting process the caller started early (the CLI
    does, before its own imports); by default one is started here. ``progress`` is told
    each step, and where it has a ``within(done, total, unit)`` method, how far a long
    step is."""
    options = options or GwasOptions()
    if not inspected:
        checked = preflight.inspect(genotypes, phenotypes, min_cases=options.association.min_cases)
        genotypes, phenotypes = checked.source, checked.phenotypes
    say = StepClock(progress or (lambda _msg: None))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = choose_engine(options, genotypes, spark_master=spark_master)
    check_relatives(options, name)
    options = replace(options, engine=cast(Engine, name))  # the report names the one used
    engine = make_engine(name, work_dir=out, spark_master=spark_master,
                         driver_memory=driver_memory)  # fmt: skip
    scratch = out / "tmp" / "run"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        # a plotter the caller started is the caller's to close
        with nullcontext(plotter) if plotter else PlotWorker() as plotter:
            output = engine.run(genotypes=genotypes, phenotypes=phenotypes, options=options,
                                scratch=scratch, say=say)  # fmt: skip
            say("writing summary statistics, plots and report")
            facts = RunFacts(
                options=options, build=genotypes.build,
                title=title or f"GWAS of {', '.join(phenotypes.traits)}",
                phenotypes=phenotypes, timings=say.timings, browser=browser,
            )  # fmt: skip
            files = write_outputs(out, output, facts, plotter=plotter, say=say,
                                  within=say.within)  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with suppress(OSError):  # the folder itself, unless Hail keeps its files there
            scratch.parent.rmdir()
    return GwasResult(
        out=out,
        summaries=output.summaries,
        qc_steps=output.qc_steps,
        files=files,
        n_samples=output.n_samples,
        n_variants=max((len(s.frame) for s in output.summaries), default=0),
        timings=say.stop(),
        engine=name,
    )
