"""GWAS on a Spark cluster: Hail's own regressions against the fast kernels as Spark tasks.

One Spark standalone cluster (a master and one worker of 2 cores, started from pyspark's
classes as ``tests/gwas/spark_cluster.py`` does) serves every run; each run is a fresh
``promise gwas ... --spark-master`` process (driver), timed as a whole (wall time, and the
step times its report lists). The same data and options for both paths:

- ``--engine hail``: Hail's ``linear_regression_rows`` and ``logistic_regression_rows``
  (Wald, Firth for rare variants where p < 0.05), today's cluster path;
- ``--engine spark``: Hail's import (and QC), the analysed calls written once as a PLINK
  set, the fast engine's kernels (linear; score test, Firth where p < 0.05) as Spark tasks.

Data: PLINK 1, ``--samples`` x ``--variants`` (MAF 0.005-0.5, 0.1% missing calls), one
quantitative (Yq) and one binary trait (Yb, ~25% cases), 2 covariates. Runs: ``--skip-qc
--pcs 0`` (only the regressions differ) and with QC (``--pcs 0``: PCA on a cluster is Hail's
``ld_prune`` and ``hwe_normalized_pca`` on both paths alike). Both paths write the same files.

Usage: ``.venv/bin/python benchmarks/cluster.py [--samples 4000] [--variants 30000]
[--work DIR]``
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "gwas"))
from processes import measure
from spark_cluster import standalone_cluster

_STEP = re.compile(r"<tr><td>([^<]*)</td><td class=\"num\">([0-9.]+)</td></tr>")


def write_data(prefix: Path, *, samples: int, variants: int, seed: int = 7) -> None:
    """PLINK 1 bed/bim/fam, ``.pheno`` (Yq, Yb coded 1/2) and ``.covar`` (C1, C2)."""
    rng = np.random.default_rng(seed)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    ids = [f"S{i:05d}" for i in range(samples)]
    Path(f"{prefix}.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in ids))
    Path(f"{prefix}.bim").write_text(
        "".join(
            f"{1 + j * 22 // variants}\tv{j}\t0\t{1000 + 100 * j}\tA\tG\n" for j in range(variants)
        )
    )
    codes = np.array([3, 2, 0, 1], dtype=np.uint8)  # A1 count 0, 1, 2, then missing (01)
    per = (samples + 3) // 4
    causal = rng.choice(variants, size=10, replace=False)
    signal = np.zeros((samples, 2))
    with Path(f"{prefix}.bed").open("wb") as bed:
        bed.write(bytes([0x6C, 0x1B, 0x01]))
        for start in range(0, variants, 2000):
            stop = min(variants, start + 2000)
            freq = rng.uniform(0.005, 0.5, stop - start)
            geno = rng.binomial(2, freq, size=(samples, stop - start)).astype(np.uint8)
            for k, picked in enumerate((causal[:5], causal[5:])):
                cols = picked[(picked >= start) & (picked < stop)] - start
                signal[:, k] += 0.3 * geno[:, cols].sum(axis=1)
            geno[rng.random(geno.shape) < 0.001] = 3
            packed = np.zeros((stop - start, per * 4), dtype=np.uint8)
            packed[:, :samples] = codes[geno.T]
            quads = packed.reshape(stop - start, per, 4)
            byte = quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6
            bed.write(byte.astype(np.uint8).tobytes())
    covar = rng.normal(size=(samples, 2))
    yq = signal[:, 0] + 0.3 * covar[:, 0] + rng.normal(size=samples)
    liability = signal[:, 1] + 0.3 * covar[:, 1] + rng.logistic(size=samples)
    yb = liability > np.quantile(liability, 0.75)
    Path(f"{prefix}.pheno").write_text(
        "FID IID Yq Yb\n"
        + "".join(f"{s} {s} {q:.6f} {2 if b else 1}\n" for s, q, b in zip(ids, yq, yb, strict=True))
    )  # fmt: skip
    Path(f"{prefix}.covar").write_text(
        "FID IID C1 C2\n"
        + "".join(f"{s} {s} {a:.6f} {b:.6f}\n" for s, (a, b) in zip(ids, covar, strict=True))
    )


def step_times(report: Path) -> dict[str, float]:
    """The step times the run's report.html lists."""
    text = report.read_text()
    start = text.find("Step times")
    return {html.unescape(k): float(v) for k, v in _STEP.findall(text[start:])}


def after_import(steps: dict[str, float]) -> float:
    """Seconds from the regressions on (export, association, collecting), not the files."""
    keys = ("writing the analysed", "association", "collecting")
    return sum(v for k, v in steps.items() if k.startswith(keys))


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--variants", type=int, default=30000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-bench-cluster"))
    args = parser.parse_args()
    work = args.work.resolve()
    prefix = work / f"data-{args.samples}x{args.variants}" / "data"
    if not prefix.with_name("written").is_file():
        write_data(prefix, samples=args.samples, variants=args.variants)
        prefix.with_name("written").write_text("ok")
    promise = str(Path(sys.executable).parent / "promise")
    common = ["gwas", "--bfile", str(prefix), "--pheno", f"{prefix}.pheno", "--covar",
              f"{prefix}.covar", "--pcs", "0", "--min-cases", "10",
              "--driver-memory", "2g"]  # fmt: skip
    rows = []
    started = time.perf_counter()
    with standalone_cluster(work / "cluster", cores=2, memory="6g") as master:
        print(f"cluster up in {time.perf_counter() - started:.1f} s: {master}", flush=True)
        for qc in (False, True):
            figures = {}
            for engine in ("hail", "spark"):
                out = work / f"out-{engine}-{'qc' if qc else 'skipqc'}"
                cmd = [promise, *common, *([] if qc else ["--skip-qc"]), "--engine", engine,
                       "--spark-master", master, "--out", str(out)]  # fmt: skip
                measured = measure(cmd)
                steps = step_times(out / "report.html")
                figures[engine] = (measured, steps, out)
                print(f"{engine} {'QC' if qc else '--skip-qc'}: {measured['wall']:.1f} s, "
                      f"regressions {after_import(steps):.1f} s; steps {steps}",
                      flush=True)  # fmt: skip
            hail, spark = figures["hail"], figures["spark"]
            q_h, q_s = read(hail[2] / "Yq.tsv.gz"), read(spark[2] / "Yq.tsv.gz")
            b_h, b_s = read(hail[2] / "Yb.tsv.gz"), read(spark[2] / "Yb.tsv.gz")
            same = (len(q_h) == len(q_s)) and (len(b_h) == len(b_s))
            beta = float(np.nanmax(np.abs(q_h["beta"] - q_s["beta"]) / np.abs(q_h["beta"])))
            rows.append((qc, hail, spark, same, beta, len(q_h)))
    print()
    print(f"{args.samples:,} samples x {args.variants:,} variants, 1 worker of 2 cores")
    print("| run | variants tested | Hail regressions: wall (s) | regressions (s) | fast "
          "kernel as Spark tasks: wall (s) | regressions (s) | wall ratio kernel / Hail | "
          "Yq beta max rel. diff |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for qc, hail, spark, same, beta, tested in rows:
        ratio = spark[0]["wall"] / hail[0]["wall"]
        print(f"| {'QC, --pcs 0' if qc else '--skip-qc --pcs 0'} | {tested:,}"
              f"{'' if same else ' (differ!)'} | {hail[0]['wall']:.1f} | "
              f"{after_import(hail[1]):.1f} | {spark[0]['wall']:.1f} | "
              f"{after_import(spark[1]):.1f} | {ratio:.3f} | {beta:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
