"""Dosages as a block source of the fast engine: BGEN v1.2, VCFs with FORMAT DS, and the
warehouse's batches when one was delivered as dosages (ingestion's dosage copy of it,
:func:`dosage_copies`; the other batches' PLINK copies read as 0/1/2 beside it).

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
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.genotypes import GenotypeKind, open_genotypes
from promise.gwas.bedset import DOSAGE_FOLDER, PLINK_FOLDER, shared_rows, warehouse_plink_sets
from promise.gwas.inputs import GenotypeInputError, GenotypeSource
from promise.gwas.vcfbed import holds_dosages

Array = np.ndarray[Any, Any]


@dataclass(frozen=True)
class DosageFile:
    """One file of a :class:`DosageSource`: a BGEN, a VCF with DS or (beside them in the
    warehouse) a PLINK 1 set of hard calls, read as 0/1/2 dosages."""

    path: Path
    kind: GenotypeKind
    sample_file: Path | None
    #: the file's variants this source holds (increasing); None: all, in file order
    rows: Array | None = None


@dataclass(frozen=True)
class DosageSource:
    """Dosage files side by side: their samples one file after another, their shared
    variants (``chrom`` in the build's names, ``pos``, ``a1`` the counted allele ALT, ``a2``
    REF), and blocks of dosages. One file for ``--bgen`` or ``--vcf``; the warehouse's
    batches for warehouse mode (:func:`open_warehouse_dosages`)."""

    files: tuple[DosageFile, ...]
    build: str
    samples: list[str]
    bim: pl.DataFrame
    #: the samples (columns of the files side by side) this source holds; None: all
    cols: Array | None = None

    @property
    def path(self) -> Path:
        """The first file (what a message about the source names)."""
        return self.files[0].path

    @property
    def n_variants(self) -> int:
        return len(self.bim)

    def blocks(self, block: int) -> Iterator[tuple[int, Array]]:
        """(first variant, variants x samples float64 dosages of ``a1``, NaN where
        missing), this source's samples in its order, blocks of at most ``block`` variants."""
        # the readers return samples x variants, the transpose of a C-ordered array: taken
        # back it needs no copy, and the columns are then a gather along contiguous rows
        # (the readers' own sample_index gathers across them, 2.5 times slower here)
        with ExitStack() as stack:
            streams = [
                stack.enter_context(
                    open_genotypes(f.path, f.kind, self.build, sample_file=f.sample_file)
                ).dosage_blocks(variant_index=f.rows, block=block)
                for f in self.files
            ]
            for parts in zip(*streams, strict=True):
                start = parts[0][0]
                if len(parts) == 1:
                    rows = np.ascontiguousarray(parts[0][1].T)
                else:
                    rows = np.concatenate([np.asarray(d.T) for _, d in parts], axis=1)
                yield start, rows if self.cols is None else rows[:, self.cols]

    def subset(self, rows: Array | None, cols: Array | None) -> DosageSource:
        """The variants ``rows`` (increasing) and samples ``cols`` of this source (None:
        all of them), positions in this source."""
        bim = self.bim if rows is None else self.bim[rows]
        samples = self.samples if cols is None else [self.samples[i] for i in cols]
        files = tuple(replace(f, rows=_within(f.rows, rows)) for f in self.files)
        return replace(self, files=files, samples=samples, bim=bim,
                       cols=_within(self.cols, cols))  # fmt: skip


def _within(mine: Array | None, picked: Array | None) -> Array | None:
    """Positions ``picked`` of a selection ``mine`` (None: everything) as a selection."""
    return mine if picked is None else picked if mine is None else mine[picked]


def holds_dosage_input(genotypes: GenotypeSource) -> bool:
    """Whether ``genotypes`` are dosages: a BGEN file, a VCF declaring FORMAT DS, or a
    warehouse with a batch ingested from either (its dosage copy, :func:`dosage_copies`)."""
    if genotypes.kind == "warehouse":
        return bool(dosage_copies(Path(genotypes.path)))
    return genotypes.kind == "bgen" or (
        genotypes.kind == "vcf" and holds_dosages(Path(genotypes.path))
    )


