"""The HTML of the profile site: one page per endpoint and an index, plain files that open
from ``file://`` (relative links, images beside them, no script, no network).

Every released count is written by :func:`count` as ``<span class="count">``; a suppressed
one shows "–". Rates, proportions and ratios are computed from released values only.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from promise.profiles.cohort import Endpoint
from promise.profiles.hazards import Ratio
from promise.profiles.release import FloatArray, proportion, rate

STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:20px 40px}
header h1{margin:4px 0 0;font-size:24px;font-weight:600}
header p{margin:6px 0 0;opacity:.9;font-size:15px}
header a{color:#cfe0f3;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:20px 40px 60px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 24px;margin:16px 0}
h2{font-size:18px;margin:0 0 10px;color:#1f4e79}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:5px 10px;border-bottom:1px solid #e3e8ef;text-align:left}
th{background:#eef2f7;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1 1 150px;background:#eef2f7;border-radius:6px;padding:10px 14px}
.card b{display:block;font-size:21px;color:#1f4e79}
.card span.label{font-size:12px;color:#3d4b5c}
.figs{display:flex;gap:12px;flex-wrap:wrap}
.figs img{max-width:100%;width:520px;height:auto}
.note{font-size:12px;color:#5b6b7d}
.count.suppressed{color:#9aa5b1}
"""
DASH = "–"


@dataclass(frozen=True)
class Following:
    """A released row of "what follows": another endpoint, its persons, its hazard ratio."""

    name: str
    persons: float
    ratio: Ratio | None
    has_page: bool


def esc(value: object) -> str:
    return html.escape(str(value))


def count(value: float | None) -> str:
    """A released count (or "–" when suppressed), marked for the checks."""
    if value is None or math.isnan(value):
        return f'<span class="count suppressed" title="suppressed">{DASH}</span>'
    return f'<span class="count">{int(value):,}</span>'


def percent(found: tuple[float, float, float] | None) -> str:
    if found is None:
        return DASH
    return f"{100 * found[0]:.1f}% ({100 * found[1]:.1f}-{100 * found[2]:.1f})"


def per_1000(found: tuple[float, float, float] | None) -> str:
    if found is None:
        return DASH
    return f"{found[0]:.2f} ({found[1]:.2f}-{found[2]:.2f})"


def ratio_text(found: Ratio | None) -> str:
    if found is None:
        return DASH
    return f"{found.ratio:.2f} ({found.low:.2f}-{found.high:.2f})"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are HTML already; ``numeric`` columns are right-aligned."""
    cls = [' class="num"' if i in numeric else "" for i in range(len(head))]
    top = "".join(f"<th{cls[i]}>{esc(h)}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls[i]}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)  # fmt: skip
    return f"<table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>"


def document(title: str, header: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{STYLE}</style></head><body><header>{header}</header><main>{body}</main></body></html>\n"
    )


def card(label: str, value: str, note: str = "") -> str:
    extra = f'<div class="note">{note}</div>' if note else ""
    return f'<div class="card"><span class="label">{esc(label)}</span><b>{value}</b>{extra}</div>'


def section(title: str, content: str, anchor: str = "") -> str:
    name = f' id="{anchor}"' if anchor else ""
    return f"<section{name}><h2>{esc(title)}</h2>{content}</section>"


def rate_rows(events: FloatArray, years: FloatArray, labels: Sequence[str]) -> list[list[str]]:
    """Rows of a (label x sex) table: events, person-years and rate (CI) for men, women, all."""
    rows = []
    for k, label in enumerate(labels):
        cells = [esc(label)]
        for s in range(3):
            cells += [count(events[k, s]), count(years[k, s]), per_1000(rate(events[k, s], years[k, s]))]  # fmt: skip
        rows.append(cells)
    return rows


RATE_HEAD = ("", "men: events", "person-years", "per 1,000 (95% CI)", "women: events",
             "person-years", "per 1,000 (95% CI)", "all: events", "person-years", "per 1,000 (95% CI)")  # fmt: skip


def endpoint_title(endpoint: Endpoint) -> str:
    partial = ""
    if endpoint.evaluation == "partial":
        parts = ", ".join(endpoint.not_applicable) or "some registers"
        partial = (
            f' <span class="note">(partly evaluated: Swedish registers lack {esc(parts)})</span>'
        )
    return f"{esc(endpoint.longname)}{partial}"


def proportion_of(released: FloatArray) -> tuple[float, float, float] | None:
    """``[part, rest, total]`` released: part over total."""
    return proportion(released[0], released[2])
