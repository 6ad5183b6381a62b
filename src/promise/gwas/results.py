"""Summary statistics in GWAS-SSF: ``<trait>.tsv.gz`` plus ``<trait>.tsv.gz-meta.yaml``.

GWAS-SSF (the GWAS Catalog's summary-statistics format, v1.0) requires, in this order:
``chromosome`` (1-22, X=23, Y=24, MT=25), ``base_pair_location``, ``effect_allele``,
``other_allele``, ``beta``, ``standard_error``, ``effect_allele_frequency``, ``p_value``;
we add ``variant_id`` and ``n``, and ``test`` (``wald``/``firth``/``linear``). Missing and
undefined values (a constant variant's standard error) are written ``NA``.
"""

from __future__ import annotations

import gzip
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import yaml
from scipy import special

SSF_COLUMNS = [
    "chromosome",
    "base_pair_location",
    "effect_allele",
    "other_allele",
    "beta",
    "standard_error",
    "effect_allele_frequency",
    "p_value",
    "variant_id",
    "n",
]
CHROMOSOME_CODES = {"X": "23", "Y": "24", "M": "25", "MT": "25"}
LAMBDA_MEDIAN = float(special.chdtri(1, 0.5))  # chi2(1 df) median, 0.4549364...


@dataclass(frozen=True, kw_only=True)
class TraitSummary:
    """One trait's summary statistics and the figures the report quotes."""

    trait: str
    kind: str
    frame: pd.DataFrame
    n: int
    cases: int | None
    controls: int | None
    lambda_gc: float
    path: Path | None = None


def export_group(hl: Any, table: Any, *, path: Path) -> pd.DataFrame:
    """Export a group result table to TSV under ``path`` and read it back as a frame."""
    table = table.key_by()
    table = table.select(
        contig=table.locus.contig,
        position=table.locus.position,
        ref=table.alleles[0],
        alt=table.alleles[1],
        **{k: _full_precision(hl, table[k]) for k in table.row if k.startswith("t")},
    )
    table.export(str(path), delimiter="\t")
    text = {"contig": str, "ref": str, "alt": str}
    return pd.read_csv(
        path, sep="\t", na_values=["NA", "NaN", "null"], keep_default_na=False, dtype=text
    )


def _full_precision(hl: Any, expr: Any) -> Any:
    """Hail's text export keeps ~6 significant digits of a float64: format with 15."""
    if expr.dtype == hl.tfloat64:
        return hl.format("%.15e", expr)
    return expr


@dataclass(frozen=True)
class SsfBase:
    """The columns every trait of one exported group shares, and their sort order."""

    frame: pd.DataFrame
    order: np.ndarray[Any, Any]


def ssf_base(raw: pd.DataFrame) -> SsfBase:
    """Chromosome, position, alleles and variant id of an exported group, computed once."""
    contig = raw["contig"].astype(str)
    chromosome = contig.str.removeprefix("chr").map(lambda c: CHROMOSOME_CODES.get(c, c))
    position = raw["position"].astype(int)
    frame = pd.DataFrame(
        {
            "chromosome": chromosome,
            "base_pair_location": position,
            "effect_allele": raw["alt"],
            "other_allele": raw["ref"],
            "variant_id": contig + ":" + position.astype(str) + ":" + raw["ref"] + ":" + raw["alt"],
        }
    )
    numeric = pd.to_numeric(chromosome, errors="coerce").to_numpy(dtype=float)
    order = np.lexsort((position.to_numpy(), np.nan_to_num(numeric, nan=np.inf)))
    return SsfBase(frame=frame, order=order)


