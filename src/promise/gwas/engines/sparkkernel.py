"""The fast engine's block kernels as Spark tasks, with Hail doing import, QC and PCA.

On a Spark cluster (``--spark-master``) the steps before the regressions stay Hail's
(:func:`.hailengine.prepare`: import, sample and variant QC, PCA). Then:

1. the analysed genotypes are written once as a PLINK 1 file set in the run's scratch folder
   (``hl.export_plink``, in parallel on the cluster). The .fam carries each sample's
   position (0, 1, ...), not its id: the file set on shared storage and everything a task
   sees hold no identifier, pseudonymous or not;
2. on the driver, every trait group gets its model as the fast engine builds it
   (``groupinputs.group_inputs``, :func:`.fastassoc.fit_group`):
   the linear plan (covariates projected out) or the null logistic model;
3. the variants are cut into ranges of whole blocks, one Spark task per range
   (``sc.parallelize(ranges, n)``); a task maps its byte range of the .bed and runs the
   fast engine's block kernels on it, block by block: :func:`promise.gwas.fastlinear.linear_block`
   and :func:`.binary.associate_block` (score test, Firth where p < ``--firth-p``; or Wald);
4. the ranges' result arrays are put back together in variant order on the driver and
   become the same per-group frames as the fast engine's (``fastassoc.result_columns``), which
   :mod:`promise.gwas.outputs` writes.

So a cluster run gives the statistics of the local fast engine on the same samples and
variants. The workers must import ``promise`` with the Python the driver names
(``PYSPARK_PYTHON``, by default the driver's own interpreter, see
:mod:`promise.gwas.session`) and read the scratch folder at the same path (the output
folder on a shared file system). No LOCO and no kinship here (:func:`.interface.check_relatives`).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from promise.errors import PromiseError
from promise.genotypes.plink import BED_MAGIC, checked_bed
from promise.gwas import association, fastlinear
from promise.gwas.bedset import open_bed
from promise.gwas.engines import fastassoc
from promise.gwas.engines.binary import Workspace, associate_block
from promise.gwas.engines.binaryresults import BinaryOptions, BinaryResults, block_size
from promise.gwas.engines.fastengine import binary_options
from promise.gwas.engines.groupinputs import group_inputs
from promise.gwas.engines.hailengine import prepare
from promise.gwas.engines.interface import EngineOutput
from promise.gwas.inputs import GenotypeSource
from promise.gwas.localqc import contigs
from promise.gwas.options import GwasOptions
from promise.gwas.summaries import group_summaries
from promise.gwas.traits import Phenotypes

if TYPE_CHECKING:
    from promise.gwas.pipeline import StepClock

Array = np.ndarray[Any, Any]

#: ranges per core of the cluster: enough for Firth-heavy ranges to even out
RANGES_PER_CORE = 4


@dataclass(frozen=True, kw_only=True)
class KernelJob:
    """What every task needs, broadcast once: the .bed and each group's fitted model (with
    result arrays of no variants; a task sizes its own)."""

    prefix: str
    n_samples: int
    n_variants: int
    block: int
    options: BinaryOptions
    fits: list[Any]  # fastassoc fitted groups


@dataclass(frozen=True)
class SparkKernelEngine:
    """Hail on ``spark_master`` for import, QC and PCA; the fast kernels as Spark tasks."""

    work_dir: Path
    spark_master: str | None = None
    driver_memory: str | None = None
    name: str = "spark"

    def run(
        self,
        *,
        genotypes: GenotypeSource,
        phenotypes: Phenotypes,
        options: GwasOptions,
        scratch: Path,
        say: StepClock,
    ) -> EngineOutput:
        """QC and PCA in Hail, association by the fast kernels as Spark tasks."""
        from promise.gwas.session import init_hail

        say("starting Hail")
        hl = init_hail(work_dir=self.work_dir, spark_master=self.spark_master,
                       driver_memory=self.driver_memory)  # fmt: skip
        check_workers(hl.spark_context(), scratch, self.work_dir)
        ready = prepare(genotypes=genotypes, phenotypes=phenotypes, options=options,
                        scratch=scratch, say=say, work_dir=self.work_dir,
                        spark_master=self.spark_master,
                        driver_memory=self.driver_memory)  # fmt: skip
        hl = ready.hl
        say("writing the analysed genotypes as a PLINK file set")
        prefix = export_bed(hl, ready.mt, scratch / "kernel" / "genotypes")
        bed = open_bed(prefix)
        n, m = len(bed.samples), bed.n_variants
        if bed.samples != [str(i) for i in range(len(ready.samples))]:
            raise RuntimeError("Hail's PLINK export lost the order of the analysed samples.")
        frame = association.aligned(ready.frame, ready.samples)
        inputs = group_inputs(ready.groups, frame, np.arange(n), ready.covariates)
        settings = binary_options(options.association)
        fits = [fastassoc.fit_group(g, n, 0) for g in inputs]
        job = KernelJob(prefix=str(prefix), n_samples=n, n_variants=m,
                        block=block_size(settings, max(len(g.cols) for g in inputs)),
                        options=settings,
                        fits=fits)  # fmt: skip
        sc = hl.spark_context()
        ranges = variant_ranges(m, job.block, RANGES_PER_CORE * sc.defaultParallelism)
        say(f"association: {len(ready.phenotypes.traits)} trait(s) in {len(inputs)} group(s), "
            f"{len(ranges)} Spark task(s)")  # fmt: skip
        parts = run_tasks(sc, job, ranges, self.work_dir)
        say("collecting the results")
        meta = pl.DataFrame(
            {
                "contig": contigs(bed, genotypes.build),
                "position": bed.bim["pos"],
                "ref": bed.bim["a2"],
                "alt": bed.bim["a1"],
            }  # fmt: skip
        )
        frames = [
            meta.hstack(fastassoc.result_columns(joined(fit, [p[i] for p in parts]), m, settings))
            for i, fit in enumerate(fits)
        ]
        summaries = group_summaries(list(zip(frames, ready.groups, strict=True)), ready.counts)
        from promise.gwas.outputs import software_versions

        return EngineOutput(
            summaries=summaries, qc_steps=ready.steps, pcs=ready.pcs,
            covariates=ready.covariates, n_samples=n,
            label=f"fast kernel as Spark tasks (Hail {software_versions()['hail']}: import, "
            "QC, PCA)",
        )  # fmt: skip


class SparkTaskError(PromiseError):
    """The kernel's Spark tasks failed on the workers."""


