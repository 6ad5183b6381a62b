"""The nearest gene of a locus, from the gene-position table shipped with the package.

``data/genes/<build>.tsv.gz`` holds GENCODE 32's coding-like genes for GRCh37 and GRCh38
(see ``data/genes/SOURCE.txt``). The rule is GeneLocator's, the tool the table comes
from: a position inside one or more genes gets them all; elsewhere the gene whose start or
end is closest, with the distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import polars as pl

#: GWAS-SSF chromosome codes back to the table's names
SSF_NAMES = {"23": "X", "24": "Y", "25": "M", "MT": "M"}


@cache
def gene_table(build: str) -> pl.DataFrame:
    """The genes of ``build`` (GRCh37 or GRCh38): chromosome, start, end, symbol."""
    data = resources.files("promise.gwas").joinpath("data", "genes", f"{build}.tsv.gz")
    return pl.read_csv(
        data.read_bytes(),
        separator="\t",
        schema={"chromosome": pl.String, "start": pl.Int64, "end": pl.Int64, "symbol": pl.String},
    )


def nearest_gene(chromosome: str, position: int, build: str) -> str:
    """``APOE`` for a position inside APOE (``A, B`` inside two genes), ``OR4F5 (23 kb)``
    for one 23 kb from the nearest gene's start or end, empty where the chromosome has no
    gene in the table."""
    name = chromosome.removeprefix("chr")
    genes = gene_table(build).filter(pl.col("chromosome") == SSF_NAMES.get(name, name))
    if genes.is_empty():
        return ""
    distance = pl.max_horizontal(pl.col("start") - position, position - pl.col("end"), 0)
    ranked = genes.with_columns(distance=distance).sort("distance", "start")
    inside = ranked.filter(pl.col("distance") == 0)
    if not inside.is_empty():
        return ", ".join(inside["symbol"].to_list())
    first = ranked.row(0, named=True)
    return f"{first['symbol']} ({_distance(first['distance'])})"


def nearest_genes(chromosomes: Sequence[str], positions: Sequence[int], build: str) -> list[str]:
    """:func:`nearest_gene` of each locus."""
    return [nearest_gene(c, p, build) for c, p in zip(chromosomes, positions, strict=True)]


def _distance(bp: int) -> str:
    if bp < 1_000:
        return f"{bp} bp"
    if bp < 1_000_000:
        return f"{bp / 1_000:.0f} kb"
    return f"{bp / 1_000_000:.1f} Mb"
