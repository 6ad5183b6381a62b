"""A self-contained HTML report: run summary, what each trait is, QC counts, lambda GC,
plots, and the top loci with their nearest gene (odds ratios with 95% CIs for binary traits).
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from promise.gwas.qc import QcStep
from promise.gwas.results import TraitSummary
from promise.gwas.traits import TraitInfo

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:22px 40px}
header h1{margin:0;font-size:24px;font-weight:600}
header p{margin:6px 0 0;opacity:.85;font-size:14px}
main{max-width:1150px;margin:0 auto;padding:24px 40px 60px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 24px;margin:18px 0}
h2{font-size:18px;margin:0 0 12px;color:#1f4e79}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 10px;border-bottom:1px solid #e3e8ef;text-align:left}
th{background:#eef2f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}
.cards{display:flex;gap:14px;flex-wrap:wrap}
.card{flex:1 1 160px;background:#eef2f7;border-radius:6px;padding:12px 16px}
.card b{display:block;font-size:22px;color:#1f4e79}
.note{font-size:12px;color:#5b6b7d}
.def{font-size:12px;color:#3d4b5c;margin-top:3px}
tr.gws td{background:#fff4d6}
.star{color:#b7791f;font-weight:700}
"""
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(
    records: Sequence[dict[str, Any]],
    numeric: Sequence[str] = (),
    *,
    raw: Sequence[str] = (),
    row_class: Sequence[str] = (),
) -> str:
    """An HTML table of rows given as dicts (the first row's keys are the columns); the
    ``raw`` columns hold HTML already, ``row_class`` gives each row a class."""
    columns = list(records[0]) if records else []
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    rows = []
    for i, record in enumerate(records):
        cells = []
        for col in columns:
            cls = ' class="num"' if col in numeric else ""
            text = record[col] if col in raw else html.escape(_fmt(record[col]))
            cells.append(f"<td{cls}>{text}</td>")
        css = f' class="{row_class[i]}"' if i < len(row_class) and row_class[i] else ""
        rows.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def qc_rows(steps: Sequence[QcStep]) -> list[dict[str, Any]]:
    """QC steps as table rows: what was filtered, by which rule, removed and remaining."""
    return [
        {
            "on": s.target,
            "filter": s.name,
            "rule": s.rule,
            "removed": s.removed,
            "remaining": s.remaining,
        }
        for s in steps
    ]


def loci_rows(
    loci: pl.DataFrame, *, kind: str, build: str, significance: float
) -> list[dict[str, Any]]:
    """The top-loci table of one trait: chromosome and position apart, the effect as an
    odds ratio with its 95% CI (binary traits; exp(beta +- 1.96 SE)) or beta and SE, the
    nearest gene (:func:`promise.gwas.genes.nearest_gene`) and a star where p is below
    ``significance``."""
    from promise.gwas.genes import nearest_genes

    genes = nearest_genes(
        loci["chromosome"].cast(pl.String).to_list(),
        loci["base_pair_location"].to_list(),
        build,
    )
    rows = []
    for rank, (row, gene) in enumerate(zip(loci.iter_rows(named=True), genes, strict=True), 1):
        record: dict[str, Any] = {
            "#": rank,
            "chromosome": _chromosome_name(str(row["chromosome"])),
            "position": row["base_pair_location"],
            "variant": row["variant_id"],
            "effect allele": row["effect_allele"],
            "other allele": row["other_allele"],
            "EAF": row["effect_allele_frequency"],
        }
        beta, se = row["beta"], row["standard_error"]
        if kind == "binary":
            record["odds ratio (95% CI)"] = _odds_ratio(beta, se)
        else:
            record["beta"], record["SE"] = beta, se
        p = row["p_value"]
        significant = p is not None and p < significance
        record["p"] = p
        record[f"p < {significance:g}"] = '<span class="star">&#9733;</span>' if significant else ""
        record["nearest gene"] = gene
        record["n"] = row["n"]
        rows.append(record)
    return rows


def _chromosome_name(code: str) -> str:
    return {"23": "X", "24": "Y", "25": "MT"}.get(code, code)


def _odds_ratio(beta: float | None, se: float | None) -> str:
    if beta is None or se is None or not math.isfinite(beta) or not math.isfinite(se):
        return "NA"
    low, high = math.exp(beta - Z95 * se), math.exp(beta + Z95 * se)
    return f"{math.exp(beta):.3f} ({low:.3f}-{high:.3f})"


def trait_rows(
    summaries: Sequence[TraitSummary],
    info: Mapping[str, TraitInfo],
    significance: float,
) -> list[dict[str, Any]]:
    """One row per trait: name, what it is (long name, definition or unit and
    transformation, source), kind and coding, counts and genomic inflation."""
    rows = []
    for s in summaries:
        about = info.get(s.trait) or TraitInfo()
        rows.append(
            {
                "trait": f"<b>{html.escape(s.trait)}</b>",
                "what it is": _description(about),
                "kind": f"{html.escape(s.kind)}<div class=def>{html.escape(about.coding)}</div>",
                "n": s.n,
                "cases": s.cases if s.cases is not None else "-",
                "controls": s.controls if s.controls is not None else "-",
                "variants tested": int(s.frame["p_value"].is_not_null().sum()),
                f"p < {significance:g}": int((s.frame["p_value"] < significance).sum()),
                "lambda GC": s.lambda_gc,
            }
        )
    return rows


