"""Traits and covariates of one GWAS as a sample-keyed frame, from files or the warehouse."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
class TraitInfo:
    """What the report and the console say about a trait besides its numbers.

    Attributes
    ----------
    coding:
        How the values were read: a binary coding with what is missing, or ``numeric``.
    long_name, definition:
        The endpoint's long name and its code patterns (warehouse endpoints), or empty.
    unit, transformation:
        For a quantitative trait: its unit and what was done to the values.
    missing_reason:
        Why a sample analysed for other traits has no value for this one.
    source:
        Where the values came from (a file, or a warehouse mart).
    """

    coding: str = ""
    long_name: str = ""
    definition: str = ""
    unit: str = ""
    transformation: str = ""
    missing_reason: str = "no value for the trait"
    source: str = ""


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
    info:
        What to say about each trait (:class:`TraitInfo`).
    groups:
        Column ``s`` and a text column per way the PCA plot colours samples, named for
        the legend (``genotyping batch``, ``declared ancestry``), or ``None``.
    """

    frame: pl.DataFrame
    traits: list[str]
    covariates: list[str]
    kinds: dict[str, Kind]
    female_column: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    info: dict[str, TraitInfo] = field(default_factory=dict)
    groups: pl.DataFrame | None = None

    def matched_to(self, genotype_ids: set[str]) -> Phenotypes:
        """Re-key by ``FID_IID`` when that, not ``IID``, is what the genotypes call samples."""
        if genotype_ids & set(self.frame[KEY]) or not self.aliases:
            return self
        back = {iid: alias for alias, iid in self.aliases.items() if alias in genotype_ids}
        if not back:
            return self
        rekeyed = pl.col(KEY).replace(back)
        groups = None if self.groups is None else self.groups.with_columns(rekeyed)
        return replace(self, frame=self.frame.with_columns(rekeyed), groups=groups)


