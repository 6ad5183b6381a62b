"""The GWAS pipeline: genotypes + traits -> QC -> PCA -> regression -> GWAS-SSF, plots, report.

Warehouse mode and own-files mode differ only in how they build the
:class:`~promise.gwas.inputs.GenotypeSource` and :class:`~promise.gwas.traits.Phenotypes`
handed to :func:`run_gwas`; the pipeline itself is the same.
"""

from __future__ import annotations

import platform
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from promise.gwas import association, preflight, qc, report, results
from promise.gwas.inputs import GenotypeSource, load_genotypes
from promise.gwas.options import Engine, GwasOptions
from promise.gwas.phenofiles import KEY
from promise.gwas.plotworker import PcaPoints, PlotWorker, trait_points
from promise.gwas.session import init_hail
from promise.gwas.traits import Phenotypes, TraitError, check_case_counts

if TYPE_CHECKING:  # pandas and the PCA module load only where PCA runs (the Hail path)
    from promise.gwas import pca

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
) -> GwasResult:
    """Run the whole GWAS and write ``out/<trait>.tsv.gz`` (+ meta), plots and ``report.html``.

    The inputs are first checked without Hail (:func:`promise.gwas.preflight.inspect`)
    unless the caller did (``inspected``). ``plotter``: a plotting process the caller
    started early (the CLI does, before its own imports); by default one is started here.
    ``progress`` is told each step, and where it has a ``within(done, total, unit)``
    method, how far a long step is."""
    options = options or GwasOptions()
    if not inspected:
        checked = preflight.inspect(genotypes, phenotypes, min_cases=options.association.min_cases)
        genotypes, phenotypes = checked.source, checked.phenotypes
    say = StepClock(progress or (lambda _msg: None))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    engine = choose_engine(options, genotypes, phenotypes, spark_master=spark_master)
    # PCA runs in process unless Hail was asked for or a cluster is used (see pca.compute_pcs)
    local = options.engine != "hail" and spark_master is None
    options = replace(options, engine=cast(Engine, engine))  # the report names the one used
    # a plotter the caller started is the caller's to close
    with nullcontext(plotter) if plotter else PlotWorker() as plotter:
        if engine == "numpy":
            return _run_numpy(out=out, genotypes=genotypes, phenotypes=phenotypes,
                              options=options, title=title, say=say, plotter=plotter)  # fmt: skip
        return _run_hail(out=out, genotypes=genotypes, phenotypes=phenotypes, options=options,
                         spark_master=spark_master, driver_memory=driver_memory, title=title,
                         say=say, plotter=plotter, local=local)  # fmt: skip


def _run_hail(
    *,
    out: Path,
    genotypes: GenotypeSource,
    phenotypes: Phenotypes,
    options: GwasOptions,
    spark_master: str | None,
    driver_memory: str | None,
    title: str | None,
    say: StepClock,
    plotter: PlotWorker,
    local: bool,
) -> GwasResult:
    """QC, PCA and association in Hail (any genotype format, any trait kind, clusters)."""
    from promise.gwas import pca

    say("starting Hail")
    hl = init_hail(work_dir=out, spark_master=spark_master, driver_memory=driver_memory)
    scratch = out / "tmp" / "run"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    say("reading genotypes")
    mt = load_genotypes(hl, genotypes, work_dir=out)
    if phenotypes.aliases and genotypes.kind == "bgen":
        phenotypes = phenotypes.matched_to(set(mt.s.collect()))
    frame = _usable_samples(phenotypes)
    mt = _annotate_pheno(hl, mt, frame)
    steps: list[qc.QcStep] = [_matched_step(hl, mt, len(frame))]
    if not options.skip_qc:
        say("sample and variant QC")
        mt, more = _quality_control(hl, mt, phenotypes, options, scratch)
        steps.extend(more)
    say("population structure (PCA)")
    pcs = pca.compute_pcs(hl, mt, settings=options.pca, local_dir=scratch if local else None)
    covariates = list(phenotypes.covariates)
    if pcs is not None:
        scores = pl.from_pandas(pcs.scores.reset_index(), schema_overrides={KEY: pl.String})
        frame = frame.join(scores, on=KEY, how="inner", maintain_order="left")
        covariates += list(pcs.scores.columns)
        mt = _annotate_pheno(hl, mt.drop("pheno"), frame)
    analysed = set(frame[KEY])
    samples = [s for s in mt.s.collect() if s in analysed]
    counts = association.case_counts(phenotypes, samples)
    check_case_counts(counts, min_cases=options.association.min_cases)
    fractions = {t: c / max(1, c + k) for t, (c, k) in counts.items()}
    groups = association.trait_groups(phenotypes, samples)
    say(f"association: {len(phenotypes.traits)} trait(s) in {len(groups)} regression group(s)")
    group_results = association.run_groups(
        hl,
        mt,
        groups=groups,
        covariates=covariates,
        settings=options.association,
        case_fractions=fractions,
        tmp=str(scratch),
    )
    say("writing summary statistics, plots and report")
    summaries = _summaries(hl, group_results, counts, scratch)
    files = _write_outputs(
        out=out,
        summaries=summaries,
        steps=steps,
        options=options,
        build=genotypes.build,
        covariates=covariates,
        pcs=pcs,
        title=title or f"GWAS of {', '.join(phenotypes.traits)}",
        n_samples=len(samples),
        plotter=plotter,
        phenotypes=phenotypes,
    )
    n_variants = max((len(s.frame) for s in summaries), default=0)
    shutil.rmtree(scratch, ignore_errors=True)
    return GwasResult(
        out=out,
        summaries=summaries,
        qc_steps=steps,
        files=files,
        n_samples=len(samples),
        n_variants=n_variants,
        timings=say.stop(),
    )


