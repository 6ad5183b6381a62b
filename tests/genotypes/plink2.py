"""PLINK 2, the independent implementation the readers are held to: it converts one data set
to every format and reads each back into dosages (``--export A``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

Array = np.ndarray[Any, Any]


def plink2() -> str:
    """The plink2 binary (installed by scripts/ensure-plink2.sh); skip without it, fail in CI."""
    path = shutil.which("plink2")
    if path is None:
        subprocess.run(["bash", "scripts/ensure-plink2.sh"], check=False, capture_output=True)
        path = shutil.which("plink2")
    if path is None:
        message = "plink2 is not installed: run scripts/ensure-plink2.sh (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(out: Path, *args: str) -> Path:
    """``plink2 ARGS --out OUT`` on one thread; ``out`` back."""
    subprocess.run(
        [plink2(), *args, "--threads", "1", "--memory", "1024", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def exported_dosages(out: Path, *source: str) -> tuple[list[str], list[str], list[str], Array]:
    """``plink2 SOURCE --export A``: IIDs, variant ids, the counted allele of each variant
    and the dosages (samples x variants, NaN where plink2 writes NA)."""
    run(out, *source, "--export", "A")
    raw = pl.read_csv(f"{out}.raw", separator="\t", null_values="NA", infer_schema_length=0)
    columns = raw.columns[6:]
    ids = [c.rsplit("_", 1)[0] for c in columns]
    counted = [c.rsplit("_", 1)[1] for c in columns]
    values = raw.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()
    return raw["IID"].to_list(), ids, counted, values


def as_a1(values: Array, counted: list[str], a1: list[str], a2: list[str]) -> Array:
    """``values`` (dosages of ``counted``) as dosages of ``a1``: 2 - x where plink2 counted
    ``a2``; an allele that is neither is an error of the test data."""
    out = values.copy()
    for j, allele in enumerate(counted):
        if allele == a2[j]:
            out[:, j] = 2.0 - values[:, j]
        elif allele != a1[j]:
            raise AssertionError(f"variant {j}: plink2 counted {allele}, not {a1[j]} or {a2[j]}")
    return out


def dummy(base: Path, samples: int, variants: int, *options: str, on_x: int = 0) -> Path:
    """``plink2 --dummy`` data as a .pgen set whose positions start at 1,000,100 (--dummy
    starts at 0, which no build has), the last ``on_x`` variants moved to X and every other
    sample male (so that PLINK 2 writes their X genotypes haploid); its prefix."""
    d0 = run(base / "dummy0", "--dummy", str(samples), str(variants), *options, "--make-pgen")
    pvar = Path(f"{d0}.pvar").read_text().splitlines()
    rows = [line.split("\t") for line in pvar[1:]]
    for i, row in enumerate(rows):
        row[0], row[1] = ("X" if i >= variants - on_x else "1"), str(1_000_100 + 100 * i)
    d = base / "dummy"
    Path(f"{d}.pvar").write_text("\n".join([pvar[0], *("\t".join(r) for r in rows)]) + "\n")
    psam = Path(f"{d0}.psam").read_text().splitlines()
    sexed = [psam[0]] + [
        "\t".join([f[0], "1" if i % 2 else "2", *f[2:]])
        for i, f in enumerate(line.split("\t") for line in psam[1:])
    ]
    Path(f"{d}.psam").write_text("\n".join(sexed) + "\n")
    Path(f"{d}.pgen").write_bytes(Path(f"{d0}.pgen").read_bytes())
    return d
