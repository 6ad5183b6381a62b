"""The contig table: every alias a file may use, recoded to each build's names.

Expected names are the builds' own, as the Genome Reference Consortium and Hail name them:
GRCh37 (Ensembl/1000 Genomes style) ``1``..``22``, ``X``, ``Y``, ``MT``; GRCh38 (UCSC
style, Hail's GRCh38) ``chr1``..``chr22``, ``chrX``, ``chrY``, ``chrM``. PLINK codes X as 23,
Y 24, the pseudo-autosomal XY 25 (it lies on X) and MT 26 (PLINK 1.9 manual, "Chromosome
codes"); UK Biobank's imputed BGEN files write ``01``..``09``. Lengths: GRCh38 chr1
248,956,422 bp, GRCh37 chr1 249,250,621 bp (GRC assembly reports).
"""

from __future__ import annotations

import polars as pl
import pytest

from promise.genotypes import GenotypeFileError, checked_variants, recode_contigs
from promise.genotypes.contigs import check_build, recoding, reference_contigs

pytestmark = pytest.mark.unit

GRCH37 = {
    **{str(i): str(i) for i in range(1, 23)},
    **{f"chr{i}": str(i) for i in range(1, 23)},
    **{f"0{i}": str(i) for i in range(1, 10)},
    "X": "X", "chrX": "X", "23": "X", "25": "X", "XY": "X",
    "Y": "Y", "chrY": "Y", "24": "Y",
    "MT": "MT", "chrM": "MT", "chrMT": "MT", "M": "MT", "26": "MT",
}  # fmt: skip
GRCH38 = {
    **{str(i): f"chr{i}" for i in range(1, 23)},
    **{f"chr{i}": f"chr{i}" for i in range(1, 23)},
    **{f"0{i}": f"chr{i}" for i in range(1, 10)},
    "X": "chrX", "chrX": "chrX", "23": "chrX", "25": "chrX", "XY": "chrX",
    "Y": "chrY", "chrY": "chrY", "24": "chrY",
    "MT": "chrM", "chrM": "chrM", "chrMT": "chrM", "M": "chrM", "26": "chrM",
}  # fmt: skip


@pytest.mark.parametrize(("build", "table"), [("GRCh37", GRCH37), ("GRCh38", GRCH38)])
def test_every_alias_recodes_to_the_builds_name(build: str, table: dict[str, str]) -> None:
    names = pl.Series(list(table))
    assert recode_contigs(names, build).to_list() == list(table.values())
    # and each is a contig of Hail's reference genome of that build
    assert set(table.values()) <= set(reference_contigs(build))


def test_lengths_are_the_assemblies() -> None:
    assert reference_contigs("GRCh38")["chr1"] == 248_956_422
    assert reference_contigs("GRCh37")["1"] == 249_250_621
    assert reference_contigs("GRCh38")["chrM"] == reference_contigs("GRCh37")["MT"] == 16_569


def test_recoding_is_a_copy() -> None:
    """A caller that changes the table it was given changes nobody else's."""
    recoding("GRCh38")["1"] = "chrZ"
    assert recoding("GRCh38")["1"] == "chr1"


def _variants(chrom: str, pos: int) -> pl.DataFrame:
    return pl.DataFrame({"chrom": ["1", chrom], "pos": [100, pos], "id": ["ok", "bad"]})


@pytest.mark.parametrize(
    ("chrom", "pos", "build", "expected"),
    [
        ("HLA", 500, "GRCh38", "Variant 2 of f (HLA bad 500) names the contig 'HLA', which GRCh38 does not have"),
        ("chrUn_KI270302v1", 5, "GRCh37", "names the contig 'chrUn_KI270302v1', which GRCh37 does not have"),
        ("0", 500, "GRCh38", "names the contig '0'"),
        ("1", 0, "GRCh38", "Variant 2 of f (1 bad 0) has position 0, PLINK's mark of an unplaced variant"),
        ("23", 156_040_896, "GRCh38", "lies past the end of chrX (156,040,895 bp) in GRCh38"),
    ],
)  # fmt: skip
def test_variant_off_the_build_is_refused_in_one_sentence(
    chrom: str, pos: int, build: str, expected: str
) -> None:
    with pytest.raises(GenotypeFileError, match=r"^[^\n]+\.$") as caught:
        checked_variants(_variants(chrom, pos), build, lambda i: f"Variant {i + 1} of f")
    assert expected in str(caught.value)


def test_alt_contigs_of_the_build_are_kept() -> None:
    """Contigs the build has beyond 1-22/X/Y/MT pass unchanged (GRCh38's HLA alleles and
    unplaced scaffolds are in Hail's table)."""
    frame = pl.DataFrame({"chrom": ["chrUn_KI270302v1", "23"], "pos": [5, 10], "id": ["a", "b"]})
    assert checked_variants(frame, "GRCh38", str)["chrom"].to_list() == ["chrUn_KI270302v1", "chrX"]


def test_unknown_build_is_refused() -> None:
    with pytest.raises(
        GenotypeFileError, match="Unknown genome build 'hg19': use GRCh37 or GRCh38."
    ):
        check_build("hg19")
