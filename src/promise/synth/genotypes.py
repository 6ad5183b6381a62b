"""Genotypes of the genotyped subset: bgzipped VCF (batch 1) and PLINK bed/bim/fam (batch 2).

Balding-Nichols model: each variant has an ancestral frequency ``p ~ U(0.05, 0.5)`` and
ancestry frequencies ``Beta(p(1-F)/F, (1-p)(1-F)/F)`` with ``F`` = Fst; unrelated people's
haplotypes are Bernoulli in their ancestry's frequency, family members' are inherited
(:mod:`promise.synth.inheritance`), with a few missing calls. Causal variants carry the
genotypes drawn for each person in the person pass. Variants are written in position
order, in chunks, so memory grows with the number of samples times the chunk only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from promise.synth.bgzf import BgzfWriter
from promise.synth.genetics import causal_variants
from promise.synth.inheritance import CHROM_LENGTHS, OFFSETS, Inheritance
from promise.synth.model import model

BASES = np.array(list("ACGT"))
CHUNK = 1000
VCF_GT = np.array(
    [[46, 47, 46, 9], [48, 47, 48, 9], [48, 47, 49, 9], [49, 47, 49, 9]], dtype=np.uint8
)
BED_CODE = np.array([1, 3, 2, 0], dtype=np.uint8)  # missing, 0, 1, 2 copies of A1 (= alt)


@dataclass
class Layout:
    """Variants in genome order; ``causal`` maps a row to its causal-variant column (or -1)."""

    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    freq: np.ndarray  # (variants, 2) alt-allele frequency in ancestries A and B
    causal: np.ndarray

    def variant_ids(self, rows: slice) -> list[str]:
        """``chrN:pos:ref:alt`` ids of a slice of rows."""
        return [
            f"chr{c}:{p}:{r}:{a}"
            for c, p, r, a in zip(
                self.chrom[rows].tolist(),
                self.pos[rows].tolist(),
                self.ref[rows].tolist(),
                self.alt[rows].tolist(),
                strict=True,
            )
        ]


def layout(variants: int, rng: np.random.Generator) -> Layout:
    """Positions, alleles and frequencies of ``variants`` variants including the causal ones."""
    causal = causal_variants()
    if variants < len(causal) + 22:
        raise ValueError(f"--variants must be at least {len(causal) + 22}")
    lengths = np.array(CHROM_LENGTHS, dtype=np.float64)
    counts = rng.multinomial(variants - len(causal), lengths / lengths.sum())
    chrom = np.repeat(np.arange(1, 23), counts)
    pos = _positions(counts, rng)
    fst = float(model()["ancestry"]["fst"])
    p = rng.uniform(0.05, 0.5, chrom.size)
    a, b = p * (1 - fst) / fst, (1 - p) * (1 - fst) / fst
    freq = np.clip(np.column_stack([rng.beta(a, b), rng.beta(a, b)]), 0.005, 0.995)
    pair = rng.permuted(np.tile(np.arange(4), (chrom.size, 1)), axis=1)[:, :2]
    ref, alt = BASES[pair[:, 0]], BASES[pair[:, 1]]
    chrom = np.concatenate([chrom, [c.chrom for c in causal]])
    pos = np.concatenate([pos, [c.pos for c in causal]])
    ref = np.concatenate([ref, [c.ref for c in causal]])
    alt = np.concatenate([alt, [c.alt for c in causal]])
    freq = np.vstack([freq, [c.freq for c in causal]])
    col = np.concatenate([np.full(variants - len(causal), -1), np.arange(len(causal))])
    clash = np.isin(chrom * 10**10 + pos, [c.chrom * 10**10 + c.pos for c in causal]) & (col < 0)
    pos = np.where(clash, pos + 1, pos)
    order = np.lexsort((pos, chrom))
    return Layout(chrom[order], pos[order], ref[order], alt[order], freq[order], col[order])


def _positions(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = []
    for length, count in zip(CHROM_LENGTHS, counts.tolist(), strict=True):
        span = length - 20_000
        picks = np.unique(rng.integers(10_000, 10_000 + span, size=count))
        while picks.size < count:
            picks = np.unique(
                np.concatenate(
                    [picks, rng.integers(10_000, 10_000 + span, size=count - picks.size)]
                )
            )
        out.append(np.sort(picks))
    return np.concatenate(out)


def genotype_chunk(
    lay: Layout,
    rows: slice,
    inheritance: Inheritance,
    causal: np.ndarray,
    swaps: list[tuple[int, int]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Alt-allele counts (int8, -1 = missing) for a slice of variants x all samples:
    inherited through the pedigree, a few calls missing, the planted causal variants as drawn
    for each person, and the swapped samples' columns exchanged."""
    coords = OFFSETS[lay.chrom[rows] - 1] + lay.pos[rows]
    g = inheritance.genotypes(lay.freq[rows], coords, rng)
    g[rng.random(g.shape) < float(model()["ancestry"]["missing_call_rate"])] = -1
    col = lay.causal[rows]
    for r in np.flatnonzero(col >= 0).tolist():
        g[r] = causal[:, col[r]]
    for a, b in swaps:
        g[:, [a, b]] = g[:, [b, a]]
    return g


