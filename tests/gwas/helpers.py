"""Helpers shared by the GWAS tests: run the CLI in-process, read GWAS-SSF output."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from promise.cli import main


def run_cli(args: Sequence[str]) -> None:
    """Run ``promise gwas ARGS`` in this process (reusing the test session's Hail)."""
    rc = main(["gwas", *map(str, args)])
    assert rc == 0, f"promise gwas exited {rc}"


def read_ssf(path: Path) -> pd.DataFrame:
    """A GWAS-SSF file as written (NA -> NaN), alleles and chromosome kept as text."""
    return pd.read_csv(
        path,
        sep="\t",
        dtype={"chromosome": str, "effect_allele": str, "other_allele": str},
        na_values=["NA"],
        keep_default_na=False,
    )


def plink2() -> str:
    """The path of plink2; a skip (a failure on CI) when it is not installed."""
    path = shutil.which("plink2")
    if path is None:
        message = "plink2 is not installed: run scripts/ensure-plink2.sh (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def vcf_to_bfile(vcf: Path, prefix: Path) -> Path:
    """The VCF's GT as a PLINK 1 file set written by PLINK 2 (ALT as A1, IID = VCF sample
    id, missing calls kept): the fast engine's input until it reads VCF itself."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [plink2(), "--vcf", str(vcf), "--make-bed", "--allow-extra-chr", "--out", str(prefix),
         "--threads", "1", "--memory", "1000"],
        check=True, capture_output=True,
    )  # fmt: skip
    return prefix
