"""Traits and covariates of one GWAS as a sample-keyed frame, from files or the warehouse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import polars as pl

from promise.errors import PromiseError
from promise.gwas import phenofiles
from promise.gwas.options import TraitKind
from promise.gwas.phenofiles import KEY

Kind = Literal["binary", "quantitative"]


class TraitError(PromiseError):
    """A trait cannot be analysed as asked (wrong kind, too few cases, no samples)."""


@dataclass(frozen=True, kw_only=True)
class Phenotypes:
    """Traits and covariates per sample.

    Attributes
    ----------
    frame:
        Column ``s`` (sample id as in the genotypes), then one float column per trait and
        covariate; binary traits coded 0 (control) / 1 (case); null is missing.
    traits, covariates:
        Column names in ``frame``.
    kinds:
        ``binary`` or ``quantitative`` per trait.
    female_column:
        A 0/1 covariate holding the register sex, used by the sex check (or ``None``).
    """

    frame: pl.DataFrame
    traits: list[str]
    covariates: list[str]
    kinds: dict[str, Kind]
    female_column: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    def matched_to(self, genotype_ids: set[str]) -> Phenotypes:
        """Re-key by ``FID_IID`` when that, not ``IID``, is what the genotypes call samples."""
        if genotype_ids & set(self.frame[KEY]) or not self.aliases:
            return self
        back = {iid: alias for alias, iid in self.aliases.items() if alias in genotype_ids}
        if not back:
            return self
        return replace(self, frame=self.frame.with_columns(pl.col(KEY).replace(back)))


def from_files(
    *,
    pheno: Sequence[Path],
    covar: Sequence[Path] = (),
    pheno_names: Sequence[str] | None = None,
    covar_names: Sequence[str] | None = None,
    missing_codes: Sequence[float] = (),
    kind: TraitKind = "auto",
    remove: Path | None = None,
) -> Phenotypes:
    """Read phenotype and covariate files (PLINK/regenie ``FID IID``, ``Sample`` or ``.fam``).

    ``remove`` names a file of samples to leave out (PLINK ``--remove`` style: ``FID IID``
    per line without a header, or one id per line).
    """
    pheno_table = phenofiles.merge_tables(phenofiles.read_sample_table(p) for p in pheno)
    covar_table = phenofiles.merge_tables(phenofiles.read_sample_table(c) for c in covar)
    names = phenofiles.pick_columns(covar_table, covar_names, what="Covariate") if covar else []
    if pheno_names:
        traits = phenofiles.pick_columns(pheno_table, pheno_names, what="Phenotype")
    else:  # every column that is not a covariate (a .fam's derived is_female never is a trait)
        skip = {*names, "is_female", KEY}
        traits = [c for c in pheno_table.columns if c not in skip]
    clash = sorted(set(traits) & set(names))
    if clash:
        raise TraitError(
            f"{clash[0]!r} is both a phenotype and a covariate: use it as one of them."
        )
    values = phenofiles.numeric_columns(pheno_table, traits, missing_codes=missing_codes)
    covars = phenofiles.covariate_columns(covar_table, names)
    frame = values.join(covars, on=KEY, how="left", maintain_order="left")
    if remove is not None:
        frame = frame.filter(~pl.col(KEY).is_in(phenofiles.read_id_list(remove)))
    female = "is_female" if "is_female" in covars.columns else None
    built = build(
        frame=frame, traits=traits, covariates=covars.columns[1:], kind=kind, female=female
    )
    aliases: dict[str, str] = {}
    for path in pheno:
        aliases.update(phenofiles.fid_iid_aliases(path))
    return replace(built, aliases=aliases)


def build(
    *,
    frame: pl.DataFrame,
    traits: Sequence[str],
    covariates: Sequence[str],
    kind: TraitKind | Mapping[str, TraitKind],
    female: str | None = None,
) -> Phenotypes:
    """Decide each trait's kind, recode binary traits to 0/1 and return :class:`Phenotypes`.

    ``kind`` applies to every trait, or is given per trait as a mapping.
    """
    kinds: dict[str, Kind] = {}
    asked = kind
    for trait in traits:
        kind = asked.get(trait, "auto") if isinstance(asked, Mapping) else asked
        coding = phenofiles.binary_coding(frame[trait])
        if kind == "binary" and coding is None:
            raise TraitError(
                f"Trait {trait!r} is not coded 0/1, 1/2 or true/false: drop --binary or recode it."
            )
        if coding is not None and kind != "quantitative":
            frame = frame.with_columns(pl.col(trait).replace(coding))
            kinds[trait] = "binary"
        else:
            kinds[trait] = "quantitative"
    return Phenotypes(
        frame=frame,
        traits=list(traits),
        covariates=list(covariates),
        kinds=kinds,
        female_column=female,
    )


def check_case_counts(counts: dict[str, tuple[int, int]], *, min_cases: int) -> None:
    """Refuse binary traits with fewer than ``min_cases`` cases or controls."""
    for trait, (cases, controls) in counts.items():
        if min(cases, controls) < min_cases:
            raise TraitError(
                f"Trait {trait!r} has {cases} cases and {controls} controls among the analysed "
                f"samples, fewer than the minimum of {min_cases}: choose a more common trait "
                "or lower --min-cases."
            )
