"""Whole-genome regression (step 1) against step 2 on the same data, in the same run.

One synthetic data set (default 5,000 samples x 100,000 variants on 22 chromosomes, PLINK 1
bed/bim/fam, 20 quantitative phenotypes with five causal variants each, 2 covariates; the
writer of ``benchmarks/gwas.py``) is written once. Binary traits are the same phenotypes cut
at their 80th percentile (20% cases). Each measurement runs in a fresh process whose whole
process tree is sampled for resident memory (``benchmarks/gwas.py``'s ``measure``):

- step 1, quantitative: :func:`promise.gwas.engines.step1.fit_step1_bed`, 20 traits, on the
  LD-pruned common variants as ``promise gwas --loco`` runs it (:func:`promise.gwas.fastpca.
  pruned_set`, MAF >= 0.01, r^2 < 0.2 in 500 kb windows; regenie's advice: step 1 on a few
  hundred thousand pruned common variants, step 2 on all); the pruning itself is timed
  apart and not counted, since the run computes that set once for PCA and kinship anyway;
  step 1 is also measured on every K-th pruned variant (``--step1-every K``, 10), since the
  benchmark's variants are drawn independently: pruning removes almost none of them, where
  real genotypes lose most (regenie's advice is a few hundred thousand of millions);
- step 2, quantitative: :func:`promise.gwas.fastlinear.linear_groups`, the same 20 traits
  (promise's in-process linear regression engine);
- step 1, binary: the same with ``binary=True`` (5-fold: 5,000 samples is not below regenie's
  leave-one-out threshold);
- step 2, binary: :func:`promise.gwas.engines.binary.associate_bed` (score test, Firth below
  p 0.05) when that engine is in this tree; otherwise reported as missing.

Also, in the same run: PLINK 2's own pruning of the same file (``plink2 --maf 0.01
--indep-pairwise 500kb 1 0.2 --threads 2``, wall time) against promise's; and a FLOOR: the
level-0 Gram matrix X_b X_b' alone, one BLAS product per block of the same data in float32
and in float64, blocks side by side on the cores with one BLAS thread each as step 1 runs
them (decoding not timed; the busiest core's seconds in the products), as a ratio to step 2. Level 0 costs about n B M
multiply-adds against step 2's n T M, so on variants that LD pruning cannot thin this floor
is how close any implementation of the method can come to the target.

Each child reports its time from reading the phenotype files to the results (imports
excluded); the ratio step 1 / step 2 uses those. Target (issue 19): step 1 at most 2x step 2
for 20 traits, peak memory under 8 GiB. Prints the load average before and after: the
machine is shared, so run it when ``uptime`` is quiet.

With ``--ld R`` the variants are in LD along the genome instead (each haplotype allele
copies the previous variant's with probability R; 0.92 leaves about a tenth after pruning,
as genotyping-array data do), so that step 1 runs on what pruning leaves of real-like data.

Usage: ``.venv/bin/python benchmarks/step1.py [--samples N] [--variants M] [--block B]
[--work DIR] [--repeat R] [--step1-every K] [--ld R]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

TRAITS = 20
TARGET_RATIO = 2.0
TARGET_GIB = 8.0

READ = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from promise.gwas import traits
from promise.gwas.association import aligned
from promise.gwas.fastlinear import read_bim, read_fam_ids
prefix, names, binary, block = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
every = int(sys.argv[5]) if len(sys.argv) > 5 else 1
start = time.perf_counter()
ph = traits.from_files(pheno=[Path(f"{prefix}.pheno")], covar=[Path(f"{prefix}.covar")],
                       pheno_names=names, kind="quantitative")
fam_ids = read_fam_ids(prefix)
frame = aligned(ph.frame, fam_ids)
y = frame.select(names).to_numpy().astype(float)
if binary:
    y = (y > np.quantile(y, 0.8, axis=0)).astype(float)
x = np.column_stack([np.ones(len(y)), frame.select(ph.covariates).to_numpy().astype(float)])
"""

