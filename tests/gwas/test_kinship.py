"""KING-robust kinship on the synthetic families, against PLINK 2 and the planted truth.

- every pair PLINK 2's ``--make-king-table`` reports at or above 0.0442 is in promise's table
  with a kinship within 0.01 (and no other pair is);
- every related pair of ``truth.json`` gets its planted degree, and no pair closer than third
  degree appears that was not planted;
- checked against the register (the synthetic ``multigen`` file through the real ingest and
  dbt build, ``marts.family_relation``), the findings are exactly the pairs truth.json says a
  check must report: the planted pedigree errors and sample swaps, nothing else;
- ``unrelated_subset`` keeps as many samples as ``plink2 --king-cutoff``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from promise.build import build
from promise.gwas.kinship import degree, king_robust_bed
from promise.gwas.relatedness import pedigree_mismatches, unrelated_subset
from promise.ingest import run_ingest
from promise.pseudonym import load_key

from .families import DELIVERY, merged_bfile, pseudonym, write_family_cohort

pytestmark = [pytest.mark.reference, pytest.mark.integration]
KING_FILTER = 0.0442


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> dict[str, Any]:
    if shutil.which("plink2") is None:
        subprocess.run(["bash", "scripts/ensure-plink2.sh"], check=True)
    base = tmp_path_factory.mktemp("kinship")
    truth = write_family_cohort(base / "landing")
    key = load_key(key_file)
    prefix = base / "merged"
    samples = merged_bfile(base / "landing", prefix, key)
    return {"base": base, "truth": truth, "key": key, "prefix": prefix, "samples": samples}


@pytest.fixture(scope="module")
def ours(cohort: dict[str, Any]) -> pl.DataFrame:
    return king_robust_bed(cohort["prefix"], min_kinship=KING_FILTER)


def _plink2(cohort: dict[str, Any], *args: str) -> Path:
    out = cohort["base"] / "plink2"
    subprocess.run(
        ["plink2", "--bfile", str(cohort["prefix"]), "--threads", "2", "--out", str(out), *args],
        check=True,
        capture_output=True,
    )
    return out


def _pairs(frame: pl.DataFrame, a: str = "id1", b: str = "id2") -> pl.DataFrame:
    return frame.with_columns(
        pl.min_horizontal(a, b).alias("lo"), pl.max_horizontal(a, b).alias("hi")
    )


def test_agrees_with_plink2_make_king_table(cohort: dict[str, Any], ours: pl.DataFrame) -> None:
    out = _plink2(cohort, "--make-king-table", "--king-table-filter", str(KING_FILTER))
    theirs = pl.read_csv(f"{out}.kin0", separator="\t").rename({"IID1": "id1", "IID2": "id2"})
    joined = _pairs(theirs).join(_pairs(ours), on=["lo", "hi"], how="full", coalesce=True)
    only_one = joined.filter(pl.col("KINSHIP").is_null() | pl.col("kinship").is_null())
    # a pair on the filter's edge may fall either side of it by the printed digits alone
    assert only_one.filter(
        (pl.coalesce("KINSHIP", "kinship") - KING_FILTER).abs() > 1e-5
    ).is_empty(), only_one
    both = joined.drop_nulls(["KINSHIP", "kinship"])
    assert both.height >= 200  # the planted families are there
    assert (both["KINSHIP"] - both["kinship"]).abs().max() <= 0.01
    assert (both["NSNP"] == both["nsnp"]).all()
    print(f"PLINK 2 pairs >= {KING_FILTER}: {theirs.height}; largest |difference| "
          f"{(both['KINSHIP'] - both['kinship']).abs().max():.2e}")  # fmt: skip


def test_every_planted_pair_gets_its_degree(cohort: dict[str, Any], ours: pl.DataFrame) -> None:
    key = cohort["key"]
    planted = {
        tuple(sorted((pseudonym(key, p["id1"]), pseudonym(key, p["id2"])))): p["degree"]
        for p in cohort["truth"]["relatedness"]["pairs"]
    }
    found = {(r["lo"], r["hi"]): r["kinship"] for r in _pairs(ours).iter_rows(named=True)}
    wrong = {pair: (want, found.get(pair)) for pair, want in planted.items()
             if pair not in found or degree(found[pair]) != want}  # fmt: skip
    assert not wrong
    unplanted = {
        pair: k for pair, k in found.items() if pair not in planted and degree(k) in (0, 1, 2)
    }
    assert not unplanted
    print(f"{len(planted)} planted pairs, all with their degree; "
          f"{len(found) - len(planted)} unplanted pairs, all third degree or beyond")  # fmt: skip


@pytest.fixture(scope="module")
def family_relation(cohort: dict[str, Any], key_file: Path) -> pl.DataFrame:
    """The synthetic register through the real ingest and dbt build."""
    landing = cohort["base"] / "registers"
    for source in ("population", "multigen"):
        shutil.copytree(cohort["base"] / "landing" / source, landing / source)
    warehouse = cohort["base"] / "warehouse"
    run_ingest(landing=landing, warehouse=warehouse, key_file=key_file, reference_date=DELIVERY)
    build(warehouse=warehouse)
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.sql("select * from marts.family_relation").pl()
    finally:
        con.close()


def test_register_check_finds_the_planted_errors_and_nothing_else(
    cohort: dict[str, Any], ours: pl.DataFrame, family_relation: pl.DataFrame
) -> None:
    key = cohort["key"]
    relatedness = cohort["truth"]["relatedness"]
    found = pedigree_mismatches(ours, family_relation, cohort["samples"])
    expected = {
        tuple(sorted((pseudonym(key, m["id1"]), pseudonym(key, m["id2"]))))
        for m in relatedness["mismatches"]
    }
    assert set(zip(found["id1"], found["id2"], strict=True)) == expected
    involved = set(found["id1"]) | set(found["id2"])
    for error in relatedness["pedigree_errors"]:
        assert pseudonym(key, error["child"]) in involved
    for swap in relatedness["sample_swaps"]:
        assert {pseudonym(key, swap["id1"]), pseudonym(key, swap["id2"])} <= involved
    print(found.select("finding").to_series().value_counts())


@pytest.mark.parametrize("cutoff", [0.0884, 0.177])
def test_unrelated_subset_keeps_as_many_as_plink2_king_cutoff(
    cohort: dict[str, Any], ours: pl.DataFrame, cutoff: float
) -> None:
    out = _plink2(cohort, "--king-cutoff", str(cutoff))
    kept_by_plink = Path(f"{out}.king.cutoff.in.id").read_text().splitlines()[1:]
    kept = unrelated_subset(ours, cohort["samples"], cutoff)
    left = ours.filter(pl.col("id1").is_in(kept) & pl.col("id2").is_in(kept))
    assert left.filter(pl.col("kinship") > cutoff).is_empty()
    assert len(kept) == len(kept_by_plink)
    print(f"cutoff {cutoff}: promise keeps {len(kept)}, plink2 {len(kept_by_plink)}")
