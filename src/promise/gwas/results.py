"""Summary statistics in GWAS-SSF: ``<trait>.tsv.gz`` plus ``<trait>.tsv.gz-meta.yaml``.

GWAS-SSF (the GWAS Catalog's summary-statistics format, v1.0) requires, in this order:
``chromosome`` (1-22, X=23, Y=24, MT=25), ``base_pair_location``, ``effect_allele``,
``other_allele``, ``beta``, ``standard_error``, ``effect_allele_frequency``, ``p_value``;
we add ``variant_id`` and ``n``, ``test`` (``score``/``firth``/``wald`` for binary traits,
``linear``), and for binary traits of the fast engine ``effect_allele_frequency_cases``.
Missing and undefined values (a constant variant's standard error) are written ``NA``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
import yaml
from isal import igzip

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
#: an optional column of binary traits: the effect allele's frequency among the cases
CASE_FREQUENCY = "effect_allele_frequency_cases"
SIGNIFICANT_DIGITS = 10
FLOAT_COLUMNS = ["beta", "standard_error", "effect_allele_frequency", "p_value"]
CHROMOSOME_CODES = {"X": "23", "Y": "24", "M": "25", "MT": "25"}
_NORMAL = NormalDist()


def chi2_1df_isf(p: float) -> float:
    """The 1-df chi-square statistic whose upper tail is ``p``: the squared normal quantile
    of ``p / 2`` (the standard library's, no SciPy import for two numbers)."""
    return _NORMAL.inv_cdf(p / 2) ** 2


LAMBDA_MEDIAN = chi2_1df_isf(0.5)  # chi2(1 df) median, 0.4549364...
_TEXT = {"contig": pl.String, "ref": pl.String, "alt": pl.String}


@dataclass(frozen=True, kw_only=True)
class TraitSummary:
    """One trait's summary statistics (a Polars frame in GWAS-SSF columns) and the figures
    the report quotes."""

    trait: str
    kind: str
    frame: pl.DataFrame
    n: int
    cases: int | None
    controls: int | None
    lambda_gc: float
    path: Path | None = None


def export_group(hl: Any, table: Any, *, path: Path) -> pl.DataFrame:
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
    return pl.read_csv(
        path,
        separator="\t",
        null_values=["NA", "NaN", "null"],
        schema_overrides=_TEXT,
        infer_schema_length=None,
    )


def _full_precision(hl: Any, expr: Any) -> Any:
    """Hail's text export keeps ~6 significant digits of a float64: format with 15."""
    if expr.dtype == hl.tfloat64:
        return hl.format("%.15e", expr)
    return expr


@dataclass(frozen=True)
class SsfBase:
    """The columns every trait of one exported group shares, already in position order, and
    that order (row indices of the group frame)."""

    frame: pl.DataFrame
    order: np.ndarray[Any, Any] | None  # None: the group frame is in position order


def ssf_base(raw: pl.DataFrame) -> SsfBase:
    """Chromosome, position, alleles and variant id of an exported group, computed once."""
    contig = pl.col("contig").cast(pl.String)
    frame = raw.select(
        chromosome=contig.str.strip_prefix("chr").replace(CHROMOSOME_CODES),
        base_pair_location=pl.col("position").cast(pl.Int64),
        effect_allele=pl.col("alt").cast(pl.String),
        other_allele=pl.col("ref").cast(pl.String),
        variant_id=pl.concat_str([contig, "position", "ref", "alt"], separator=":"),
    )
    numeric = frame["chromosome"].cast(pl.Float64, strict=False).fill_null(np.inf)
    order = np.lexsort((frame["base_pair_location"].to_numpy(), numeric.to_numpy()))
    if np.array_equal(order, np.arange(len(order))):  # already in position order
        return SsfBase(frame=frame, order=None)
    return SsfBase(frame=frame[order], order=order)


def ssf_frame(
    raw: pl.DataFrame, index: int, *, kind: str, base: SsfBase | None = None
) -> pl.DataFrame:
    """GWAS-SSF columns for trait ``index`` of an exported group frame, sorted by position.

    Undefined values (NaN from the regression, ``NA`` from Hail) are all missing (null)."""
    base = base or ssf_base(raw)
    p = f"t{index}_"
    floats = {
        "beta": p + "beta",
        "standard_error": p + "se",
        "effect_allele_frequency": p + "eaf",
        "p_value": p + "p",
    }
    if p + "eaf_cases" in raw.columns:  # binary traits of the fast engine
        floats[CASE_FREQUENCY] = p + "eaf_cases"
    values = raw.select(
        **{name: pl.col(col).cast(pl.Float64).fill_nan(None) for name, col in floats.items()},
        n=pl.col(p + "n").cast(pl.Int64),
        test=(
            pl.col(p + "test").cast(pl.String)
            if p + "test" in raw.columns
            else pl.when(pl.col(p + "firth").cast(pl.String).str.to_lowercase() == "true")
            .then(pl.lit("firth"))
            .otherwise(pl.lit("wald"))
            if kind == "binary"
            else pl.lit("linear")
        ),
    )
    if base.order is not None:
        values = values[base.order]
    # A beta without a standard error (constant or collinear genotype) is not estimable.
    values = values.with_columns(
        beta=pl.when(pl.col("standard_error").is_null()).then(None).otherwise(pl.col("beta"))
    )
    extra = [CASE_FREQUENCY] if CASE_FREQUENCY in values.columns else []
    return pl.concat([base.frame, values], how="horizontal").select([*SSF_COLUMNS, "test", *extra])


def finite_p(p_values: Any) -> np.ndarray[Any, Any]:
    """The p-values of a Series or array that are numbers in (0, 1], as float64."""
    values = np.asarray(p_values.to_numpy() if hasattr(p_values, "to_numpy") else p_values)
    values = values.astype(np.float64)
    kept: np.ndarray[Any, Any] = values[(values > 0) & (values <= 1)]
    return kept


def lambda_gc(p_values: Any) -> float:
    """Genomic inflation: median of chi2(1 df) from the p-values over 0.4549."""
    values = finite_p(p_values)
    if values.size == 0:
        return math.nan
    # chi2.isf is decreasing, so the median chi2 comes from the middle p-value(s): two
    # inverse-CDF calls instead of one per variant (0.3 s for 100,000 variants), and a
    # partition instead of a sort
    lower, upper = (len(values) - 1) // 2, len(values) // 2
    middle = np.partition(values, [lower, upper])[[lower, upper]]
    return (chi2_1df_isf(float(middle[0])) + chi2_1df_isf(float(middle[1]))) / 2 / LAMBDA_MEDIAN


#: the columns every trait of one regression group shares, before its own, between its
#: standard error and p-value, and after
SHARED_HEAD = ["chromosome", "base_pair_location", "effect_allele", "other_allele"]
SHARED_MIDDLE = "effect_allele_frequency"
SHARED_TAIL = ["variant_id", "n", "test"]
_UNSAFE = '[\t\n\r"]'  # text that a CSV writer would have to quote
_CSV: dict[str, Any] = {"separator": "\t", "null_value": "NA", "quote_style": "never"}


@dataclass(frozen=True)
class SharedText:
    """The shared columns of a group's traits, each already rendered as one line part, so
    that every trait's file only formats its own numbers."""

    key: pl.DataFrame  # the shared columns themselves, to recognise a frame of the group
    head: pl.Series  # "chromosome<TAB>base_pair_location<TAB>effect_allele<TAB>other_allele"
    middle: pl.Series  # effect_allele_frequency, as write_ssf prints it
    tail: pl.Series  # "variant_id<TAB>n<TAB>test"


def _shared_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(*SHARED_HEAD, SHARED_MIDDLE, *SHARED_TAIL)


def _rounded(columns: list[str]) -> list[pl.Expr]:
    return [pl.col(c).round_sig_figs(SIGNIFICANT_DIGITS) for c in columns]


def shared_text(frame: pl.DataFrame) -> SharedText | None:
    """:class:`SharedText` of ``frame``; None when a text column holds a tab, newline or
    quote (such a file is written column by column, with quoting)."""

    def joined(columns: list[str]) -> pl.Expr:
        parts = [pl.col(c).cast(pl.String).fill_null("NA") for c in columns]
        return pl.concat_str(parts, separator="\t")

    key = _shared_columns(frame)
    unsafe = pl.any_horizontal(pl.col(pl.String).str.contains(_UNSAFE)).any()
    if key.select(unsafe).item():
        return None
    text = key.select(head=joined(SHARED_HEAD), tail=joined(SHARED_TAIL))
    # printed by the CSV writer itself, so that it reads exactly as the other floats do
    printed = key.select(_rounded([SHARED_MIDDLE])).write_csv(include_header=False, **_CSV)
    middle = pl.Series(SHARED_MIDDLE, [printed]).str.split("\n").explode().head(key.height)
    return SharedText(key=key, head=text["head"], middle=middle, tail=text["tail"])


def has_shared(frame: pl.DataFrame, shared: SharedText) -> bool:
    """True when ``frame`` is in GWAS-SSF column order with exactly ``shared``'s columns
    (and perhaps the case frequency after them)."""
    if frame.columns not in (
        [*SHARED_HEAD, *FLOAT_COLUMNS, *SHARED_TAIL],
        [*SHARED_HEAD, *FLOAT_COLUMNS, *SHARED_TAIL, CASE_FREQUENCY],
    ):
        return False
    return _shared_columns(frame).equals(shared.key)


def write_ssf(frame: pl.DataFrame, path: Path, shared: SharedText | None = None) -> str:
    """Write the tab-separated, gzip-compressed file; return its md5.

    Floats are rounded to :data:`SIGNIFICANT_DIGITS` and written in the shortest form that
    reads back as that float64 (a tiny value may show a few more digits); missing and
    undefined values are written ``NA``. ``shared``: the group's :class:`SharedText`, used
    when ``frame`` has those same shared columns. Polars formats the text and ISA-L's gzip
    (3x zlib's speed at level 1, and smaller) compresses it, both outside the GIL, so
    several traits can be written at once from threads.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if shared is not None and has_shared(frame, shared):
        beta, se, p = _rounded(["beta", "standard_error", "p_value"])
        extra = _rounded([CASE_FREQUENCY]) if CASE_FREQUENCY in frame.columns else []
        lines = frame.select(shared.head, beta, se, shared.middle, p, shared.tail, *extra)
        body = lines.write_csv(include_header=False, **_CSV)
        text = ("\t".join(frame.columns) + "\n" + body).encode("utf-8")
    else:
        floats = [*FLOAT_COLUMNS, *([CASE_FREQUENCY] if CASE_FREQUENCY in frame.columns else [])]
        plain = frame.with_columns(_rounded(floats))
        text = plain.write_csv(separator="\t", null_value="NA").encode("utf-8")
    data = igzip.compress(text, compresslevel=1, mtime=0)
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
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the GWAS-SSF metadata YAML beside the data file (``extra``: more entries, such
    as whether the trait was tested with LOCO predictions)."""
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
        **(extra or {}),
    }
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when PyYAML has it
    path.write_text(yaml.dump(meta, Dumper=dumper, sort_keys=False), encoding="utf-8")


