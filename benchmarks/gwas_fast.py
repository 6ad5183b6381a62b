"""Issue 17's benchmarks of ``promise gwas`` on the fast engine, each against PLINK 2 in the
same run (wall time and peak resident memory of the whole process tree, fresh processes):

- ``binary``: 5,000 x 100,000 (PLINK 1, no missing calls, 2 covariates), 20 binary traits
  of prevalence 2% to 30% and 1 trait (~8%): ``promise gwas --skip-qc --pcs 0`` all
  included (import, reading, null fits, score test, Firth where p < 0.05, GWAS-SSF, plots,
  report) against ``plink2 --glm firth-fallback`` (2 threads); targets <= 0.25x and <= 2x.
- ``scale``: 50,000 x 200,000, one binary (B5) and one quantitative trait in one run,
  against ``plink2 --glm firth-fallback`` on the same two; target peak memory < 8 GiB.
- ``warehouse DIR``: a ``promise demo`` folder: ``promise gwas --endpoint E4_DM2 --trait
  LDL_C`` (QC, LD pruning, 10 PCs, association) against a PLINK 2 pipeline of the same
  steps on the same data (``--geno --mind --maf --mac --hwe midp``, ``--indep-pairwise
  500kb 1 0.2``, ``--pca 10``, ``--glm firth-fallback`` with those PCs); the PLINK 2 input
  (the batches merged, phenotype and covariate files from the mart) is prepared untimed,
  as PLINK 2 v2.00a3.5 cannot merge file sets itself. Target <= 3x. Then ``promise gwas
  --all-endpoints`` on the same warehouse: target < 5 minutes and < 8 GiB.

The 20,000 x 200,000 linear benchmark is ``benchmarks/gwas.py --samples 20000 --variants
200000 --skip-hail --repeat 1`` (target <= 1.0x plain PLINK 2).

Usage: ``.venv/bin/python benchmarks/gwas_fast.py binary|scale|warehouse DIR [--work W]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from binary_kernel import write_data
from gwas import measure

PLINK_MEMORY = ["--threads", "2", "--memory", "8000"]


def _promise() -> str:
    return str(Path(sys.executable).parent / "promise")


def _line(label: str, ours: dict[str, float], theirs: dict[str, float], target: str) -> str:
    ratio = ours["wall"] / theirs["wall"]
    return (
        f"| {label} | {ours['wall']:.1f} | {ours['peak_gib']:.2f} | {theirs['wall']:.1f} | "
        f"{theirs['peak_gib']:.2f} | {ratio:.3f} | {target} |"
    )


HEADER = [
    "| run | promise (s) | promise peak (GiB) | PLINK 2 (s) | PLINK 2 peak (GiB) | ratio | target |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
]


def _data(prefix: Path, samples: int, variants: int) -> list[str]:
    """The data set at ``prefix``, written unless a finished one is there already."""
    done = prefix.with_name("written")
    if not done.is_file():
        write_data(prefix, samples=samples, variants=variants)
        done.write_text("ok")
    return Path(f"{prefix}.pheno").read_text().split("\n", 1)[0].split()[2:]


def binary(work: Path, *, samples: int, variants: int) -> list[str]:
    prefix = work / f"binary-{samples}x{variants}" / "data"
    names = _data(prefix, samples, variants)
    plink2 = shutil.which("plink2") or "plink2"
    lines = []
    for traits, target in ((names, "<= 0.25"), ([names[4]], "<= 2")):
        tag = f"{len(traits)}"
        ours = measure([_promise(), "gwas", "--bfile", str(prefix), "--pheno", f"{prefix}.pheno",
                        "--pheno-name", ",".join(traits), "--covar", f"{prefix}.covar",
                        "--binary", "--skip-qc", "--pcs", "0", "--min-cases", "10",
                        "--out", str(work / f"promise-{tag}")])  # fmt: skip
        theirs = measure([plink2, "--bfile", str(prefix), "--pheno", f"{prefix}.pheno",
                          "--pheno-name", ",".join(traits), "--covar", f"{prefix}.covar",
                          "--glm", "firth-fallback", "hide-covar", *PLINK_MEMORY,
                          "--out", str(work / f"plink2-{tag}")])  # fmt: skip
        lines.append(_line(f"{len(traits)} binary trait(s), {samples:,} x {variants:,}", ours,
                           theirs, target))  # fmt: skip
    return lines


def scale(work: Path, *, samples: int, variants: int) -> list[str]:
    prefix = work / f"scale-{samples}x{variants}" / "data"
    _data(prefix, samples, variants)
    rng = np.random.default_rng(2)
    pheno = Path(f"{prefix}.pheno").read_text().splitlines()
    column = pheno[0].split().index("B5")
    q = rng.normal(size=len(pheno) - 1)
    Path(f"{prefix}.two").write_text(
        "FID IID B5 Q\n" + "".join(
            f"{' '.join(row.split()[:2])} {row.split()[column]} {v:.6f}\n"
            for row, v in zip(pheno[1:], q, strict=True)
        )
    )  # fmt: skip
    plink2 = shutil.which("plink2") or "plink2"
    ours = measure([_promise(), "gwas", "--bfile", str(prefix), "--pheno", f"{prefix}.two",
                    "--covar", f"{prefix}.covar", "--skip-qc", "--pcs", "0",
                    "--out", str(work / "promise-scale")])  # fmt: skip
    theirs = measure([plink2, "--bfile", str(prefix), "--pheno", f"{prefix}.two", "--covar",
                      f"{prefix}.covar", "--glm", "firth-fallback", "hide-covar", *PLINK_MEMORY,
                      "--out", str(work / "plink2-scale")])  # fmt: skip
    return [_line(f"1 binary + 1 quantitative, {samples:,} x {variants:,}", ours, theirs,
                  "peak < 8 GiB")]  # fmt: skip


def _plink_inputs(warehouse: Path, folder: Path) -> tuple[Path, Path, Path]:
    """The warehouse's batches merged into one file set, the two traits (E4_DM2 1/2 coded)
    and the covariates, as PLINK 2 reads them (untimed preparation)."""
    import polars as pl

    from promise.gwas import cohort
    from promise.gwas.bedset import open_bed, shared_variants, warehouse_plink_sets, write_subset

    folder.mkdir(parents=True, exist_ok=True)
    sets = [open_bed(p) for p in warehouse_plink_sets(warehouse)]
    merged = write_subset(folder / "merged", sets, rows=shared_variants(sets),
                          columns=[None] * len(sets))  # fmt: skip
    ph = cohort.load(warehouse, endpoints=["E4_DM2"], traits=["LDL_C"])
    frame = ph.frame.filter(pl.col("s").is_in(merged.samples))
    pheno = frame.select(
        pl.col("s").alias("#FID"), pl.col("s").alias("IID"),
        (pl.col("E4_DM2") + 1).cast(pl.Int64).cast(pl.String).fill_null("NA").alias("E4_DM2"),
        pl.col("LDL_C").cast(pl.String).fill_null("NA"),
    )  # fmt: skip
    pheno.write_csv(folder / "pheno.txt", separator="\t")
    covar = frame.select(pl.col("s").alias("#FID"), pl.col("s").alias("IID"), *ph.covariates)
    covar.write_csv(folder / "covar.txt", separator="\t", null_value="NA")
    return merged.prefix, folder / "pheno.txt", folder / "covar.txt"


PLINK_PIPELINE = r"""
import subprocess, sys
from pathlib import Path
plink2, merged, pheno, covar, out = sys.argv[1:6]
out = Path(out)
run = lambda *a: subprocess.run([plink2, *a, "--threads", "2", "--memory", "8000"], check=True,
                                 capture_output=True)
