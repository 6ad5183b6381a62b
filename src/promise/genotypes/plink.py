"""PLINK 1 binary sets (.bed/.bim/.fam): the packed 2-bit codes and their decoding.

A SNP-major .bed holds, after three magic bytes, one row of ``ceil(samples / 4)`` bytes per
variant, two bits per sample, low bits first: 00 = two A1 (the .bim's fifth column),
01 = missing, 10 = one A1, 11 = no A1. The fast engine works on these codes directly
(:func:`bed_blocks`, the 256-entry tables, :func:`code_counts`); :class:`BedReader` gives
the same genotypes as float dosages of A1 for any other consumer. A1 is the counted allele,
as PLINK 2 reads a .bed (A1 = ALT, A2 = REF).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.genotypes.contigs import checked_variants
from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.reader import BlockReader
from promise.gwas.phenofiles import read_fields

BLOCK = 256
BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
PLINK_SUFFIXES = (".bed", ".bim", ".fam")
BIM_COLUMNS = ("chrom", "id", "cm", "pos", "a1", "a2")
Array = np.ndarray[Any, Any]

# Two bits per sample, low bits first: 00 = two A1, 01 = missing, 10 = one A1, 11 = no A1.
_CODES = (np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3
_LANES = (8 * np.arange(4)).astype(np.uint32)
#: byte -> the four samples' A1 counts packed in one little-endian uint32 (missing -> 0)
LUT_COUNT = (np.array([2, 0, 1, 0], dtype=np.uint32)[_CODES] << _LANES).sum(axis=1, dtype=np.uint32)
#: byte -> the four samples' missing-call indicators, packed the same way
LUT_MISSING = (np.array([0, 1, 0, 0], dtype=np.uint32)[_CODES] << _LANES).sum(
    axis=1, dtype=np.uint32
)
#: byte -> the four samples' A1 dosages as float64 (missing -> NaN), 256 x 4
LUT_DOSAGE = np.array([2.0, np.nan, 1.0, 0.0])[_CODES]

#: every low bit of the 2-bit codes in a 64-bit word
LOW_BITS = np.uint64(0x5555555555555555)


def decode(raw: Array, lut: Array, n_samples: int) -> Array:
    """(variants x bytes) .bed codes -> (variants x samples) uint8 through a packed table."""
    return lut[raw].view(np.uint8).reshape(raw.shape[0], -1)[:, :n_samples]


def padded_words(raw: Array, n_samples: int, out: Array | None = None) -> Array:
    """The codes of ``raw`` as rows of 64-bit words: each row padded to a whole word, and
    every padding bit (the last byte's unused samples included, whatever a writer left
    there) set to 1, so that padding reads as code 11 (no A1, not missing)."""
    per = raw.shape[1]
    width = (per + 7) // 8 * 8
    if out is None:
        out = np.empty((raw.shape[0], width), dtype=np.uint8)
    padded = out[: raw.shape[0]]
    padded[:, :per] = raw
    padded[:, per:] = 0xFF
    rest = n_samples - 4 * (n_samples // 4)
    if rest:
        padded[:, per - 1] |= np.uint8(0xFF & ~((1 << (2 * rest)) - 1))
    return padded.view(np.uint64)


def code_counts(words: Array) -> tuple[Array, Array, Array]:
    """Per row of :func:`padded_words`: the A1 count summed over samples, the number of
    samples with two A1 (code 00) and the number of missing calls (code 01), by counting
    bits of the packed codes (an eighth of the elements of the decoded matrix)."""
    high = words >> np.uint64(1)
    low_zero = np.bitwise_count(~words & LOW_BITS).sum(axis=1, dtype=np.int64)  # 00 or 10
    twos = np.bitwise_count(~(words | high) & LOW_BITS).sum(axis=1, dtype=np.int64)
    missing = np.bitwise_count(words & ~high & LOW_BITS).sum(axis=1, dtype=np.int64)
    return low_zero + twos, twos, missing


def has_missing(raw: Array) -> bool:
    """True when any 2-bit code in ``raw`` is 01 (a missing call)."""
    return bool(np.any(raw & ~(raw >> 1) & 0x55))


def plink_prefix(given: str | Path) -> Path:
    """The PLINK prefix meant by ``--bfile``: ``x.bed`` (or .bim/.fam) means ``x``, as a
    user who tab-completed the file name meant."""
    path = Path(given)
    return path.with_suffix("") if path.suffix in PLINK_SUFFIXES else path


def read_fam_ids(prefix: Path) -> list[str]:
    """The sample ids (IID, column 2) of a PLINK .fam file."""
    fam = read_fields(Path(f"{prefix}.fam"), header=False)
    if fam.width < 2:
        raise GenotypeFileError(f"{prefix}.fam needs at least two columns (FID IID ...).")
    return fam.to_series(1).to_list()


def read_bim(prefix: Path) -> pl.DataFrame:
    """The .bim as columns ``chrom id cm pos a1 a2`` (text; ``pos`` Int64); a position that
    is not a whole number is refused naming its line."""
    bim = read_fields(Path(f"{prefix}.bim"), header=False, names=BIM_COLUMNS)
    pos = bim["pos"].cast(pl.Int64, strict=False)
    if pos.null_count():
        line = int(pos.is_null().arg_true()[0])
        raise GenotypeFileError(
            f"Line {line + 1} of {prefix}.bim has the position {bim['pos'][line]!r}, "
            "which is not a whole number."
        )
    return bim.with_columns(pos=pos)


def read_plink_meta(prefix: Path) -> tuple[pl.DataFrame, list[str]]:
    """:func:`read_bim` and :func:`read_fam_ids`."""
    return read_bim(prefix), read_fam_ids(prefix)


def checked_bed(prefix: Path, n_samples: int, n_variants: int) -> Path:
    """The .bed of ``prefix`` once its size fits the .bim and .fam and it is SNP-major."""
    path = Path(f"{prefix}.bed")
    expected = len(BED_MAGIC) + (n_samples + 3) // 4 * n_variants
    if path.stat().st_size != expected:
        raise GenotypeFileError(
            f"{path} has {path.stat().st_size:,} bytes where the .bim and .fam imply "
            f"{expected:,}: the three files do not belong together."
        )
    with path.open("rb") as fh:
        if fh.read(3) != BED_MAGIC:
            raise GenotypeFileError(f"{path} is not a SNP-major PLINK 1 .bed file.")
    return path


def bed_blocks(
    prefix: Path, n_samples: int, n_variants: int, *, block: int = BLOCK
) -> Iterator[tuple[int, Array]]:
    """(first variant, variants x bytes codes) per block of a checked SNP-major .bed."""
    per = (n_samples + 3) // 4
    path = checked_bed(prefix, n_samples, n_variants)
    with path.open("rb") as fh:
        fh.seek(len(BED_MAGIC))
        for start in range(0, n_variants, block):
            count = min(block, n_variants - start)
            yield start, np.frombuffer(fh.read(per * count), dtype=np.uint8).reshape(count, per)


def dosages(raw: Array, n_samples: int) -> Array:
    """(variants x bytes) codes -> samples x variants float64 A1 dosages, NaN where missing."""
    out: Array = LUT_DOSAGE[raw].reshape(raw.shape[0], -1)[:, :n_samples].T
    return out


class BedReader(BlockReader):
    """A PLINK 1 set as a :class:`~promise.genotypes.reader.GenotypeReader`, plus the packed
    codes for the fast engine (:meth:`packed_blocks`)."""

    def __init__(self, path: Path, build: str) -> None:
        self.prefix = plink_prefix(path)
        missing = [
            f"{self.prefix}{s}" for s in PLINK_SUFFIXES if not Path(f"{self.prefix}{s}").is_file()
        ]
        if missing:
            raise GenotypeFileError(
                f"{', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist; "
                "give the prefix of a .bed/.bim/.fam set."
            )
        bim, self.samples = read_plink_meta(self.prefix)
        self.variants = checked_variants(
            bim.select("chrom", "pos", "id", "a1", "a2"),
            build,
            lambda i: f"Line {i + 1:,} of {self.prefix}.bim",
        )
        self.n_samples = len(self.samples)
        path = checked_bed(self.prefix, self.n_samples, len(self.variants))
        shape = (len(self.variants), (self.n_samples + 3) // 4)
        self._codes: Array | None = (
            np.memmap(path, dtype=np.uint8, mode="r", offset=len(BED_MAGIC), shape=shape)
            if shape[0] and shape[1]
            else np.empty(shape, dtype=np.uint8)
        )

    def packed_blocks(self, *, block: int = BLOCK) -> Iterator[tuple[int, Array]]:
        """(first variant, variants x bytes 2-bit codes) of every variant, as
        :func:`bed_blocks` reads them for the fast engine's kernels."""
        return bed_blocks(self.prefix, self.n_samples, len(self.variants), block=block)

    def _read(self, rows: Array, cols: Array | None) -> Array:
        if self._codes is None:
            raise GenotypeFileError(f"{self.prefix}.bed was read after it was closed.")
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):  # a contiguous run: one slice
            raw = np.asarray(self._codes[rows[0] : rows[-1] + 1])
        else:
            raw = np.asarray(self._codes[rows])
        out = dosages(raw, self.n_samples)
        return out if cols is None else out[cols]

    def close(self) -> None:
        """Drop the memory map of the .bed."""
        self._codes = None
