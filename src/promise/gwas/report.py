"""A self-contained HTML report: run summary, QC counts, lambda GC, plots, top loci."""

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
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(records: Sequence[dict[str, Any]], numeric: Sequence[str] = ()) -> str:
    """An HTML table of rows given as dicts (the first row's keys are the columns)."""
    columns = list(records[0]) if records else []
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    rows = []
    for record in records:
        cells = []
        for col in columns:
            cls = ' class="num"' if col in numeric else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(record[col]))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
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
) -> Path:
    """Write ``report.html`` with the plots embedded as base64 PNG; ``loci`` holds each
    trait's lead variants (:func:`promise.gwas.results.top_loci`)."""
    cards = "".join(
        f'<div class="card">{html.escape(k)}<b>{html.escape(v)}</b></div>' for k, v in facts.items()
    )
    traits = [
        {
            "trait": s.trait,
            "kind": s.kind,
            "n": s.n,
            "cases": s.cases if s.cases is not None else "-",
            "controls": s.controls if s.controls is not None else "-",
            "variants tested": int(s.frame["p_value"].is_not_null().sum()),
            f"p < {significance:g}": int((s.frame["p_value"] < significance).sum()),
            "lambda GC": s.lambda_gc,
        }
        for s in summaries
    ]
    loci_sections = []
    for s in summaries:
        rows = (
            loci[s.trait]
            .select(
                "variant_id",
                "effect_allele",
                "other_allele",
                "effect_allele_frequency",
                "beta",
                "standard_error",
                "p_value",
                "n",
            )
            .to_dicts()
        )
        loci_sections.append(
            f"<h3>{html.escape(s.trait)}</h3>"
            + _table(
                rows, numeric=["effect_allele_frequency", "beta", "standard_error", "p_value", "n"]
            )
        )
    qc = qc_rows(qc_steps)
    qc_html = (
        _table(qc, numeric=["removed", "remaining"]) if qc else "<p>QC skipped (--skip-qc).</p>"
    )
    figures = "".join(
        f"<section><h2>{html.escape(name)}</h2>{_img(p)}</section>" for name, p in plots.items()
    )
    settings = [{"setting": k, "value": str(v)} for k, v in _flatten(options).items()]
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>
<header><h1>{html.escape(title)}</h1><p>promise gwas: genome-wide association with Hail</p></header>
<main>
<section><h2>Run</h2><div class="cards">{cards}</div></section>
<section><h2>Traits</h2>{_table(traits, numeric=["n", "cases", "controls", "variants tested", "lambda GC"])}
<p class="note">lambda GC = median of the 1-df chi-square statistics (from the p-values) / 0.4549.</p></section>
<section><h2>Quality control</h2>{qc_html}</section>
{figures}
<section><h2>Top loci</h2><p class="note">Lead variants by p-value, one per 500 kb window.</p>
{"".join(loci_sections)}</section>
<section><h2>Settings</h2>{_table(settings)}</section>
</main></body></html>"""
    path.write_text(body, encoding="utf-8")
    return path


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, prefix=f"{name}."))
        else:
            out[name] = value
    return out