def check_workers(sc: Any, folder: Path, work_dir: Path) -> None:
    """Fail fast, before Hail's import and QC, where the tasks would fail minutes later: a
    worker whose Python cannot import promise, or that does not see ``folder`` (the run's
    scratch, under the output folder) at the same path."""
    try:
        unseen = sc.parallelize([str(folder)], 1).map(_sees).collect()
    except Exception as error:
        raise task_error("A test task", error, work_dir) from None
    if not all(unseen):
        raise SparkTaskError(
            f"The Spark workers do not see the output folder {work_dir}: put it on a file "
            "system every worker mounts at the same path."
        )


def _sees(folder: str) -> bool:
    """On a worker: whether ``folder`` is there (unpickling this function imports promise)."""
    return Path(folder).is_dir()


def task_error(what: str, error: BaseException, work_dir: Path) -> SparkTaskError:
    """The one sentence for Spark tasks that failed on the workers."""
    return SparkTaskError(
        f"{what} failed on the Spark workers ({cause(error)}): every worker must run a Python "
        f"with promise installed (PYSPARK_PYTHON, {os.environ.get('PYSPARK_PYTHON')} here) "
        f"and see the output folder at the same path; Spark's log is "
        f"{work_dir / 'logs' / 'spark.log'}."
    )


def cause(error: BaseException) -> str:
    """The last ``SomethingError: message`` line of a (Java-wrapped) Python traceback, or
    the error's first line: what went wrong on the worker, in a few words."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    found = named[-1] if named else (lines[0] if lines else type(error).__name__)
    return found[:300]


def export_bed(hl: Any, mt: Any, prefix: Path) -> Path:
    """Write ``mt``'s calls as ``prefix``.bed/.bim/.fam (ALT as A1, a haploid call as the
    homozygote, as the fast engine's VCF conversion; samples named by column position)."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    mt = mt.add_col_index("_column")
    alt = mt.GT.n_alt_alleles()
    call = hl.unphased_diploid_gt_index_call(hl.if_else(mt.GT.ploidy == 1, 2 * alt, alt))
    hl.export_plink(mt, str(prefix), call=call, ind_id=hl.str(mt._column))
    return prefix


