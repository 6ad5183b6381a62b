"""Every trait group in one pass over a PLINK 1 .bed or a dosage file: linear and binary
kernels per block.

A group is traits of one kind with the same non-missing samples (:class:`GroupInput`):
its samples (columns of the .bed), its traits' values and its covariate matrix (intercept
included, principal components among the columns). Each block of variants is read once
and handed to every group: quantitative groups to the linear kernel of
:mod:`promise.gwas.fastlinear` (one product with all their traits at once), binary groups
to the score/Firth (or Wald) kernel of :mod:`promise.gwas.engines.binary` against the null
model fitted once per group. Blocks run on one thread per core, each with a single-threaded
BLAS; ``progress(k)`` is told after each block of k variants.

Covariate columns that are constant or a combination of the others over a group's samples
(``is_female`` among the cases and controls of a sex-specific endpoint, a batch indicator
of a batch with none of the group's samples) are left out of that group's model: they carry
no information there, and the remaining columns span the same space.

With LOCO (regenie's step 1, :mod:`promise.gwas.loco`), a group carries ``offsets``: per
chromosome (the .bim's label) the samples x traits leave-one-chromosome-out predictions.
Each chromosome then gets its own model: a quantitative group's traits minus the prediction
(the covariates projected out again by the linear plan), a binary group's null model with
the prediction as offset (``fit_null(..., offset=)``, which the score test and Firth fits
carry). A block that spans two chromosomes is cut at the boundary. With ``relatives`` (pairs
of the group's samples and their kinship), each chromosome's statistics are divided by
:func:`.kinshipcalibration.relatedness_factor` of the residual it tests (p-values from the
divided chi-squared, standard errors times its square root): out-of-sample LOCO predictions
over-correct relatives, and the factor undoes it.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy import stats
from threadpoolctl import threadpool_limits

from promise.gwas import fastlinear
from promise.gwas.bedset import BedFiles
from promise.gwas.engines.binary import Workspace, associate_block
from promise.gwas.engines.binaryresults import BinaryOptions, BinaryResults, Method, block_size
from promise.gwas.engines.dosagesource import DosageSource, dosage_block
from promise.gwas.engines.groupinputs import GroupInput as GroupInput
from promise.gwas.engines.groupinputs import independent_columns as independent_columns
from promise.gwas.engines.kinshipcalibration import relatedness_factor
from promise.gwas.engines.nullmodel import NullModels, fit_null
from promise.gwas.localqc import contigs

Array = np.ndarray[Any, Any]


@dataclass
class _Model:
    """One chromosome's null model (binary) or linear plan, and its relatedness factor."""

    null: NullModels | None = None
    plan: Any = None  # fastlinear plan
    factor: Array | None = None  # per trait; None: 1


@dataclass
class Fitted:
    """A group ready for the blocks: its null model or linear plan and its result arrays."""

    group: GroupInput
    cols: Array | None  # None: every sample of the .bed in file order
    null: NullModels | None = None
    binary: BinaryResults | None = None
    plan: Any = None  # fastlinear plan
    linear: Any = None  # fastlinear stats
    spaces: dict[int, Workspace] = field(default_factory=dict)
    models: dict[int, _Model] | None = None  # per chromosome index, with LOCO


def fit_group(
    group: GroupInput, n_bed: int, n_variants: int, chromosomes: Sequence[str] = ()
) -> Fitted:
    """The group's null model (binary) or linear plan, with empty result arrays; with
    ``offsets``, one per chromosome of ``chromosomes`` (the .bed's labels, by index)."""
    in_order = len(group.cols) == n_bed and bool(np.all(group.cols == np.arange(n_bed)))
    fitted = Fitted(group=group, cols=None if in_order else group.cols)
    covariates = independent_columns(group.covariates)
    if group.offsets is not None:
        fitted.models = {
            c: _model(group, covariates, fitted.cols, group.offsets.get(name))
            for c, name in enumerate(chromosomes)
        }
        first = next(iter(fitted.models.values()), None) or _model(
            group, covariates, fitted.cols, None
        )
        fitted.null, fitted.plan = first.null, first.plan
    elif group.kind == "binary":
        fitted.null = fit_null(group.y, covariates, group.traits)
    else:
        fitted.plan = fastlinear.plan_arrays(group.y, covariates, fitted.cols)
    if fitted.null is not None:
        fitted.binary = BinaryResults.empty(n_variants, fitted.null)
    else:
        fitted.linear = fastlinear.empty_stats(n_variants, fitted.plan)
    return fitted


