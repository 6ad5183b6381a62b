"""Biobank sample manifest, Olink NPX (long, decimal comma) and NMR metabolomics (wide).

Participants are sampled while alive, resident and aged 20-79 between 2000 and 2020; the
genotyped subset always takes part. Omics are measured on a person's first sample. LDL_C
(NMR) and PCSK9 (Olink) carry the planted genetic effects; glucose is higher after a
diabetes diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from promise.synth.calendar import DAYS_PER_YEAR, day_of, iso_text
from promise.synth.diseases import Histories
from promise.synth.events import Forms
from promise.synth.genetics import quantitative
from promise.synth.model import model
from promise.synth.population import NEVER, Persons

# Olink assays besides PCSK9: (OlinkID, UniProt, Assay, mean NPX, LOD)
ASSAYS = (
    ("OID20101", "P05231", "IL6", 3.1, 2.2),
    ("OID20102", "P01375", "TNF", 2.4, 1.9),
    ("OID20103", "P02741", "CRP", 8.5, 1.0),
    ("OID20104", "P10145", "CXCL8", 4.0, 2.9),
    ("OID20105", "Q99988", "GDF15", 6.2, 1.2),
    ("OID20106", "P16860", "NPPB", 2.0, 1.6),
    ("OID20107", "P04114", "APOB", 7.0, 0.8),
    ("OID20108", "P02649", "APOE", 6.6, 0.9),
    ("OID20109", "P01130", "LDLR", 4.3, 1.5),
    ("OID20110", "P14780", "MMP9", 9.1, 1.1),
    ("OID20111", "P08253", "MMP2", 5.0, 1.3),
    ("OID20112", "P05121", "SERPINE1", 5.8, 1.0),
    ("OID20113", "Q16552", "IL17A", 1.2, 1.1),
)
NMR_MEASURES = ("Total_C", "LDL_C", "HDL_C", "ApoB", "Total_TG", "Glucose", "GlycA")
SAMPLE_TYPES = ("Plasma", "Serum", "Helblod")


def sample_id(key: np.ndarray) -> list[str]:
    """Biobank sample ids from unique integer keys (a fixed bijection, so ids look scattered)."""
    return [f"BB{v:08d}" for v in ((key * 7919 + 104729) % 100_000_000).tolist()]


@dataclass
class Samples:
    """Biobank participants of one chunk: first (and optional second) sample."""

    rows: np.ndarray  # person rows of participants
    first_day: np.ndarray
    first_id: list[str]
    second_day: np.ndarray  # NEVER if none
    second_id: list[str]


def eligible_window(p: Persons, exit_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last day each person could give a sample (empty when ``lo >= hi``)."""
    spec = model()["biobank"]
    w0, w1 = (day_of(x) for x in spec["sampling_window"])
    a0, a1 = spec["age_range"]
    lo = np.maximum(np.maximum(p.entry, w0), p.birth + int(a0 * DAYS_PER_YEAR))
    hi = np.minimum(np.minimum(exit_day - 1, w1), p.birth + int((a1 + 1) * DAYS_PER_YEAR))
    return lo, hi


def draw_samples(
    p: Persons, exit_day: np.ndarray, genotyped: np.ndarray, rng: np.random.Generator
) -> Samples:
    """Who gives samples, and when."""
    spec = model()["biobank"]
    lo, hi = eligible_window(p, exit_day)
    eligible = lo < hi
    takes_part = eligible & (genotyped | (rng.random(p.size) < spec["participation"]))
    rows = np.flatnonzero(takes_part)
    first = lo[rows] + (rng.random(rows.size) * (hi[rows] - lo[rows])).astype(np.int64)
    second = first + 30 + (rng.random(rows.size) * (hi[rows] - first)).astype(np.int64)
    second = np.where(
        (rng.random(rows.size) < spec["second_sample_share"]) & (second < hi[rows]), second, NEVER
    )
    keys = p.index[rows] * 2
    return Samples(rows, first, sample_id(keys), second, sample_id(keys + 1))


