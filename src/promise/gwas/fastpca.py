"""Principal components for the in-process engine, straight from a PLINK 1 file set.

The same steps as the Hail path's :func:`promise.gwas.pca.compute_pcs`: keep variants with
MAF >= ``min_maf`` over the analysed samples, LD-prune them greedily in ``ld_window_bp``
windows at r^2 < ``ld_r2`` and take the first ``pcs`` components of the HWE-normalised
matrix (:mod:`promise.gwas.localpca`, which the Hail path also runs when the matrix fits in
memory). The common variants are read once from the .bed as bytes (a byte per genotype);
beyond :data:`MAX_BYTES` of them, every k-th common variant is taken (evenly spaced along
the genome) so that memory stays bounded, and the report's PCA line says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from promise.genotypes.plink import (
    LUT_COUNT,
    LUT_MISSING,
    code_counts,
    decode,
    has_missing,
    padded_words,
)
from promise.gwas import localpca
from promise.gwas.bedset import BedFiles, bed_matrix
from promise.gwas.localqc import codes_of, contigs
from promise.gwas.options import PcaSettings
from promise.gwas.pca import PcaResult

Array = np.ndarray[Any, Any]
#: genotype bytes of the common variants held for pruning at most (1.5 GB)
MAX_BYTES = 1_500_000_000
BLOCK = 2048

#: 2-bit code -> alternate-allele count (missing as 0)
_COUNT = np.array([2, 0, 1, 0], dtype=np.uint8)


def common_rows(bed: BedFiles, rows: Array, cols: Array, min_maf: float) -> Array:
    """The rows (of ``rows``) whose alternate-allele frequency over ``cols`` lies in
    [min_maf, 1 - min_maf], as Hail's PCA filter (mean count / 2 over called samples).
    Over every sample in .fam order the counts come from the packed codes' bits
    (:func:`promise.genotypes.plink.code_counts`) without decoding them."""
    rows = np.asarray(rows)
    every = len(cols) == len(bed.samples) and np.array_equal(cols, np.arange(len(cols)))
    keep = []
    for start in range(0, len(rows), BLOCK):
        chunk = rows[start : start + BLOCK]
        if every:
            raw = np.ascontiguousarray(bed_matrix(bed)[chunk])
            total, _, missing = code_counts(padded_words(raw, len(cols)).view(np.uint64))
            called = len(cols) - missing
        else:
            codes = codes_of(bed, chunk, cols)
            called = (codes != 1).sum(axis=1)
            total = _COUNT[codes].sum(axis=1, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            af = total / (2 * called)
        keep.append((af >= min_maf) & (af <= 1 - min_maf))
    mask = np.concatenate(keep) if keep else np.zeros(0, dtype=bool)
    chosen: Array = rows[mask]
    return chosen


def _decoded(bed: BedFiles, rows: Array, cols: Array) -> tuple[Array, Array | None]:
    """(A1 counts with missing as 0, missing-call indicators or None) of ``rows`` over
    ``cols``, uint8, one table look-up per .bed byte (:func:`promise.genotypes.plink.decode`)
    block by block."""
    n_fam = len(bed.samples)
    every = len(cols) == n_fam and np.array_equal(cols, np.arange(n_fam))
    counts = np.empty((len(rows), len(cols)), dtype=np.uint8)
    missing: Array | None = None
    for start in range(0, len(rows), BLOCK):
        raw = np.ascontiguousarray(bed_matrix(bed)[rows[start : start + BLOCK]])
        stop = start + len(raw)
        block = decode(raw, LUT_COUNT, n_fam)
        counts[start:stop] = block if every else block[:, cols]
        if has_missing(raw):
            flags = decode(raw, LUT_MISSING, n_fam)
            if missing is None:
                missing = np.zeros((len(rows), len(cols)), dtype=np.uint8)
            missing[start:stop] = flags if every else flags[:, cols]
    if missing is not None and not missing.any():  # missing calls only outside ``cols``
        missing = None
    return counts, missing


@dataclass(frozen=True)
class Pruned:
    """The LD-pruned common variants of the analysed samples: the set PCA, kinship and the
    whole-genome regression (step 1) are computed on."""

    genotypes: localpca.Genotypes  # the common variants (before pruning), samples ``cols``
    rows: Array  # .bed rows of the common variants
    kept: Array  # indices into ``rows`` (and the genotypes' variants) kept by pruning
    method: str
    pruned: bool = True  # False: every common variant of ``rows`` kept (no LD pruning)

    @property
    def bed_rows(self) -> Array:
        """.bed rows of the pruned variants."""
        chosen: Array = self.rows[self.kept]
        return chosen

    def king_codes(self, samples: Array | None = None, *, limit: int | None = None) -> Array:
        """Pruned variants x samples codes for :func:`promise.gwas.kinship.king_robust`
        (A1 counts, 3 for a missing call), of ``samples`` (positions; None: all); beyond
        ``limit`` variants, every k-th (evenly spaced along the genome)."""
        g = self.genotypes
        kept = self.kept
        if limit is not None and len(kept) > limit:
            kept = kept[:: int(np.ceil(len(kept) / limit))]
        codes = g.counts[kept]
        if g.missing is not None:
            codes = np.where(g.missing[kept] == 1, np.uint8(3), codes)
        chosen: Array = codes if samples is None else codes[:, samples]
        return np.ascontiguousarray(chosen, dtype=np.uint8)


def pruned_set(
    bed: BedFiles, rows: Array, cols: Array, *, settings: PcaSettings, build: str,
    samples: list[str], prune: bool = True,
) -> Pruned:  # fmt: skip
    """The common variants (MAF >= ``min_maf`` over ``cols``) among ``rows``, LD-pruned
    (unless ``prune`` is False: then all of them)."""
    common = common_rows(bed, rows, cols, settings.min_maf)
    method = "in process (NumPy)"
    step = int(np.ceil(len(common) * len(cols) / MAX_BYTES)) if len(cols) else 1
    if step > 1:
        common = common[::step]
        method += f", every {step}th common variant"
    counts, missing = _decoded(bed, np.asarray(common), np.asarray(cols))
    genotypes = localpca.Genotypes(
        counts=counts,
        missing=missing,
        contigs=contigs(bed, build).to_numpy()[common],
        positions=bed.bim["pos"].to_numpy().astype(np.int64)[common],
        samples=samples,
    )
    if not prune:
        kept = np.arange(len(common), dtype=np.int64)
        return Pruned(genotypes=genotypes, rows=np.asarray(common), kept=kept, method=method,
                      pruned=False)  # fmt: skip
    kept = localpca.ld_prune(genotypes, r2=settings.ld_r2, window_bp=settings.ld_window_bp)
    return Pruned(genotypes=genotypes, rows=np.asarray(common), kept=kept, method=method)


def pcs_of(pruned: Pruned, settings: PcaSettings, samples: Array | None = None) -> PcaResult | None:
    """PCA of the pruned variants over ``samples`` (positions in the pruned set's samples;
    None: all); None when ``pcs`` is 0 or nothing is left to compute components from."""
    g = pruned.genotypes
    if samples is not None:
        g = localpca.Genotypes(
            counts=g.counts[:, samples],
            missing=None if g.missing is None else g.missing[:, samples],
            contigs=g.contigs,
            positions=g.positions,
            samples=[g.samples[i] for i in samples],
        )
    k = min(settings.pcs, len(g.samples) - 1, len(pruned.kept))
    if settings.pcs <= 0 or k < 1:
        return None
    eigenvalues, scores = localpca.hwe_normalized_pca(g, pruned.kept, k)
    return PcaResult(scores=scores, eigenvalues=eigenvalues, n_variants=len(pruned.kept),
                     method=pruned.method)  # fmt: skip


def compute_pcs(
    bed: BedFiles, rows: Array, cols: Array, *, settings: PcaSettings, build: str,
    samples: list[str],
) -> PcaResult | None:  # fmt: skip
    """PCA of the samples ``cols`` (named ``samples``) on the variants ``rows``; None
    when ``pcs`` is 0 or nothing is left to compute components from."""
    if settings.pcs <= 0:
        return None
    pruned = pruned_set(bed, rows, cols, settings=settings, build=build, samples=samples)
    return pcs_of(pruned, settings)