def _model(
    group: GroupInput, covariates: Array, cols: Array | None, offset: Array | None
) -> _Model:
    """One chromosome's model of ``group`` with the LOCO prediction ``offset`` (None: none)."""
    if group.kind == "binary":
        null = fit_null(group.y, covariates, group.traits, offset=offset)
        residual = null.right[:, : null.n_traits]  # y - mu
        return _Model(null=null, factor=_factor(group, residual))
    y = group.y if offset is None else group.y - offset
    plan = fastlinear.plan_arrays(y, covariates, cols)
    return _Model(plan=plan, factor=_factor(group, plan.weights_t[: plan.n_traits].T))


def _factor(group: GroupInput, residual: Array) -> Array | None:
    if group.relatives is None or len(group.relatives[0]) == 0:
        return None
    first, second, kinship = group.relatives
    return relatedness_factor(residual, first, second, kinship)


def associate(
    bed: BedFiles | DosageSource,
    groups: Sequence[GroupInput],
    options: BinaryOptions,
    *,
    build: str = "GRCh38",
    progress: Callable[[int], None] | None = None,
) -> list[pl.DataFrame]:
    """Test every variant of ``bed`` for every group; one frame per group in the layout of
    :func:`promise.gwas.results.export_group` (``contig position ref alt`` then per trait
    ``t{i}_beta _se _p _n _eaf _firth _test``), contigs in ``build``'s names. A
    :class:`.dosagesource.DosageSource` supplies float dosages instead of .bed codes."""
    n, m = len(bed.samples), bed.n_variants
    labels, chrom_index = np.unique(bed.bim["chrom"].cast(pl.Utf8).to_numpy(), return_inverse=True)
    fitted = [fit_group(g, n, m, [str(x) for x in labels]) for g in groups]
    largest = max((len(g.cols) for g in groups), default=1)
    block = block_size(options, largest)
    local = threading.local()

    def one(item: tuple[int, Array]) -> int:
        start, raw = item
        if not hasattr(local, "linear"):
            local.linear = fastlinear.Space(block, raw.shape[1])
        rows = slice(start, start + len(raw))
        any_missing = fastlinear.has_missing(raw)
        missing_all = fastlinear.decode(raw, fastlinear.LUT_MISSING, n) if any_missing else None
        counts = None
        for fit in fitted:
            missing = missing_all
            if missing is not None and fit.cols is not None:
                missing = missing[:, fit.cols]
                missing = missing if missing.any() else None
            if fit.binary is None and counts is None:
                counts = local.linear.decoded(raw)[:, :n]
            for a, b, model in _runs(fit, chrom_index[rows]):
                part = slice(start + a, start + b)
                held = None if missing is None else missing[a:b]
                if held is not None and fit.cols is not None and not held.any():
                    held = None
                if fit.binary is not None:
                    null = model.null if model is not None else fit.null
                    assert null is not None
                    space = fit.spaces.get(threading.get_ident())
                    if space is None:
                        space = fit.spaces[threading.get_ident()] = Workspace(null, block, n)
                    g = space.bed_genotypes(raw[a:b], n, fit.cols)
                    flags = None if held is None else held.view(bool)
                    associate_block(null, g, flags, options, fit.binary, part, space)
                else:
                    assert counts is not None
                    plan = model.plan if model is not None else fit.plan
                    fastlinear.linear_block(
                        counts[a:b], raw[a:b], held, plan, fit.linear, part, n, local.linear
                    )
        return len(raw)

    def one_dosage(item: tuple[int, Array]) -> int:
        start, dosages = item
        for fit in fitted:
            for a, b, model in _runs(fit, chrom_index[start : start + len(dosages)]):
                part = slice(start + a, start + b)
                if fit.binary is None:
                    plan = model.plan if model is not None else fit.plan
                    fastlinear.dosage_stats(dosages[a:b], plan, fit.linear, part)
                    continue
                null = model.null if model is not None else fit.null
                assert null is not None
                space = fit.spaces.get(threading.get_ident())
                if space is None:
                    space = fit.spaces[threading.get_ident()] = Workspace(null, block, n)
                g, flags = dosage_block(dosages[a:b], fit.cols)
                associate_block(null, g, flags, options, fit.binary, part, space)
        return len(dosages)

    workers = options.threads or max(1, min(os.cpu_count() or 1, 8))
    if isinstance(bed, DosageSource):
        blocks, work = bed.blocks(block), one_dosage
    else:
        blocks, work = fastlinear.bed_blocks(bed.prefix, n, m, block=block), one
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:  # type: ignore[no-untyped-call]
        for done in fastlinear.bounded_map(pool, work, blocks, ahead=2 * workers):
            if progress is not None:
                progress(done)
    for fit in fitted:
        _calibrate(fit, chrom_index)
    meta = pl.DataFrame(
        {
            "contig": bed.bim["chrom"] if isinstance(bed, DosageSource) else contigs(bed, build),
            "position": bed.bim["pos"],
            "ref": bed.bim["a2"],
            "alt": bed.bim["a1"],
        }  # fmt: skip
    )
    return [meta.hstack(result_columns(fit, m, options)) for fit in fitted]


