"""One interface for every association engine, and the one place that picks the engine.

An engine takes a genotype source, the typed phenotype/covariate frame
(:class:`~promise.gwas.traits.Phenotypes`) and the run's options, and hands back an
:class:`EngineOutput`: one GWAS-SSF frame per trait (:class:`~promise.gwas.results.TraitSummary`),
the QC steps it applied, the principal components it used and the covariates of the model.
Writing files is not an engine's business (:mod:`promise.gwas.outputs` does it).

- ``fast`` (:mod:`.fastengine`): in process, no JVM; PLINK 1 file sets, the warehouse's
  PLINK copies of its batches, VCFs of hard calls (GT; converted losslessly to a PLINK file
  set in the run's scratch folder, :mod:`promise.gwas.vcfbed`) and dosages (BGEN v1.2, a
  VCF declaring FORMAT DS: QC, PCA and kinship on hard calls written to scratch, the
  association on the dosages, :mod:`.hardcalls`, :mod:`.dosagesource`); sample and variant
  QC, LD pruning and PCA, linear regression and the binary score test with Firth (or Wald),
  every trait group in one pass per block. ``auto`` picks it wherever it reads the input
  and no Spark cluster is given.
- ``hail`` (:mod:`.hailengine`): Hail on Spark, for dosages on a cluster
  (``--spark-master``), and whenever asked for with ``--engine hail``.
- ``spark`` (:mod:`.sparkkernel`): Hail's import, QC and PCA, then the fast engine's block
  kernels as Spark tasks over ranges of variants; hard calls only.

:func:`choose_engine` decides, :func:`make_engine` builds it.

Relatives (issue 19) are the fast engine's: kinship, ``--related drop`` (a sample subset,
each group's ``cols`` of :class:`.fastassoc.GroupInput`) and ``--loco`` (offsets per trait
and chromosome, :attr:`.fastassoc.GroupInput.offsets`). The Hail engine has neither:
:func:`check_relatives` refuses ``--related drop`` and ``--loco`` for it in one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from promise.gwas.bedset import batches_without_plink
from promise.gwas.engines.dosagesource import dosage_copies
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions
from promise.gwas.traits import Phenotypes, TraitError
from promise.gwas.vcfbed import holds_dosages

if TYPE_CHECKING:
    from promise.gwas.loco import LocoRun
    from promise.gwas.pca import PcaResult
    from promise.gwas.pipeline import StepClock
    from promise.gwas.qc import QcStep
    from promise.gwas.relatives import Relatedness
    from promise.gwas.results import TraitSummary

#: genotype sources the fast engine reads
FAST_SOURCES = ("bfile", "warehouse", "vcf", "bgen")


@dataclass(frozen=True, kw_only=True)
class EngineOutput:
    """What an engine hands back: per-trait summaries and what the report says of the run."""

    summaries: list[TraitSummary]
    qc_steps: list[QcStep]
    pcs: PcaResult | None
    covariates: list[str]
    n_samples: int
    label: str  # the engine as the report names it
    relatedness: Relatedness | None = None  # fast engine: kinship and the register check
    loco: LocoRun | None = None  # fast engine: whether step 1's predictions were used


class AssociationEngine(Protocol):
    """``run`` one GWAS: QC, PCA and association of every trait of ``phenotypes``."""

    @property
    def name(self) -> str: ...

    def run(
        self,
        *,
        genotypes: GenotypeSource,
        phenotypes: Phenotypes,
        options: GwasOptions,
        scratch: Path,
        say: StepClock,
    ) -> EngineOutput: ...


def fast_applies(genotypes: GenotypeSource) -> str | None:
    """None when the fast engine reads ``genotypes``; else why not, as a clause."""
    if genotypes.kind not in FAST_SOURCES:
        return f"it does not read {genotypes.kind.upper()} files"
    if genotypes.kind == "warehouse":
        missing = batches_without_plink(genotypes.path)
        if missing:
            return (
                f"batch {missing[0]} has no PLINK copy (ingested before ingestion wrote one; "
                "load it again to get one)"
            )
    return None


def kernel_refuses(genotypes: GenotypeSource) -> str | None:
    """None when the fast kernels as Spark tasks take ``genotypes`` (hard calls: Hail imports
    them, so the warehouse needs no PLINK copies); else why not, as a clause."""
    if genotypes.kind == "bgen":
        return (
            "a BGEN file holds genotype probabilities (dosages), which the Spark kernels' hard "
            "calls would round, losing information"
        )
    if genotypes.kind == "vcf" and holds_dosages(genotypes.path):
        return (
            f"{genotypes.path.name} declares dosages (FORMAT DS), which the Spark kernels' "
            "hard calls would round, losing information"
        )
    copies = dosage_copies(genotypes.path) if genotypes.kind == "warehouse" else {}
    if copies:
        return (
            f"batch {min(copies)} of the warehouse holds dosages, which the Spark kernels' "
            "hard calls would round, losing information"
        )
    return None


def choose_engine(
    options: GwasOptions, genotypes: GenotypeSource, *, spark_master: str | None = None
) -> str:
    """``fast``, ``spark`` or ``hail``: the one asked for, or for ``auto`` the fast engine
    wherever it reads the input and no Spark cluster is given; on a cluster, the fast
    kernels as Spark tasks for hard calls (measured faster than Hail's regressions), Hail
    for dosages. ``--engine fast`` (or ``numpy``) on input it cannot read is refused in
    one sentence."""
    chosen = _choose(options, genotypes, spark_master)
    if chosen == "hail":
        _check_hail_reads(genotypes)
    return chosen


def _check_hail_reads(genotypes: GenotypeSource) -> None:
    """Hail's ``import_bgen`` reads 8-bit BGEN only (else a Java traceback, minutes in)."""
    if genotypes.kind != "bgen" or not genotypes.path.is_file():
        return  # a missing file is the preflight's to refuse, in its own sentence
    from promise.genotypes.bgen import first_bit_depth

    bits = first_bit_depth(genotypes.path)
    if bits is not None and bits != 8:
        raise TraitError(
            f"Hail reads 8-bit BGEN files only and {genotypes.path.name} stores {bits}-bit "
            "probabilities: run it on the fast engine (one machine: leave out --engine hail "
            "and --spark-master) or convert it (plink2 --bgen ... --export bgen-1.2 bits=8)."
        )


def _choose(options: GwasOptions, genotypes: GenotypeSource, spark_master: str | None) -> str:
    asked = "fast" if options.engine == "numpy" else options.engine
    if asked == "hail":
        return "hail"
    if asked == "spark":
        dosages = kernel_refuses(genotypes)
        if dosages is not None:
            raise TraitError(f"--engine spark cannot run this GWAS: {dosages}; use --engine hail.")
        return "spark"
    why = fast_applies(genotypes)
    if asked == "fast":
        if spark_master is not None:
            raise TraitError(
                "--engine fast runs in this process: drop --spark-master for it (--engine "
                "spark runs its kernels as Spark tasks)."
            )
        if why is not None:
            raise TraitError(f"The fast engine cannot run this GWAS: {why}; use --engine hail.")
        return "fast"
    if spark_master is not None:  # the faster on a cluster (docs/benchmarks.md)
        return "spark" if kernel_refuses(genotypes) is None else "hail"
    return "fast" if why is None else "hail"


def check_relatives(options: GwasOptions, engine: str) -> None:
    """``--related drop`` and ``--loco`` need the fast engine; refused for Hail."""
    if engine == "fast":
        return
    asked = [o for o, on in (("--related drop", options.related == "drop"),
                             ("--loco", options.loco is True)) if on]  # fmt: skip
    if asked:
        raise TraitError(
            f"{' and '.join(asked)} {'need' if len(asked) > 1 else 'needs'} the fast engine "
            "(no --spark-master, no --engine hail); the Hail engine computes neither kinship "
            "nor LOCO."
        )


def make_engine(
    name: str,
    *,
    work_dir: Path,
    spark_master: str | None = None,
    driver_memory: str | None = None,
) -> AssociationEngine:
    """The engine called ``name`` (see :func:`choose_engine`)."""
    if name == "fast":
        from promise.gwas.engines.fastengine import FastEngine

        return FastEngine()
    if name == "spark":
        from promise.gwas.engines.sparkkernel import SparkKernelEngine

        return SparkKernelEngine(
            work_dir=work_dir, spark_master=spark_master, driver_memory=driver_memory
        )
    from promise.gwas.engines.hailengine import HailEngine

    return HailEngine(work_dir=work_dir, spark_master=spark_master, driver_memory=driver_memory)