run("--bfile", merged, "--pheno", pheno, "--mind", "0.03", "--geno", "0.05", "--maf", "0.01",
    "--mac", "5", "--hwe", "1e-6", "midp", "--make-bed", "--out", str(out / "qc"))
run("--bfile", str(out / "qc"), "--indep-pairwise", "500kb", "1", "0.2", "--out", str(out / "prune"))
run("--bfile", str(out / "qc"), "--extract", str(out / "prune.prune.in"), "--pca", "10",
    "--out", str(out / "pca"))
pcs = {l.split()[1]: l.split()[2:] for l in open(out / "pca.eigenvec") if not l.startswith("#")}
lines = open(covar).read().splitlines()
with open(out / "covar-pcs.txt", "w") as fh:
    fh.write(lines[0] + "\t" + "\t".join(f"PC{i + 1}" for i in range(10)) + "\n")
    for l in lines[1:]:
        iid = l.split("\t")[1]
        if iid in pcs:
            fh.write(l + "\t" + "\t".join(pcs[iid]) + "\n")
run("--bfile", str(out / "qc"), "--pheno", pheno, "--covar", str(out / "covar-pcs.txt"),
    "--glm", "firth-fallback", "hide-covar", "--covar-variance-standardize",
    "--out", str(out / "glm"))
"""


def warehouse(work: Path, demo: Path) -> list[str]:
    wh = demo / "warehouse"
    merged, pheno, covar = _plink_inputs(wh, work / "plink-inputs")
    ours = measure([_promise(), "gwas", "--endpoint", "E4_DM2", "--trait", "LDL_C",
                    "--warehouse", str(wh), "--out", str(work / "promise-warehouse")])  # fmt: skip
    out = work / "plink-pipeline"
    out.mkdir(parents=True, exist_ok=True)
    theirs = measure([sys.executable, "-c", PLINK_PIPELINE, shutil.which("plink2") or "plink2",
                      str(merged), str(pheno), str(covar), str(out)])  # fmt: skip
    lines = [_line("warehouse mode, demo data (QC, pruning, 10 PCs, E4_DM2 + LDL_C)", ours,
                   theirs, "<= 3")]  # fmt: skip
    every = measure([_promise(), "gwas", "--all-endpoints", "--warehouse", str(wh),
                     "--out", str(work / "promise-all")])  # fmt: skip
    tested = len(list((work / "promise-all").glob("*.tsv.gz")))
    lines.append(
        f"| --all-endpoints, demo data ({tested} endpoints) | {every['wall']:.1f} | "
        f"{every['peak_gib']:.2f} | | | | < 300 s, < 8 GiB |"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["binary", "scale", "warehouse"])
    parser.add_argument("demo", nargs="?", type=Path, help="warehouse: a promise demo folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/promise-gwas-fast"))
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--variants", type=int, default=None)
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    before = os.getloadavg()
    if args.scenario == "binary":
        lines = binary(work, samples=args.samples or 5000, variants=args.variants or 100_000)
    elif args.scenario == "scale":
        lines = scale(work, samples=args.samples or 50_000, variants=args.variants or 200_000)
    else:
        if args.demo is None:
            parser.error("warehouse needs the folder of a `promise demo` run")
        lines = warehouse(work, args.demo.resolve())
    for line in [*HEADER, *lines]:
        print(line, flush=True)
    print(f"load average before {before}, after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
