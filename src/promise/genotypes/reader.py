"""What an engine reads genotypes through, whatever the file: :class:`GenotypeReader`.

A reader knows its samples (ids as the file gives them), its variants (one row each, contig
recoded to the build, ``a1`` the counted allele) and yields dosages of ``a1`` block by block,
samples x variants float64 with NaN for a missing call, so that memory stays bounded by the
block whatever the file's size. :func:`open_genotypes` picks the reader for a file kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import numpy as np
import polars as pl

Array = np.ndarray[Any, Any]
GenotypeKind = Literal["bfile", "bgen", "vcf"]
#: the columns of :attr:`GenotypeReader.variants`, in order
VARIANT_SCHEMA: dict[str, pl.DataType] = {
    "chrom": pl.Utf8(),
    "pos": pl.Int64(),
    "id": pl.Utf8(),
    "a1": pl.Utf8(),
    "a2": pl.Utf8(),
}


class GenotypeReader(Protocol):
    """Samples, variants and blocks of ``a1`` dosages of one genotype file.

    Attributes
    ----------
    samples:
        Sample ids as in the file: a .fam's IID, a BGEN's sample block or ``.sample``
        (``ID_2``), a VCF's header.
    variants:
        ``chrom`` (the build's contig name), ``pos`` (Int64), ``id``, ``a1`` (the counted
        allele: ALT), ``a2`` (REF), one row per variant in file order (a VCF's multi-allelic
        site is one row per ALT allele).
    """

    samples: list[str]
    variants: pl.DataFrame

    def dosage_blocks(
        self,
        *,
        variant_index: Array | None = None,
        sample_index: Array | None = None,
        block: int = 1024,
    ) -> Iterator[tuple[int, Array]]:
        """(position of the block's first variant among those selected, samples x variants
        float64 dosages of ``a1``, NaN where missing), over the selected variants in blocks
        of at most ``block``. ``variant_index``: increasing row numbers of :attr:`variants`
        (None: all); ``sample_index``: positions in :attr:`samples`, in the order the rows
        of each block should have (None: all, in file order)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class BlockReader:
    """The shared part of the readers: index checks, blocking, the context manager. A
    reader implements :meth:`_read`, one block of selected variants (or :meth:`_blocks`,
    the whole iteration, when it can only read forward)."""

    samples: list[str]
    variants: pl.DataFrame

    def dosage_blocks(
        self,
        *,
        variant_index: Array | None = None,
        sample_index: Array | None = None,
        block: int = 1024,
    ) -> Iterator[tuple[int, Array]]:
        """See :meth:`GenotypeReader.dosage_blocks`."""
        if block < 1:
            raise ValueError(f"block must be at least 1, not {block}")
        rows = _checked_index(variant_index, len(self.variants), "variant_index", increasing=True)
        cols = (
            None
            if sample_index is None
            else _checked_index(sample_index, len(self.samples), "sample_index")
        )
        return self._blocks(rows, cols, block)

    def _blocks(self, rows: Array, cols: Array | None, block: int) -> Iterator[tuple[int, Array]]:
        """Default blocking: one :meth:`_read` per slice of ``rows``."""
        for start in range(0, len(rows), block):
            yield start, self._read(rows[start : start + block], cols)

    def _read(self, rows: Array, cols: Array | None) -> Array:
        """Dosages of the variants ``rows`` (increasing), samples ``cols`` x variants."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _checked_index(index: Array | None, size: int, name: str, *, increasing: bool = False) -> Array:
    """``index`` as int64 positions below ``size`` (a boolean mask of length ``size`` too)."""
    if index is None:
        return np.arange(size, dtype=np.int64)
    index = np.asarray(index)
    if index.dtype == np.bool_:
        if index.shape != (size,):
            raise ValueError(f"{name} as a mask needs {size} entries, not {index.shape}")
        return np.flatnonzero(index).astype(np.int64)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d array of integer positions")
    index = index.astype(np.int64)
    if len(index) and (index.min() < 0 or index.max() >= size):
        raise ValueError(f"{name} has positions outside 0..{size - 1}")
    if increasing and np.any(np.diff(index) <= 0):
        raise ValueError(f"{name} must be strictly increasing (readers read forward)")
    return index


def open_genotypes(
    path: Path,
    kind: GenotypeKind,
    build: str,
    *,
    sample_file: Path | None = None,
) -> GenotypeReader:
    """The reader of a PLINK 1 set (``path`` its prefix or any of its three files), a BGEN
    v1.2 file (ids from its sample block, else ``sample_file`` or ``<stem>.sample``; a given
    ``sample_file`` wins) or a VCF (plain, gzip or BGZF; DS when the header declares it,
    else GT), its contigs recoded to ``build``."""
    from promise.genotypes.bgen import BgenFileReader
    from promise.genotypes.plink import BedReader
    from promise.genotypes.vcf import VcfReader

    if kind == "bfile":
        return BedReader(Path(path), build)
    if kind == "bgen":
        return BgenFileReader(Path(path), build, sample_file=sample_file)
    if kind == "vcf":
        return VcfReader(Path(path), build)
    raise ValueError(f"unknown genotype kind {kind!r}")