def top_loci(frame: pl.DataFrame, *, limit: int, window_bp: int = 500_000) -> pl.DataFrame:
    """Lead variants by p-value, at most one per ``window_bp`` window on a chromosome.

    The leads come from the smallest p-values: first from a few hundred per lead asked for
    (a partial sort), and from all of them only when those were too few."""
    defined = pl.col("p_value").is_not_null() & pl.col("p_value").is_not_nan()
    ranked = frame.with_row_index("_row").filter(defined)
    order = ["p_value", "_row"]  # ties in file order
    some = max(1_000, 200 * limit)
    if len(ranked) > some:
        leads = _leads(ranked.bottom_k(some, by=order).sort(order), limit, window_bp)
        if len(leads) == limit:
            return leads.drop("_row")
    return _leads(ranked.sort(order), limit, window_bp).drop("_row")


def _leads(ranked: pl.DataFrame, limit: int, window_bp: int) -> pl.DataFrame:
    """The first row of each window, in the order of ``ranked``, up to ``limit`` rows."""
    leads: list[int] = []
    taken: dict[str, list[int]] = {}
    rows = ranked.select("chromosome", "base_pair_location").iter_rows()
    for row, (chrom, pos) in enumerate(rows):
        near = taken.setdefault(chrom, [])
        if any(abs(pos - q) <= window_bp for q in near):
            continue
        near.append(pos)
        leads.append(row)
        if len(leads) >= limit:
            break
    return ranked[leads]
