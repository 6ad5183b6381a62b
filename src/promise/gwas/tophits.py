"""Variant-trait pairs below a p-value threshold across a run's traits, grouped into loci.

A run writes one GWAS-SSF file per trait (:mod:`promise.gwas.results`). This module reads
them back one at a time (so memory holds one trait's variants, not the run's), keeps the
pairs whose p-value is below the threshold, and clumps each trait's pairs by distance as
PLINK's ``--clump`` does without LD: the most significant pair is a locus lead, and every
pair within ``window_bp`` of it on its chromosome joins that locus; the next unclaimed pair
leads the next locus. A locus is named by its lead's variant id (FinnGen's ``locus_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from promise.errors import PromiseError
from promise.gwas.genes import nearest_genes

#: what the browser reads of a GWAS-SSF file, with the type each column is read as
SSF_TYPES: dict[str, type[pl.DataType]] = {
    "chromosome": pl.String,
    "base_pair_location": pl.Int64,
    "effect_allele": pl.String,
    "other_allele": pl.String,
    "beta": pl.Float64,
    "standard_error": pl.Float64,
    "effect_allele_frequency": pl.Float64,
    "p_value": pl.Float64,
    "variant_id": pl.String,
    "n": pl.Int64,
}
#: the columns of ``top_hits.tsv``, in order
TOP_HIT_COLUMNS = [
    "trait",
    "category",
    "chromosome",
    "base_pair_location",
    "variant_id",
    "effect_allele",
    "other_allele",
    "effect_allele_frequency",
    "beta",
    "standard_error",
    "p_value",
    "n",
    "nearest_gene",
    "locus_id",
    "is_lead",
]


class BrowserError(PromiseError):
    """A run's summary statistics cannot be read into the results browser."""


def read_ssf(path: Path, trait: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """``columns`` (default all of :data:`SSF_TYPES`) of one trait's GWAS-SSF file; ``NA``
    and NaN are null. Raises :class:`BrowserError` naming the trait and file when the
    file is missing or is not GWAS-SSF."""
    wanted = list(columns or SSF_TYPES)
    if not path.is_file():
        raise BrowserError(f"trait {trait}: its summary statistics file {path} does not exist.")
    try:
        frame = pl.read_csv(
            path,
            separator="\t",
            columns=wanted,
            schema_overrides={c: SSF_TYPES[c] for c in wanted},
            null_values=["NA", "NaN", "nan"],
        )
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BrowserError(
            f"trait {trait}: {path} is not a readable GWAS-SSF file with columns "
            f"{', '.join(wanted)} ({first[:200]})."
        ) from None
    floats = [c for c in wanted if SSF_TYPES[c] == pl.Float64]
    return frame.with_columns(pl.col(floats).fill_nan(None))


def clump(chromosomes: Sequence[str], positions: Sequence[int], window_bp: int) -> list[int]:
    """For pairs already sorted by p-value (most significant first), the index of each
    one's locus lead: the first pair within ``window_bp`` of an earlier lead on the same
    chromosome, else the pair itself."""
    leads: dict[str, list[tuple[int, int]]] = {}
    result: list[int] = []
    for index, (chrom, pos) in enumerate(zip(chromosomes, positions, strict=True)):
        near = leads.setdefault(chrom, [])
        lead = next((i for i, p in near if abs(pos - p) <= window_bp), None)
        if lead is None:
            near.append((index, pos))
            lead = index
        result.append(lead)
    return result


def trait_hits(
    frame: pl.DataFrame, *, trait: str, category: str, threshold: float, window_bp: int
) -> pl.DataFrame:
    """The pairs of one trait below ``threshold``, most significant first, with ``trait``,
    ``category``, ``locus_id`` (the lead's variant id) and ``is_lead``; without
    ``nearest_gene`` (added once for the whole table by :func:`annotate`)."""
    order = ["p_value", "chromosome", "base_pair_location"]
    hits = frame.filter(pl.col("p_value") < threshold).sort(order)
    leads = clump(hits["chromosome"].to_list(), hits["base_pair_location"].to_list(), window_bp)
    ids = hits["variant_id"]
    return hits.with_columns(
        trait=pl.lit(trait, pl.String),
        category=pl.lit(category, pl.String),
        locus_id=ids.gather(leads) if len(leads) else ids,
        is_lead=pl.Series([lead == i for i, lead in enumerate(leads)], dtype=pl.Boolean),
    )


def annotate(hits: pl.DataFrame, build: str) -> pl.DataFrame:
    """``hits`` with the nearest gene of each position (:func:`promise.gwas.genes.nearest_gene`,
    looked up once per distinct position)."""
    places = hits.select("chromosome", "base_pair_location").unique(maintain_order=True)
    genes = nearest_genes(
        places["chromosome"].to_list(), places["base_pair_location"].to_list(), build
    )
    named = places.with_columns(nearest_gene=pl.Series(genes, dtype=pl.String))
    return hits.join(named, on=["chromosome", "base_pair_location"], how="left")


def combine(per_trait: Iterable[pl.DataFrame], build: str) -> pl.DataFrame:
    """One table of every trait's hits, in :data:`TOP_HIT_COLUMNS` order, most significant
    first (ties by trait, chromosome and position)."""
    frames = [f for f in per_trait if f.height]
    if not frames:
        empty = {c: SSF_TYPES.get(c, pl.String) for c in TOP_HIT_COLUMNS}
        return pl.DataFrame(schema={**empty, "is_lead": pl.Boolean})
    hits = annotate(pl.concat([f.select(TOP_HIT_COLUMNS[:-3] + TOP_HIT_COLUMNS[-2:])
                               for f in frames]), build)  # fmt: skip
    numeric = pl.col("chromosome").cast(pl.Int64, strict=False)
    return (
        hits.with_columns(_chrom=numeric)
        .sort(["p_value", "trait", "_chrom", "chromosome", "base_pair_location"], nulls_last=True)
        .select(TOP_HIT_COLUMNS)
    )


def write_top_hits(hits: pl.DataFrame, path: Path, *, hidden_n: Iterable[str] = ()) -> Path:
    """Write the combined table as tab-separated text (``NA`` for missing). ``hidden_n``:
    traits whose per-variant sample size would reveal a small count (written ``NA``)."""
    hidden = list(hidden_n)
    shown = hits.with_columns(
        n=pl.when(pl.col("trait").is_in(hidden)).then(None).otherwise(pl.col("n")),
        is_lead=pl.col("is_lead").cast(pl.Int8),
    )
    shown.write_csv(path, separator="\t", null_value="NA")
    return path


def lookup(path: Path, trait: str, variant_ids: pl.Series) -> pl.DataFrame:
    """One trait's statistics at ``variant_ids`` (those in its file), with column ``trait``."""
    columns = ["variant_id", "beta", "standard_error", "effect_allele_frequency", "p_value", "n"]
    frame = read_ssf(path, trait, columns)
    found = frame.filter(pl.col("variant_id").is_in(variant_ids))
    return found.with_columns(trait=pl.lit(trait, pl.String))