def biobank_lines(p: Persons, s: Samples, forms: Forms, rng: np.random.Generator) -> list[str]:
    """``SampleID,PersonNr,SamplingDate,SampleType`` lines, first and second samples."""
    pnr = forms.draw(s.rows, (0.5, 0.3, 0.2), rng)
    kind = rng.integers(0, len(SAMPLE_TYPES), s.rows.size)
    days = iso_text(s.first_day)
    lines = [
        f"{sid},{pnr[i]},{days[i]},{SAMPLE_TYPES[kind[i]]}" for i, sid in enumerate(s.first_id)
    ]
    two = np.flatnonzero(s.second_day < NEVER)
    later = iso_text(s.second_day[two])
    for j, i in enumerate(two.tolist()):
        lines.append(f"{s.second_id[i]},{pnr[i]},{later[j]},{SAMPLE_TYPES[kind[i]]}")
    return lines


def trait_values(p: Persons, s: Samples, trait: str, rng: np.random.Generator) -> np.ndarray:
    """A planted quantitative trait at each participant's first sample."""
    age = (s.first_day - p.birth[s.rows]) / DAYS_PER_YEAR
    r = s.rows
    return quantitative(
        trait, p.causal[r], p.ancestry[r], p.sex[r], age, rng.standard_normal(r.size)
    )


def _num(value: float, comma: bool) -> str:
    text = f"{value:.4f}"
    return text.replace(".", ",") if comma else text


def olink_lines(
    p: Persons, s: Samples, measured: np.ndarray, plate_of: list[str], rng: np.random.Generator
) -> list[str]:
    """NPX long format for the ``measured`` participants (index into ``s``)."""
    spec = model()["genetics"]["PCSK9"]
    pcsk9 = trait_values(p, s, "PCSK9", rng)
    noise = rng.standard_normal((s.rows.size, len(ASSAYS)))
    warn = rng.random(s.rows.size) < 0.02
    lod_noise = rng.normal(0.0, 0.1, len(ASSAYS) + 1)
    lines: list[str] = []
    for j, i in enumerate(measured.tolist()):
        qc = "WARN" if warn[i] else "PASS"
        head = f"{s.first_id[i]};"
        plate = plate_of[j]
        lines.append(
            f"{head}{spec['olink_id']};{spec['uniprot']};PCSK9;{spec['panel']};{plate};{qc};"
            f"{_num(1.5 + lod_noise[-1], True)};{_num(pcsk9[i], True)}"
        )
        for k, (oid, uni, assay, mean, lod) in enumerate(ASSAYS):
            npx = mean + 0.9 * noise[i, k]
            lines.append(
                f"{head}{oid};{uni};{assay};{spec['panel']};{plate};{qc};"
                f"{_num(lod + lod_noise[k], True)};{_num(npx, True)}"
            )
    return lines


def nmr_lines(
    p: Persons, h: Histories, s: Samples, measured: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """Wide NMR rows (decimal point; empty = missing) for the ``measured`` participants."""
    ldl = trait_values(p, s, "LDL_C", rng)
    n = s.rows.size
    hdl = np.clip(rng.normal(1.45, 0.38, n) + 0.25 * p.sex[s.rows], 0.4, None)
    tg = np.exp(rng.normal(0.2, 0.45, n))
    diabetic = h.t2d[s.rows] < s.first_day
    glucose = np.clip(rng.normal(5.3, 0.6, n) + 2.0 * diabetic, 3.0, None)
    values = np.column_stack([
        ldl + hdl + 0.45 * tg + rng.normal(0.0, 0.1, n), ldl, hdl,
        0.25 + 0.22 * ldl + rng.normal(0.0, 0.05, n), tg, glucose, rng.normal(1.4, 0.2, n),
    ])  # fmt: skip
    missing = rng.random(values.shape) < 0.01
    lines = []
    for i in measured.tolist():
        cells = ["" if missing[i, k] else f"{values[i, k]:.4f}" for k in range(len(NMR_MEASURES))]
        lines.append("\t".join([s.first_id[i], *cells]))
    return lines
