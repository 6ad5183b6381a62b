"""BGEN v1.2 files (layout 2, any bit depth, zlib, zstd or no compression), read through the
``bgen`` package (C++; https://github.com/jeremymcrae/bgen).

Alleles: the first allele of a variant is REF (``a2``) and the second ALT (``a1``, the
counted one), as Hail and regenie read a BGEN and as PLINK 2 does with
``--bgen file ref-first``. The dosage is the expected count of the second allele: for an
unphased diploid sample P(het) + 2 P(hom ALT), for a phased one the sum over its two
haplotypes of P(ALT). A haploid sample (ploidy 1, e.g. a male on X) counts double, 2 P(ALT),
as PLINK 2 imports one (a haploid call is stored as homozygous diploid). A sample flagged
missing is NaN. Multi-allelic variants are skipped (counted in
:attr:`BgenFileReader.skipped_multiallelic`); ploidy above 2 is refused.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import bgen
import numpy as np
import polars as pl

from promise.genotypes.contigs import checked_variants
from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.reader import VARIANT_SCHEMA, BlockReader
from promise.genotypes.samplefiles import BgenHeader, bgen_sample_ids, read_bgen_header

Array = np.ndarray[Any, Any]
#: the errors the ``bgen`` package raises on a truncated or corrupt file
_LIBRARY_ERRORS = (ValueError, RuntimeError, OSError, IndexError, OverflowError)


class BgenFileReader(BlockReader):
    """A BGEN v1.2 file as a :class:`~promise.genotypes.reader.GenotypeReader`."""

    def __init__(self, path: Path, build: str, *, sample_file: Path | None = None) -> None:
        if not path.is_file():
            raise GenotypeFileError(f"The BGEN file {path} does not exist.")
        self.path = path
        header = read_bgen_header(path)
        self.samples = bgen_sample_ids(path, sample_file)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                self._file: bgen.BgenReader | None = bgen.BgenReader(str(path), delay_parsing=False)
                found = len(self._file)
        except (*_LIBRARY_ERRORS, Warning) as exc:
            raise self._corrupt(exc) from exc
        if found != header.n_variants:
            raise GenotypeFileError(
                f"{path.name} holds {found:,} variants where its header announces "
                f"{header.n_variants:,}: it is truncated; deliver it again."
            )
        frame, self._where = self._variant_table(self._file)
        self.skipped_multiallelic = found - len(self._where)
        self.variants = checked_variants(
            frame, build, lambda i: f"Variant {int(self._where[i]) + 1:,} of {path.name}"
        )

    def _corrupt(self, exc: BaseException) -> GenotypeFileError:
        """The refusal of a file the library could not read (its words name no sample)."""
        return GenotypeFileError(
            f"{self.path.name} is truncated or corrupt ({str(exc).rstrip('.')}); deliver it again."
        )

    def _variant_table(self, file: bgen.BgenReader) -> tuple[pl.DataFrame, Array]:
        """The biallelic variants as :data:`VARIANT_SCHEMA` (``id``: the rsid, else the
        variant id) and their positions in the file."""
        rows: dict[str, list[Any]] = {name: [] for name in VARIANT_SCHEMA}
        where = []
        try:
            for i in range(len(file)):
                var = file[i]
                alleles = var.alleles
                if len(alleles) != 2:
                    continue
                where.append(i)
                rows["chrom"].append(var.chrom)
                rows["pos"].append(var.pos)
                rows["id"].append(var.rsid or var.varid)
                rows["a1"].append(alleles[1])
                rows["a2"].append(alleles[0])
        except _LIBRARY_ERRORS as exc:
            raise self._corrupt(exc) from exc
        return pl.DataFrame(rows, schema=VARIANT_SCHEMA), np.array(where, dtype=np.int64)

    def _read(self, rows: Array, cols: Array | None) -> Array:
        if self._file is None:
            raise GenotypeFileError(f"{self.path.name} was read after it was closed.")
        out = np.empty((len(rows), len(self.samples)), dtype=np.float64)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                for k, row in enumerate(rows):
                    out[k] = alt_dosage(self._file[int(self._where[row])])
        except (*_LIBRARY_ERRORS, Warning) as exc:
            raise self._corrupt(exc) from exc
        return out.T if cols is None else out.T[cols]

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def alt_dosage(var: bgen.BgenVar) -> Array:
    """Expected count of the second allele per sample (see the module's conventions)."""
    ploidy = var.ploidy
    if not var.is_phased and bool(np.all(ploidy == 2)):
        return var.alt_dosage  # the library's vectorised path: P(het) + 2 P(hom ALT)
    if np.any(ploidy > 2):
        raise GenotypeFileError(
            f"Variant {var.rsid or var.varid} has a sample of ploidy above 2, which has no "
            "dosage promise can use; keep diploid and haploid samples only."
        )
    probs = var.probabilities.astype(np.float64)
    if var.is_phased:  # per haplotype P(REF), P(ALT); a haploid sample's second is NaN
        dose = probs[:, 1] + np.where(
            ploidy == 2, probs[:, 3] if probs.shape[1] > 3 else 0.0, probs[:, 1]
        )
    else:  # P(hom REF), P(het), P(hom ALT); a haploid sample has P(REF), P(ALT), NaN
        hom = probs[:, 2] if probs.shape[1] > 2 else np.zeros(len(probs))
        dose = np.where(ploidy == 2, probs[:, 1] + 2.0 * hom, 2.0 * probs[:, 1])
    dose[ploidy == 0] = np.nan
    result: Array = dose
    return result


def first_bit_depth(path: Path) -> int | None:
    """The bits per probability of the first variant of a BGEN v1.2 file, None where it
    cannot be told without a decompressor the standard library lacks (zstd, unless the
    variant is biallelic and diploid, where it follows from the block's sizes).

    Layout 2 (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html): the variant's
    ids, chromosome, position and alleles, then the genotype block's length ``C`` (4), its
    uncompressed length ``D`` (4, when compressed), and the data: ``N`` (4), ``K`` (2),
    ploidy min and max (1 + 1), one ploidy byte per sample, phased (1), ``B`` (1). Why it
    matters: Hail's ``import_bgen`` reads 8-bit files only."""
    header = read_bgen_header(path)
    try:
        return _bit_depth(path, header)
    except (struct.error, zlib.error):  # truncated or corrupt: the reader refuses it itself
        return None


def _bit_depth(path: Path, header: BgenHeader) -> int | None:
    with Path(path).open("rb") as handle:
        handle.seek(header.offset + 4)
        for _ in range(3):  # variant id, rsid, chromosome: 2-byte length and the text
            (size,) = struct.unpack("<H", handle.read(2))
            handle.seek(size, 1)
        _, n_alleles = struct.unpack("<IH", handle.read(6))
        for _ in range(n_alleles):
            (size,) = struct.unpack("<I", handle.read(4))
            handle.seek(size, 1)
        (block,) = struct.unpack("<I", handle.read(4))
        if header.compression == 0:
            data = handle.read(block)
        else:
            (unpacked,) = struct.unpack("<I", handle.read(4))
            packed = handle.read(block - 4)
            if header.compression != 1:
                bits = 8 * (unpacked - 10 - header.n_samples) / (2 * header.n_samples)
                return int(bits) if n_alleles == 2 and bits.is_integer() else None
            data = zlib.decompress(packed)
    at = 8 + header.n_samples + 1  # N, K, ploidy min and max, the ploidies, phased
    return data[at] if len(data) > at else None
