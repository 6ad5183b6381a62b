"""``--loco`` in the fast engine: regenie's step 1 for every trait group, as step 2's offsets.

Step 1 (:mod:`promise.gwas.engines.step1`) runs on the LD-pruned common variants of the run
(the set PCA and kinship use, :class:`promise.gwas.fastpca.Pruned`), as regenie recommends
(a few hundred thousand LD-pruned common variants, not every tested one), once per group of
traits sharing their samples: the .bed is read once per group for all of its traits. Each
group then carries, per chromosome, its leave-one-chromosome-out predictions
(:attr:`promise.gwas.engines.fastassoc.GroupInput.offsets`), subtracted from quantitative
traits and an offset of binary ones (times its calibration slope, :func:`calibrated`: level
1's logistic predictions can be overconfident, which inflates step 2), and its related pairs, whose kinship calibrates each
chromosome's statistics (:mod:`promise.gwas.engines.kinshipcalibration`).

A trait whose level 1 does not converge (or a group step 1 refuses, e.g. a trait that does
not vary once the covariates are accounted for) is tested without LOCO and named in the
report; never silently.

Default (:func:`loco_default`): on in warehouse mode for every trait, off for own files.
Measured on the synthetic families through ``promise gwas``: quantitative traits
(``tests/gwas/test_loco_gwas.py``) lambda GC 0.989 with LOCO, 1.114 without; polygenic
binary traits (``tests/gwas/test_loco_binary.py``) 1.009 with, 1.082 without. On a binary
endpoint without polygenic background (the demo's E4_DM2: three planted variants, ancestry
and covariates) LOCO changes lambda GC by +0.004 on average (SD 0.018) over six synthetic
cohorts of 3,000 genotyped (docs/gwas.md): neither inflated nor deflated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from promise.gwas.bedset import BedFiles
from promise.gwas.engines.fastassoc import GroupInput, independent_columns
from promise.gwas.engines.locobinary import offset_slope
from promise.gwas.engines.step1 import Step1Error, Step1Options, fit_step1_bed
from promise.gwas.engines.step1data import plan_blocks

Array = np.ndarray[Any, Any]


def loco_default(genotype_kind: str) -> bool:
    """Whether a run uses LOCO when neither ``--loco`` nor ``--no-loco`` is given: in
    warehouse mode (a population cohort with relatives, whose register pedigree the run
    checks), not for a researcher's own files (often already unrelated samples)."""
    return genotype_kind == "warehouse"


@dataclass(frozen=True, kw_only=True)
class LocoRun:
    """What step 1 did, for the report and the metadata."""

    used: bool
    why: str  # how the choice was made: "--loco", "--no-loco", "default in warehouse mode"...
    traits: list[str] = field(default_factory=list)  # tested with LOCO predictions
    without: list[str] = field(default_factory=list)  # tested without (step 1 failed)
    messages: list[str] = field(default_factory=list)
    n_variants: int = 0  # step 1 variants
    calibrated: bool = False  # statistics divided by the relatedness factor

    def for_trait(self, trait: str) -> dict[str, Any]:
        """The metadata entry of one trait."""
        return {
            "used": trait in self.traits,
            "choice": self.why,
            "step1_variants": self.n_variants,
            # every trait of a LOCO run, with LOCO or not: the factor calibrates both
            "kinship_calibration": self.calibrated and trait in (*self.traits, *self.without),
            "note": next(
                (m for m in self.messages if f" {trait};" in m or f" {trait} " in m), None
            ),
        }


def step1_blocks(bed: BedFiles, step1_rows: Array, options: Step1Options | None = None) -> int:
    """How many blocks step 1 reads per trait group (for progress)."""
    keep = np.zeros(bed.n_variants, dtype=bool)
    keep[np.asarray(step1_rows, dtype=np.int64)] = True
    if not keep.any():
        return 0
    size = (options or Step1Options()).block
    return len(plan_blocks(bed.bim["chrom"].cast(pl.Utf8).to_list(), keep, size)[1])


def with_offsets(
    bed: BedFiles,
    groups: Sequence[GroupInput],
    step1_rows: Array,
    *,
    relatives: Callable[[Array], tuple[Array, Array, Array]] | None,
    why: str,
    options: Step1Options | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[GroupInput], LocoRun]:
    """``groups`` with their LOCO predictions (step 1 on the .bed rows ``step1_rows``) and
    related pairs (``relatives(cols)``: pairs among a group's .bed columns), and the run's
    account of it."""
    labels = bed.bim["chrom"].cast(pl.Utf8).to_list()
    keep = np.zeros(bed.n_variants, dtype=bool)
    keep[np.asarray(step1_rows, dtype=np.int64)] = True
    names = sorted(set(labels))
    done: list[GroupInput] = []
    used: list[str] = []
    without: list[str] = []
    messages: list[str] = []
    for group in groups:
        try:
            fit = fit_step1_bed(
                bed.prefix,
                y=group.y,
                covariates=independent_columns(group.covariates),
                names=group.traits,
                binary=group.kind == "binary",
                n_fam=len(bed.samples),
                chromosomes=labels,
                sample_cols=group.cols,
                keep=keep,
                options=options,
                progress=progress,
            )
        except Step1Error as exc:
            without += group.traits
            messages.append(
                f"Whole-genome regression (step 1) refused the traits {', '.join(group.traits)} "
                f"({exc}); they are tested without LOCO predictions."
            )
            done.append(group)
            continue
        ok = np.asarray(fit.converged, dtype=bool)
        offsets = {}
        basis = independent_columns(group.covariates)
        for name in names:
            offset = np.array(fit.offset(name), dtype=np.float64)
            offset[:, ~ok] = 0.0  # not converged: tested without LOCO
            if group.kind == "binary":
                offset = calibrated(group.y, basis, offset)
            offsets[name] = offset
        used += [t for t, k in zip(group.traits, ok, strict=True) if k]
        without += list(fit.not_converged)
        messages += fit.messages()
        pairs = relatives(group.cols) if relatives is not None else None
        done.append(replace(group, offsets=offsets, relatives=pairs))
    run = LocoRun(
        used=bool(used),
        why=why,
        traits=used,
        without=without,
        messages=messages,
        n_variants=int(keep.sum()),
        calibrated=relatives is not None,
    )
    return done, run


def calibrated(y: Array, covariates: Array, offset: Array) -> Array:
    """Binary traits' LOCO predictions (n x T) times their calibration slopes
    (:func:`.locobinary.offset_slope`): step 2 then tests against a null model whose offset
    is as confident as the data allow, not more (docs/gwas.md, LOCO)."""
    scaled = offset.copy()
    for t in range(offset.shape[1]):
        if np.any(offset[:, t] != 0.0):
            scaled[:, t] *= offset_slope(y[:, t], covariates, offset[:, t])
    return scaled


__all__ = ["LocoRun", "calibrated", "loco_default", "step1_blocks", "with_offsets"]
