"""Hard calls of a dosage file, for the fast engine's QC, pruning, PCA, kinship and step 1.

The fast engine's sample QC, Hardy-Weinberg test, LD pruning, PCA, KING kinship and LOCO
step 1 read 2-bit PLINK 1 codes. For a BGEN file or a VCF of dosages (FORMAT DS),
:func:`write_hard_calls` writes those codes once, in one pass over the file, to the run's
scratch folder with PLINK 2's rule (``--hard-call-threshold 0.1``): a dosage within 0.1 of
0, 1 or 2 is that call, any other dosage a missing call. Hard calls only estimate structure
and relatedness there; the effects are estimated on the dosages themselves
(:meth:`HardCalls.matching` gives the dosages of the variants and samples QC kept).

What QC measures on dosages rather than hard calls, as ``plink2 --geno dosage --mind dosage
--maf --mac`` does: a call is missing only where the dosage is (an uncertain dosage is
information, not a missing call: on imputed data counting it missing would remove most
imputed variants and samples), and the allele frequency and count are sums of dosages
(:func:`dosage_counts`, with the hard calls' genotype counts for HWE: variant QC does not
read the .bed; the hard-call pass counts every sample, the samples QC leaves out are
subtracted). The pass that writes the hard calls counts each
sample's non-missing dosages, hard calls and heterozygous ones (:attr:`HardCalls.counts`),
so that sample QC reads the .bed only for the sex check.

The .bim's variant id column holds the row number in the dosage file, so that the variants
a QC'd copy of the .bed kept (:func:`promise.gwas.bedset.write_subset` keeps .bim rows) map
back to the dosage file's; the results take ids, alleles and positions from the dosage file.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import polars as pl

from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.plink import BED_MAGIC, read_bim
from promise.gwas.bedset import BedFiles, open_bed, pack_codes
from promise.gwas.engines.dosagesource import DosageSource
from promise.gwas.fastlinear import bounded_map
from promise.gwas.inputs import HARD_CALL_THRESHOLD
from promise.gwas.localqc import DosageCounts, SampleCounts

Array = np.ndarray[Any, Any]

#: a decimal dosage 0.1 from a call (1.1 in a VCF) is 0.1 only up to float rounding (1.1 - 1
#: is 0.10000000000000009); PLINK 2 compares in units of 1/16384, where it is a call
SLACK = 1e-6
#: variants per block of the hard-call pass (samples x block float64 in memory)
BLOCK = 512


def hard_call_codes(dosages: Array) -> Array:
    """(variants x samples) dosages of A1, NaN missing -> .bed codes: within
    :data:`HARD_CALL_THRESHOLD` of 2 -> 00, of 1 -> 10, of 0 -> 11, else 01 (missing)."""
    nearest = np.rint(dosages)
    with np.errstate(invalid="ignore"):
        call = np.abs(dosages - nearest) <= HARD_CALL_THRESHOLD + SLACK  # NaN: False
    index = np.where(call, nearest, 3.0).astype(np.intp)
    codes: Array = _CODES[index]
    return codes


#: .bed code of an A1 count 0, 1, 2, and (index 3) of a missing call
_CODES = np.array([0b11, 0b10, 0b00, 0b01], dtype=np.uint8)


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True)
class HardCalls:
    """A dosage file, its hard-call .bed (same samples, same variants, same order) and each
    sample's number of non-missing dosages (over every variant)."""

    source: DosageSource
    bed: BedFiles
    #: per sample of the file, over every variant: non-missing dosages, hard calls, hets
    counts: SampleCounts
    #: whether anything after QC reads the hard calls (PCA, kinship, step 1); if not, QC
    #: writes no copy of the kept ones (:meth:`kept`)
    copies: bool = True
    #: per variant over every sample (:func:`dosage_counts` subtracts the others); None
    #: when no hard call was written
    totals: DosageCounts | None = None

    def sample_counts(self, cols: Array) -> SampleCounts:
        """:attr:`counts` of the samples ``cols`` (columns of :attr:`bed`)."""
        c = self.counts
        return SampleCounts(dosages=c.dosages[cols], called=c.called[cols], het=c.het[cols])

    def kept(self, rows: Array, cols: Array) -> BedFiles:
        """The variants ``rows`` and samples ``cols`` of :attr:`bed` as a file set without
        a .bed (ids and .bim only, for :meth:`matching`): what QC hands on when nothing
        after it reads hard calls."""
        samples = [self.bed.samples[i] for i in cols]
        return BedFiles(prefix=self.bed.prefix.with_name("kept"), samples=samples,
                        bim=self.bed.bim[rows])  # fmt: skip

    def matching(self, bed: BedFiles) -> DosageSource:
        """The dosages of the variants and samples of ``bed``, this .bed or a copy of part
        of it (:func:`promise.gwas.bedset.write_subset`), in ``bed``'s order."""
        rows = bed.bim["id"].cast(pl.Int64).to_numpy()
        where = {s: i for i, s in enumerate(self.source.samples)}
        cols = np.array([where[s] for s in bed.samples], dtype=np.int64)
        return self.source.subset(rows, cols)


