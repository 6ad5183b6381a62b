"""Helpers shared by the GWAS tests: run the CLI in-process, read GWAS-SSF output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

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