def run_tasks(sc: Any, job: KernelJob, ranges: list[tuple[int, int]], work_dir: Path) -> list[Any]:
    """One Spark task per range (the job broadcast once); each range's result arrays per
    group, in range order."""
    shared = sc.broadcast(job)
    try:
        parts: list[Any] = (
            sc.parallelize(ranges, max(1, len(ranges))).map(partial(_task, shared)).collect()
        )
    except Exception as error:  # py4j's error carries the workers' traceback
        raise task_error("The association tasks", error, work_dir) from None
    finally:
        shared.unpersist()
    return parts


def variant_ranges(n_variants: int, block: int, target: int) -> list[tuple[int, int]]:
    """About ``target`` ranges ``(start, stop)`` covering the variants in order, each of
    whole blocks (the last may be shorter), so that tasks cut the .bed where the local
    engine's blocks end."""
    if n_variants == 0:
        return []
    blocks = math.ceil(n_variants / block)
    per = math.ceil(blocks / max(1, min(target, blocks)))
    step = per * block
    return [(a, min(n_variants, a + step)) for a in range(0, n_variants, step)]


def _task(shared: Any, bounds: tuple[int, int]) -> list[Any]:
    """One Spark task: the kernels over the variants ``bounds`` of the broadcast job."""
    job: KernelJob = shared.value
    with threadpool_limits(limits=1, user_api="blas"):  # type: ignore[no-untyped-call]
        return run_range(job, *bounds)


def run_range(job: KernelJob, start: int, stop: int) -> list[Any]:
    """Every group's result arrays (BinaryResults or linear stats) for variants
    ``start:stop`` of the job's .bed, read block by block from its byte range."""
    n, k = job.n_samples, stop - start
    per = (n + 3) // 4
    path = checked_bed(Path(job.prefix), n, job.n_variants)
    codes = np.memmap(path, dtype=np.uint8, mode="r", offset=len(BED_MAGIC) + start * per,
                      shape=(k, per))  # fmt: skip
    fits = [sized(fit, k) for fit in job.fits]
    linear = fastlinear.Space(job.block, per)
    spaces = [Workspace(f.null, job.block, n) if f.null is not None else None for f in fits]
    for a in range(0, k, job.block):
        raw = np.array(codes[a : a + job.block])
        rows = slice(a, a + len(raw))
        every = fastlinear.decode(raw, fastlinear.LUT_MISSING, n) if fastlinear.has_missing(
            raw) else None  # fmt: skip
        counts = None
        for fit, space in zip(fits, spaces, strict=True):
            missing = every if every is None or fit.cols is None else every[:, fit.cols]
            if missing is not None and fit.cols is not None and not missing.any():
                missing = None
            if space is not None:
                g = space.bed_genotypes(raw, n, fit.cols)
                flags = None if missing is None else missing.view(bool)
                associate_block(fit.null, g, flags, job.options, fit.binary, rows, space)
            else:
                counts = linear.decoded(raw)[:, :n] if counts is None else counts
                fastlinear.linear_block(counts, raw, missing, fit.plan, fit.linear, rows, n,
                                        linear)  # fmt: skip
    del codes
    return [fit.binary if fit.binary is not None else fit.linear for fit in fits]


def sized(fit: Any, k: int) -> Any:
    """A fitted group with fresh result arrays for ``k`` variants."""
    if fit.null is not None:
        return replace(fit, binary=BinaryResults.empty(k, fit.null), spaces={})
    return replace(fit, linear=fastlinear.empty_stats(k, fit.plan), spaces={})


def joined(fit: Any, parts: list[Any]) -> Any:
    """``fit`` with the ranges' result arrays put end to end (variant order)."""
    if not parts:
        return fit
    empty = sized(fit, 0)
    template = empty.binary if empty.binary is not None else empty.linear
    per_variant = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(template)
        if isinstance(getattr(template, f.name), np.ndarray)
        and getattr(template, f.name).shape[:1] == (0,)
    }
    whole = replace(parts[0], **per_variant)
    return replace(fit, binary=whole) if fit.null is not None else replace(fit, linear=whole)