def numpy_applies(options: GwasOptions, genotypes: GenotypeSource, phenotypes: Phenotypes) -> bool:
    """The NumPy engine covers quantitative traits on PLINK files, without QC and PCs."""
    quantitative = all(k == "quantitative" for k in phenotypes.kinds.values())
    return genotypes.kind == "bfile" and quantitative and options.skip_qc and not options.pca.pcs


def choose_engine(
    options: GwasOptions,
    genotypes: GenotypeSource,
    phenotypes: Phenotypes,
    *,
    spark_master: str | None = None,
) -> str:
    """``hail`` or ``numpy``: the one asked for, or for ``auto`` the faster one that applies."""
    if options.engine != "auto":
        return options.engine
    if spark_master is None and numpy_applies(options, genotypes, phenotypes):
        return "numpy"
    return "hail"


def _run_numpy(
    *,
    out: Path,
    genotypes: GenotypeSource,
    phenotypes: Phenotypes,
    options: GwasOptions,
    title: str | None,
    say: StepClock,
    plotter: PlotWorker,
) -> GwasResult:
    """The JVM-free path: linear regression on a cleaned PLINK file set (see fastlinear)."""
    from promise.gwas import fastlinear

    if not numpy_applies(options, genotypes, phenotypes):
        raise TraitError(
            "The numpy engine runs quantitative traits on PLINK files with --skip-qc --pcs 0: "
            "drop --engine numpy for anything else."
        )
    frame = _usable_samples(phenotypes)
    analysed = set(frame[KEY])
    fam_ids = fastlinear.read_fam_ids(genotypes.path)
    samples = [s for s in fam_ids if s in analysed]
    steps = [
        qc.QcStep(target="samples", name="phenotype match", rule="genotyped, with trait and covariates",
                  removed=len(frame) - len(samples), remaining=len(samples))
    ]  # fmt: skip
    groups = association.trait_groups(phenotypes, samples)
    say(f"association (numpy): {len(phenotypes.traits)} trait(s) in {len(groups)} group(s)")
    raws = fastlinear.linear_groups(
        genotypes,
        phenotypes,
        association.aligned(frame, samples),
        [g.traits for g in groups],
        fam_ids,
        within=say.within,
    )
    summaries = _group_summaries(list(zip(raws, groups, strict=True)), {})
    say("writing summary statistics, plots and report")
    files = _write_outputs(
        out=out, summaries=summaries, steps=steps, options=options, build=genotypes.build,
        covariates=list(phenotypes.covariates), pcs=None,
        title=title or f"GWAS of {', '.join(phenotypes.traits)}", n_samples=len(samples),
        plotter=plotter, phenotypes=phenotypes,
    )  # fmt: skip
    return GwasResult(
        out=out, summaries=summaries, qc_steps=steps, files=files, n_samples=len(samples),
        n_variants=max((len(s.frame) for s in summaries), default=0), timings=say.stop(),
    )  # fmt: skip


def _usable_samples(phenotypes: Phenotypes) -> pl.DataFrame:
    """Samples with every covariate and at least one trait defined."""
    defined = [pl.col(c).is_not_null() for c in phenotypes.covariates]
    ok = pl.any_horizontal(pl.col(t).is_not_null() for t in phenotypes.traits)
    ok = pl.all_horizontal(ok, *defined)
    columns = dict.fromkeys([KEY, *phenotypes.traits, *phenotypes.covariates])
    usable = phenotypes.frame.filter(ok).select(list(columns))
    if usable.is_empty():
        raise TraitError(
            "No sample has the trait and all covariates defined: check the sample ids and NA codes."
        )
    return usable


def _annotate_pheno(hl: Any, mt: Any, frame: pl.DataFrame) -> Any:
    table = hl.Table.from_pandas(frame.to_pandas(), key=KEY)
    fields = {c: hl.or_missing(~hl.is_nan(table[c]), table[c]) for c in frame.columns if c != KEY}
    table = table.select(pheno=hl.struct(**fields))
    mt = mt.annotate_cols(pheno=table[mt.s].pheno)
    return mt.filter_cols(hl.is_defined(mt.pheno))


def _matched_step(hl: Any, mt: Any, n_pheno: int) -> qc.QcStep:
    kept = mt.count_cols()
    if kept == 0:
        raise TraitError(
            f"None of the {n_pheno} samples with a trait is in the genotypes: check that the "
            "sample ids match (IID; FID_IID for BGEN files written by PLINK 2)."
        )
    return qc.QcStep(
        target="samples",
        name="phenotype match",
        rule="genotyped, with trait and covariates",
        removed=n_pheno - kept,
        remaining=kept,
    )


