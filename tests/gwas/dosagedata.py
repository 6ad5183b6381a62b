"""A dosage data set with a planted case of every QC filter, written as a VCF of dosages
(FORMAT DS) and converted by PLINK 2 into an 8-bit BGEN v1.2 with its .sample.

Two populations of 300 samples (allele frequencies differ by up to 0.2, so the first PC
separates them), 1,500 common variants on chr1-chr3 whose dosages are the genotype plus
noise for 40% of the calls (most of them then have no hard call within 0.1), and planted:

- 5 samples missing 10% of their dosages (removed by the sample call rate, >= 0.97);
- 20 variants missing 10% of their dosages (removed by the variant call rate, >= 0.95);
- 30 rare variants, 1 to 4 heterozygous carriers and no noise (removed by MAF >= 0.01);
- 10 variants with no heterozygote, half of the samples homozygous for each allele
  (removed by HWE p >= 1e-6);
- 1 variant with 15 dosages of 0.85 (no hard call): MAF 0.0106 from the dosages, kept.

Variant j (id ``v{j}``) is on chromosome 1 + j % 3 at position 10,000 + 2,000 j; the file
lists chr1, then chr2, then chr3.

Samples 597 and 598 share their genotypes (kinship 1/2; their dosages' noise differs), 591
is a child of 590 (kinship 1/4).

No other dosage is missing, so the kept samples have a dosage for every kept variant and
PLINK 2 (which drops a sample with a missing dosage from that variant's model) and promise
(which mean-imputes) fit the same models. Yq depends on variant 100, the population and
the covariate c1; Yb (1/2 coded) on variant 200, the population and c1.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gwas.helpers import plink2

SAMPLES, COMMON = 600, 1500
BAD_SAMPLES = [7, 77, 177, 377, 577]
#: planted relatives (population 1): a duplicate sample and a parent with a child
TWINS, PARENT_CHILD = (597, 598), (590, 591)
MISSING_VARIANTS = list(range(COMMON, COMMON + 20))
RARE_VARIANTS = list(range(COMMON + 20, COMMON + 50))
HWE_VARIANTS = list(range(COMMON + 50, COMMON + 60))
#: 15 samples at dosage 0.85 (no hard call), the others 0: MAF 0.0106 from dosages (kept),
#: 0 from hard calls (would be removed)
DOSAGE_MAF_VARIANT = COMMON + 60


@dataclass(frozen=True)
class DosageSet:
    vcf: Path
    bgen: Path
    sample: Path
    pheno: Path
    covar: Path
    dosages: np.ndarray  # samples x variants, as written to the VCF (NaN missing)


def _genotypes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    pop = np.repeat([0, 1], SAMPLES // 2)
    base = rng.uniform(0.1, 0.5, COMMON)
    shift = rng.uniform(-0.1, 0.1, COMMON)
    freq = np.where(pop[:, None] == 0, base - shift, base + shift)
    common = rng.binomial(2, freq).astype(float)
    common[TWINS[1]] = common[TWINS[0]]  # a duplicate: kinship 1/2
    parent, child = PARENT_CHILD  # one allele from the parent, one from the population
    passed = np.where(common[parent] == 1, rng.integers(0, 2, COMMON), common[parent] // 2)
    common[child] = passed + rng.binomial(1, freq[child])
    missing = rng.binomial(2, 0.3, size=(SAMPLES, len(MISSING_VARIANTS))).astype(float)
    rare = np.zeros((SAMPLES, len(RARE_VARIANTS)))
    for j in range(len(RARE_VARIANTS)):
        rare[rng.choice(SAMPLES, 1 + j % 4, replace=False), j] = 1.0
    hwe = np.zeros((SAMPLES, len(HWE_VARIANTS)))
    for j in range(len(HWE_VARIANTS)):
        hwe[rng.choice(SAMPLES, SAMPLES // 2, replace=False), j] = 2.0
    return np.column_stack([common, missing, rare, hwe, np.zeros(SAMPLES)]), pop


def _dosages(g: np.ndarray, rng: np.random.Generator, exact: bool) -> np.ndarray:
    noisy = rng.random(g.shape) < (0.0 if exact else 0.4)
    noisy[:, [*RARE_VARIANTS, *HWE_VARIANTS, DOSAGE_MAF_VARIANT]] = False
    d = np.clip(np.where(noisy, g + rng.normal(0, 0.25, g.shape), g), 0, 2)
    d = np.round(d, 3)
    if not exact:
        d[rng.choice(SAMPLES, 15, replace=False), DOSAGE_MAF_VARIANT] = 0.85
    for j in MISSING_VARIANTS:
        d[rng.choice(SAMPLES, SAMPLES // 10, replace=False), j] = np.nan
    for i in BAD_SAMPLES:
        d[i, rng.choice(d.shape[1], d.shape[1] // 10, replace=False)] = np.nan
    return d


def write_dosage_set(out: Path, *, seed: int = 11, exact: bool = False) -> DosageSet:
    """The data set of the module docstring under ``out``; ``exact``: every dosage 0, 1, 2
    or missing (no noise, no 0.85 dosages), so its hard calls hold all of it."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    g, pop = _genotypes(rng)
    d = _dosages(g, rng, exact)
    ids = [f"S{i:04d}" for i in range(SAMPLES)]
    vcf = out / "dosages.vcf"
    with vcf.open("w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c in (1, 2, 3):
            fh.write(f"##contig=<ID=chr{c},length=200000000>\n")
        fh.write('##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n")
        for j in sorted(range(d.shape[1]), key=lambda j: (j % 3, j)):  # chromosomes in turn
            chrom, pos = 1 + j % 3, 10_000 + 2_000 * j
            calls = "\t".join("." if np.isnan(x) else f"{x:.3f}" for x in d[:, j])
            fh.write(f"chr{chrom}\t{pos}\tv{j}\tA\tG\t.\tPASS\t.\tDS\t{calls}\n")
    c1 = rng.normal(size=SAMPLES)
    yq = 0.5 * g[:, 100] + 0.8 * pop + 0.3 * c1 + rng.normal(size=SAMPLES)
    logit = -0.5 + 0.7 * g[:, 200] + 0.8 * pop + 0.3 * c1
    yb = rng.random(SAMPLES) < 1 / (1 + np.exp(-logit))
    pheno = out / "pheno.txt"
    pheno.write_text("#IID\tYq\tYb\n" + "".join(
        f"{s}\t{q:.6f}\t{2 if b else 1}\n" for s, q, b in zip(ids, yq, yb, strict=True)
    ))  # fmt: skip
    covar = out / "covar.txt"
    covar.write_text(
        "#IID\tc1\n" + "".join(f"{s}\t{c:.6f}\n" for s, c in zip(ids, c1, strict=True))
    )
    subprocess.run([plink2(), "--vcf", vcf, "dosage=DS", "--export", "bgen-1.2", "bits=8",
                    "ref-first", "--out", out / "dosages", "--threads", "1", "--memory", "1000"],
                   check=True, capture_output=True)  # fmt: skip
    return DosageSet(vcf=vcf, bgen=out / "dosages.bgen", sample=out / "dosages.sample",
                     pheno=pheno, covar=covar, dosages=d)  # fmt: skip


def run_plink2(*args: object) -> None:
    """PLINK 2 with ``args`` on one thread and 1 GB (the shared machine's manners)."""
    subprocess.run([plink2(), *map(str, args), "--threads", "1", "--memory", "1000"],
                   check=True, capture_output=True)  # fmt: skip


def assert_close(
    beta: Any, se: Any, p: Any, e_beta: Any, e_se: Any, e_p: Any, rtol: float = 1e-4
) -> None:
    """SE and p to relative 1e-4; beta to 1e-4 of its SE (or relative 1e-4). PLINK 2 holds a
    dosage in units of 1/16384, a 16-bit BGEN in units of 1/65535 (which promise's reader
    keeps), so each dosage differs by up to 3e-5 (tests/genotypes: DOSAGE_ATOL 1e-4). That
    moves beta by about 1e-5 SE: a relative 4e-4 on a beta near 0, 1e-5 on the others."""
    e_se = np.asarray(e_se, dtype=float)
    assert np.all(np.abs(np.asarray(beta) - e_beta) <= rtol * np.maximum(e_se, np.abs(e_beta)))
    np.testing.assert_allclose(se, e_se, rtol=rtol)
    np.testing.assert_allclose(p, e_p, rtol=rtol)


def noisy_ds_vcf(gt_vcf: Path, out: Path, *, missing: float = 0.0, seed: int = 5) -> Path:
    """``gt_vcf`` with each call replaced by a dosage: the ALT count plus N(0, 0.3) noise,
    clipped to [0, 2], three decimals; a share ``missing`` of calls written as '.'."""
    rng = np.random.default_rng(seed)
    count = {"0/0": 0.0, "0/1": 1.0, "1/1": 2.0}
    lines = []
    for line in gt_vcf.read_text().splitlines():
        if line.startswith("##FORMAT"):
            line = '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">'
        elif not line.startswith("#"):
            f = line.split("\t")
            g = np.array([count[c] for c in f[9:]])
            d = np.clip(g + rng.normal(0, 0.3, len(g)), 0, 2)
            calls = ["." if rng.random() < missing else f"{x:.3f}" for x in d]
            line = "\t".join([*f[:8], "DS", *calls])
        lines.append(line)
    out.write_text("\n".join(lines) + "\n")
    return out
