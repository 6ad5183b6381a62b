"""The results browser's HTML building blocks: page frame, style sheet, sortable tables,
number formats, and the disclosure rule for counts.

Every page is plain HTML that links a style sheet and a small script in ``assets/`` by
relative path, so the site reads the same from a file system (``file://``) as from a
server. Every text from the data is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile

STYLE = """\
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff;padding:18px 40px}
header h1{margin:0;font-size:23px;font-weight:600}
header p{margin:6px 0 0;opacity:.88;font-size:14px}
header a{color:#dbe9f7}
main{max-width:1250px;margin:0 auto;padding:18px 40px 60px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 24px;margin:16px 0}
h2{font-size:18px;margin:0 0 12px;color:#1f4e79}
h3{font-size:15px;margin:16px 0 8px;color:#1f4e79}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 9px;border-bottom:1px solid #e3e8ef;text-align:left;vertical-align:top}
th{background:#eef2f7;font-weight:600}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:after{content:" \\2195";color:#9aa8b8;font-size:11px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.hit td{background:#fff4d6}
table.fixed{table-layout:fixed}
img{max-width:100%;height:auto}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1 1 100px;background:#eef2f7;border-radius:6px;padding:10px 14px;font-size:13px}
.card b{display:block;font-size:21px;color:#1f4e79}
.note{font-size:12px;color:#5b6b7d}
.def{font-size:12px;color:#3d4b5c}
a{color:#1f4e79}
"""

#: sorts a table.sortable by the clicked column; cells may carry their sort key in data-v
SORT_JS = """\
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.getAttribute("data-dir") !== "up";
      th.setAttribute("data-dir", up ? "up" : "down");
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute("data-v");
        if (v !== null && v !== "" && !isNaN(Number(v))) return [0, Number(v)];
        return [1, cell.textContent.trim().toLowerCase()];
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x[0] !== y[0]) return x[0] - y[0];
        var c = x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
        return up ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


@dataclass(frozen=True)
class Cell:
    """A table cell: its HTML (already escaped), a numeric sort key, right-aligned or not."""

    html: str
    key: float | None = None
    number: bool = False


def text(value: Any) -> Cell:
    """A cell of escaped text."""
    return Cell(html.escape("" if value is None else str(value)))


def link(label: str, href: str | None) -> Cell:
    """A cell linking ``label`` to ``href`` (a relative path), or plain text without one."""
    if href is None:
        return text(label)
    return Cell(f'<a href="{html.escape(href, quote=True)}">{html.escape(label)}</a>')


def number(value: float | None, shown: str | None = None) -> Cell:
    """A right-aligned number cell sorted by ``value``; ``shown`` overrides the text."""
    label = shown if shown is not None else fmt_number(value)
    key = value if value is not None and math.isfinite(value) else None
    return Cell(html.escape(label), key, number=True)


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    marked: Sequence[bool] = (),
    fixed: bool = False,
) -> str:
    """A sortable table; rows whose ``marked`` entry is true are shaded; ``fixed``: columns
    of equal width whatever the cells hold (so that tables one under the other align)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(_td(c) for c in row)
        css = ' class="hit"' if i < len(marked) and marked[i] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    css = "sortable fixed" if fixed else "sortable"
    return (
        f'<table class="{css}"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _td(cell: Cell) -> str:
    attrs = ' class="num"' if cell.number else ""
    if cell.key is not None:
        attrs += f' data-v="{cell.key!r}"'
    return f"<td{attrs}>{cell.html}</td>"


def page(*, title: str, heading: str, subtitle: str, body: str, root: str) -> str:
    """A whole page; ``root`` is the relative path to the site's top (``""`` or ``"../"``)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{root}assets/style.css"></head><body>
<header><h1>{heading}</h1><p>{subtitle}</p></header>
<main>{body}</main>
<script src="{root}assets/sort.js"></script>
</body></html>
"""


def cards(items: Sequence[tuple[str, str]]) -> str:
    """Figures in boxes: a label and, under it, the value (HTML, already escaped)."""
    boxes = "".join(f'<div class="card">{html.escape(k)}<b>{v}</b></div>' for k, v in items)
    return f'<div class="cards">{boxes}</div>'


def fmt_number(value: float | None) -> str:
    """``NA`` for missing, 3 significant digits for small or large, else 4 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0 or abs(value) < 1e-3 or abs(value) >= 1e4:
        return f"{value:.3g}"
    return f"{value:.4f}"


def effect(kind: str, beta: float | None, se: float | None) -> Cell:
    """The effect of one effect allele: an odds ratio with its 95% CI (exp(beta +- 1.96
    SE)) for a binary trait, beta (SE) for a quantitative one; sorted by beta."""
    if beta is None or se is None or not math.isfinite(beta) or not math.isfinite(se):
        return number(None)
    if kind == "binary":
        low, high = math.exp(beta - Z95 * se), math.exp(beta + Z95 * se)
        return number(beta, f"{math.exp(beta):.3g} ({low:.3g}-{high:.3g})")
    return number(beta, f"{beta:.3g} ({se:.2g})")


def effect_heading(kind: str) -> str:
    return "odds ratio (95% CI)" if kind == "binary" else "beta (SE)"


@dataclass(frozen=True)
class ShownCounts:
    """A trait's counts as a page may show them, and whether any was withheld."""

    cases: Cell
    controls: Cell
    n: Cell
    withheld: bool


HIDDEN = "hidden"  # the text of a count withheld because it would reveal a small one


def shown_counts(
    kind: str, cases: int | None, controls: int | None, n: int | None, threshold: int
) -> ShownCounts:
    """Counts under the disclosure rule of :mod:`promise.disclosure`: a count from 1 to
    ``threshold - 1`` is shown as ``<threshold``. Cases + controls = n, so when one of the
    three is small the other two are withheld as well (secondary suppression): with any
    two shown exactly, the third would follow by subtraction."""
    values = (cases, controls, n) if kind == "binary" else (None, None, n)
    small = [v is not None and 0 < v < threshold for v in values]
    withheld = any(small)
    shown = []
    for value, is_small in zip(values, small, strict=True):
        if value is None:
            shown.append(number(None, "-"))
        elif is_small:
            shown.append(number(None, f"<{threshold}"))
        elif withheld:
            shown.append(number(None, HIDDEN))
        else:
            shown.append(number(float(value), f"{value:,}"))
    return ShownCounts(cases=shown[0], controls=shown[1], n=shown[2], withheld=withheld)