def from_files(
    *,
    pheno: Sequence[Path],
    covar: Sequence[Path] = (),
    pheno_names: Sequence[str] | None = None,
    covar_names: Sequence[str] | None = None,
    missing_codes: Sequence[float] = (phenofiles.PLINK_MISSING,),
    kind: TraitKind = "auto",
    remove: Path | None = None,
) -> Phenotypes:
    """Read phenotype and covariate files (PLINK/regenie ``FID IID``, ``Sample`` or ``.fam``).

    ``missing_codes``: numbers that mean missing, in traits and (but 0) in numeric
    covariates (PLINK's -9 by default). ``remove`` names a file of samples to leave out (PLINK ``--remove``
    style: ``FID IID`` per line without a header, or one id per line).
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
    words = {t for t in traits if boolean_words(pheno_table, t)}
    # 0 is a value of a covariate (is_female, an indicator) even where traits read it missing
    codes = [c for c in missing_codes if c != 0]
    covars = phenofiles.covariate_columns(covar_table, names, missing_codes=codes)
    frame = values.join(covars, on=KEY, how="left", maintain_order="left")
    if remove is not None:
        frame = frame.filter(~pl.col(KEY).is_in(phenofiles.read_id_list(remove)))
    female = "is_female" if "is_female" in covars.columns else None
    built = build(
        frame=frame, traits=traits, covariates=covars.columns[1:], kind=kind, female=female,
        missing_codes=missing_codes, words=words,
    )  # fmt: skip
    aliases: dict[str, str] = {}
    for path in pheno:
        aliases.update(phenofiles.fid_iid_aliases(path))
    files = ", ".join(str(p) for p in pheno)
    info = {t: replace(i, source=files) for t, i in built.info.items()}
    groups = sample_groups(phenofiles.merge_tables([pheno_table, covar_table]))
    return replace(built, aliases=aliases, info=info, groups=groups)


#: columns of a researcher's files that colour the PCA plot, by the legend's title
GROUP_COLUMNS = {
    "genotyping batch": ("batch", "genotyping_batch"),
    "declared ancestry": ("ancestry", "population", "super_pop", "superpopulation"),
}


def sample_groups(table: pl.DataFrame) -> pl.DataFrame | None:
    """Column ``s`` and the batch and ancestry columns of ``table`` found by name
    (:data:`GROUP_COLUMNS`, any case), as text; None when it has neither."""
    lower = {c.lower(): c for c in table.columns}
    chosen = {}
    for title, names in GROUP_COLUMNS.items():
        column = next((lower[n] for n in names if n in lower), None)
        if column is not None:
            chosen[title] = column
    if not chosen:
        return None
    return table.select(KEY, *(pl.col(c).cast(pl.String).alias(t) for t, c in chosen.items()))


def build(
    *,
    frame: pl.DataFrame,
    traits: Sequence[str],
    covariates: Sequence[str],
    kind: TraitKind | Mapping[str, TraitKind],
    female: str | None = None,
    missing_codes: Sequence[float] = (),
    words: Collection[str] = (),
) -> Phenotypes:
    """Decide each trait's kind, recode binary traits to 0/1 and return :class:`Phenotypes`.

    ``kind`` applies to every trait, or is given per trait as a mapping. A trait is binary
    when asked to be, or (``auto``) when :func:`binary_coding` recognises it; a binary
    trait that is not coded 1/2, 0/1 or true/false is refused. ``missing_codes`` and
    ``words`` (traits written true/false) only describe the coding.
    """
    kinds: dict[str, Kind] = {}
    info: dict[str, TraitInfo] = {}
    asked = kind
    for trait in traits:
        kind = asked.get(trait, "auto") if isinstance(asked, Mapping) else asked
        coding = binary_coding(frame[trait], words=trait in words)
        if kind == "binary" and coding is None:
            raise TraitError(
                f"Trait {trait!r} is not coded 1/2, 0/1 or true/false (values seen: "
                f"{_some_values(frame[trait])}): drop --binary or recode it."
            )
        if coding is not None and kind != "quantitative":
            recoded = pl.col(trait).replace_strict(coding.recode, default=None)
            frame = frame.with_columns(recoded.cast(pl.Float64))
            kinds[trait] = "binary"
            info[trait] = TraitInfo(coding="coded " + coding.describe(missing_codes))
        else:
            kinds[trait] = "quantitative"
            missing = ", ".join([*(f"{c:g}" for c in missing_codes), "NA"])
            info[trait] = TraitInfo(coding=f"{missing} missing")
    return Phenotypes(
        frame=frame,
        traits=list(traits),
        covariates=list(covariates),
        kinds=kinds,
        female_column=female,
        info=info,
    )


def _some_values(values: pl.Series) -> str:
    seen = sorted(values.drop_nulls().drop_nans().unique().to_list())
    shown = ", ".join(f"{v:g}" for v in seen[:5])
    return shown + (" ..." if len(seen) > 5 else "") if seen else "none"


@dataclass(frozen=True)
class BinaryCoding:
    """How a binary trait is written in a file and read as 0 (control) / 1 (case).

    ``recode`` maps the file's numbers to 0/1; any other number (0 in the 1/2 coding) is
    missing. ``words`` is set when the file wrote true/false."""

    name: str
    recode: dict[float, float]
    words: bool = False

    def describe(self, missing_codes: Sequence[float] = ()) -> str:
        """The coding in words, with what is read as missing."""
        missing = [f"{c:g}" for c in missing_codes if c not in self.recode]
        if self.name == "1/2":
            missing = ["0", *(m for m in missing if m != "0")]
            text = "1/2 (1 control, 2 case"
        elif self.words:
            text = "true/false (false control, true case"
        else:
            text = "0/1 (0 control, 1 case"
        return text + "; " + ", ".join([*missing, "NA"]) + " missing)"


def binary_coding(values: pl.Series, *, words: bool = False) -> BinaryCoding | None:
    """How to recode a trait to 0/1 if it is binary, else ``None``; ``values`` are the
    file's numbers with NA and the missing codes already null.

    PLINK 2's reading: values all in {0, 1, 2} with a 2 among them (or only 1s) are the
    1/2 coding, 1 control, 2 case and 0 missing. Values all in {0, 1} are the 0/1 coding
    (PLINK 2 needs ``--1`` for it; without it PLINK would read 0 as missing and 1 as
    control, leaving no case), and true/false is read as 1/0 (``words``)."""
    seen = set(values.drop_nulls().drop_nans().unique().to_list())
    if not seen or not seen <= {0.0, 1.0, 2.0}:
        return None
    if (2.0 in seen or seen == {1.0}) and not words:
        return BinaryCoding("1/2", {1.0: 0.0, 2.0: 1.0})
    if seen <= {0.0, 1.0}:
        return BinaryCoding("0/1", {0.0: 0.0, 1.0: 1.0}, words=words)
    return None


def boolean_words(table: pl.DataFrame, name: str) -> bool:
    """Whether column ``name`` writes every value it has as true/false."""
    text = pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()
    given = ~phenofiles.is_missing(pl.col(name).cast(pl.String))
    counts = table.select(
        given=given.sum(), words=(given & text.is_in(phenofiles.BOOLEAN_WORDS)).sum()
    )
    return bool(counts["given"][0] > 0 and counts["given"][0] == counts["words"][0])


def check_case_counts(counts: dict[str, tuple[int, int]], *, min_cases: int) -> None:
    """Refuse binary traits with fewer than ``min_cases`` cases or controls."""
    for trait, (cases, controls) in counts.items():
        if min(cases, controls) < min_cases:
            raise TraitError(
                f"Trait {trait!r} has {cases} cases and {controls} controls among the analysed "
                f"samples, fewer than the minimum of {min_cases}: choose a more common trait "
                "or lower --min-cases."
            )
