"""Dosages as a block source of the fast engine: BGEN v1.2 and VCFs with FORMAT DS.

The fast engine's association reads a PLINK 1 .bed block by block and decodes each block's
2-bit codes into A1 counts. For dosage input, :class:`DosageSource` supplies the blocks
instead: variants x samples float64 dosages of ``a1`` (ALT) from
:func:`promise.genotypes.open_genotypes`, NaN for a missing dosage, mean-imputed as the .bed
path does. Quantitative groups go through :func:`promise.gwas.fastlinear.dosage_stats` (the
.bed path's Frisch-Waugh-Lovell product with sum(g^2) from the dosages: ``plink2 --glm`` on
dosages), binary ones through the .bed path's score/Firth/Wald kernel (:func:`dosage_block`).
QC, pruning, PCA, kinship and step 1 run on hard calls (:mod:`.hardcalls`); a source can be
restricted to the variants and samples they kept (:meth:`DosageSource.subset`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from promise.genotypes import GenotypeKind, open_genotypes
from promise.gwas.inputs import GenotypeSource
from promise.gwas.vcfbed import holds_dosages

if TYPE_CHECKING:
    pass

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
    #: the file's variants (rows, increasing) and samples (columns) this source holds; None:
    #: all, in file order
    rows: Array | None = None
    cols: Array | None = None

    @property
    def n_variants(self) -> int:
        return len(self.bim)

    def blocks(self, block: int) -> Iterator[tuple[int, Array]]:
        """(first variant, variants x samples float64 dosages of ``a1``, NaN where
        missing), this source's samples in its order, blocks of at most ``block`` variants."""
        # the readers return samples x variants, the transpose of a C-ordered array: taken
        # back it needs no copy, and the columns are then a gather along contiguous rows
        # (the readers' own sample_index gathers across them, 2.5 times slower here)
        with open_genotypes(self.path, self.kind, self.build, sample_file=self.sample_file) as r:
            for start, dosages in r.dosage_blocks(variant_index=self.rows, block=block):
                rows = np.ascontiguousarray(dosages.T)
                yield start, rows if self.cols is None else rows[:, self.cols]

    def subset(self, rows: Array | None, cols: Array | None) -> DosageSource:
        """The variants ``rows`` (increasing) and samples ``cols`` of this source (None:
        all of them), positions in this source."""
        bim = self.bim if rows is None else self.bim[rows]
        samples = self.samples if cols is None else [self.samples[i] for i in cols]

        def within(mine: Array | None, picked: Array | None) -> Array | None:
            return mine if picked is None else picked if mine is None else mine[picked]

        return replace(self, samples=samples, bim=bim, rows=within(self.rows, rows),
                       cols=within(self.cols, cols))  # fmt: skip


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


def dosage_block(dosages: Array, cols: Array | None) -> tuple[Array, Array | None]:
    """A block for the binary kernel (:func:`.binary.associate_block`): the group's columns
    ``cols`` (None: all) as a fresh C-ordered float64 copy with 0 at missing dosages (the
    kernel centres it in place and mean-imputes), and the missing indicator (None: none)."""
    g = dosages if cols is None else dosages[:, cols]
    held = np.isnan(g)
    return np.where(held, 0.0, g), (held if held.any() else None)
