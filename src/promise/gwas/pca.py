"""Population structure: LD-pruned, HWE-normalised PCA whose first k scores become covariates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from promise.gwas.options import PcaSettings


@dataclass(frozen=True, kw_only=True)
class PcaResult:
    """Scores (index ``s``, columns ``PC1``..``PCk``), eigenvalues and the variant count used."""

    scores: pd.DataFrame
    eigenvalues: list[float]
    n_variants: int


def compute_pcs(hl: Any, mt: Any, *, settings: PcaSettings) -> PcaResult | None:
    """LD-prune common variants and run ``hl.hwe_normalized_pca``; ``None`` when ``pcs`` is 0.

    Pruning keeps variants with MAF >= ``min_maf`` and pairwise r^2 < ``ld_r2`` within
    ``ld_window_bp``; the HWE-normalised genotype matrix (Patterson, Price and Reich 2006)
    then gives the sample scores. ``k`` is capped at the number of samples minus one and at
    the number of pruned variants.
    """
    if settings.pcs <= 0:
        return None
    common = mt.filter_rows(
        hl.agg.mean(mt.GT.n_alt_alleles()) / 2 >= settings.min_maf,
    )
    common = common.filter_rows(hl.agg.mean(common.GT.n_alt_alleles()) / 2 <= 1 - settings.min_maf)
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