def _private(path: Path) -> BinaryIO:
    """``path`` opened for writing, created readable by the owner only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def write_hard_calls(
    source: DosageSource, target: Path, *, codes: bool = True, copies: bool = True
) -> HardCalls:
    """Write ``target``.bed/.bim/.fam, the hard calls of ``source`` (module docstring), in
    one pass that also counts each sample's non-missing dosages; with ``codes`` False only
    the .bim and .fam (a run without QC, PCA and kinship reads no hard call: the pass over
    the file is saved, and a .bed that is not there cannot be read by mistake). Sample ids
    that a .fam cannot hold (white space) or that repeat are refused in one sentence,
    naming none."""
    samples = source.samples
    if any(len(s.split()) != 1 for s in samples):
        raise GenotypeFileError(
            f"A sample id of {source.path.name} is empty or holds white space, which the fast "
            "engine's hard-call file set cannot hold: use --engine hail."
        )
    if len(set(samples)) != len(samples):
        raise GenotypeFileError(
            f"A sample id of {source.path.name} appears twice: each sample must be genotyped "
            "once."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    called = np.zeros(len(samples), dtype=np.int64)

    hard, het = np.zeros_like(called), np.zeros_like(called)
    totals = _empty_counts(source.n_variants)

    def packed(item: tuple[int, Array]) -> tuple[bytes, Array, Array, Array]:
        start, dosages = item
        block = hard_call_codes(dosages)
        _count_into(totals, start, dosages, block)
        return (pack_codes(block).tobytes(), (~np.isnan(dosages)).sum(axis=0),
                (block != 0b01).sum(axis=0), (block == 0b10).sum(axis=0))  # fmt: skip

    if codes:  # the file is decoded in this thread, the blocks coded in the pool's
        with _private(Path(f"{target}.bed")) as fh, ThreadPoolExecutor(_workers()) as pool:
            fh.write(BED_MAGIC)
            blocks = source.blocks(BLOCK)
            for data, *sums in bounded_map(pool, packed, blocks, ahead=2 * _workers()):
                called += sums[0]
                hard += sums[1]
                het += sums[2]
                fh.write(data)
    bim = source.bim.with_row_index("row").select(
        "chrom",
        pl.col("row").cast(pl.String).alias("id"),
        pl.lit("0").alias("cm"),
        pl.col("pos").cast(pl.String),
        "a1",
        "a2",
    )
    with _private(Path(f"{target}.bim")) as fh:
        bim.write_csv(fh, separator="\t", include_header=False)
    with _private(Path(f"{target}.fam")) as fh:
        fh.write("".join(f"{s} {s} 0 0 0 -9\n" for s in samples).encode("utf-8"))
    bed = BedFiles(prefix=target, samples=list(samples), bim=read_bim(target))
    counts = SampleCounts(dosages=called, called=hard, het=het)
    return HardCalls(source=source, bed=open_bed(target) if codes else bed, counts=counts,
                     copies=copies, totals=totals if codes else None)  # fmt: skip


def _empty_counts(m: int) -> DosageCounts:
    return DosageCounts(sums=np.zeros(m), called=np.zeros(m, dtype=np.int64),
                        hwe=np.zeros((m, 3), dtype=np.int64))  # fmt: skip


def _count_into(
    out: DosageCounts, start: int, dosages: Array, codes: Array, hwe: Array | None = None
) -> None:
    """Add a block's per-variant counts to ``out`` at rows ``start``..: dosage sums and
    non-missing dosages over all its columns, genotype counts of ``codes`` (its hard
    calls) over the columns ``hwe`` (None: all)."""
    rows = slice(start, start + len(dosages))
    held = np.isnan(dosages)
    out.sums[rows] += np.where(held, 0.0, dosages).sum(axis=1)
    out.called[rows] += (~held).sum(axis=1)
    sub = codes if hwe is None else codes[:, hwe]
    out.hwe[rows] += np.column_stack([(sub == code).sum(axis=1) for code in (0b11, 0b10, 0b00)])


def dosage_counts(calls: HardCalls, cols: Array, controls: Array | None) -> DosageCounts:
    """Per variant over the samples ``cols`` (columns of ``calls.bed``): the sum of the A1
    dosages, the number of non-missing dosages and the hard calls' genotype counts in
    ``controls`` (a boolean per column; None: all). The hard-call pass counted them over
    every sample; here the samples left out are subtracted, read in one pass over the
    dosage file, or in none when no sample is left out (clean data, quantitative traits)."""
    n = len(calls.source.samples)
    cols = np.asarray(cols, dtype=np.int64)
    tested = cols if controls is None else cols[np.asarray(controls, dtype=bool)]
    out_all, out_hwe = np.setdiff1d(np.arange(n), cols), np.setdiff1d(np.arange(n), tested)
    totals = calls.totals
    if totals is None:
        raise ValueError("dosage_counts needs the hard-call pass's totals (codes=True)")
    left = _empty_counts(calls.source.n_variants)
    union = np.union1d(out_all, out_hwe)
    if len(union):
        in_all, in_hwe = np.isin(union, out_all), np.isin(union, out_hwe)

        def counted(item: tuple[int, Array]) -> None:
            start, dosages = item
            codes = hard_call_codes(dosages[:, in_hwe])
            _count_into(left, start, dosages[:, in_all], codes)

        source = calls.source.subset(None, union)
        with ThreadPoolExecutor(_workers()) as pool:
            for _ in bounded_map(pool, counted, source.blocks(BLOCK), ahead=2 * _workers()):
                pass
    return DosageCounts(sums=totals.sums - left.sums, called=totals.called - left.called,
                        hwe=totals.hwe - left.hwe)  # fmt: skip