STEP1 = (
    READ
    + r"""
from promise.gwas.engines.step1 import Step1Options, fit_step1_bed
bim = read_bim(prefix)
rows = np.load(f"{prefix}.pruned.npy")
keep = np.zeros(len(bim), dtype=bool)
keep[rows[::every]] = True
result = fit_step1_bed(prefix, y=y, covariates=x, names=names, binary=binary, n_fam=len(fam_ids),
                       chromosomes=bim["chrom"].to_list(), keep=keep,
                       options=Step1Options(block=block))
print(json.dumps({"seconds": time.perf_counter() - start, "cv": result.cv,
                  "not_converged": list(result.not_converged), "h2": result.h2.tolist()}))
"""
)

PRUNE = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from promise.gwas import fastpca
from promise.gwas.bedset import open_bed
from promise.gwas.options import PcaSettings
prefix = Path(sys.argv[1])
start = time.perf_counter()
bed = open_bed(prefix)
pruned = fastpca.pruned_set(bed, np.arange(bed.n_variants), np.arange(len(bed.samples)),
                            settings=PcaSettings(), build="GRCh37", samples=bed.samples)
np.save(f"{prefix}.pruned.npy", pruned.bed_rows)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

FLOOR = r"""
import json, os, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
from threadpoolctl import threadpool_limits
from promise.gwas.fastlinear import LUT_COUNT, decode, read_bim, read_fam_ids
prefix, block, dtype = Path(sys.argv[1]), int(sys.argv[4]), np.dtype(sys.argv[5])
n, m = len(read_fam_ids(prefix)), len(read_bim(prefix))
codes = np.memmap(f"{prefix}.bed", dtype=np.uint8, mode="r", offset=3, shape=(m, (n + 3) // 4))
spent = {}  # per worker thread: seconds inside the products

def gram(start):
    x = decode(np.asarray(codes[start : start + block]), LUT_COUNT, n).astype(dtype)
    began = time.perf_counter()
    x @ x.T  # the level-0 Gram X_b X_b' of one block (BLAS syrk), nothing else timed
    key = threading.get_ident()
    spent[key] = spent.get(key, 0.0) + time.perf_counter() - began

# as step 1 runs level 0: blocks side by side on the cores, one BLAS thread each
with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(os.cpu_count() or 1) as pool:
    list(pool.map(gram, range(0, m, block)))
print(json.dumps({"seconds": max(spent.values())}))
"""

STEP2_LINEAR = (
    READ
    + r"""
from promise.gwas.fastlinear import linear_groups
from promise.gwas.inputs import GenotypeSource
linear_groups(GenotypeSource(kind="bfile", path=prefix), ph, frame, [names], fam_ids)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
)

STEP2_BINARY = (
    READ
    + r"""
from promise.gwas.engines.binary import BinaryOptions, associate_bed
from promise.gwas.engines.nullmodel import fit_null
null = fit_null(y, x, names)
out = associate_bed(prefix, null, n_fam=len(fam_ids), n_variants=len(read_bim(prefix)),
                    sample_cols=None, options=BinaryOptions())
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
)


