"""One chunk of persons from draw to written lines, for every landing source."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from promise.synth import layouts
from promise.synth.calendar import yyyymmdd
from promise.synth.deaths import format_cancers, format_deaths
from promise.synth.diseases import Histories, simulate
from promise.synth.drugs import dispensings, format_lmed
from promise.synth.endpoints import Tally
from promise.synth.events import Forms
from promise.synth.families import Pedigree
from promise.synth.identities import SerialCounter, has_turned_100, written_form_table
from promise.synth.model import codes
from promise.synth.multigen import multigen_lines
from promise.synth.omics import biobank_lines, draw_samples, nmr_lines, olink_lines
from promise.synth.population import NEVER, Persons, delivery_reference
from promise.synth.registers import diagnos_cutoff, format_npr, inpatient_events, outpatient_events
from promise.synth.writers import Sinks

# appended, never reordered: a stream's seed is its position
STREAMS = (
    "base",
    "disease",
    "npr",
    "drugs",
    "deaths",
    "omics",
    "defects",
    "forms",
    "pick",
    "family",
)


def streams(seed: int, chunk: int) -> dict[str, np.random.Generator]:
    """Independent generators per part of a chunk, derived from the seed."""
    return {
        name: np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk, i)))
        )
        for i, name in enumerate(STREAMS)
    }


@dataclass
class Genotyped:
    """What the genotype writer needs about the genotyped persons, gathered across chunks."""

    id: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # global person index
    batch: list[int] = field(default_factory=list)
    ancestry: list[int] = field(default_factory=list)
    sex: list[int] = field(default_factory=list)
    causal: list[np.ndarray] = field(default_factory=list)


@dataclass
class Context:
    """State carried across chunks."""

    sinks: Sinks
    tally: Tally
    genotyped: Genotyped
    sources: frozenset[str]
    parent_serials: SerialCounter
    pedigree: Pedigree | None = None
    plates: int = 0


def forms_of(p: Persons) -> Forms:
    """Written forms of every person's number."""
    return Forms(written_form_table(p.normalized, has_turned_100(p.birth, delivery_reference())))


def write_chunk(
    ctx: Context,
    p: Persons,
    h: Histories,
    selected: np.ndarray,
    rng: dict[str, np.random.Generator],
) -> None:
    """Write every source's lines for one chunk and tally endpoints."""
    forms = forms_of(p)
    ctx.tally.start(p.size)
    defects = rng["defects"]
    if "population" in ctx.sources:
        ctx.sinks[layouts.POPULATION.path].write(_population(p, forms, rng["forms"]), defects)
    if "migration" in ctx.sources:
        ctx.sinks[layouts.MIGRATION.path].write(_migration(p, h, forms, rng["forms"]), defects)
    if "npr_inpatient" in ctx.sources:
        ev = inpatient_events(p, h, rng["npr"])
        _, days, _ = ev.arrays()
        for spec, sel in (
            (layouts.INPATIENT_DIAGNOS, days < diagnos_cutoff()),
            (layouts.INPATIENT, days >= diagnos_cutoff()),
        ):
            rec = format_npr(
                p,
                h,
                ev,
                forms,
                rng["npr"],
                inpatient=True,
                diagnos=spec is layouts.INPATIENT_DIAGNOS,
                select=sel,
            )
            keep = ctx.sinks[spec.path].write(rec.lines, defects)
            ctx.tally.coded(
                "hd",
                rec.rows[keep],
                rec.days[keep],
                [c for c, k in zip(rec.codes, keep, strict=True) if k],
            )
    if "npr_outpatient" in ctx.sources:
        ev = outpatient_events(p, h, rng["npr"])
        rec = format_npr(
            p,
            h,
            ev,
            forms,
            rng["npr"],
            inpatient=False,
            diagnos=False,
            select=np.ones(len(ev.main), bool),
        )
        keep = ctx.sinks[layouts.OUTPATIENT.path].write(rec.lines, defects)
        ctx.tally.coded(
            "hd",
            rec.rows[keep],
            rec.days[keep],
            [c for c, k in zip(rec.codes, keep, strict=True) if k],
        )
    if "lmed" in ctx.sources:
        _lmed(ctx, p, h, forms, rng)
    if "dors" in ctx.sources:
        dead = format_deaths(p, h, forms, rng["deaths"])
        keep = ctx.sinks[layouts.DORS.path].write(dead.lines, defects)
        ctx.tally.coded(
            "cod",
            dead.rows[keep],
            dead.days[keep],
            [c for c, k in zip(dead.codes, keep, strict=True) if k],
        )
    if "cancer" in ctx.sources:
        canc = format_cancers(p, h, forms, rng["deaths"])
        keep = ctx.sinks[layouts.CANCER.path].write(canc.lines, defects)
        ctx.tally.cancers(
            canc.rows[keep], [c[0] for c, k in zip(canc.codes, keep, strict=True) if k]
        )
    ctx.tally.finish(p.sex)
    if "biobank" in ctx.sources:
        _omics(ctx, p, h, selected, forms, rng)
    if "multigen" in ctx.sources:  # last, with its own stream: the other files stay as they were
        lines = multigen_lines(p, forms, ctx.pedigree, ctx.parent_serials, rng["family"])
        ctx.sinks[layouts.MULTIGEN.path].write(lines, rng["family"])


