"""The report's sections on relatives: kinship and the register check, and LOCO.

Counts of related pairs by degree come from :func:`promise.gwas.relatedness.relatedness_counts`,
already disclosure-controlled at the warehouse's floor: a suppressed cell reads "suppressed".
The register's findings are listed pair by pair (person_id pseudonyms, as in ``kinship.tsv``),
since each is for a person to look at: a likely sample swap, non-paternity or register error.
"""

from __future__ import annotations

import html
from typing import Any

from promise.gwas.loco import LocoRun
from promise.gwas.relatives import KINSHIP_FILE, Relatedness

SUPPRESSED = "suppressed"


def _cell(value: Any, threshold: int) -> str:
    return f"{SUPPRESSED} (&lt; {threshold})" if value is None else f"{int(value):,}"


def _rows(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def relatedness_section(rel: Relatedness) -> str:
    """Pairs by KING degree, ``--related``, and in warehouse mode the register check."""
    t = rel.threshold
    what = (
        f"KING-robust kinship of the {len(rel.samples):,} samples after QC on "
        f"{rel.n_variants:,} {html.escape(rel.variants)}; pairs with kinship &ge; 0.0442 (third "
        f"degree or closer) are in <code>{KINSHIP_FILE}</code>."
    )
    if rel.mode == "drop":
        what += (
            f" <b>--related drop</b>: {rel.dropped:,} samples removed so that no pair's kinship "
            f"exceeds {rel.cutoff:g} (as PLINK 2's --king-cutoff); {len(rel.kept):,} analysed."
        )
    else:
        what += " <b>--related keep</b>: every sample is analysed."
    checked = rel.mismatches is not None
    header = ["degree", "pairs"]
    if checked:
        header = ["degree", "consistent with the register or not checked", "findings", "pairs"]
    rows = []
    for r in rel.counts.iter_rows(named=True):
        cells = [html.escape(str(r["degree"]))]
        if checked:
            cells += [_cell(r["consistent_or_unchecked"], t), _cell(r["findings"], t)]
        rows.append([*cells, _cell(r["all"], t)])
    parts = [f"<p>{what}</p>", _rows(header, rows)]
    if checked:
        parts.append(_register(rel))
    parts.append(
        f"<p class=note>Counts from 1 to {t - 1} (and any that would reveal them) are "
        f"suppressed: disclosure threshold {t}, the warehouse's floor in warehouse mode "
        "(promise.yml), promise's default for own files.</p>"
    )
    return "<section><h2>Relatedness</h2>" + "".join(parts) + "</section>"


def _register(rel: Relatedness) -> str:
    assert rel.mismatches is not None
    unseen = rel.counts["registered_but_unrelated"][0]
    intro = (
        "<h3>Genetic relationships against the register</h3><p>Pairs the Multi-Generation "
        "Register links (marts.family_relation) whose genotypes disagree, and close genetic "
        "relatives the register does not link: likely sample swaps, non-paternity or register "
        f"errors. Registered pairs that are genetically unrelated: "
        f"{_cell(unseen, rel.threshold)}.</p>"
    )
    if rel.mismatches.is_empty():
        return intro + "<p>No findings: the genotypes agree with the register.</p>"
    rows = [
        [
            html.escape(str(r["id1"])),
            html.escape(str(r["id2"])),
            html.escape(str(r["registered"] or "not linked")),
            html.escape(str(r["genetic"])),
            "NA" if r["kinship"] is None else f"{r['kinship']:.3f}",
            html.escape(str(r["finding"])),
        ]
        for r in rel.mismatches.iter_rows(named=True)
    ]
    header = ["person 1", "person 2", "register", "genetic", "kinship", "finding"]
    return intro + _rows(header, rows)


def loco_section(loco: LocoRun | None) -> str:
    """Whether LOCO predictions were used, for which traits, and why not for the others."""
    if loco is None:
        return (
            "<section><h2>Whole-genome regression (LOCO)</h2><p>Not used: the Hail engine "
            "has no step 1.</p></section>"
        )
    if not loco.used and not loco.without:
        text = f"<p>Not used ({html.escape(loco.why)}).</p>"
        text += "".join(f"<p><b>{html.escape(m)}</b></p>" for m in loco.messages)
    else:
        text = (
            f"<p>Used ({html.escape(loco.why)}) for {len(loco.traits)} trait(s): "
            f"{html.escape(', '.join(loco.traits)) or 'none'}. regenie's step 1 (level 0 ridge "
            f"per block, level 1 cross-validated) on {loco.n_variants:,} LD-pruned common "
            "variants; in step 2 each chromosome's leave-one-chromosome-out prediction is "
            "subtracted (quantitative traits) or an offset (binary traits, null model and "
            "Firth fits).</p>"
        )
        if loco.calibrated:
            text += (
                "<p>Each chromosome's statistics are divided by the relatedness factor "
                "r'&Phi;r / r'r of the residual tested (&Phi; from the KING kinship of the "
                "pairs in kinship.tsv): LOCO predictions fitted out of sample over-correct "
                "relatives.</p>"
            )
        if loco.messages:
            text += "".join(f"<p><b>{html.escape(m)}</b></p>" for m in loco.messages)
    return f"<section><h2>Whole-genome regression (LOCO)</h2>{text}</section>"


__all__ = ["loco_section", "relatedness_section"]
