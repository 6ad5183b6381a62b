"""The binary-trait kernel (score test + Firth) against PLINK 2 ``--glm firth-fallback``.

One synthetic data set (default 5,000 samples x 100,000 variants, PLINK 1 bed/bim/fam, no
missing calls, 2 covariates, 20 binary traits of prevalence 2% to 30%, five causal
variants each) is written once; then, in the same run, each tool tests 20 traits and 1
trait (prevalence ~9%, as the issue's 466 cases in 5,000), each in a fresh process:

- the kernel (:func:`promise.gwas.engines.binary.associate_bed`, score test with Firth below
  p 0.05, penalised-LRT p): ``all included`` is the child process's wall time (Python and
  numba start, reading .fam/.pheno/.covar, null fits, .bed decoding, tests); ``kernel`` the
  time from reading the text files to the results, inside the child;
- ``plink2 --glm firth-fallback hide-covar`` with 2 threads (logistic regression for every
  variant, Firth where it fails to converge or separates), plain text output.

Targets (issue 17, for the whole pipeline later): 20 traits at most 0.25x PLINK 2, 1 trait
at most 2x. Prints the times, the ratios, the share of pairs that went to Firth, and the
load average before and after.

Measured 2026-12-05 on this 2-core machine, shared (load average 3-4 during the run):
20 traits 24.2 s against PLINK 2's 300.2 s (0.081x), 1 trait 4.5 s against 10.5 s (0.43x);
an earlier run at load average 8-9 gave 0.28x and 0.57x; the last (final code, load
average 6 rising to 14) 45.1 s against 885.6 s (0.051x) and 19.9 s against 40.7 s (0.49x).

Usage: ``.venv/bin/python benchmarks/binary_kernel.py [--samples N] [--variants M]
[--work DIR] [--repeat R]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TRAITS = 20
TARGET_20 = 0.25
TARGET_1 = 2.0

KERNEL_CHILD = r"""
import json, sys, time
start = time.perf_counter()
from pathlib import Path
import numpy as np
from promise.gwas.engines.binary import BinaryOptions, Method, associate_bed
from promise.gwas.engines.nullmodel import fit_null
prefix, names = sys.argv[1], json.loads(sys.argv[2])
imported = time.perf_counter()
n = sum(1 for _ in open(prefix + ".fam"))
m = sum(1 for _ in open(prefix + ".bim"))
header = open(prefix + ".pheno").readline().split()
pheno = np.loadtxt(prefix + ".pheno", skiprows=1, usecols=[header.index(t) for t in names], ndmin=2)
covar = np.loadtxt(prefix + ".covar", skiprows=1, usecols=(2, 3), ndmin=2)
x = np.column_stack([np.ones(n), covar])
null = fit_null(pheno - 1.0, x, names)
result = associate_bed(Path(prefix), null, n_fam=n, n_variants=m, sample_cols=None, options=BinaryOptions())
done = time.perf_counter()
firth = result.method == Method.FIRTH
print(json.dumps({"kernel": done - imported, "import": imported - start,
                  "firth_share": float(firth.mean()), "failed": int(result.failed.sum())}))