def _description(about: TraitInfo) -> str:
    parts = [f"<b>{html.escape(about.long_name)}</b>"] if about.long_name else []
    if about.definition:
        parts.append(f"<div class=def>definition: {html.escape(about.definition)}</div>")
    if about.unit:
        parts.append(f"<div class=def>unit: {html.escape(about.unit)}</div>")
    if about.transformation:
        parts.append(f"<div class=def>transformation: {html.escape(about.transformation)}</div>")
    if about.source:
        parts.append(f"<div class=def>from {html.escape(about.source)}</div>")
    return "".join(parts) or "-"


def count_notes(
    summaries: Sequence[TraitSummary], info: Mapping[str, TraitInfo], n_samples: int
) -> list[str]:
    """Why a trait has fewer samples than the run analysed: one sentence per such trait."""
    notes = []
    for s in summaries:
        if s.n < n_samples:
            reason = (info.get(s.trait) or TraitInfo()).missing_reason
            notes.append(
                f"{s.trait}: n = {s.n:,}, as {n_samples - s.n:,} of the {n_samples:,} analysed "
                f"samples have {reason}."
            )
    return notes


def write_report(
    *,
    path: Path,
    title: str,
    summaries: Sequence[TraitSummary],
    qc_steps: Sequence[QcStep],
    facts: dict[str, str],
    plots: dict[str, Path],
    options: dict[str, Any],
    loci: Mapping[str, pl.DataFrame],
    significance: float,
    build: str = "GRCh38",
    info: Mapping[str, TraitInfo] | None = None,
    n_samples: int | None = None,
    timings: Mapping[str, float] | None = None,
    sections: Sequence[str] = (),
) -> Path:
    """Write ``report.html`` with the plots embedded as base64 PNG; ``loci`` holds each
    trait's lead variants (:func:`promise.gwas.results.top_loci`), ``info`` what each trait
    is, ``n_samples`` the samples analysed (a trait with fewer says why), ``timings`` the
    seconds of each step so far, ``sections`` more sections (HTML) after quality control."""
    info = info or {}
    cards = "".join(
        f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in facts.items()
    )
    traits = _table(
        trait_rows(summaries, info, significance),
        numeric=["n", "cases", "controls", "variants tested", "lambda GC"],
        raw=["trait", "what it is", "kind"],
    )
    notes = count_notes(summaries, info, n_samples) if n_samples else []
    notes_html = "".join(f"<p class=note>{html.escape(n)}</p>" for n in notes)
    loci_sections = []
    for s in summaries:
        if s.trait not in loci:  # a trait the report does not show (the browser does)
            continue
        rows = loci_rows(loci[s.trait], kind=s.kind, build=build, significance=significance)
        name = (info.get(s.trait) or TraitInfo()).long_name
        effect = "odds ratio per effect allele" if s.kind == "binary" else "beta per effect allele"
        heading = html.escape(s.trait + (f": {name}" if name else ""))
        marked = ["gws" if r[f"p < {significance:g}"] else "" for r in rows]
        loci_sections.append(
            f"<h3>{heading} <span class=note>({html.escape(s.kind)}; {effect})</span></h3>"
            + _table(
                rows,
                numeric=["#", "position", "EAF", "beta", "SE", "p", "n"],
                raw=[f"p < {significance:g}"],
                row_class=marked,
            )
        )
    qc = qc_rows(qc_steps)
    qc_html = (
        _table(qc, numeric=["removed", "remaining"]) if qc else "<p>QC skipped (--skip-qc).</p>"
    )
    figures = "".join(
        f"<section><h2>{html.escape(name)}</h2>{_img(p)}{_caption(name)}</section>"
        for name, p in plots.items()
    )
    settings = [{"setting": k, "value": str(v)} for k, v in _flatten(options).items()]
    steps = [{"step": k, "seconds": f"{v:.1f}"} for k, v in (timings or {}).items()]
    times = (
        f"<section><h2>Step times</h2>{_table(steps, numeric=['seconds'])}</section>"
        if steps
        else ""
    )
    engine = facts.get("engine", "")
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>
<header><h1>{html.escape(title)}</h1><p>promise gwas: genome-wide association ({html.escape(engine)})</p></header>
<main>
<section><h2>Run</h2><div class="cards">{cards}</div></section>
<section><h2>Traits</h2>{traits}
<p class="note">lambda GC = median of the 1-df chi-square statistics (from the p-values) / 0.4549.</p>{notes_html}</section>
<section><h2>Quality control</h2>{qc_html}</section>
{"".join(sections)}
{figures}
<section><h2>Top loci</h2><p class="note">Lead variants by p-value, one per 500 kb window;
<span class="star">&#9733;</span> and shading: genome-wide significant (p &lt; {significance:g}).
Positions in {html.escape(build)}; nearest gene from GENCODE 32 (inside the gene, else the
closest start or end, with the distance). Odds ratios with 95% CIs from the standard error.</p>
{"".join(loci_sections)}</section>
{times}
<section><h2>Settings</h2>{_table(settings)}</section>
</main></body></html>"""
    path.write_text(body, encoding="utf-8")
    return path


def _caption(name: str) -> str:
    captions = {
        "Principal components": "Sample scores of the LD-pruned, HWE-normalised genotypes, "
        "coloured by genotyping batch (and declared ancestry where the inputs give it); "
        "each axis gives the share of the genotype variance its PC explains "
        "(eigenvalue / number of samples).",
        "Manhattan plot": "-log10 p by position; the line marks genome-wide significance.",
    }
    text = captions.get(name)
    return f"<p class=note>{html.escape(text)}</p>" if text else ""


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, prefix=f"{name}."))
        else:
            out[name] = value
    return out
