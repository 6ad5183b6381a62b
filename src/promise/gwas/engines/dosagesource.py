"""Dosages as a block source of the fast engine: BGEN v1.2 and VCFs with FORMAT DS.

Work in progress (issue 17.2, see docs/dosage-path-wip.md). The fast engine's association
reads a PLINK 1 .bed block by block and decodes each block's 2-bit codes into A1 counts.
For dosage input, :class:`DosageSource` supplies the blocks instead: variants x samples
float64 dosages of ``a1`` (ALT) from :func:`promise.genotypes.open_genotypes`, NaN for a
missing call, mean-imputed as the .bed path does. The linear kernel
(:func:`linear_dosage_block`) is the .bed path's Frisch-Waugh-Lovell product
(:mod:`promise.gwas.fastlinear`) with sum(g^2) taken from the dosages rather than from the
count of homozygous calls: that is ``plink2 --glm`` on dosages.

On this branch dosage input runs association only: no sample or variant QC, no pruning or
PCA, no kinship, no LOCO (:func:`association_only_refusal` says which one was asked for),
linear and binary kernels. ``--engine auto`` still sends dosages to Hail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from promise.genotypes import GenotypeKind, open_genotypes
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions
from promise.gwas.vcfbed import holds_dosages

if TYPE_CHECKING:
    from promise.gwas.engines.interface import EngineOutput
    from promise.gwas.pipeline import StepClock
    from promise.gwas.traits import Phenotypes

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class DosageSource:
    """One dosage file: its samples, its variants (``chrom`` in the build's names, ``pos``,
    ``a1`` the counted allele ALT, ``a2`` REF) and its blocks of dosages."""

    path: Path
    kind: GenotypeKind
    build: str
    sample_file: Path | None
    samples: list[str]
    bim: pl.DataFrame

    @property
    def n_variants(self) -> int:
        return len(self.bim)

    def blocks(self, block: int) -> Iterator[tuple[int, Array]]:
        """(first variant, variants x samples float64 dosages of ``a1``, NaN where
        missing), every sample in file order, blocks of at most ``block`` variants."""
        with open_genotypes(self.path, self.kind, self.build, sample_file=self.sample_file) as r:
            for start, dosages in r.dosage_blocks(block=block):
                yield start, np.ascontiguousarray(dosages.T)


def holds_dosage_input(genotypes: GenotypeSource) -> bool:
    """Whether ``genotypes`` are dosages: a BGEN file, or a VCF declaring FORMAT DS."""
    return genotypes.kind == "bgen" or (
        genotypes.kind == "vcf" and holds_dosages(Path(genotypes.path))
    )


def open_dosages(genotypes: GenotypeSource) -> DosageSource:
    """The :class:`DosageSource` of a BGEN file or a VCF with DS (header and variants read)."""
    kind: GenotypeKind = "bgen" if genotypes.kind == "bgen" else "vcf"
    path = Path(genotypes.path)
    with open_genotypes(path, kind, genotypes.build, sample_file=genotypes.sample_file) as r:
        samples, variants = list(r.samples), r.variants
    return DosageSource(
        path=path,
        kind=kind,
        build=genotypes.build,
        sample_file=genotypes.sample_file,
        samples=samples,
        bim=variants.select("chrom", "pos", "id", "a1", "a2"),
    )


def association_only_refusal(options: GwasOptions) -> str | None:
    """None when the run asks for association only (``--skip-qc --pcs 0``, no ``--loco``,
    no ``--related drop``); else the options the dosage path does not run yet, as a clause."""
    asked = [
        flag
        for flag, on in (
            ("QC (add --skip-qc)", not options.skip_qc),
            ("PCA (add --pcs 0)", options.pca.pcs > 0),
            ("--loco", options.loco is True),
            ("--related drop", options.related == "drop"),
        )
        if on
    ]
    if not asked:
        return None
    return "on dosages it runs association only, without " + ", ".join(asked)


def dosage_block(dosages: Array, cols: Array | None) -> tuple[Array, Array | None]:
    """A block for the binary kernel (:func:`.binary.associate_block`): the group's columns
    ``cols`` (None: all) as a fresh C-ordered float64 copy with 0 at missing dosages (the
    kernel centres it in place and mean-imputes), and the missing indicator (None: none)."""
    g = dosages if cols is None else dosages[:, cols]
    held = np.isnan(g)
    return np.where(held, 0.0, g), (held if held.any() else None)


def run_dosages(
    *, genotypes: GenotypeSource, phenotypes: Phenotypes, options: GwasOptions, say: StepClock
) -> EngineOutput:
    """Association only on a dosage file (the fast engine's run for BGEN and VCF DS): the
    samples with a trait and every covariate, then every trait group in one
    pass over the file's blocks. QC, PCA, kinship and LOCO are not run (refused earlier by
    :func:`promise.gwas.engines.interface.choose_engine`)."""
    # imported here: they import the engines, which import this module
    from promise.gwas import association
    from promise.gwas.engines import fastassoc
    from promise.gwas.engines.fastengine import binary_options
    from promise.gwas.engines.groupinputs import group_inputs
    from promise.gwas.engines.interface import EngineOutput
    from promise.gwas.loco import LocoRun
    from promise.gwas.phenofiles import KEY
    from promise.gwas.qc import QcStep
    from promise.gwas.summaries import group_summaries, usable_samples
    from promise.gwas.traits import TraitError, check_case_counts

    say("reading genotypes (dosages)")
    source = open_dosages(genotypes)
    frame = usable_samples(phenotypes)
    usable = set(frame[KEY])
    cols = np.array([i for i, s in enumerate(source.samples) if s in usable], dtype=np.int64)
    if len(cols) == 0:
        raise TraitError(
            f"None of the {len(frame)} samples with a trait is in the genotypes: check that the "
            "sample ids match (IID; FID_IID for BGEN files written by PLINK 2)."
        )
    step = QcStep(target="samples", name="phenotype match",
                  rule="genotyped, with trait and covariates",
                  removed=len(frame) - len(cols), remaining=len(cols))  # fmt: skip
    samples = [source.samples[i] for i in cols]
    counts = association.case_counts(phenotypes, samples)
    check_case_counts(counts, min_cases=options.association.min_cases)
    groups = association.trait_groups(phenotypes, samples)
    covariates = list(phenotypes.covariates)
    inputs = group_inputs(groups, association.aligned(frame, samples), cols, covariates)
    say(f"association on dosages: {len(phenotypes.traits)} trait(s) in {len(groups)} group(s)")
    done = [0]

    def progress(k: int) -> None:
        done[0] += k
        say.within(done[0], source.n_variants, "variants")

    frames = fastassoc.associate(source, inputs, binary_options(options.association),
                                 build=genotypes.build, progress=progress)  # fmt: skip
    return EngineOutput(
        summaries=group_summaries(list(zip(frames, groups, strict=True)), counts),
        qc_steps=[step], pcs=None, covariates=covariates, n_samples=len(samples),
        label="fast (in process, NumPy; dosages, association only)",
        loco=LocoRun(used=False, why="dosage input: association only"),
    )  # fmt: skip