def ssf_frame(
    raw: pd.DataFrame, index: int, *, kind: str, base: SsfBase | None = None
) -> pd.DataFrame:
    """GWAS-SSF columns for trait ``index`` of an exported group frame, sorted by position."""
    base = base or ssf_base(raw)
    p = f"t{index}_"
    test = np.where(raw[p + "firth"].astype(str).str.lower() == "true", "firth", "wald")
    b = base.frame
    frame = pd.DataFrame(
        {
            "chromosome": b["chromosome"],
            "base_pair_location": b["base_pair_location"],
            "effect_allele": b["effect_allele"],
            "other_allele": b["other_allele"],
            # A beta without a standard error (constant or collinear genotype) is not estimable.
            "beta": raw[p + "beta"].astype(float).where(raw[p + "se"].notna()),
            "standard_error": raw[p + "se"].astype(float),
            "effect_allele_frequency": raw[p + "eaf"].astype(float),
            "p_value": raw[p + "p"].astype(float),
            "variant_id": b["variant_id"],
            "n": raw[p + "n"].astype("Int64"),
            "test": test if kind == "binary" else "linear",
        }
    )
    return frame.iloc[base.order]


def lambda_gc(p_values: pd.Series) -> float:
    """Genomic inflation: median of chi2(1 df) from the p-values over 0.4549."""
    p = p_values.dropna()
    p = p[(p > 0) & (p <= 1)]
    if p.empty:
        return math.nan
    # chi2.isf is decreasing, so the median chi2 comes from the middle p-value(s): two
    # inverse-CDF calls instead of one per variant (0.3 s for 100,000 variants)
    values = np.sort(p.to_numpy())
    middle = values[[(len(values) - 1) // 2, len(values) // 2]]
    return float(np.mean(special.chdtri(1, middle)) / LAMBDA_MEDIAN)


def write_ssf(frame: pd.DataFrame, path: Path) -> str:
    """Write the tab-separated, gzip-compressed file; return its md5.

    Floats carry 10 significant digits in scientific notation; missing and undefined values
    (NaN) are written ``NA``. Polars formats the text and zlib compresses it, both outside
    the GIL, so several traits can be written at once from threads.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pl.from_pandas(frame.reset_index(drop=True))
    floats = [c for c, t in table.schema.items() if t.is_float()]
    table = table.with_columns(pl.col(floats).fill_nan(None))
    text = table.write_csv(
        separator="\t", null_value="NA", float_scientific=True, float_precision=9
    ).encode("utf-8")
    data = gzip.compress(text, compresslevel=1, mtime=0)  # 4x faster than 6, ~15% larger
    path.write_bytes(data)
    return hashlib.md5(data).hexdigest()


def write_meta(
    summary: TraitSummary,
    *,
    path: Path,
    md5: str,
    build: str,
    software: dict[str, str],
    options: dict[str, Any],
    qc_steps: list[dict[str, Any]],
    covariates: list[str],
) -> None:
    """Write the GWAS-SSF metadata YAML beside the data file."""
    meta = {
        "file_type": "GWAS-SSF v1.0",
        "data_file_name": path.name.removesuffix("-meta.yaml"),
        "data_file_md5sum": md5,
        "trait_description": [summary.trait],
        "trait_kind": summary.kind,
        "sample_size": summary.n,
        "case_count": summary.cases,
        "control_count": summary.controls,
        "genome_assembly": build,
        "coordinate_system": "1-based",
        "is_harmonised": False,
        "is_sorted": True,
        "analysis_software": ", ".join(f"{k} {v}" for k, v in software.items()),
        "software_versions": software,
        "effect_allele": "alternate allele (VCF ALT; PLINK A1)",
        "covariates": covariates,
        "lambda_gc": None if math.isnan(summary.lambda_gc) else round(summary.lambda_gc, 4),
        "thresholds": options,
        "qc": qc_steps,
    }
    path.write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")


def top_loci(frame: pd.DataFrame, *, limit: int, window_bp: int = 500_000) -> pd.DataFrame:
    """Lead variants by p-value, at most one per ``window_bp`` window on a chromosome."""
    ranked = frame.dropna(subset=["p_value"]).sort_values("p_value", kind="stable")
    leads: list[int] = []
    taken: dict[str, list[int]] = {}
    for idx, chrom, pos in zip(
        ranked.index, ranked["chromosome"], ranked["base_pair_location"], strict=True
    ):
        near = taken.setdefault(chrom, [])
        if any(abs(pos - q) <= window_bp for q in near):
            continue
        near.append(pos)
        leads.append(idx)
        if len(leads) >= limit:
            break
    return ranked.loc[leads]
