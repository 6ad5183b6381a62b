"""VCF files (plain, gzip or BGZF), their genotypes read through ``cyvcf2`` (htslib).

Which field: DS (the ALT dosage) when the header declares a FORMAT DS, else GT; a sample
whose DS is missing falls back to its GT (PLINK 2 writes DS only where it differs from the
hard call). Conventions, as PLINK 2 imports a VCF:

- ``a1`` is ALT (counted), ``a2`` REF; a multi-allelic site is split into one variant per
  ALT allele (as Hail's ``split_multi_hts``), the dosage of each counting that allele
  (other ALT alleles count as not it); :attr:`VcfReader.split_sites` says how many;
- a haploid call (``0``, ``1``, e.g. a male on X) counts as homozygous: 0 or 2, a haploid
  DS doubled (PLINK 2 stores haploid calls as homozygous diploid);
- a half call (``./1``) is missing, as ``plink2 --vcf-half-call missing``; ploidy above 2 is
  refused.

The variant table comes from a first pass over the text (the first five columns of every
line, whose number of fields is checked), each block of dosages from a pass of htslib.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import polars as pl
from cyvcf2 import VCF
from cyvcf2.cyvcf2 import set_htslib_log_level
from isal import igzip

from promise.genotypes.contigs import checked_variants
from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.reader import VARIANT_SCHEMA, BlockReader
from promise.genotypes.samplefiles import is_bgzf, is_gzip, read_vcf_header

Array = np.ndarray[Any, Any]
VcfField = Literal["auto", "GT", "DS"]
#: a DS may exceed 2 (or fall below 0) by this much, as rounding in a writer leaves it
DS_TOLERANCE = 1e-3


def _open_binary(path: Path) -> IO[bytes]:
    if is_gzip(path):
        handle: IO[bytes] = igzip.open(path, "rb")  # type: ignore[no-untyped-call]
        return handle
    return path.open("rb")


class VcfReader(BlockReader):
    """A VCF as a :class:`~promise.genotypes.reader.GenotypeReader`."""

    def __init__(self, path: Path, build: str, *, field: VcfField = "auto") -> None:
        if not path.is_file():
            raise GenotypeFileError(f"The VCF file {path} does not exist.")
        self.path = path
        header = read_vcf_header(path)
        self.samples = header.samples
        declares_ds = any(line.startswith("##FORMAT=<ID=DS,") for line in header.meta)
        self.field: Literal["GT", "DS"] = (
            ("DS" if declares_ds else "GT") if field == "auto" else field
        )
        sites, lines = self._scan(len(header.columns))
        alts = sites["alt"].str.split(",")
        self.split_sites = int((alts.list.len() > 1).sum())
        # one row per ALT allele: the site it comes from and which ALT (1-based) it counts
        exploded = sites.with_columns(
            alt=alts, _site=pl.int_range(pl.len(), dtype=pl.Int64)
        ).explode("alt")
        exploded = exploded.with_columns(_allele=pl.int_range(pl.len()).over("_site") + 1)
        self._site = exploded["_site"].to_numpy()
        self._allele = exploded["_allele"].to_numpy()
        self._lines = lines
        self._site_pos = sites["pos"].to_numpy()
        frame = exploded.select("chrom", "pos", "id", a1="alt", a2="ref").cast(VARIANT_SCHEMA)  # type: ignore[arg-type]
        self.variants = checked_variants(
            frame, build, lambda i: f"Line {int(lines[self._site[i]]):,} of {path.name}"
        )

    def _scan(self, width: int) -> tuple[pl.DataFrame, Array]:
        """CHROM, POS, ID, REF, ALT of every data line, and its line number; a line without
        ``width`` fields or with a POS that is not a whole number is refused."""
        columns: list[list[str]] = [[], [], [], [], []]
        numbers: list[int] = []
        try:
            with _open_binary(self.path) as handle:
                for number, line in enumerate(handle, start=1):
                    if line.startswith(b"#"):
                        continue
                    fields = line.count(b"\t") + 1
                    cut = _nth_tab(line, 5)
                    head = line[:cut].split(b"\t")
                    if fields != width or len(head) < 5 or not head[1].strip().isdigit():
                        raise self._malformed(number, fields, width, head)
                    try:
                        for column, value in zip(columns, head, strict=False):
                            column.append(value.decode("utf-8"))
                    except UnicodeDecodeError as exc:
                        raise GenotypeFileError(
                            f"Line {number:,} of {self.path.name} is not UTF-8 text in its "
                            "first five fields: fix or drop that line."
                        ) from exc
                    numbers.append(number)
        except (OSError, EOFError) as exc:
            raise GenotypeFileError(
                f"{self.path.name} cannot be read to its end ({type(exc).__name__}): it is "
                "truncated or corrupt; deliver it again."
            ) from exc
        names = ("chrom", "pos", "id", "ref", "alt")
        frame = pl.DataFrame(
            dict(zip(names, columns, strict=True)), schema=dict.fromkeys(names, pl.Utf8)
        )
        pos = pl.col("pos").str.strip_chars().cast(pl.Int64)
        return frame.with_columns(pos), np.array(numbers, dtype=np.int64)

    def _malformed(
        self, number: int, fields: int, width: int, head: list[bytes]
    ) -> GenotypeFileError:
        if not b"".join(head).strip():
            why = "is blank"
        elif fields != width:
            why = (
                f"has {fields:,} tab-separated fields where the header's #CHROM line has {width:,}"
            )
        elif len(head) < 5:
            why = "has fewer than the 8 fixed fields of a VCF line"
        else:
            why = "has a POS that is not a whole number"
        return GenotypeFileError(
            f"Line {number:,} of {self.path.name} {why}: fix or drop that line."
        )

    def _blocks(self, rows: Array, cols: Array | None, block: int) -> Iterator[tuple[int, Array]]:
        """One htslib pass over the file, keeping the sites of ``rows``."""
        wanted_sites = self._site[rows]
        wanted_alleles = self._allele[rows]
        n_cols = len(self.samples) if cols is None else len(cols)
        buffer = np.empty((min(block, max(len(rows), 1)), n_cols), dtype=np.float64)
        filled, start, at = 0, 0, 0
        set_htslib_log_level(0)  # htslib's own complaints are replaced by one sentence of ours
        vcf = VCF(str(self.path), lazy=True, threads=2 if is_bgzf(self.path) else None)
        records, site = iter(vcf), -1
        try:
            while at < len(rows):
                try:
                    record = next(records)
                except StopIteration:
                    break
                except Exception as exc:  # htslib's parse errors surface as a bare Exception
                    raise self._unparsable(site + 1) from exc
                site += 1
                if wanted_sites[at] != site:
                    continue
                self._check_record(record, site)
                while at < len(rows) and wanted_sites[at] == site:
                    dose = self._dosage(record, int(wanted_alleles[at]), site)
                    buffer[filled] = dose if cols is None else dose[cols]
                    filled, at = filled + 1, at + 1
                    if filled == len(buffer):
                        yield start, buffer[:filled].T.copy()
                        start, filled = start + filled, 0
        finally:
            vcf.close()
        if at < len(rows):
            raise GenotypeFileError(
                f"{self.path.name} ended (for htslib) before line {int(self._lines[wanted_sites[at]]):,}: "
                "it is truncated or malformed; deliver it again."
            )
        if filled:
            yield start, buffer[:filled].T.copy()

    def _check_record(self, record: Any, site: int) -> None:
        """The record htslib read is the site the first pass saw (else lines were lost)."""
        if self._site_pos[site] != record.POS:
            raise self._unparsable(site)

    def _unparsable(self, site: int) -> GenotypeFileError:
        line = f"Line {int(self._lines[site]):,}" if site < len(self._lines) else "A line"
        return GenotypeFileError(
            f"{line} of {self.path.name} cannot be parsed as VCF (a GT, DS or other field "
            "does not fit its FORMAT and header): fix or drop that line."
        )

    def _dosage(self, record: Any, allele: int, site: int) -> Array:
        """Dosage of ALT ``allele`` (1-based) at one record, per sample."""
        calls, haploid = _gt_counts(
            record, allele, self._lines[site], self.path.name, len(self.samples)
        )
        if self.field == "GT":
            return calls
        ds = record.format("DS")
        if ds is None or ds.shape[1] < allele:
            return calls
        dose = ds[:, allele - 1].astype(np.float64)
        dose[haploid] *= 2.0
        bad = (dose < -DS_TOLERANCE) | (dose > 2.0 + DS_TOLERANCE)
        if bad.any():
            raise GenotypeFileError(
                f"Line {int(self._lines[site]):,} of {self.path.name} has a DS outside 0..2 "
                f"(sample column {int(np.flatnonzero(bad)[0]) + 10}): fix or drop that line."
            )
        return np.where(np.isnan(dose), calls, np.clip(dose, 0.0, 2.0))


def _gt_counts(record: Any, allele: int, line: int, name: str, n: int) -> tuple[Array, Array]:
    """Copies of ``allele`` in each of the ``n`` samples' GT (NaN where missing or a half
    call; a haploid call doubled) and which samples are haploid."""
    # no GT in this record's FORMAT: every call missing (as PLINK 2 reads it); cyvcf2
    # raises a bare Exception there (and its FORMAT crashes on a lazy record)
    try:
        genotype = record.genotype
    except Exception:
        genotype = None
    if genotype is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    calls = genotype.array()[:, :-1]  # alleles per sample; -1 missing, -2 past the ploidy
    if calls.shape[1] > 2 and np.any(calls[:, 2:] != -2):
        raise GenotypeFileError(
            f"Line {line:,} of {name} has a call of ploidy above 2, which has no dosage "
            "promise can use; keep diploid and haploid calls only."
        )
    first = calls[:, 0]
    second = calls[:, 1] if calls.shape[1] > 1 else np.full(len(calls), -2, dtype=calls.dtype)
    haploid = second == -2
    missing = (first < 0) | (second == -1)
    ones = (first == allele).astype(np.float64)
    result = np.where(haploid, 2.0 * ones, ones + (second == allele))
    result[missing] = np.nan
    return result, haploid


def _nth_tab(line: bytes, n: int) -> int:
    """Where the ``n``-th tab of ``line`` is (its length when it has fewer)."""
    at = -1
    for _ in range(n):
        at = line.find(b"\t", at + 1)
        if at < 0:
            return len(line)
    return at