"""


def write_data(prefix: Path, *, samples: int, variants: int, seed: int = 1) -> list[str]:
    """PLINK 1 bed/bim/fam, .pheno (1/2 coded) and .covar; returns the trait names."""
    rng = np.random.default_rng(seed)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    ids = [f"S{i:05d}" for i in range(samples)]
    Path(f"{prefix}.fam").write_text(
        "".join(f"{s} {s} 0 0 {1 + i % 2} -9\n" for i, s in enumerate(ids))
    )
    Path(f"{prefix}.bim").write_text(
        "".join(
            f"{1 + j * 22 // variants}\tv{j}\t0\t{1000 + 100 * j}\tA\tG\n" for j in range(variants)
        )
    )
    codes = np.array([3, 2, 0], dtype=np.uint8)  # A1 count 0 -> 11, 1 -> 10, 2 -> 00
    per = (samples + 3) // 4
    causal = rng.choice(variants, size=(TRAITS, 5), replace=False)
    signal = np.zeros((samples, TRAITS))
    with Path(f"{prefix}.bed").open("wb") as bed:
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        for start in range(0, variants, 2000):
            stop = min(variants, start + 2000)
            freq = rng.uniform(0.01, 0.5, stop - start)
            geno = rng.binomial(2, freq, size=(samples, stop - start)).astype(np.uint8)
            for k in range(TRAITS):
                cols = causal[k][(causal[k] >= start) & (causal[k] < stop)] - start
                signal[:, k] += 0.4 * geno[:, cols].sum(axis=1)
            packed = np.zeros((stop - start, per * 4), dtype=np.uint8)
            packed[:, :samples] = codes[geno.T]
            quads = packed.reshape(stop - start, per, 4)
            byte = quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6
            bed.write(byte.astype(np.uint8).tobytes())
    covar = rng.normal(size=(samples, 2))
    prevalence = np.linspace(0.02, 0.30, TRAITS)
    names = [f"B{k + 1}" for k in range(TRAITS)]
    columns = []
    for k in range(TRAITS):
        score = signal[:, k] - signal[:, k].mean() + 0.3 * covar[:, 0] + rng.logistic(size=samples)
        columns.append(score > np.quantile(score, 1 - prevalence[k]))
    y = np.column_stack(columns)
    Path(f"{prefix}.pheno").write_text(
        "FID IID " + " ".join(names) + "\n"
        + "".join(f"{s} {s} " + " ".join("2" if v else "1" for v in row) + "\n" for s, row in zip(ids, y, strict=True))
    )  # fmt: skip
    Path(f"{prefix}.covar").write_text(
        "FID IID C1 C2\n"
        + "".join(f"{s} {s} {a:.6f} {b:.6f}\n" for s, (a, b) in zip(ids, covar, strict=True))
    )
    return names


def timed(cmd: list[str]) -> tuple[float, dict[str, float]]:
    """Wall time of a child process and the JSON figures on its last stdout line."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    last = done.stdout.strip().splitlines()[-1:] if done.stdout.strip() else []
    figures = json.loads(last[0]) if last and last[0].startswith("{") else {}
    return seconds, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-binary-kernel"))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    plink2 = shutil.which("plink2")
    if plink2 is None:
        print("plink2 is not installed: run scripts/ensure-plink2.sh")
        return 1
    print(f"load average before: {os.getloadavg()}")
    prefix = args.work / "data"
    marker = args.work / f"written-{args.samples}x{args.variants}.json"
    if marker.is_file():
        names = json.loads(marker.read_text())
    else:
        names = write_data(prefix, samples=args.samples, variants=args.variants)
        marker.write_text(json.dumps(names))
    one = [names[4]]  # prevalence 2% + 4 x 1.47% ~ 7.9%
    subprocess.run(  # warm the numba cache so that no run pays for compilation
        [sys.executable, "-c", KERNEL_CHILD, str(prefix), json.dumps(one)],
        check=True,
        capture_output=True,
    )
    ratios = {}
    for label, traits in (("20 traits", names), ("1 trait", one)):
        kernel = min(
            (
                timed([sys.executable, "-c", KERNEL_CHILD, str(prefix), json.dumps(traits)])
                for _ in range(args.repeat)
            ),
            key=lambda r: r[0],
        )
        plink = min(
            timed(
                [plink2, "--bfile", str(prefix), "--pheno", f"{prefix}.pheno", "--pheno-name", ",".join(traits),
                 "--covar", f"{prefix}.covar", "--glm", "firth-fallback", "hide-covar", "--threads", "2",
                 "--memory", "8000", "--out", str(args.work / f"plink2-{len(traits)}")]
            )[0]
            for _ in range(args.repeat)
        )  # fmt: skip
        wall, figures = kernel
        ratios[label] = wall / plink
        print(
            f"{label}: kernel all included {wall:.1f} s (inside: {figures['kernel']:.1f} s, "
            f"imports {figures['import']:.1f} s; Firth on {100 * figures['firth_share']:.2f}% of "
            f"pairs, {figures['failed']} failed fits); PLINK 2 --glm firth-fallback {plink:.1f} s; "
            f"ratio {wall / plink:.3f}"
        )
    print(
        f"targets: 20 traits <= {TARGET_20} (measured {ratios['20 traits']:.3f}), "
        f"1 trait <= {TARGET_1} (measured {ratios['1 trait']:.3f})"
    )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
