"""A small synthetic genotype set written as a VCF, with phenotype and covariate files.

No missing calls, so that PLINK 2 (which drops samples with a missing genotype per
variant) and promise (which mean-imputes them) fit exactly the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SyntheticSet:
    vcf: Path
    pheno: Path
    covar: Path
    causal_quantitative: int
    causal_binary: int


def write_synthetic(
    out: Path, *, samples: int = 400, variants: int = 120, seed: int = 3
) -> SyntheticSet:
    """Genotypes from Hardy-Weinberg at random frequencies; Yq linear, Yb logistic (1/2 coded)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    freqs = rng.uniform(0.05, 0.5, variants)
    geno = rng.binomial(2, freqs, size=(samples, variants))
    ids = [f"S{i:04d}" for i in range(samples)]
    c1, c2 = rng.normal(size=samples), rng.normal(50, 10, size=samples)
    sex = rng.integers(0, 2, samples)
    yq = 0.4 * geno[:, 10] + 0.3 * c1 + 0.02 * c2 + rng.normal(size=samples)
    logit = -0.5 + 0.8 * geno[:, 20] + 0.4 * c1 + 0.3 * sex
    yb = rng.random(samples) < 1 / (1 + np.exp(-logit))
    vcf = out / "synthetic.vcf"
    gt = {0: "0/0", 1: "0/1", 2: "1/1"}
    bases = "ACGT"
    with vcf.open("w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n")
        for j in range(variants):
            ref = bases[j % 4]
            alt = (
                bases[(j + 1 + j // 4) % 4]
                if bases[(j + 1 + j // 4) % 4] != ref
                else bases[(j + 2) % 4]
            )
            calls = "\t".join(gt[int(g)] for g in geno[:, j])
            fh.write(f"chr1\t{1000 + 1000 * j}\tv{j}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}\n")
    pheno = out / "pheno.txt"
    pheno.write_text(
        "#IID\tYq\tYb\n"
        + "".join(f"{s}\t{q:.6f}\t{2 if b else 1}\n" for s, q, b in zip(ids, yq, yb, strict=True))
    )
    covar = out / "covar.txt"
    covar.write_text(
        "#IID\tC1\tC2\tSEX\n"
        + "".join(
            f"{s}\t{a:.6f}\t{b:.6f}\t{x}\n" for s, a, b, x in zip(ids, c1, c2, sex, strict=True)
        )
    )
    return SyntheticSet(vcf=vcf, pheno=pheno, covar=covar, causal_quantitative=10, causal_binary=20)


def write_bfile(prefix: Path, geno: np.ndarray) -> None:
    """PLINK 1 files from a samples x variants matrix of A1 counts (-1 = missing call)."""
    samples, variants = geno.shape
    ids = [f"S{i:04d}" for i in range(samples)]
    prefix.with_suffix(".fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    prefix.with_suffix(".bim").write_text(
        "".join(f"1\tv{j}\t0\t{1000 + 10 * j}\tA\tG\n" for j in range(variants))
    )
    code = {2: 0b00, -1: 0b01, 1: 0b10, 0: 0b11}  # the .bed encoding, written out by hand
    per = (samples + 3) // 4
    body = bytearray()
    for j in range(variants):
        packed = [0] * per
        for i in range(samples):
            packed[i // 4] |= code[int(geno[i, j])] << (2 * (i % 4))
        body += bytes(packed)
    prefix.with_suffix(".bed").write_bytes(bytes([0x6C, 0x1B, 0x01]) + bytes(body))
