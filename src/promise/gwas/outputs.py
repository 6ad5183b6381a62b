"""Everything a GWAS run writes, from the engine's per-trait summaries.

``<trait>.tsv.gz`` (GWAS-SSF) and ``<trait>.tsv.gz-meta.yaml`` per trait, the plots,
``report.html``, and for a run of many traits (``--all-endpoints``) ``top_hits.tsv`` and
the results browser (:mod:`promise.gwas.browser`). The report shows the Manhattan and QQ
plots and top loci of at most :data:`REPORT_TRAITS` traits (those with the smallest
p-values); the browser has a page for every trait.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from promise.gwas import relatedreport, relatives, report, results
from promise.gwas.options import GwasOptions
from promise.gwas.phenofiles import KEY
from promise.gwas.plotdata import PcaPoints, trait_points
from promise.gwas.qc import QcStep
from promise.gwas.traits import Phenotypes

if TYPE_CHECKING:
    from promise.gwas.engines.interface import EngineOutput
    from promise.gwas.pca import PcaResult
    from promise.gwas.plotworker import PlotWorker

#: traits whose plots and top loci the report shows (the browser shows every trait)
REPORT_TRAITS = 8


def safe_name(trait: str) -> str:
    """A file-name-safe form of a trait name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", trait)


def software_versions() -> dict[str, str]:
    """Versions recorded in the metadata: promise, Hail, Python."""
    from importlib import metadata  # 30 ms of imports, paid once the results are in

    versions = {"python": platform.python_version()}
    for package in ("promise", "hail", "pyspark"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def pca_points(pcs: PcaResult | None, phenotypes: Phenotypes) -> PcaPoints | None:
    """The PCA plot's data: scores, the share of variance of each PC and the samples'
    batch (and ancestry) labels. The HWE-normalised matrix has a total variance of about
    the number of samples (each of m variants adds n/m), so a PC explains eigenvalue / n."""
    if pcs is None:
        return None
    groups = None
    if phenotypes.groups is not None:
        groups = phenotypes.groups.to_pandas().set_index(KEY)
    explained = [value / max(1, len(pcs.scores)) for value in pcs.eigenvalues]
    return PcaPoints(scores=pcs.scores, explained=explained, groups=groups)


def _shared_texts(frames: list[pl.DataFrame]) -> list[results.SharedText | None]:
    """Each frame's group columns rendered once per run of frames that share them (the
    traits of one regression group come one after another)."""
    shared: list[results.SharedText | None] = []
    for frame in frames:
        last = shared[-1] if shared else None
        if last is None or not results.has_shared(frame, last):
            last = results.shared_text(frame)
        shared.append(last)
    return shared


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """What the outputs say about the run besides the engine's output."""

    options: GwasOptions
    build: str
    title: str
    phenotypes: Phenotypes
    timings: Mapping[str, float]
    browser: bool = False


def shown_in_report(summaries: list[results.TraitSummary]) -> list[results.TraitSummary]:
    """The traits the report plots: all, or the :data:`REPORT_TRAITS` with the smallest p."""
    if len(summaries) <= REPORT_TRAITS:
        return summaries

    def smallest(s: results.TraitSummary) -> float:
        value = s.frame["p_value"].min()
        return value if isinstance(value, float) else 1.0

    chosen = {s.trait for s in sorted(summaries, key=smallest)[:REPORT_TRAITS]}
    return [s for s in summaries if s.trait in chosen]


def write_outputs(
    out: Path,
    engine: EngineOutput,
    facts: RunFacts,
    *,
    plotter: PlotWorker,
    say: Callable[[str], None] | None = None,
    within: Callable[[int, int, str], None] | None = None,
) -> list[Path]:
    """Write every file of the run under ``out``; return their paths."""
    summaries, options = engine.summaries, facts.options
    software = software_versions()
    qc_rows = report.qc_rows(engine.qc_steps)
    paths = [out / f"{safe_name(s.trait)}.tsv.gz" for s in summaries]
    shown = shown_in_report(summaries)
    # the plots are drawn in the plotting process while the files are written here (Polars
    # and ISA-L work outside the GIL, so two threads write two files at once)
    plotter.draw(trait_points(shown), pca_points(engine.pcs, facts.phenotypes), out)
    frames = [s.frame for s in summaries]
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = pool.map(results.write_ssf, frames, paths, _shared_texts(frames))
        loci = {s.trait: results.top_loci(s.frame, limit=options.top_loci) for s in shown}
        digests = list(written)
    files: list[Path] = []
    settings = options.as_dict()
    if engine.loco is not None:
        settings["loco"] = engine.loco.used  # the choice made, where the option left it open
    for summary, data, md5 in zip(summaries, paths, digests, strict=True):
        meta = data.with_name(data.name + "-meta.yaml")
        extra = {"loco": engine.loco.for_trait(summary.trait) if engine.loco else {"used": False}}
        results.write_meta(summary, path=meta, md5=md5, build=facts.build, software=software,
                           options=settings, qc_steps=qc_rows,
                           covariates=engine.covariates, extra=extra)  # fmt: skip
        files += [data, meta]
    sections = []
    if engine.relatedness is not None:
        files.append(relatives.write_table(engine.relatedness, out))
        sections.append(relatedreport.relatedness_section(engine.relatedness))
    sections.append(relatedreport.loco_section(engine.loco))
    if facts.browser:
        if say is not None:
            say("results browser and top_hits.tsv")
        files.append(_browser(out, summaries, paths, facts, within))
    run_facts = {
        "samples analysed": f"{engine.n_samples:,}",
        "variants tested": f"{max((len(s.frame) for s in summaries), default=0):,}",
        "traits": str(len(summaries)),
        "genome build": facts.build,
        "PCs as covariates": str(len(engine.pcs.scores.columns) if engine.pcs else 0),
        "PCA": f"{engine.pcs.n_variants:,} LD-pruned variants, {engine.pcs.method}"
        if engine.pcs
        else "not run",
        "engine": engine.label,
        "LOCO": _loco_card(engine, len(summaries)),
    }
    if len(shown) < len(summaries):
        run_facts["shown here"] = f"{len(shown)} of {len(summaries)} traits (all in browser/)"
    figures = plotter.result()
    files.append(
        report.write_report(
            path=out / "report.html",
            title=facts.title,
            summaries=summaries,
            qc_steps=engine.qc_steps,
            facts=run_facts,
            plots=figures,
            options=settings,
            loci=loci,
            significance=options.significance,
            build=facts.build,
            info=facts.phenotypes.info,
            n_samples=engine.n_samples,
            timings=facts.timings,
            sections=sections,
        )  # fmt: skip
    )
    return files + list(figures.values())


def _loco_card(engine: EngineOutput, traits: int) -> str:
    if engine.loco is None or not engine.loco.used:
        return "not used"
    return f"{len(engine.loco.traits)} of {traits} traits"


def _browser(
    out: Path,
    summaries: list[results.TraitSummary],
    paths: list[Path],
    facts: RunFacts,
    within: Callable[[int, int, str], None] | None,
) -> Path:
    from promise.gwas.browser import BrowserTrait, write_browser

    info = facts.phenotypes.info
    traits = [
        BrowserTrait(
            name=s.trait,
            ssf=path,
            kind="binary" if s.kind == "binary" else "quantitative",
            long_name=info[s.trait].long_name if s.trait in info else "",
            definition=info[s.trait].definition if s.trait in info else "",
            cases=s.cases,
            controls=s.controls,
            n=s.n,
            lambda_gc=s.lambda_gc,
        )  # fmt: skip
        for s, path in zip(summaries, paths, strict=True)
    ]
    return write_browser(out, traits, build=facts.build, threshold=facts.options.significance,
                         progress=within)  # fmt: skip


__all__ = ["QcStep", "RunFacts", "pca_points", "safe_name", "software_versions", "write_outputs"]
