"""Reading dosages from BGEN and VCF: promise's readers vs PLINK 2's import, wall time and peak memory.

One synthetic data set (default 5,000 samples x 100,000 variants from ``plink2 --dummy``:
1% missing calls, a fifth of the dosages fractional, positions 1..M on chromosome 1) is
written once by PLINK 2 as a BGEN v1.2 with 8-bit probabilities (zlib, REF first) and as a
BGZF VCF with GT and DS. Then, each in a fresh process whose process tree is sampled for
resident memory:

- ``plink2 --bgen data.bgen ref-first --make-pgen --threads 2`` and
  ``plink2 --vcf data.vcf.gz dosage=DS --make-pgen --threads 2``: PLINK 2 reading every
  dosage (and writing its own binary format, which is what it reads through);
- ``promise.genotypes.open_genotypes(...).dosage_blocks(block=1024)`` over every variant,
  each block summed so that every dosage is used, all included (start-up, import, the
  variant table).

No target: the figures say what reading BGEN or VCF costs the fast engine per pass over the
genotypes, against the conversion a PLINK 2 user runs first.

Usage: ``.venv/bin/python benchmarks/genotype_readers.py [--samples N] [--variants M] [--work DIR]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from processes import measure

PROMISE_CHILD = r"""
import json, sys, time
from pathlib import Path
start = time.perf_counter()
import numpy as np
from promise.genotypes import open_genotypes
total, n = 0.0, 0
with open_genotypes(Path(sys.argv[1]), sys.argv[2], "GRCh37") as reader:
    for _, block in reader.dosage_blocks(block=1024):
        total += float(np.nansum(block))
        n += block.shape[1]
print(json.dumps({"variants": n, "sum": total, "inner": time.perf_counter() - start}))
"""


def run(plink2: str, out: Path, *args: str) -> None:
    subprocess.run(
        [plink2, *args, "--threads", "2", "--out", str(out)], check=True, capture_output=True
    )


def write_data(plink2: str, work: Path, *, samples: int, variants: int) -> tuple[Path, Path]:
    """The data set as ``data.bgen`` and ``data.vcf.gz`` (kept for the next run)."""
    tag = work / f"data-{samples}x{variants}"
    bgen, vcf = Path(f"{tag}.bgen"), Path(f"{tag}.vcf.gz")
    if bgen.is_file() and vcf.is_file():
        return bgen, vcf
    raw = work / "raw"
    run(plink2, raw, "--dummy", str(samples), str(variants), "0.01", "dosage-freq=0.2", "acgt",
        "--seed", "1", "--make-pgen")  # fmt: skip
    lines = Path(f"{raw}.pvar").read_text().splitlines()
    fixed = [lines[0]]
    for k, line in enumerate(lines[1:]):
        fields = line.split("\t")
        fixed.append("\t".join(["1", str(k + 1), *fields[2:]]))  # --dummy starts at position 0
    Path(f"{raw}.pvar").write_text("\n".join(fixed) + "\n")
    run(plink2, tag, "--pfile", str(raw), "--export", "bgen-1.2", "bits=8", "ref-first")
    run(plink2, tag, "--pfile", str(raw), "--export", "vcf", "vcf-dosage=DS", "bgz")
    for suffix in (".pgen", ".pvar", ".psam"):
        Path(f"{raw}{suffix}").unlink()
    return bgen, vcf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/promise-genotype-readers-benchmark")
    )
    args = parser.parse_args()
    plink2 = shutil.which("plink2")
    if plink2 is None:
        print("plink2 is not on PATH: run `bash scripts/ensure-plink2.sh`.", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    bgen, vcf = write_data(plink2, args.work, samples=args.samples, variants=args.variants)
    print(f"data written in {time.perf_counter() - started:.0f} s: {bgen.name} "
          f"{bgen.stat().st_size / 2**20:.0f} MiB, {vcf.name} {vcf.stat().st_size / 2**20:.0f} MiB")  # fmt: skip
    print(f"{args.samples:,} samples x {args.variants:,} variants; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")  # fmt: skip
    for kind, path, plink_args in (
        ("bgen", bgen, ["--bgen", str(bgen), "ref-first"]),
        ("vcf", vcf, ["--vcf", str(vcf), "dosage=DS"]),
    ):
        out = args.work / f"plink2-{kind}"
        theirs = measure([plink2, *plink_args, "--make-pgen", "--threads", "2", "--out", str(out)])
        ours = measure([sys.executable, "-c", PROMISE_CHILD, str(path), kind])
        assert int(ours["variants"]) == args.variants, ours
        print(f"{kind.upper()}: plink2 --make-pgen {theirs['wall']:.1f} s (peak {theirs['peak_gib']:.2f} GiB); "
              f"promise dosage_blocks, all included {ours['wall']:.1f} s (peak {ours['peak_gib']:.2f} GiB); "
              f"ratio promise / PLINK 2 {ours['wall'] / theirs['wall']:.2f}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
