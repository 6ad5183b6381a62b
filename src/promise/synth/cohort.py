"""``write_cohort``: the synthetic landing folder and its ``truth.json``.

Persons are drawn and written in chunks of fixed size, each chunk with generators derived
from the seed and the chunk number, so the bytes depend only on the arguments and memory
does not grow with the cohort. A first pass over the same chunks (base attributes and
histories only) counts who could give a biobank sample, so that exactly ``genotyped``
persons can be picked at random before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from promise.errors import PromiseError
from promise.settings import test_numbers_dir
from promise.synth import layouts
from promise.synth.chunk import Context, Genotyped, simulate_chunk, streams, write_chunk
from promise.synth.endpoints import Tally
from promise.synth.families import People, build_pedigree
from promise.synth.genotypes import layout, write_genotypes
from promise.synth.identities import (
    SOURCE_COORD,
    SOURCE_GENERATED,
    SOURCE_PIN,
    Pool,
    SerialCounter,
    load_test_numbers,
    make_pool,
)
from promise.synth.inheritance import coordinates
from promise.synth.malformed import KINDS
from promise.synth.omics import eligible_window
from promise.synth.population import Persons, delivery_reference, draw_persons
from promise.synth.relatedness import draw_inheritance, relatedness_truth
from promise.synth.sasfiles import rewrite_registers
from promise.synth.truth import assemble
from promise.synth.writers import Sinks

CHUNK_PERSONS = 20_000


class SynthError(PromiseError):
    """Arguments that cannot make a cohort."""


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(10**6, *key)))
    )


class Identities:
    """Fresh identity pools for one pass over the chunks (same order on every pass)."""

    def __init__(self, seed: int, folder: Path) -> None:
        ref = delivery_reference()
        pins = load_test_numbers(folder / "allPins.json", reference=ref)
        coords = load_test_numbers(folder / "allCoords.json", reference=ref)
        self.pins: Pool = make_pool(pins, _rng(seed, 1))
        self.coords: Pool = make_pool(coords, _rng(seed, 2))
        self.serials = SerialCounter({n[:11] for n, _, _ in (*pins, *coords)})

    def draw(self, index: np.ndarray, rng: np.random.Generator) -> Persons:
        """A chunk of persons."""
        return draw_persons(index, rng, self.pins, self.coords, self.serials)


def _chunks(persons: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + CHUNK_PERSONS, persons)) for s in range(0, persons, CHUNK_PERSONS)]


def _select_genotyped(
    seed: int, persons: int, genotyped: int, numbers_dir: Path
) -> tuple[list[np.ndarray], People]:
    """Per chunk, a mask of persons chosen for genotyping among those eligible; and the
    chosen persons' attributes (for the families built among them)."""
    ids = Identities(seed, numbers_dir)
    eligible: list[np.ndarray] = []
    seen: list[People] = []
    for k, index in enumerate(_chunks(persons)):
        rng = streams(seed, k)
        p = ids.draw(index, rng["base"])
        h = simulate_chunk(p, rng)
        lo, hi = eligible_window(p, h.exit)
        eligible.append(lo < hi)
        seen.append(_people(p, h.exit, lo < hi))
    total = int(sum(int(e.sum()) for e in eligible))
    if genotyped > total:
        raise SynthError(
            f"only {total} persons can give a sample: ask for at most {total} genotyped or more persons"
        )
    ranks = np.sort(_rng(seed, 3).choice(total, size=genotyped, replace=False))
    masks, offset, chosen_people = [], 0, []
    for e, people in zip(eligible, seen, strict=True):
        chosen = np.zeros(e.size, dtype=bool)
        where = np.flatnonzero(e)
        local = ranks[(ranks >= offset) & (ranks < offset + where.size)] - offset
        chosen[where[local]] = True
        masks.append(chosen)
        chosen_people.append(_subset(people, local))
        offset += where.size
    return masks, _concat(chosen_people)


def _people(p: Persons, exit_day: np.ndarray, keep: np.ndarray) -> People:
    rows = np.flatnonzero(keep)
    return People(
        index=p.index[rows], number=[p.normalized[i] for i in rows.tolist()],
        birth=p.birth[rows], sex=p.sex[rows], ancestry=p.ancestry[rows],
        exit=exit_day[rows], native=~p.foreign[rows],
    )  # fmt: skip


def _subset(people: People, rows: np.ndarray) -> People:
    rows = np.sort(rows)
    return People(
        index=people.index[rows], number=[people.number[i] for i in rows.tolist()],
        birth=people.birth[rows], sex=people.sex[rows], ancestry=people.ancestry[rows],
        exit=people.exit[rows], native=people.native[rows],
    )  # fmt: skip


def _concat(parts: list[People]) -> People:
    return People(
        index=np.concatenate([x.index for x in parts]) if parts else np.empty(0, np.int64),
        number=[n for x in parts for n in x.number],
        **{
            name: np.concatenate([getattr(x, name) for x in parts]) if parts else np.empty(0)
            for name in ("birth", "sex", "ancestry", "exit", "native")
        },
    )


