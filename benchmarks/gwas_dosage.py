"""Issue 17.2's benchmark: ``promise gwas`` on an 8-bit BGEN (the fast engine's dosage path)
against ``plink2 --bgen ... --glm`` on the same file, same outputs, back to back.

Data (:func:`write_data`, written once under ``--work`` with the ``bgen`` package's
writer, untimed): imputation-like dosages, half of them uncertain, 0.5% missing, one
quantitative trait, two covariates. (``plink2 --dummy`` of v2.00a3.5 leaves about 20% of
its dosages missing, which every call-rate filter removes.) Two rows, each one fresh process per tool (wall time and peak resident
memory of the process tree, :func:`processes.measure`):

- association only: ``promise gwas --skip-qc --pcs 0`` against ``plink2 --glm``;
- QC and association: promise's default QC thresholds (``--pcs 0``) against ``plink2
  --hard-call-threshold 0.1 --mind 0.03 dosage --geno 0.05 dosage --maf 0.01 --mac 5
  --hwe 1e-6 midp --glm`` (the rules the dosage path follows, docs/gwas.md).

Usage: ``.venv/bin/python benchmarks/gwas_dosage.py [--samples 5000] [--variants 100000]
[--work /tmp/promise-gwas-dosage]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from processes import measure

PLINK_MEMORY = ["--threads", "2", "--memory", "8000"]
PLINK_QC = ["--hard-call-threshold", "0.1", "--mind", "0.03", "dosage", "--geno", "0.05",
            "dosage", "--maf", "0.01", "--mac", "5", "--hwe", "1e-6", "midp"]  # fmt: skip


def _promise() -> str:
    return str(Path(sys.executable).parent / "promise")


def _plink2() -> str:
    return shutil.which("plink2") or "plink2"


def write_data(folder: Path, samples: int, variants: int) -> Path:
    """The BGEN (8-bit, zlib, ids in its sample block), .sample, phenotype and covariate
    files under ``folder``, once. Each variant: ALT frequency U(0.05, 0.5), genotypes from
    Hardy-Weinberg; for half of the samples the probabilities are 0.7 x the true genotype +
    0.3 x the Hardy-Weinberg prior (an imputed dosage, no hard call within 0.1 for most),
    for the others the genotype itself; 0.5% missing. Y = 0.3 x (variant 0) + N(0, 1)."""
    from bgen import BgenWriter

    prefix = folder / "data"
    if (folder / "written").is_file():
        return prefix
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    ids = [f"S{i:06d}" for i in range(samples)]
    causal = np.zeros(samples)
    with BgenWriter(f"{prefix}.bgen", samples, samples=ids, compression="zlib") as out:
        for j in range(variants):
            p = rng.uniform(0.05, 0.5)
            g = rng.binomial(2, p, samples)
            prior = np.array([(1 - p) ** 2, 2 * p * (1 - p), p**2])
            probs = np.eye(3)[g]
            unsure = rng.random(samples) < 0.5
            probs[unsure] = 0.7 * probs[unsure] + 0.3 * prior
            probs[rng.random(samples) < 0.005] = np.nan
            if j == 0:
                causal = g.astype(float)
            out.add_variant(f"v{j}", f"v{j}", "1", 1000 + 10 * j, ["A", "G"], probs, bit_depth=8)
    Path(f"{prefix}.sample").write_text(
        "ID_1 ID_2 missing\n0 0 0\n" + "".join(f"0 {s} 0\n" for s in ids)
    )
    y = 0.3 * causal + rng.normal(size=samples)
    c = rng.normal(size=(samples, 2))
    Path(f"{prefix}.pheno").write_text(
        "#IID\tY\n" + "".join(f"{s}\t{v:.6f}\n" for s, v in zip(ids, y, strict=True))
    )
    Path(f"{prefix}.covar").write_text(
        "#IID\tc1\tc2\n"
        + "".join(f"{s}\t{a:.6f}\t{b:.6f}\n" for s, (a, b) in zip(ids, c, strict=True))
    )
    (folder / "written").write_text("ok")
    return prefix


def _line(label: str, ours: dict[str, float], theirs: dict[str, float]) -> str:
    ratio = ours["wall"] / theirs["wall"]
    return (
        f"| {label} | {ours['wall']:.1f} | {ours['peak_gib']:.2f} | {theirs['wall']:.1f} | "
        f"{theirs['peak_gib']:.2f} | {ratio:.2f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-gwas-dosage"))
    args = parser.parse_args()
    folder = args.work / f"bgen-{args.samples}x{args.variants}"
    prefix = write_data(folder, args.samples, args.variants)
    size = Path(f"{prefix}.bgen").stat().st_size / 2**20
    files = ["--pheno", f"{prefix}.pheno", "--covar", f"{prefix}.covar"]
    ours_in = ["--bgen", f"{prefix}.bgen", "--sample", f"{prefix}.sample", *files]
    theirs_in = ["--bgen", f"{prefix}.bgen", "ref-first", "--sample", f"{prefix}.sample", *files]
    lines = [
        f"{args.samples:,} samples x {args.variants:,} variants, 8-bit BGEN ({size:,.0f} MiB), "
        f"load average before: {os.getloadavg()[0]:.1f}",
        "",
        "| run | promise (s) | promise peak (GiB) | PLINK 2 (s) | PLINK 2 peak (GiB) | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, ours_extra, theirs_extra in (
        ("association only (`--skip-qc --pcs 0` / `--glm`)", ["--skip-qc"], []),
        ("QC and association (`--pcs 0` / QC flags + `--glm`)", [], PLINK_QC),
    ):
        tag = "qc" if not ours_extra else "assoc"
        ours = measure([_promise(), "gwas", *ours_in, *ours_extra, "--pcs", "0",
                        "--out", str(args.work / f"promise-{tag}")])  # fmt: skip
        theirs = measure([_plink2(), *theirs_in, *theirs_extra, "--glm", "hide-covar",
                          *PLINK_MEMORY, "--out", str(args.work / f"plink2-{tag}")])  # fmt: skip
        lines.append(_line(label, ours, theirs))
    lines.append(f"\nload average after: {os.getloadavg()[0]:.1f}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