def _sibling(name: str) -> ModuleType:
    """A module of this folder (``gwas.py``: its data writer and process-tree measurement)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _binary_engine_present() -> bool:
    return importlib.util.find_spec("promise.gwas.engines.binary") is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--block", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-step1"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--step1-every", type=int, default=10, help="the thinned share")
    parser.add_argument("--ld", type=float, default=0.0,
                        help="LD along the genome (0: independent variants; 0.92: pruning "
                        "keeps about a tenth, as on genotyping arrays)")  # fmt: skip
    args = parser.parse_args()
    gwas = _sibling("gwas")
    print(f"load average before: {os.getloadavg()}")
    prefix = args.work / "data"
    marker = args.work / f"written-{args.samples}x{args.variants}-ld{args.ld}"
    if not marker.is_file():
        for old in args.work.glob("written-*"):
            old.unlink()
        gwas.write_data(prefix, samples=args.samples, variants=args.variants, ld=args.ld)
        marker.write_text("")
    if args.ld > 0:
        print(f"variants in LD along the genome: each haplotype allele copies the previous "
              f"variant's with probability {args.ld}")  # fmt: skip
    names = json.dumps([f"Y{k + 1}" for k in range(TRAITS)])

    def run(code: str, binary: bool, every: int) -> dict[str, float]:
        cmd = [
            sys.executable,
            "-c",
            code,
            str(prefix),
            names,
            "1" if binary else "0",
            str(args.block),
            str(every),
        ]
        return gwas.best_of(args.repeat, lambda: gwas.measure(cmd))  # type: ignore[no-any-return]

    if _binary_engine_present():  # compile the engine's numba functions on tiny data first
        tiny = args.work / "tiny"
        if not (args.work / "written-tiny").is_file():
            gwas.write_data(tiny, samples=300, variants=500)
            (args.work / "written-tiny").write_text("")
        gwas.measure([sys.executable, "-c", STEP2_BINARY, str(tiny), names, "1", str(args.block)])
    plink2 = shutil.which("plink2")
    if plink2:  # the same pruning by PLINK 2 on the same file (its MAF filter as ours)
        theirs = gwas.measure([plink2, "--bfile", str(prefix), "--maf", "0.01",
                               "--indep-pairwise", "500kb", "1", "0.2", "--threads", "2",
                               "--memory", "8000", "--out", str(args.work / "plink2")])  # fmt: skip
    pruning = gwas.measure([sys.executable, "-c", PRUNE, str(prefix)])
    pruned = len(np.load(f"{prefix}.pruned.npy"))
    print(f"LD-pruned common variants (MAF >= 0.01, r2 < 0.2 in 500 kb, as promise gwas "
          f"--loco): {pruned:,} of {args.variants:,}, in {pruning['inner']:.1f} s (peak "
          f"{pruning['peak_gib']:.2f} GiB; not counted below: the run computes this set once "
          "for PCA and kinship)")  # fmt: skip
    if plink2:
        print(f"plink2 --maf 0.01 --indep-pairwise 500kb 1 0.2 --threads 2 on the same file: "
              f"{theirs['wall']:.1f} s wall (peak {theirs['peak_gib']:.2f} GiB); promise "
              f"pruning / plink2 {pruning['inner'] / theirs['wall']:.2f}")  # fmt: skip
    peaks = [pruning["peak_gib"]]
    floor = {
        dtype: gwas.measure(
            [sys.executable, "-c", FLOOR, str(prefix), names, "0", str(args.block), dtype]
        )["inner"]
        for dtype in ("float32", "float64")
    }
    for kind, binary in (("quantitative", False), ("binary", True)):
        step2 = run(STEP2_BINARY if binary else STEP2_LINEAR, binary, 1)
        for every in (1, args.step1_every):
            step1 = run(STEP1, binary, every)
            peaks.append(step1["peak_gib"])
            ratio = step1["inner"] / step2["inner"]
            share = "all pruned" if every == 1 else f"every {every}th pruned"
            print(
                f"{kind}, {TRAITS} traits, {args.samples:,} x {args.variants:,}, block "
                f"{args.block}: step 1 on {len(range(0, pruned, every)):,} variants ({share}) "
                f"{step1['inner']:.1f} s (wall {step1['wall']:.1f} s, peak "
                f"{step1['peak_gib']:.2f} GiB); step 2 on all {args.variants:,} "
                f"{step2['inner']:.1f} s (wall {step2['wall']:.1f} s, peak "
                f"{step2['peak_gib']:.2f} GiB); ratio {ratio:.2f} "
                f"(target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
            )
        if not binary:
            print(
                f"FLOOR: the level-0 Gram X_b X_b' alone (one BLAS product per block of "
                f"{args.block}, one core each, of the same {args.variants:,} x "
                f"{args.samples:,} data, nothing else): float32 {floor['float32']:.1f} s (ratio to step 2 "
                f"{floor['float32'] / step2['inner']:.2f}), float64 {floor['float64']:.1f} s "
                f"(ratio {floor['float64'] / step2['inner']:.2f})"
            )
    peak = max(peaks)
    print(f"highest peak memory of pruning and step 1: {peak:.2f} GiB (target < {TARGET_GIB})")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