def write_cohort(
    out: Path,
    *,
    persons: int,
    variants: int,
    seed: int,
    genotyped: int | None = None,
    sources: Collection[str] | None = None,
    numbers_dir: Path | None = None,
    file_format: str = "text",
) -> dict[str, Any]:
    """Write a synthetic landing folder under ``out`` and return ``truth.json``'s content.

    Parameters
    ----------
    persons, variants, seed:
        Cohort size, number of genotyped variants, and the seed that fixes every byte.
    genotyped:
        Persons in the genotyped subset (default a third of the cohort); they are drawn
        among those who could give a biobank sample.
    sources:
        Landing sources to write (default all); omics and genotypes need ``biobank``.
    numbers_dir:
        Folder holding Skatteverket's ``allPins.json`` and ``allCoords.json`` (default the
        copy shipped with the package, or ``$PROMISE_REFERENCE_DIR/personnummer``).
    file_format:
        ``text`` (the registers as delimited files), ``sas`` (``.sas7bdat``) or ``stata``
        (``.dta``), written with Debian's ``readstat`` (:mod:`promise.synth.sasfiles`).
    """
    if file_format not in ("text", "sas", "stata"):
        raise SynthError(f"--format {file_format} is not one of text, sas, stata")
    if persons < 1 or variants < 0 or seed < 0:
        raise SynthError("--persons must be at least 1, and --variants and --seed not negative")
    wanted = frozenset(sources or layouts.SOURCES)
    unknown = wanted - set(layouts.SOURCES)
    if unknown:
        raise SynthError(
            f"unknown sources {sorted(unknown)}: choose from {', '.join(layouts.SOURCES)}"
        )
    ref_dir = numbers_dir or test_numbers_dir()
    with_genotypes = "genotypes" in wanted and variants > 0
    n_genotyped = (persons // 3 if genotyped is None else genotyped) if "biobank" in wanted else 0
    out.mkdir(parents=True, exist_ok=True)
    masks, chosen = (
        _select_genotyped(seed, persons, n_genotyped, ref_dir) if n_genotyped else (None, None)
    )
    specs = [
        spec
        for name, group in {**layouts.REGISTERS, **layouts.OMICS}.items()
        if name in wanted
        for spec in group
    ]
    ids = Identities(seed, ref_dir)
    parent_serials = SerialCounter(ids.serials.reserved, from_end=True)
    pedigree = build_pedigree(chosen, parent_serials, _rng(seed, 6)) if chosen else None
    counts = dict.fromkeys((SOURCE_PIN, SOURCE_COORD, SOURCE_GENERATED), 0)
    with Sinks(out, specs) as sinks:
        ctx = Context(
            sinks=sinks, tally=Tally(), genotyped=Genotyped(), sources=wanted,
            parent_serials=parent_serials, pedigree=pedigree,
        )  # fmt: skip
        for k, index in enumerate(_chunks(persons)):
            rng = streams(seed, k)
            p = ids.draw(index, rng["base"])
            h = simulate_chunk(p, rng)
            selected = masks[k] if masks is not None else np.zeros(p.size, dtype=bool)
            write_chunk(ctx, p, h, selected, rng)
            for source in counts:
                counts[source] += int((p.source == source).sum())
    files = sinks.truth()
    if file_format != "text":
        registers = [s for name, g in layouts.REGISTERS.items() if name in wanted for s in g]
        files = rewrite_registers(out, files, registers, file_format)
    relatedness = None
    if with_genotypes and ctx.genotyped.id and pedigree is not None:
        g = ctx.genotyped
        if g.index != pedigree.people.index.tolist():  # both list the genotyped in person order
            raise AssertionError("the genotyped of the two passes differ")
        lay = layout(variants, _rng(seed, 4))
        coords = coordinates(lay.chrom, lay.pos)
        inheritance = draw_inheritance(pedigree, coords, _rng(seed, 7))
        relatedness = relatedness_truth(pedigree, inheritance, coords)
        rows = write_genotypes(
            out,
            lay,
            {
                "id": g.id,
                "batch": np.array(g.batch),
                "sex": np.array(g.sex),
                "causal": np.array(g.causal),
            },
            inheritance,
            pedigree.swaps,
            _rng(seed, 5),
        )
        for path, samples in rows.items():
            files[path] = {
                "rows": int(lay.chrom.size),
                "samples": samples,
                "encoding": "binary",
                "malformed": dict.fromkeys(KINDS, 0),
            }
    truth = assemble(
        seed=seed, persons=persons, variants=variants if with_genotypes else 0, identities=counts,
        files=files, genotyped=ctx.genotyped if with_genotypes else Genotyped(), tally=ctx.tally,
        relatedness=relatedness,
    )  # fmt: skip
    (out / "delivery.yml").write_text(
        f"delivery_date: {truth['delivery_date']}\n", encoding="utf-8"
    )
    (out / "truth.json").write_text(
        json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return truth
