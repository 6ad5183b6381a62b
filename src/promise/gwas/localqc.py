"""Sample and variant QC in process, on a PLINK 1 file set: Hail's definitions, no JVM.

The same filters, thresholds and counts as :mod:`promise.gwas.qc` (the Hail path), computed
from the 2-bit .bed codes in a pass over the file each:

- **samples** (over every variant): call rate ``n_called / n_variants`` (``hl.sample_qc``),
  then the heterozygosity rate ``n_het / n_called`` within ``het_sd`` sample standard
  deviations of the mean of the samples that passed the call rate; then the **sex check**
  as ``hl.impute_sex`` does it: chrX variants outside the pseudo-autosomal regions whose
  alternate-allele frequency (over the remaining samples) lies strictly between 0 and 1,
  F = (O - E) / (N - E) per sample (O observed homozygous calls, E = sum of 1 - 2p(1-p) and
  N calls, over the sample's called variants), female below ``sex_female_f``, male above
  ``sex_male_f``; a sample whose imputed sex differs from its register sex is removed;
- **variants** (over the samples kept): call rate ``n_called / n_samples``, MAF and MAC of
  the alternate allele (.bim column 5, A1), and Hardy-Weinberg mid-p
  (:mod:`promise.gwas.hardyweinberg`) in the controls, samples that are not a case of any
  binary trait, or over all samples when there is none; each filter counted after the
  previous ones, as the Hail path reports them.

For a .bed of hard calls written from dosages (:mod:`promise.gwas.engines.hardcalls`) the
call rates and the allele frequency and count come from the dosages, passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from promise.gwas.bedset import BedFiles, bed_matrix
from promise.gwas.hardyweinberg import hwe_midp
from promise.gwas.inputs import contig_recoding, plink_recoding
from promise.gwas.options import QcThresholds
from promise.gwas.qc import QcStep, within_sd

Array = np.ndarray
BLOCK = 2048

#: the pseudo-autosomal regions of chrX (1-based, inclusive), from Hail's reference genomes
PAR = {
    "GRCh37": ((60_001, 2_699_520), (154_931_044, 155_260_560)),
    "GRCh38": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
}

_UNPACK = ((np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3).astype(np.uint8)


def codes_of(bed: BedFiles, rows: Array, cols: Array) -> Array:
    """(variants x samples) 2-bit codes of the given rows and sample columns: 0 two A1
    (alternate) alleles, 1 missing, 2 heterozygous, 3 no A1."""
    raw = bed_matrix(bed)[np.asarray(rows)]
    codes: Array = _UNPACK[raw].reshape(len(raw), -1)[:, cols]
    return codes


def _blocks(bed: BedFiles, rows: Array, cols: Array):  # type: ignore[no-untyped-def]
    for start in range(0, len(rows), BLOCK):
        yield start, codes_of(bed, rows[start : start + BLOCK], cols)


def contigs(bed: BedFiles, build: str) -> pl.Series:
    """The .bim's contigs in the build's names (``chr1`` .. for GRCh38, ``1`` .. for 37)."""
    recode = {**plink_recoding(build), **contig_recoding(build)}
    names = bed.bim["chrom"].replace(recode)
    if build == "GRCh38":
        return names
    return names.replace({f"chr{k}": v for k, v in recode.items() if not k.startswith("chr")})


@dataclass(frozen=True)
class SampleCounts:
    """Per sample over every variant of a .bed of hard calls from dosages, counted while
    writing it (:mod:`promise.gwas.engines.hardcalls`): non-missing dosages (the call
    rate's), hard calls and heterozygous hard calls (the heterozygosity rate's)."""

    dosages: Array
    called: Array
    het: Array


def sample_qc(
    bed: BedFiles,
    cols: Array,
    *,
    thresholds: QcThresholds,
    register_female: Array | None,
    build: str,
    counts: SampleCounts | None = None,
) -> tuple[Array, list[QcStep]]:
    """The sample columns (of ``cols``) kept by call rate, heterozygosity and sex check,
    and a step per filter. ``register_female``: 1 female, 0 male, NaN unknown, per column
    of ``cols`` (None: no register sex, no sex check). ``counts``: per column of ``cols``,
    for dosage input (the call rate then counts missing dosages; the .bed is read for the
    sex check only); None: counted from the .bed."""
    m = bed.n_variants
    if counts is None:
        called = np.zeros(len(cols), dtype=np.int64)
        het = np.zeros(len(cols), dtype=np.int64)
        for _, codes in _blocks(bed, np.arange(m), cols):
            called += (codes != 1).sum(axis=0)
            het += (codes == 2).sum(axis=0)
    else:
        called, het = counts.called, counts.het
    with np.errstate(invalid="ignore", divide="ignore"):
        counted = called if counts is None else counts.dosages
        rate = counted / m if m else np.full(len(cols), np.nan)
        het_rate = np.where(called > 0, het / np.maximum(called, 1), np.nan)
    passed = np.flatnonzero(rate >= thresholds.min_sample_call_rate)
    steps = [QcStep(target="samples", name="call rate",
                    rule=f"call rate >= {thresholds.min_sample_call_rate}",
                    removed=len(cols) - len(passed), remaining=len(passed))]  # fmt: skip
    rates = {int(i): (None if np.isnan(het_rate[i]) else float(het_rate[i])) for i in passed}
    kept = np.array(sorted(within_sd(rates, thresholds.het_sd)), dtype=np.int64)
    steps.append(QcStep(target="samples", name="heterozygosity",
                        rule=f"het rate within {thresholds.het_sd} SD of the mean",
                        removed=len(passed) - len(kept), remaining=len(kept)))  # fmt: skip
    kept, sex_step = _sex_check(bed, cols, kept, thresholds, register_female, build)
    steps.append(sex_step)
    return kept, steps


def _x_rows(bed: BedFiles, build: str) -> Array:
    names = contigs(bed, build)
    pos = bed.bim["pos"].to_numpy()
    on_x = names.is_in(["chrX", "X"]).to_numpy()
    for start, end in PAR.get(build, ()):
        on_x &= ~((pos >= start) & (pos <= end))
    return np.flatnonzero(on_x)


def _sex_check(
    bed: BedFiles,
    cols: Array,
    kept: Array,
    thresholds: QcThresholds,
    register_female: Array | None,
    build: str,
) -> tuple[Array, QcStep]:
    rule = f"chrX F < {thresholds.sex_female_f} female, > {thresholds.sex_male_f} male"
    x_rows = _x_rows(bed, build)
    if register_female is None or len(x_rows) == 0:
        why = "no register sex" if register_female is None else "no chrX variants"
        step = QcStep(target="samples", name="sex check", rule=f"not run ({why})",
                      removed=0, remaining=len(kept))  # fmt: skip
        return kept, step
    observed = np.zeros(len(kept))
    expected = np.zeros(len(kept))
    n_called = np.zeros(len(kept))
    for _, codes in _blocks(bed, x_rows, cols[kept]):
        call = codes != 1
        alt = np.where(codes == 0, 2, np.where(codes == 2, 1, 0))
        an = 2 * call.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            aaf = (alt * call).sum(axis=1) / an
        use = (an > 0) & (aaf > 0) & (aaf < 1)
        call, codes, aaf = call[use], codes[use], aaf[use]
        observed += (call & (codes != 2)).sum(axis=0)
        expected += ((1 - 2 * aaf * (1 - aaf))[:, None] * call).sum(axis=0)
        n_called += call.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (observed - expected) / (n_called - expected)
    female = np.where(f < thresholds.sex_female_f, 1.0,
                      np.where(f > thresholds.sex_male_f, 0.0, np.nan))  # fmt: skip
    register = np.asarray(register_female, dtype=float)[kept]
    mismatch = ~np.isnan(female) & ~np.isnan(register) & (female != (register == 1))
    remaining = kept[~mismatch]
    step = QcStep(target="samples", name="sex check", rule=rule,
                  removed=len(kept) - len(remaining), remaining=len(remaining))  # fmt: skip
    return remaining, step


@dataclass(frozen=True)
class DosageCounts:
    """Per variant over the samples of a QC, from dosages: the sum of A1 dosages, the
    number of non-missing dosages, and the hard calls' hom ref, het, hom alt counts in the
    controls (variants x 3), for :func:`variant_qc` on dosage input."""

    sums: Array
    called: Array
    hwe: Array


def variant_qc(
    bed: BedFiles,
    cols: Array,
    *,
    thresholds: QcThresholds,
    controls: Array | None,
    dosages: DosageCounts | None = None,
) -> tuple[Array, list[QcStep]]:
    """The rows kept by call rate, MAF, MAC and HWE over the samples ``cols``;
    ``controls``: a boolean per column, the samples HWE is tested in (None: all).
    ``dosages``: the counts of a .bed of hard calls from dosages, computed while reading
    them (the .bed is not read): call rate, MAF and MAC from the dosages (``plink2 --geno
    dosage --maf --mac``), HWE from the hard calls."""
    m, n = bed.n_variants, len(cols)
    if dosages is None:
        ac, n_called, hwe_counts = _code_counts(bed, cols, controls)
    else:
        ac, n_called, hwe_counts = dosages.sums, dosages.called, dosages.hwe
    an = 2 * n_called
    with np.errstate(invalid="ignore", divide="ignore"):
        af = ac / an
        maf = np.minimum(af, 1 - af)
        call_rate = n_called / n if n else np.zeros(m)
    mac = np.minimum(ac, an - ac)
    hwe = hwe_midp(hwe_counts[:, 0], hwe_counts[:, 1], hwe_counts[:, 2])
    in_controls = " in controls" if controls is not None else ""
    rules = (
        ("call rate", f"call rate >= {thresholds.min_variant_call_rate}",
         call_rate >= thresholds.min_variant_call_rate),
        ("MAF", f"MAF >= {thresholds.min_maf}", np.nan_to_num(maf, nan=-1) >= thresholds.min_maf),
        ("MAC", f"MAC >= {thresholds.min_mac}", mac >= thresholds.min_mac),
        ("Hardy-Weinberg", f"HWE p >= {thresholds.min_hwe_p}{in_controls}",
         hwe >= thresholds.min_hwe_p),
    )  # fmt: skip
    keep = np.ones(m, dtype=bool)
    steps = []
    before = m
    for name, rule, flag in rules:
        keep &= flag
        after = int(keep.sum())
        steps.append(QcStep(target="variants", name=name, rule=rule,
                            removed=before - after, remaining=after))  # fmt: skip
        before = after
    return np.flatnonzero(keep), steps


def _code_counts(bed: BedFiles, cols: Array, controls: Array | None) -> tuple[Array, Array, Array]:
    """A1 count, called samples and (hom ref, het, hom alt) in ``controls`` per variant."""
    m, n = bed.n_variants, len(cols)
    stats = np.zeros((m, 4), dtype=np.int64)  # per code: 0 hom alt, 1 missing, 2 het, 3 hom ref
    hwe_counts = np.zeros((m, 3), dtype=np.int64)  # hom ref, het, hom alt in controls
    for start, codes in _blocks(bed, np.arange(m), cols):
        rows = slice(start, start + len(codes))
        for code in range(4):
            stats[rows, code] = (codes == code).sum(axis=1)
        sub = codes if controls is None else codes[:, controls]
        hwe_counts[rows] = np.column_stack([(sub == 3).sum(axis=1), (sub == 2).sum(axis=1),
                                            (sub == 0).sum(axis=1)])  # fmt: skip
    return 2 * stats[:, 0] + stats[:, 2], n - stats[:, 1], hwe_counts
