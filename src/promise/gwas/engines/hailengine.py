"""The Hail engine: QC, PCA and regressions on Spark (local, or a cluster).

Every genotype format Hail imports (VCF, BGEN, PLINK, the warehouse's MatrixTables), any
trait kind; logistic Wald with Firth for rare variants (``--firth``, ``--firth-mac``,
``--firth-p``) for binary traits (:mod:`promise.gwas.association`). The principal components
are computed in process when no cluster is used and the matrix fits (:mod:`promise.gwas.pca`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from promise.gwas import association, qc, results
from promise.gwas.engines.interface import EngineOutput
from promise.gwas.inputs import GenotypeSource, load_genotypes
from promise.gwas.options import GwasOptions
from promise.gwas.phenofiles import KEY
from promise.gwas.summaries import group_summaries, usable_samples
from promise.gwas.traits import Phenotypes, TraitError, check_case_counts

if TYPE_CHECKING:
    from promise.gwas.pca import PcaResult
    from promise.gwas.pipeline import StepClock


@dataclass(frozen=True)
class HailEngine:
    """Hail on ``spark_master`` (None: local), with ``driver_memory`` for the driver JVM."""

    work_dir: Path
    spark_master: str | None = None
    driver_memory: str | None = None
    name: str = "hail"

    def run(
        self,
        *,
        genotypes: GenotypeSource,
        phenotypes: Phenotypes,
        options: GwasOptions,
        scratch: Path,
        say: StepClock,
    ) -> EngineOutput:
        """QC, PCA and association in Hail."""
        ready = prepare(genotypes=genotypes, phenotypes=phenotypes, options=options,
                        scratch=scratch, say=say, work_dir=self.work_dir,
                        spark_master=self.spark_master,
                        driver_memory=self.driver_memory)  # fmt: skip
        hl, mt = ready.hl, ready.mt
        fractions = {t: c / max(1, c + k) for t, (c, k) in ready.counts.items()}
        say(f"association: {len(ready.phenotypes.traits)} trait(s) in {len(ready.groups)} "
            "regression group(s)")  # fmt: skip
        group_results = association.run_groups(
            hl, mt, groups=ready.groups, covariates=ready.covariates,
            settings=options.association, case_fractions=fractions, tmp=str(scratch),
        )  # fmt: skip
        say("collecting the results")
        exported = [
            (results.export_group(hl, r.table, path=scratch / f"group{gi}.tsv"), r.group)
            for gi, r in enumerate(group_results)
        ]
        summaries = group_summaries(exported, ready.counts)
        from promise.gwas.outputs import software_versions

        return EngineOutput(
            summaries=summaries, qc_steps=ready.steps, pcs=ready.pcs,
            covariates=ready.covariates, n_samples=len(ready.samples),
            label="Hail " + software_versions()["hail"],
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """What Hail hands the regressions: the MatrixTable of the analysed samples (``pheno``
    holds their traits and covariates, PCs included), in the order of ``samples``, and what
    the report says of the steps before."""

    hl: Any
    mt: Any
    frame: pl.DataFrame  # traits and covariates of the usable samples, PCs joined
    phenotypes: Phenotypes
    samples: list[str]  # the MatrixTable's columns, in its order
    steps: list[qc.QcStep]
    pcs: PcaResult | None
    covariates: list[str]
    counts: dict[str, tuple[int, int]]
    groups: list[association.TraitGroup]


def prepare(
    *,
    genotypes: GenotypeSource,
    phenotypes: Phenotypes,
    options: GwasOptions,
    scratch: Path,
    say: StepClock,
    work_dir: Path,
    spark_master: str | None,
    driver_memory: str | None,
) -> Prepared:
    """Start Hail, import the genotypes, match the samples, QC and PCA: every step before
    the regressions, shared by Hail's own regressions and the fast kernel as Spark tasks
    (:mod:`.sparkkernel`)."""
    from promise.gwas import pca
    from promise.gwas.session import init_hail

    say("starting Hail")
    out = work_dir  # Hail's logs and tmp go under the output folder
    hl = init_hail(work_dir=out, spark_master=spark_master, driver_memory=driver_memory)
    say("reading genotypes")
    mt = load_genotypes(hl, genotypes, work_dir=out)
    if phenotypes.aliases and genotypes.kind == "bgen":
        phenotypes = phenotypes.matched_to(set(mt.s.collect()))
    frame = usable_samples(phenotypes)
    mt = _annotate_pheno(hl, mt, frame)
    steps: list[qc.QcStep] = [_matched_step(mt, len(frame))]
    if not options.skip_qc:
        say("sample and variant QC")
        mt, more = _quality_control(hl, mt, phenotypes, options, scratch)
        steps.extend(more)
    say("population structure (PCA)")
    local = spark_master is None
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
    groups = association.trait_groups(phenotypes, samples)
    return Prepared(hl=hl, mt=mt, frame=frame, phenotypes=phenotypes, samples=samples,
                    steps=steps, pcs=pcs, covariates=covariates, counts=counts,
                    groups=groups)  # fmt: skip


def _annotate_pheno(hl: Any, mt: Any, frame: pl.DataFrame) -> Any:
    table = hl.Table.from_pandas(frame.to_pandas(), key=KEY)
    fields = {c: hl.or_missing(~hl.is_nan(table[c]), table[c]) for c in frame.columns if c != KEY}
    table = table.select(pheno=hl.struct(**fields))
    mt = mt.annotate_cols(pheno=table[mt.s].pheno)
    return mt.filter_cols(hl.is_defined(mt.pheno))


def _matched_step(mt: Any, n_pheno: int) -> qc.QcStep:
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
