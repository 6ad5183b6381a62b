"""Contig names by genome build: the one table every reader, the ingestion and both engines use.

A genome build names its contigs one way (Hail's reference genomes, shipped in
``data/contigs.json.gz``): GRCh37 ``1``..``22``, ``X``, ``Y``, ``MT``; GRCh38 ``chr1``..
``chr22``, ``chrX``, ``chrY``, ``chrM``, each with its length. Files name them in other ways
too: PLINK's numeric 23 (X), 24 (Y), 25 (XY, the pseudo-autosomal region, which lies on X)
and 26 (MT), the other build's prefix, UK Biobank's zero-padded ``01``..``09``. Every such
alias is recoded here to the build's name, and a variant whose contig the build does not
have, whose position is below 1 or past its contig's end is refused in one sentence naming
it: what Hail's import would reject, refused before any engine starts.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from functools import cache
from importlib import resources

import polars as pl

from promise.genotypes.errors import GenotypeFileError

BUILDS = ("GRCh37", "GRCh38")
#: the contigs (and lengths) of Hail's reference genomes (see data/CONTIGS-SOURCE.txt)
CONTIGS_FILE = "contigs.json.gz"
_PLAIN = [str(i) for i in range(1, 23)] + ["X", "Y"]


def check_build(build: str) -> str:
    """``build`` when it is one promise knows, else a one-sentence refusal."""
    if build not in BUILDS:
        raise GenotypeFileError(f"Unknown genome build {build!r}: use GRCh37 or GRCh38.")
    return build


@cache
def reference_contigs(build: str) -> dict[str, int]:
    """Contig names and lengths of Hail's reference genome ``build``."""
    data = resources.files("promise.genotypes").joinpath("data", CONTIGS_FILE).read_bytes()
    contigs: dict[str, int] = json.loads(gzip.decompress(data))[check_build(build)]
    return contigs


def contig_recoding(build: str) -> dict[str, str]:
    """``1``..``22``, ``X``, ``Y``, ``MT`` to the build's contig names (and back): the
    ``contig_recoding`` Hail's VCF and BGEN imports are given."""
    if check_build(build) == "GRCh38":
        mapping = {n: f"chr{n}" for n in _PLAIN}
        mapping["MT"] = "chrM"
        return mapping
    mapping = {f"chr{n}": n for n in _PLAIN}
    mapping["chrM"] = "MT"
    return mapping


def plink_recoding(build: str) -> dict[str, str]:
    """PLINK's numeric codes for the sex chromosomes and mitochondria (23 X, 24 Y, 25 the
    pseudo-autosomal XY, read as X, 26 MT) in the build's contig names, as PLINK 1.9 writes
    them in a .bim by default; with :func:`contig_recoding`, what Hail's PLINK import is given."""
    names = contig_recoding(build)
    x, y, mt = ("chrX", "chrY", "chrM") if build == "GRCh38" else ("X", "Y", "MT")
    return {**names, "23": x, "24": y, "25": x, "XY": x, "26": mt, "M": mt}


def recoding(build: str) -> dict[str, str]:
    """Every alias promise accepts for a contig of ``build``, to the build's name: those of
    :func:`plink_recoding` and UK Biobank's ``01``..``09`` (with or without ``chr``); the
    ``contig_recoding`` every Hail import is given, so that both engines accept the same."""
    return dict(_recoding(build))


@cache
def _recoding(build: str) -> dict[str, str]:
    mapping = plink_recoding(build)
    prefix = "chr" if build == "GRCh38" else ""
    for i in range(1, 10):
        mapping[f"0{i}"] = mapping[f"chr0{i}"] = f"{prefix}{i}"
    mapping["chrMT"] = mapping["M"]
    return mapping


def recode_contigs(names: pl.Series, build: str) -> pl.Series:
    """``names`` in the build's contig names; a name with no alias is left as it is (and
    refused by :func:`checked_variants` unless the build has it)."""
    return names.cast(pl.Utf8).replace(_recoding(build))


def checked_variants(
    variants: pl.DataFrame, build: str, where: Callable[[int], str]
) -> pl.DataFrame:
    """``variants`` (columns ``chrom``, ``pos``, ``id``, ...) with ``chrom`` recoded, once no
    variant lies off the build. ``where(i)`` names the ``i``-th variant (0-based) for the
    refusal, e.g. ``Line 3 of x.bim``; the refusal quotes its contig, id and position as
    written."""
    lengths = reference_contigs(build)
    recoded = recode_contigs(variants["chrom"], build)
    length = recoded.replace_strict(lengths, default=None, return_dtype=pl.Int64)
    pos = variants["pos"]
    bad = (pos < 1).fill_null(True) | length.is_null() | (pos > length).fill_null(False)
    if bad.any():
        i = int(bad.arg_true()[0])
        contig, size, at = recoded[i], length[i], pos[i]
        written = f"{variants['chrom'][i]} {variants['id'][i]} {at}"
        if at is None or at < 1:
            why = (
                f"has position {at}, PLINK's mark of an unplaced variant, which no engine can place"
            )
            fix = "remove unplaced variants first (plink2 --not-chr 0)"
        elif size is None:
            why = f"names the contig {variants['chrom'][i]!r}, which {build} does not have"
            fix = f"check --build, or drop that contig first (plink2 --not-chr {variants['chrom'][i]})"
        else:
            why = f"lies past the end of {contig} ({size:,} bp) in {build}"
            fix = "check --build"
        raise GenotypeFileError(f"{where(i)} ({written}) {why}: {fix}.")
    return variants.with_columns(chrom=recoded)
