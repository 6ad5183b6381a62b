"""Population structure: LD-pruned, HWE-normalised PCA whose first k scores become covariates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from promise.gwas import localpca
from promise.gwas.options import PcaSettings


@dataclass(frozen=True, kw_only=True)
class PcaResult:
    """Scores (index ``s``, columns ``PC1``..``PCk``), eigenvalues and the variant count used."""

    scores: pd.DataFrame
    eigenvalues: list[float]
    n_variants: int
    method: str = "Hail (ld_prune, hwe_normalized_pca)"


def compute_pcs(
    hl: Any, mt: Any, *, settings: PcaSettings, local_dir: Path | None = None
) -> PcaResult | None:
    """LD-prune common variants and compute HWE-normalised PCA; ``None`` when ``pcs`` is 0.

    Pruning keeps variants with MAF >= ``min_maf`` and pairwise r^2 < ``ld_r2`` within
    ``ld_window_bp``; the HWE-normalised genotype matrix (Patterson, Price and Reich 2006)
    then gives the sample scores. ``k`` is capped at the number of samples minus one and at
    the number of pruned variants. With ``local_dir`` (a scratch folder) and a matrix that
    fits in memory, both steps run in process (:mod:`promise.gwas.localpca`); otherwise
    with Hail's ``ld_prune`` and ``hwe_normalized_pca`` on Spark.
    """
    if settings.pcs <= 0:
        return None
    maf = hl.agg.mean(mt.GT.n_alt_alleles()) / 2
    common = mt.filter_rows((maf >= settings.min_maf) & (maf <= 1 - settings.min_maf))
    if local_dir is not None and mt.count_cols() * mt.count_rows() <= localpca.MAX_ENTRIES:
        return _local_pcs(hl, common, settings=settings, folder=local_dir)
    pruned_rows = hl.ld_prune(common.GT, r2=settings.ld_r2, bp_window_size=settings.ld_window_bp)
    pruned = common.filter_rows(hl.is_defined(pruned_rows[common.row_key]))
    n_variants = pruned.count_rows()
    k = min(settings.pcs, mt.count_cols() - 1, n_variants)
    if k < 1:
        return None
    eigenvalues, scores, _ = hl.hwe_normalized_pca(pruned.GT, k=k, compute_loadings=False)
    collected = scores.collect()
    frame = pd.DataFrame(
        [list(r.scores) for r in collected],
        index=pd.Index([r.s for r in collected], name="s"),
        columns=[f"PC{i + 1}" for i in range(k)],
    )
    return PcaResult(scores=frame, eigenvalues=list(eigenvalues), n_variants=n_variants)


def _local_pcs(hl: Any, common: Any, *, settings: PcaSettings, folder: Path) -> PcaResult | None:
    """Export the common variants once as a .bed (in the run's scratch folder, removed with it)
    and prune + PCA them with NumPy."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / "pca-input"
    hl.export_plink(common, str(prefix), ind_id=common.s)
    genotypes = localpca.read_bed(prefix)
    kept = localpca.ld_prune(genotypes, r2=settings.ld_r2, window_bp=settings.ld_window_bp)
    k = min(settings.pcs, len(genotypes.samples) - 1, len(kept))
    if k < 1:
        return None
    eigenvalues, scores = localpca.hwe_normalized_pca(genotypes, kept, k)
    return PcaResult(
        scores=scores, eigenvalues=eigenvalues, n_variants=len(kept), method="in process (NumPy)"
    )
