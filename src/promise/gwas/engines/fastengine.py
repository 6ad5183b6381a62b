"""The fast engine: a whole GWAS in this process, without a JVM.

Genotypes are PLINK 1 file sets: a researcher's ``--bfile``, a ``--vcf`` of hard calls
converted losslessly into the run's scratch folder (:mod:`promise.gwas.vcfbed`), or the
warehouse's PLINK copy of each batch (written by ingestion beside its MatrixTable; batches are aligned on the
variants they share and their samples put side by side, :mod:`promise.gwas.bedset`). For
dosages (a BGEN, a VCF declaring DS) steps 2-5 run on a hard-call copy written to scratch,
with call rates, MAF and MAC from the dosages, and step 6 reads the dosages (:mod:`.hardcalls`).
Then:

1. the samples with a trait and every covariate are matched to the genotyped ones;
2. sample QC (call rate, heterozygosity, sex check) and variant QC (call rate, MAF, MAC,
   HWE in controls) with the Hail path's definitions and thresholds (:mod:`promise.gwas.localqc`);
3. a working copy of the kept samples and variants is written to the run's scratch folder
   when anything was removed (a copy of the 2-bit codes, a pass over the file);
4. LD pruning of the common variants (:mod:`promise.gwas.fastpca`); on them KING-robust
   kinship (``kinship.tsv``, the register check in warehouse mode, ``--related drop``:
   :mod:`promise.gwas.relatives`) and PCA; the PCs join the covariates;
5. with ``--loco`` (default in warehouse mode), regenie's step 1 on the same pruned variants
   for every trait group (:mod:`promise.gwas.loco`);
6. association (:mod:`.fastassoc`): every group of traits sharing their samples, linear for
   quantitative traits, the score test with Firth where p < ``--firth-p`` (or Wald) for
   binary ones, all groups in one read of each block; missing calls mean-imputed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from promise.gwas import association, fastpca, localqc, relatives
from promise.gwas.bedset import (
    BedFiles,
    open_bed,
    shared_variants,
    warehouse_plink_sets,
    write_subset,
)
from promise.gwas.engines import fastassoc
from promise.gwas.engines.binaryresults import BinaryOptions
from promise.gwas.engines.dosagesource import holds_dosage_input, open_dosages
from promise.gwas.engines.groupinputs import group_inputs
from promise.gwas.engines.hardcalls import HardCalls, dosage_counts, write_hard_calls
from promise.gwas.engines.interface import EngineOutput
from promise.gwas.inputs import GenotypeInputError, GenotypeSource
from promise.gwas.loco import LocoRun, loco_default, step1_blocks, with_offsets
from promise.gwas.options import AssociationSettings, GwasOptions
from promise.gwas.phenofiles import KEY
from promise.gwas.qc import QcStep
from promise.gwas.summaries import group_summaries, usable_samples
from promise.gwas.traits import Phenotypes, TraitError, check_case_counts
from promise.gwas.vcfbed import vcf_to_bed
from promise.privacy.disclosure import DEFAULT_THRESHOLD

if TYPE_CHECKING:
    from promise.gwas.pipeline import StepClock

Array = np.ndarray[Any, Any]


def binary_options(settings: AssociationSettings) -> BinaryOptions:
    """The binary engine's options from the run's: ``--test``, and ``--firth`` ``auto``
    (Firth below ``--firth-p``), ``always`` (every variant) or ``never`` (score only)."""
    firth_p = {"auto": settings.firth_p, "always": 1.0, "never": 0.0}[settings.firth]
    return BinaryOptions(test=settings.test, firth_p=firth_p)


def open_sets(genotypes: GenotypeSource, scratch: Path) -> list[BedFiles]:
    """The PLINK file sets of ``genotypes`` (one, or the warehouse's batches); a VCF's is
    written to ``scratch`` first."""
    if genotypes.kind == "bfile":
        return [open_bed(genotypes.path)]
    if genotypes.kind == "vcf":
        return [vcf_to_bed(genotypes.path, genotypes.build, scratch / "vcf" / "genotypes")]
    prefixes = warehouse_plink_sets(genotypes.path)
    if not prefixes:
        raise GenotypeInputError(
            f"No PLINK genotype batches in {genotypes.path / 'genotypes'}: run `promise ingest` "
            "first."
        )
    return [open_bed(p) for p in prefixes]


@dataclass(frozen=True)
class FastEngine:
    """The in-process engine (see the module docstring)."""

    name: str = "fast"

    def run(
        self,
        *,
        genotypes: GenotypeSource,
        phenotypes: Phenotypes,
        options: GwasOptions,
        scratch: Path,
        say: StepClock,
    ) -> EngineOutput:
        """QC, PCA and association in process (on dosages: see :mod:`.hardcalls`)."""
        calls = None
        if holds_dosage_input(genotypes):
            step1 = _loco_choice(options, genotypes)[0]
            structure = options.pca.pcs > 0 or needs_kinship(options, genotypes, loco=step1)
            hard = not options.skip_qc or structure
            say(f"reading genotypes (dosages{'; hard calls for QC, PCA and kinship' * hard})")
            calls = write_hard_calls(open_dosages(genotypes), scratch / "dosages" / "calls",
                                     codes=hard, copies=structure)  # fmt: skip
        else:
            say("reading genotypes")
        sets = open_sets(genotypes, scratch) if calls is None else [calls.bed]
        frame = usable_samples(phenotypes)
        bed, cols, steps = _matched(sets, frame, scratch)
        if not options.skip_qc:
            say("sample and variant QC")
            bed, cols, more = _quality_control(bed, cols, frame, phenotypes, options,
                                               genotypes.build, scratch, calls)  # fmt: skip
            steps += more
        samples = [bed.samples[i] for i in cols]
        use, why = _loco_choice(options, genotypes)
        kinship = needs_kinship(options, genotypes, loco=use)
        pruned = None
        if kinship or options.pca.pcs > 0:
            say("LD pruning and kinship" if kinship else "LD pruning")
            pruned = _kinship_set(bed, cols, samples, options, genotypes.build, use)
        related = _relatedness(pruned, samples, options, genotypes) if kinship and pruned else None
        chosen = None
        if related is not None and related.dropped:
            kept = set(related.kept)
            chosen = np.array([i for i, s in enumerate(samples) if s in kept], dtype=np.int64)
            cols, samples = cols[chosen], [samples[i] for i in chosen]
            steps.append(QcStep(target="samples", name="relatedness",
                                rule=f"KING kinship <= {options.king_cutoff} (--related drop)",
                                removed=related.dropped, remaining=len(samples)))  # fmt: skip
        pcs = None
        if pruned is not None and options.pca.pcs > 0:
            say("population structure (PCA)")
            pcs = fastpca.pcs_of(pruned, options.pca, chosen)
        covariates = list(phenotypes.covariates)
        if pcs is not None:
            scores = pl.from_pandas(pcs.scores.reset_index(), schema_overrides={KEY: pl.String})
            frame = frame.join(scores, on=KEY, how="inner", maintain_order="left")
            covariates += list(pcs.scores.columns)
        analysed = set(frame[KEY])
        keep = np.array([s in analysed for s in samples], dtype=bool)
        cols, samples = cols[keep], [s for s, k in zip(samples, keep, strict=True) if k]
        counts = association.case_counts(phenotypes, samples)
        check_case_counts(counts, min_cases=options.association.min_cases)
        groups = association.trait_groups(phenotypes, samples)
        inputs = group_inputs(groups, association.aligned(frame, samples), cols, covariates)
        loco = LocoRun(used=False, why=why)
        if use and pruned is not None and related is not None:
            say(f"whole-genome regression (step 1, LOCO) on {len(pruned.kept):,} variants")
            names = bed.samples
            total = len(inputs) * step1_blocks(bed, pruned.bed_rows)
            blocks = [0]

            def step1_progress(k: int) -> None:
                blocks[0] += k
                say.within(blocks[0], total, "blocks")

            inputs, loco = with_offsets(
                bed, inputs, pruned.bed_rows, why=why, progress=step1_progress,
                relatives=lambda c: related.pairs([names[i] for i in c]),
            )  # fmt: skip
        say(f"association: {len(phenotypes.traits)} trait(s) in {len(groups)} group(s)")
        done = [0]

        def progress(k: int) -> None:
            done[0] += k
            say.within(done[0], bed.n_variants, "variants")

        genotype = bed if calls is None else calls.matching(bed)
        frames = fastassoc.associate(genotype, inputs, binary_options(options.association),
                                     build=genotypes.build, progress=progress)  # fmt: skip
        summaries = group_summaries(list(zip(frames, groups, strict=True)), counts)
        return EngineOutput(
            summaries=summaries, qc_steps=steps, pcs=pcs, covariates=covariates,
            n_samples=len(samples),
            label="fast (in process, NumPy)" + ("" if calls is None else "; dosages"),
            relatedness=related, loco=loco,
        )  # fmt: skip


def needs_kinship(options: GwasOptions, genotypes: GenotypeSource, *, loco: bool) -> bool:
    """Whether a run computes KING kinship: in warehouse mode (the register pedigree is
    checked and the report counts relatives), for ``--related drop`` and for LOCO (whose
    calibration needs the related pairs). A researcher's own files with ``--related keep``
    and no LOCO skip it: all pairs cost O(samples^2) (about 100 s at 20,000 samples, more
    than the whole association), for a table nobody asked for."""
    return genotypes.kind == "warehouse" or options.related == "drop" or loco


def _kinship_set(
    bed: BedFiles, cols: Array, samples: list[str], options: GwasOptions, build: str, loco: bool
) -> fastpca.Pruned:
    """The LD-pruned common variants (for PCA, step 1 and kinship); where neither PCA nor
    step 1 runs, kinship only needs a few thousand common variants: an evenly spaced share
    of the .bed, not pruned (pruning every variant would cost more than the run)."""
    rows = np.arange(bed.n_variants)
    if options.pca.pcs > 0 or loco:
        return fastpca.pruned_set(bed, rows, cols, settings=options.pca, build=build,
                                  samples=samples)  # fmt: skip
    step = max(1, int(np.ceil(bed.n_variants / (2 * relatives.KINSHIP_VARIANTS))))
    return fastpca.pruned_set(bed, rows[::step], cols, settings=options.pca, build=build,
                              samples=samples, prune=False)  # fmt: skip


def _relatedness(
    pruned: fastpca.Pruned, samples: list[str], options: GwasOptions, genotypes: GenotypeSource
) -> relatives.Relatedness:
    """Kinship of the QC'd samples, the register check in warehouse mode, ``--related``."""
    warehouse = genotypes.kind == "warehouse"
    return relatives.assess(
        pruned.king_codes(limit=relatives.KINSHIP_VARIANTS),
        samples,
        mode=options.related,
        cutoff=options.king_cutoff,
        relations=relatives.register_relations(genotypes.path) if warehouse else None,
        threshold=relatives.disclosure_floor(genotypes.path) if warehouse else DEFAULT_THRESHOLD,
        variants="LD-pruned common variants"
        if pruned.pruned
        else "evenly spaced common variants (not LD-pruned: no PCA and no LOCO in this run)",
    )


def _loco_choice(options: GwasOptions, genotypes: GenotypeSource) -> tuple[bool, str]:
    """Whether this run uses LOCO, and why (for the report)."""
    if options.loco is not None:
        return options.loco, "--loco" if options.loco else "--no-loco"
    use = loco_default(genotypes.kind)
    mode = "warehouse mode" if genotypes.kind == "warehouse" else "own-files mode"
    return use, f"default in {mode}"


def _matched(
    sets: Sequence[BedFiles], frame: pl.DataFrame, scratch: Path
) -> tuple[BedFiles, Array, list[QcStep]]:
    """The genotyped samples with a trait and every covariate: one file set (the batches
    side by side on their shared variants) and its columns of those samples."""
    usable = set(frame[KEY])
    seen: set[str] = set()
    for s in sets:
        twice = seen & set(s.samples)
        if twice:
            raise GenotypeInputError(
                f"Sample {min(twice)} is in two genotype batches ({s.prefix.name} and an "
                "earlier one): a sample must be genotyped once."
            )
        seen |= set(s.samples)
    columns = [np.array([i for i, x in enumerate(s.samples) if x in usable], dtype=np.int64)
               for s in sets]  # fmt: skip
    kept = sum(len(c) for c in columns)
    if kept == 0:
        raise TraitError(
            f"None of the {len(frame)} samples with a trait is in the genotypes: check that the "
            "sample ids match (IID; FID_IID for BGEN files written by PLINK 2)."
        )
    step = QcStep(target="samples", name="phenotype match",
                  rule="genotyped, with trait and covariates",
                  removed=len(frame) - kept, remaining=kept)  # fmt: skip
    if len(sets) == 1:
        return sets[0], columns[0], [step]
    rows = shared_variants(sets)
    merged = write_subset(scratch / "merged", sets, rows=rows, columns=columns)
    return merged, np.arange(kept), [step]


def _quality_control(
    bed: BedFiles,
    cols: Array,
    frame: pl.DataFrame,
    phenotypes: Phenotypes,
    options: GwasOptions,
    build: str,
    scratch: Path,
    calls: HardCalls | None = None,
) -> tuple[BedFiles, Array, list[QcStep]]:
    samples = [bed.samples[i] for i in cols]
    aligned = association.aligned(frame, samples)
    female = phenotypes.female_column
    register = aligned[female].cast(pl.Float64).to_numpy() if female in aligned.columns else None
    counts = None if calls is None else calls.sample_counts(cols)  # dosages: counted already
    kept, steps = localqc.sample_qc(bed, cols, thresholds=options.qc, register_female=register,
                                    build=build, counts=counts)  # fmt: skip
    if len(kept) == 0:
        removed = ", ".join(f"{s.name} {s.removed:,}" for s in steps if s.removed)
        raise TraitError(
            f"Sample QC removed all {len(cols):,} samples ({removed}): check the genotypes, or "
            "lower --sample-call-rate or raise --het-sd."
        )
    cols = cols[kept]
    binary = [t for t in phenotypes.traits if phenotypes.kinds[t] == "binary"]
    controls = None
    if binary:
        values = aligned[kept].select(binary).to_numpy()
        controls = ~np.any(values == 1, axis=1)  # not a case of any binary trait
    dosages = None if calls is None else dosage_counts(calls, cols, controls)  # a file pass
    rows, variant_steps = localqc.variant_qc(bed, cols, thresholds=options.qc, controls=controls,
                                             dosages=dosages)  # fmt: skip
    if len(rows) < bed.n_variants:  # a copy without the removed variants (and samples)
        bed = (
            calls.kept(rows, cols)
            if calls is not None and not calls.copies
            else write_subset(scratch / "analysis", [bed], rows=[rows], columns=[cols])
        )
        cols = np.arange(len(bed.samples))
    return bed, cols, steps + variant_steps
