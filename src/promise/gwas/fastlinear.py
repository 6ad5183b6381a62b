"""The NumPy engine: linear regression straight from a PLINK .bed, no JVM.

For files a researcher has already cleaned (``--skip-qc --pcs 0``) and quantitative traits,
the whole GWAS is a few dense matrix products: covariates C (with intercept) are removed
from the genotypes G and the traits Y by projection (Frisch-Waugh-Lovell), then for every
variant j and trait k

    beta = g_j' y_k / g_j' g_j,   se = sqrt((y_k' y_k - beta^2 g_j' g_j) / (n - p - 1) / g_j' g_j)

with g, y the residuals and p the number of covariate columns; the t statistic has
n - p - 1 degrees of freedom. This is the model Hail's ``linear_regression_rows`` fits
(missing genotypes mean-imputed over the samples of the trait), so both engines give the
same numbers; all traits with the same non-missing samples share one product per block.
Results come back in the layout of :func:`promise.gwas.results.export_group`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from promise.gwas.inputs import GenotypeSource, contig_recoding
from promise.gwas.traits import Phenotypes

BLOCK = 4096
BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
# Two bits per sample, low bits first: 00 = two A1, 01 = missing, 10 = one A1, 11 = no A1.
_CODES = np.array([2.0, np.nan, 1.0, 0.0])
_LUT = _CODES[(np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3]


def _read_plink_meta(prefix: Path) -> tuple[pd.DataFrame, list[str]]:
    bim = pd.read_csv(
        f"{prefix}.bim", sep=r"\s+", header=None, dtype=str,
        names=["chrom", "id", "cm", "pos", "a1", "a2"], engine="c",
    )  # fmt: skip
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str, usecols=[1])
    return bim, fam[1].tolist()


def _bed_blocks(prefix: Path, n_samples: int, n_variants: int) -> Any:
    per = (n_samples + 3) // 4
    with open(f"{prefix}.bed", "rb") as fh:
        if fh.read(3) != BED_MAGIC:
            from promise.gwas.inputs import GenotypeInputError

            raise GenotypeInputError(f"{prefix}.bed is not a SNP-major PLINK 1 .bed file.")
        for start in range(0, n_variants, BLOCK):
            count = min(BLOCK, n_variants - start)
            raw = np.frombuffer(fh.read(per * count), dtype=np.uint8).reshape(count, per)
            yield start, _LUT[raw].reshape(count, per * 4)[:, :n_samples]


def linear_groups(
    source: GenotypeSource,
    phenotypes: Phenotypes,
    frame: pd.DataFrame,
    groups: Sequence[Sequence[str]],
) -> list[pd.DataFrame]:
    """Regress every group of traits on every variant; one export-layout frame per group."""
    prefix = source.path
    bim, fam_ids = _read_plink_meta(prefix)
    index = {s: i for i, s in enumerate(fam_ids)}
    plans = []
    for traits in groups:
        kept = frame[frame[traits[0]].notna()]
        kept = kept[kept.index.isin(index)]
        cols = np.array([index[s] for s in kept.index])
        c = np.column_stack([np.ones(len(kept)), kept[phenotypes.covariates].to_numpy(float)])
        q, _ = np.linalg.qr(c)
        y = kept[list(traits)].to_numpy(float)
        y = y - q @ (q.T @ y)
        plans.append((cols, q, y, (y**2).sum(axis=0), len(kept) - c.shape[1] - 1))
    parts: list[list[pd.DataFrame]] = [[] for _ in groups]
    for start, block in _bed_blocks(prefix, len(fam_ids), len(bim)):
        for gi, (cols, q, y, yy, dof) in enumerate(plans):
            parts[gi].append(_block_stats(block[:, cols].T, q, y, yy, dof, start, len(groups[gi])))
    recode = contig_recoding(source.build)
    meta = pd.DataFrame(
        {
            "contig": bim["chrom"].map(lambda c: recode.get(c, c)),
            "position": bim["pos"].astype(int),
            "ref": bim["a2"],
            "alt": bim["a1"],
        }
    )
    return [pd.concat([meta, pd.concat(p, ignore_index=True)], axis=1) for p in parts]


def _block_stats(
    g: np.ndarray[Any, Any],
    q: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    yy: np.ndarray[Any, Any],
    dof: int,
    start: int,
    n_traits: int,
) -> pd.DataFrame:
    called = ~np.isnan(g)
    n_called = called.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(g, axis=0) / n_called
        g = np.where(called, g, mean)
        g = g - q @ (q.T @ g)
        gg = (g**2).sum(axis=0)
        gg = np.where(gg > 1e-8 * g.shape[0], gg, np.nan)  # constant genotype: not estimable
        beta = (g.T @ y) / gg[:, None]
        se = np.sqrt((yy[None, :] - beta**2 * gg[:, None]) / dof / gg[:, None])
        p = 2 * stats.t.sf(np.abs(beta / se), dof)
    out: dict[str, Any] = {}
    for k in range(n_traits):
        out.update(
            {
                f"t{k}_beta": beta[:, k],
                f"t{k}_se": se[:, k],
                f"t{k}_p": p[:, k],
                f"t{k}_n": np.full(len(mean), g.shape[0]),
                f"t{k}_eaf": mean / 2,
                f"t{k}_firth": False,
            }
        )
    return pd.DataFrame(out, index=np.arange(start, start + len(mean)))
