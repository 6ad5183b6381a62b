"""Genotype reading, one home for ingestion and both GWAS engines.

:func:`open_genotypes` opens a PLINK 1 set, a BGEN v1.2 file or a VCF as a
:class:`GenotypeReader`: sample ids, a variant table with contigs recoded to the build
(:mod:`promise.genotypes.contigs`) and blocks of dosages of the counted allele ``a1`` (ALT).
:mod:`promise.genotypes.plink` also holds the packed .bed codes the fast engine computes on;
:mod:`promise.genotypes.samplefiles` the identity-bearing parts ingestion pseudonymises.
"""

from promise.genotypes.contigs import (
    BUILDS,
    checked_variants,
    contig_recoding,
    plink_recoding,
    recode_contigs,
    reference_contigs,
)
from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.reader import GenotypeKind, GenotypeReader, open_genotypes

__all__ = [
    "BUILDS",
    "GenotypeFileError",
    "GenotypeKind",
    "GenotypeReader",
    "checked_variants",
    "contig_recoding",
    "open_genotypes",
    "plink_recoding",
    "recode_contigs",
    "reference_contigs",
]