def _runs(fit: Fitted, chrom: Array) -> list[tuple[int, int, _Model | None]]:
    """The block's runs of one chromosome, each with its model (None: the group's one)."""
    if fit.models is None:
        return [(0, len(chrom), None)]
    cuts = [0, *(np.flatnonzero(chrom[1:] != chrom[:-1]) + 1).tolist(), len(chrom)]
    return [(a, b, fit.models[int(chrom[a])]) for a, b in itertools.pairwise(cuts)]


def _calibrate(fit: Fitted, chrom_index: Array) -> None:
    """Each chromosome's statistics divided by its relatedness factor (module docstring)."""
    if fit.models is None:
        return
    for c, model in fit.models.items():
        if model.factor is None:
            continue
        rows = chrom_index == c
        if not rows.any():
            continue
        factor = model.factor[None, :]
        target = fit.binary if fit.binary is not None else fit.linear
        with np.errstate(invalid="ignore", divide="ignore"):
            chi2 = stats.chi2.isf(target.p[rows], 1) / factor
            target.p[rows] = stats.chi2.sf(chi2, 1)
            target.se[rows] = target.se[rows] * np.sqrt(factor)
            if fit.binary is not None:
                fit.binary.chi2[rows] = fit.binary.chi2[rows] / factor


def result_columns(fit: Fitted, m: int, options: BinaryOptions) -> pl.DataFrame:
    columns: dict[str, Any] = {}
    size = pl.repeat(len(fit.group.cols), m, dtype=pl.Int64, eager=True)
    for t in range(len(fit.group.traits)):
        if fit.binary is not None:
            r = fit.binary
            method = r.method[:, t]
            plain = "wald" if options.test == "wald" else "score"
            test = np.array([plain, "score", "firth", "wald"], dtype=object)[method]
            columns.update({
                f"t{t}_beta": r.beta[:, t], f"t{t}_se": r.se[:, t], f"t{t}_p": r.p[:, t],
                f"t{t}_n": size, f"t{t}_eaf": r.a1_freq,
                f"t{t}_firth": method == Method.FIRTH,
                f"t{t}_test": pl.Series(test, dtype=pl.String),
                f"t{t}_eaf_cases": r.a1_freq_cases[:, t],
            })  # fmt: skip
        else:
            s = fit.linear
            columns.update({
                f"t{t}_beta": s.beta[:, t], f"t{t}_se": s.se[:, t], f"t{t}_p": s.p[:, t],
                f"t{t}_n": size, f"t{t}_eaf": s.eaf,
                f"t{t}_firth": pl.repeat(False, m, eager=True),
                f"t{t}_test": pl.repeat("linear", m, eager=True),
            })  # fmt: skip
    return pl.DataFrame(columns)
