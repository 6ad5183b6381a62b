"""What a GWAS will analyse, known before Hail starts: each trait's kind, coding and counts
among the genotyped samples, and the phenotype rows that match no genotype (and back).

:func:`inspect` raises, in one sentence, what would otherwise fail minutes later inside
Hail: genotype files that are missing or that Hail would reject, phenotypes that share no
sample id with the genotypes, and a binary trait with too few cases or controls among
the genotyped samples (QC only removes samples, so it can only get worse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from promise.gwas import genofiles
from promise.gwas.inputs import GenotypeSource
from promise.gwas.phenofiles import KEY
from promise.gwas.traits import Phenotypes, TraitError


@dataclass(frozen=True, kw_only=True)
class TraitCount:
    """One trait among the genotyped samples that have every covariate."""

    trait: str
    kind: str
    coding: str
    n: int
    cases: int | None = None
    controls: int | None = None

    def line(self) -> str:
        """The trait in one line, as the console prints it."""
        if self.cases is None or self.controls is None:
            counts = f"N = {self.n:,}"
        else:
            counts = f"{self.cases:,} cases, {self.controls:,} controls"
        coding = f", {self.coding}" if self.coding else ""
        return f"{self.trait}: {self.kind}{coding}: {counts}"


@dataclass(frozen=True, kw_only=True)
class Inspection:
    """The checked genotype source, the phenotypes matched to it, and what to tell."""

    source: GenotypeSource
    phenotypes: Phenotypes
    genotyped: int | None
    counts: list[TraitCount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    where: str = "genotyped samples"
    hint: str = ""

    def check(self, min_cases: int) -> None:
        """Refuse a trait without samples, or a binary one with too few cases or controls."""
        check_counts(self.counts, min_cases=min_cases, where=self.where, hint=self.hint)


def inspect(source: GenotypeSource, phenotypes: Phenotypes, *, min_cases: int | None) -> Inspection:
    """Check the inputs of one GWAS without Hail (see the module docstring); the trait
    counts too unless ``min_cases`` is None (then :meth:`Inspection.check` does, once the
    caller has shown them)."""
    source = genofiles.checked_source(source)
    if source.kind == "bfile":
        genofiles.check_bim(source.path, source.build)
    ids = genofiles.sample_ids(source)
    warnings: list[str] = []
    frame = phenotypes.frame
    if ids is not None:
        phenotypes = phenotypes.matched_to(set(ids))
        frame = phenotypes.frame
        warnings = mismatch_warnings(ids, frame[KEY].to_list(), source)
        frame = frame.filter(pl.col(KEY).is_in(ids))
    counts = trait_counts(phenotypes, frame)
    # the warehouse's phenotype mart has one row per genotyped sample
    known = ids is not None or source.kind == "warehouse"
    hint = " (`promise endpoints` lists those with cases)" if source.kind == "warehouse" else ""
    inspection = Inspection(
        source=source,
        phenotypes=phenotypes,
        genotyped=len(ids) if ids is not None else len(frame) if known else None,
        counts=counts,
        warnings=warnings,
        where="genotyped samples" if known else "samples",
        hint=hint,
    )
    if min_cases is not None:
        inspection.check(min_cases)
    return inspection


def mismatch_warnings(
    genotyped: Sequence[str], phenotyped: Sequence[str], source: GenotypeSource
) -> list[str]:
    """Warnings for samples on one side only; an error when no id is on both sides."""
    geno, pheno = set(genotyped), set(phenotyped)
    both = geno & pheno
    if not both:
        raise TraitError(
            f"No sample id of the phenotype file(s) is among the {len(geno):,} genotyped "
            f"samples of {source.path} (e.g. {_example(pheno)} vs {_example(geno)}): the "
            "phenotype's IID (or Sample) column must hold the genotypes' sample ids."
        )
    warnings = []
    if len(geno - pheno):
        warnings.append(
            f"{len(geno - pheno):,} of {len(geno):,} genotyped samples have no phenotype row "
            "and are left out."
        )
    if len(pheno - geno):
        warnings.append(
            f"{len(pheno - geno):,} of {len(pheno):,} phenotype rows match no genotyped sample "
            f"(e.g. {_example(pheno - geno)}) and are left out."
        )
    return warnings


def _example(ids: set[str]) -> str:
    return repr(min(ids)) if ids else "none"


def trait_counts(phenotypes: Phenotypes, frame: pl.DataFrame) -> list[TraitCount]:
    """Each trait's N (and cases and controls) over the rows of ``frame`` that have every
    covariate."""
    defined = [pl.col(c).is_not_null() for c in phenotypes.covariates]
    usable = frame.filter(pl.all_horizontal(pl.lit(value=True), *defined))
    counts = []
    for trait in phenotypes.traits:
        values = usable[trait]
        kind = phenotypes.kinds[trait]
        info = phenotypes.info.get(trait)
        count = TraitCount(
            trait=trait,
            kind=kind,
            coding=info.coding if info else "",
            n=int(values.is_not_null().sum()),
        )
        if kind == "binary":
            cases, controls = int((values == 1).sum()), int((values == 0).sum())
            count = replace(count, cases=cases, controls=controls)
        counts.append(count)
    return counts


def check_counts(
    counts: Sequence[TraitCount], *, min_cases: int, where: str, hint: str = ""
) -> None:
    """Refuse a trait with no sample, or a binary trait with fewer than ``min_cases``
    cases or controls."""
    for c in counts:
        if c.n == 0:
            raise TraitError(
                f"Trait {c.trait!r} has no value among the {where} that have every "
                "covariate: check the sample ids and missing-value codes."
            )
        if c.cases is not None and c.controls is not None and min(c.cases, c.controls) < min_cases:
            raise TraitError(
                f"Trait {c.trait!r} has {c.cases:,} cases and {c.controls:,} controls among "
                f"the {where}, fewer than the minimum of {min_cases}: choose a more common "
                f"trait{hint} or lower --min-cases."
            )