def open_dosages(genotypes: GenotypeSource) -> DosageSource:
    """The :class:`DosageSource` of a BGEN file, a VCF with DS or the warehouse's batches
    (headers and variants read)."""
    if genotypes.kind == "warehouse":
        return open_warehouse_dosages(Path(genotypes.path), genotypes.build)
    kind: GenotypeKind = "bgen" if genotypes.kind == "bgen" else "vcf"
    one = DosageFile(path=Path(genotypes.path), kind=kind, sample_file=genotypes.sample_file)
    samples, bim = _read_header(one, genotypes.build)
    return DosageSource(files=(one,), build=genotypes.build, samples=samples, bim=bim)


def _read_header(file: DosageFile, build: str) -> tuple[list[str], pl.DataFrame]:
    with open_genotypes(file.path, file.kind, build, sample_file=file.sample_file) as r:
        return list(r.samples), r.variants.select("chrom", "pos", "id", "a1", "a2")


def dosage_copies(warehouse: Path) -> dict[str, DosageFile]:
    """Batch name -> its dosage copy (``genotypes/<batch>.dosage/<batch>.bgen`` with its
    ``.sample``, or ``<batch>.vcf.bgz``), which ingestion writes for a batch delivered as
    dosages (BGEN, VCF with DS), pseudonymised like its PLINK copy."""
    copies = {}
    for folder in sorted((Path(warehouse) / "genotypes").glob(f"*{DOSAGE_FOLDER}")):
        name = folder.name.removesuffix(DOSAGE_FOLDER)
        bgen, vcf = folder / f"{name}.bgen", folder / f"{name}.vcf.bgz"
        if bgen.is_file():
            copies[name] = DosageFile(bgen, "bgen", folder / f"{name}.sample")
        elif vcf.is_file():
            copies[name] = DosageFile(vcf, "vcf", None)
    return copies


def open_warehouse_dosages(warehouse: Path, build: str) -> DosageSource:
    """The warehouse's batches side by side on the variants they all have (as the PLINK
    path joins them, :func:`promise.gwas.bedset.shared_variants`): a batch delivered as
    dosages read from its dosage copy, any other from its PLINK copy as 0/1/2 dosages."""
    copies = dosage_copies(warehouse)
    files = []
    for prefix in warehouse_plink_sets(warehouse):
        name = prefix.parent.name.removesuffix(PLINK_FOLDER)
        files.append(copies.get(name) or DosageFile(prefix, "bfile", None))
    if not files:
        raise GenotypeInputError(
            f"No genotype batches in {Path(warehouse) / 'genotypes'}: run `promise ingest` first."
        )
    headers = [_read_header(f, build) for f in files]
    samples = [s for ids, _ in headers for s in ids]
    if len(set(samples)) != len(samples):
        raise GenotypeInputError(
            "A sample is in two genotype batches of the warehouse: a sample must be genotyped "
            "once."
        )
    if len(files) == 1:
        return DosageSource(files=(files[0],), build=build, samples=samples, bim=headers[0][1])
    rows = _shared_rows([bim for _, bim in headers], [f.path.name for f in files])
    joined = tuple(replace(f, rows=r) for f, r in zip(files, rows, strict=True))
    return DosageSource(files=joined, build=build, samples=samples, bim=headers[0][1][rows[0]])


def _shared_rows(bims: list[pl.DataFrame], names: list[str]) -> list[Array]:
    """:func:`promise.gwas.bedset.shared_rows`, each increasing, as readers read forward
    (files written from the same reference genome are)."""
    picked = shared_rows(bims, names)
    for name, order in zip(names, picked, strict=True):
        if np.any(np.diff(order) <= 0):
            raise GenotypeInputError(
                f"{name} orders its variants unlike the first batch, so the batches cannot be "
                "read side by side: load them again with one reference genome."
            )
    return picked


def dosage_block(dosages: Array, cols: Array | None) -> tuple[Array, Array | None]:
    """A block for the binary kernel (:func:`.binary.associate_block`): the group's columns
    ``cols`` (None: all) as a fresh C-ordered float64 copy with 0 at missing dosages (the
    kernel centres it in place and mean-imputes), and the missing indicator (None: none)."""
    g = dosages if cols is None else dosages[:, cols]
    held = np.isnan(g)
    return np.where(held, 0.0, g), (held if held.any() else None)