def _lmed(
    ctx: Context, p: Persons, h: Histories, forms: Forms, rng: dict[str, np.random.Generator]
) -> None:
    lines, rows, atcs = format_lmed(p, h, dispensings(p, h, rng["drugs"]), forms, rng["drugs"])
    late = np.array([int(line.rsplit(";", 1)[1]) >= 2016 for line in lines], dtype=bool)
    for spec, sel in ((layouts.LMED_EARLY, ~late), (layouts.LMED_LATE, late)):
        idx = np.flatnonzero(sel)
        keep = ctx.sinks[spec.path].write([lines[i] for i in idx.tolist()], rng["defects"])
        ctx.tally.drugs(rows[idx[keep]], [atcs[i] for i in idx[keep].tolist()])


def _population(p: Persons, forms: Forms, rng: np.random.Generator) -> list[str]:
    c = codes()
    pnr = forms.draw(np.arange(p.size), (0.8, 0.15, 0.05), rng)
    weights = np.asarray(c["county_weights"], dtype=np.float64)
    county = rng.choice(len(c["counties"]), size=p.size, p=weights / weights.sum())
    out = []
    for i in range(p.size):
        if p.foreign[i]:
            land, lan = (
                c["countries"]["AB"[p.ancestry[i]]][
                    p.country[i] % len(c["countries"]["AB"[p.ancestry[i]]])
                ],
                "",
            )
        else:
            land, lan = c["native_country"], c["counties"][county[i]]
        out.append(f"{pnr[i]};{p.sex[i] + 1};{land};{lan};{int(p.reused[i])}")
    return out


def _migration(p: Persons, h: Histories, forms: Forms, rng: np.random.Generator) -> list[str]:
    c = codes()
    inv = np.flatnonzero(p.immigration < NEVER)
    utv = np.flatnonzero((p.emigration < NEVER) & (p.emigration == h.exit))
    rows = np.concatenate([inv, utv])
    days = np.concatenate([p.immigration[inv], p.emigration[utv]])
    kind = ["Inv"] * inv.size + ["Utv"] * utv.size
    pnr = forms.draw(rows, (0.7, 0.2, 0.1), rng)
    dates = yyyymmdd(days).tolist()
    out = []
    for j, i in enumerate(rows.tolist()):
        names = c["countries"]["AB"[p.ancestry[i]]]
        land = (
            names[p.country[i] % len(names)]
            if p.foreign[i]
            else names[int(rng.integers(0, len(names)))]
        )
        out.append(f"{pnr[j]};{kind[j]};{dates[j]};{land}")
    return out


def _omics(
    ctx: Context,
    p: Persons,
    h: Histories,
    selected: np.ndarray,
    forms: Forms,
    rng: dict[str, np.random.Generator],
) -> None:
    r = rng["omics"]
    s = draw_samples(p, h.exit, selected, r)
    ctx.sinks[layouts.BIOBANK.path].write(biobank_lines(p, s, forms, r), rng["defects"])
    is_gt = selected[s.rows]
    olink = np.flatnonzero(is_gt | (r.random(s.rows.size) < 0.8))
    plates = [f"SYN{(ctx.plates + j) // 88 + 1:05d}" for j in range(olink.size)]
    ctx.plates += olink.size
    ctx.sinks[layouts.OLINK.path].write(olink_lines(p, s, olink, plates, r), rng["defects"])
    nmr = np.flatnonzero(is_gt | (r.random(s.rows.size) < 0.85))
    ctx.sinks[layouts.NMR.path].write(nmr_lines(p, h, s, nmr, r), rng["defects"])
    gt = np.flatnonzero(is_gt)
    batch = np.where(r.random(gt.size) < 0.5, 1, 2)
    vcf_form = forms.draw(s.rows[gt], (0.5, 0.3, 0.2), r)
    for j, i in enumerate(gt.tolist()):
        person = s.rows[i]
        ctx.genotyped.id.append(vcf_form[j] if batch[j] == 1 else s.first_id[i])
        ctx.genotyped.index.append(int(p.index[person]))
        ctx.genotyped.batch.append(int(batch[j]))
        ctx.genotyped.ancestry.append(int(p.ancestry[person]))
        ctx.genotyped.sex.append(int(p.sex[person]))
        ctx.genotyped.causal.append(p.causal[person])


def simulate_chunk(p: Persons, rng: dict[str, np.random.Generator]) -> Histories:
    """Disease histories of a chunk (own stream, so the pre-pass sees the same)."""
    return simulate(p, rng["disease"])