def _quality_control(
    hl: Any, mt: Any, phenotypes: Phenotypes, options: GwasOptions, scratch: Path
) -> tuple[Any, list[qc.QcStep]]:
    mt, steps = qc.sample_qc(hl, mt, thresholds=options.qc, female_field=phenotypes.female_column)
    binary = [t for t in phenotypes.traits if phenotypes.kinds[t] == "binary"]
    mt, variant_steps = qc.variant_qc(
        hl, mt, thresholds=options.qc, binary_traits=binary, tmp=str(scratch / "variant-qc.ht")
    )
    mt = mt.checkpoint(str(scratch / "qc.mt"), overwrite=True)
    return mt, steps + variant_steps


def _summaries(
    hl: Any,
    group_results: list[association.GroupResult],
    counts: dict[str, tuple[int, int]],
    scratch: Path,
) -> list[results.TraitSummary]:
    exported = [
        (results.export_group(hl, r.table, path=scratch / f"group{gi}.tsv"), r.group)
        for gi, r in enumerate(group_results)
    ]
    return _group_summaries(exported, counts)


def _group_summaries(
    groups: list[tuple[pl.DataFrame, association.TraitGroup]],
    counts: dict[str, tuple[int, int]],
) -> list[results.TraitSummary]:
    """Every trait's summary from its group's frame, built on two threads (Polars works
    outside the GIL); each group's shared columns are computed once."""
    jobs: list[Callable[[], results.TraitSummary]] = []
    for raw, group in groups:
        base = results.ssf_base(raw)
        jobs += [
            partial(_summary, raw, ti, trait, group.kind, counts, base)
            for ti, trait in enumerate(group.traits)
        ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _summary(
    raw: pl.DataFrame,
    index: int,
    trait: str,
    kind: str,
    counts: dict[str, tuple[int, int]],
    base: results.SsfBase | None = None,
) -> results.TraitSummary:
    frame = results.ssf_frame(raw, index, kind=kind, base=base)
    largest = frame["n"].max()
    n = int(largest) if isinstance(largest, int) else 0
    cases, controls = counts.get(trait, (None, None))
    return results.TraitSummary(
        trait=trait,
        kind=kind,
        frame=frame,
        n=n,
        cases=cases,
        controls=controls,
        lambda_gc=results.lambda_gc(frame["p_value"]),
    )


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


def pca_points(pcs: pca.PcaResult | None, phenotypes: Phenotypes) -> PcaPoints | None:
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


def _write_outputs(
    *,
    out: Path,
    summaries: list[results.TraitSummary],
    steps: list[qc.QcStep],
    options: GwasOptions,
    build: str,
    covariates: list[str],
    pcs: pca.PcaResult | None,
    title: str,
    n_samples: int,
    plotter: PlotWorker,
    phenotypes: Phenotypes,
) -> list[Path]:
    files: list[Path] = []
    software = software_versions()
    qc_rows = report.qc_rows(steps)
    paths = [out / f"{safe_name(s.trait)}.tsv.gz" for s in summaries]
    # the plots are drawn in the plotting process while the files are written here (Polars
    # and ISA-L work outside the GIL, so two threads write two files at once)
    plotter.draw(trait_points(summaries), pca_points(pcs, phenotypes), out)
    frames = [s.frame for s in summaries]
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = pool.map(results.write_ssf, frames, paths, _shared_texts(frames))
        # the report's top loci meanwhile (a partial sort each, in Polars)
        loci = {s.trait: results.top_loci(s.frame, limit=options.top_loci) for s in summaries}
        digests = list(written)
    for summary, data, md5 in zip(summaries, paths, digests, strict=True):
        meta = data.with_name(data.name + "-meta.yaml")
        results.write_meta(
            summary,
            path=meta,
            md5=md5,
            build=build,
            software=software,
            options=options.as_dict(),
            qc_steps=qc_rows,
            covariates=covariates,
        )
        files += [data, meta]
    facts = {
        "samples analysed": f"{n_samples:,}",
        "variants tested": f"{max((len(s.frame) for s in summaries), default=0):,}",
        "traits": str(len(summaries)),
        "genome build": build,
        "PCs as covariates": str(len(pcs.scores.columns) if pcs else 0),
        "PCA": f"{pcs.n_variants:,} LD-pruned variants, {pcs.method}" if pcs else "not run",
        "engine": "Hail " + software["hail"] if options.engine == "hail" else "NumPy (in-process)",
    }
    figures = plotter.result()
    files.append(
        report.write_report(
            path=out / "report.html",
            title=title,
            summaries=summaries,
            qc_steps=steps,
            facts=facts,
            plots=figures,
            options=options.as_dict(),
            loci=loci,
            significance=options.significance,
            build=build,
            info=phenotypes.info,
            n_samples=n_samples,
        )
    )
    return files + list(figures.values())