def vcf_header(sample_names: list[str]) -> bytes:
    """VCF 4.2 header with GRCh38 contigs and a GT format line."""
    lines = ["##fileformat=VCFv4.2", "##source=promise synth", "##reference=GRCh38"]
    lines += [
        f"##contig=<ID=chr{i + 1},length={n},assembly=GRCh38>" for i, n in enumerate(CHROM_LENGTHS)
    ]
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    lines.append(
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *sample_names]
        )
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def vcf_records(lay: Layout, rows: slice, g: np.ndarray) -> bytes:
    """VCF data lines for a chunk of variants."""
    cells = VCF_GT[g.astype(np.int64) + 1]
    cells[:, -1, 3] = 10
    ids = lay.variant_ids(rows)
    chrom, pos = lay.chrom[rows].tolist(), lay.pos[rows].tolist()
    ref, alt = lay.ref[rows].tolist(), lay.alt[rows].tolist()
    parts = []
    for k in range(g.shape[0]):
        parts.append(
            f"chr{chrom[k]}\t{pos[k]}\t{ids[k]}\t{ref[k]}\t{alt[k]}\t.\tPASS\t.\tGT\t".encode()
        )
        parts.append(cells[k].tobytes())
    return b"".join(parts)


def bed_records(g: np.ndarray) -> bytes:
    """PLINK 1 variant-major .bed bytes for a chunk (A1 = alt)."""
    n = g.shape[1]
    padded = np.zeros((g.shape[0], (n + 3) // 4 * 4), dtype=np.uint8)
    padded[:, :n] = BED_CODE[g.astype(np.int64) + 1]
    q = padded.reshape(g.shape[0], -1, 4)
    packed = q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)
    return bytes(packed.astype(np.uint8).tobytes())


def write_genotypes(
    out: Path,
    lay: Layout,
    samples: dict[str, np.ndarray | list[str]],
    inheritance: Inheritance,
    swaps: list[tuple[int, int]],
    rng: np.random.Generator,
) -> dict[str, int]:
    """Write batch1.vcf.bgz and batch2.bed/.bim/.fam; returns the samples in each batch's main file."""
    folder = out / "genotypes"
    folder.mkdir(parents=True, exist_ok=True)
    batch = np.asarray(samples["batch"])
    causal = np.asarray(samples["causal"])
    ids = list(samples["id"])
    sex = np.asarray(samples["sex"])
    one, two = np.flatnonzero(batch == 1), np.flatnonzero(batch == 2)
    total = lay.chrom.size
    with (
        BgzfWriter(folder / "batch1.vcf.bgz") as vcf,
        (folder / "batch2.bed").open("wb") as bed,
        (folder / "batch2.bim").open("w", encoding="utf-8") as bim,
    ):
        vcf.write(vcf_header([ids[i] for i in one.tolist()]))
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        for start in range(0, total, CHUNK):
            rows = slice(start, min(start + CHUNK, total))
            g = genotype_chunk(lay, rows, inheritance, causal, swaps, rng)
            if one.size:
                vcf.write(vcf_records(lay, rows, g[:, one]))
            bed.write(bed_records(g[:, two]))
            vids = lay.variant_ids(rows)
            bim.write("".join(
                f"{c}\t{v}\t0\t{p}\t{a}\t{r}\n"
                for c, v, p, a, r in zip(lay.chrom[rows].tolist(), vids, lay.pos[rows].tolist(), lay.alt[rows].tolist(), lay.ref[rows].tolist(), strict=True)
            ))  # fmt: skip
    with (folder / "batch2.fam").open("w", encoding="utf-8") as fam:
        fam.write("".join(f"{ids[i]} {ids[i]} 0 0 {sex[i] + 1} -9\n" for i in two.tolist()))
    return {"genotypes/batch1.vcf.bgz": int(one.size), "genotypes/batch2.bed": int(two.size)}
