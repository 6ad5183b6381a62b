"""`promise demo` end to end, as a user runs it, against the truth it planted.

The cohort is smaller than the default demo (6,000 persons, 3,000 genotyped, 5,000 variants)
so the run stays within a few minutes; the planted effects in truth.json are large enough
to be genome-wide significant at 3,000 samples (e.g. log OR 0.45 at allele frequency 0.4
with a quarter of samples cases gives an expected chi-square of about 3000 * 0.19 * 0.48 *
0.45^2 = 55, p ~ 1e-13).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

GENOME_WIDE = 5e-8
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    root = tmp_path_factory.mktemp("demo")
    args = [
        "demo",
        "--dir",
        str(root),
        "--persons",
        "6000",
        "--genotyped",
        "3000",
        "--variants",
        "5000",
        "--driver-memory",
        "4g",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "promise", *args],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    return root, done


def _causal(truth: dict, name: str) -> set[str]:
    for group in truth["gwas"].values():
        for entry in group:
            if name in (entry.get("trait"), entry.get("endpoint")):
                return {c["variant_id"] for c in entry["causal"]}
    raise AssertionError(f"{name} not planted")


def _results(path: Path) -> pd.DataFrame:
    assert path.is_file(), f"no summary statistics {path}"
    with gzip.open(path, "rt") as handle:
        return pd.read_csv(handle, sep="\t")


def test_demo_exits_cleanly_and_says_where_things_are(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, done = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pseudonym key" in done.stdout
    assert "report" in done.stdout and "promise sql" in done.stdout
    assert "WARN" not in done.stdout + done.stderr  # Java/Spark noise goes to log files


@pytest.mark.parametrize("name", ["E4_DM2", "LDL_C"])
def test_planted_variants_are_genome_wide_significant_and_lead(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]], name: str
) -> None:
    root, done = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    truth = json.loads((root / "landing" / "truth.json").read_text())
    planted = _causal(truth, name)
    frame = _results(root / "results" / f"{name}.tsv.gz").sort_values("p_value")
    top = set(frame["variant_id"].head(len(planted)))
    hits = frame[frame["variant_id"].isin(planted)]
    assert len(hits) == len(planted), "a planted variant was not tested"
    assert (hits["p_value"] < GENOME_WIDE).all(), hits[["variant_id", "p_value"]]
    assert top == planted
    # warehouse mode on the fast engine, with QC and 10 PCs: calibrated
    meta = (root / "results" / f"{name}.tsv.gz-meta.yaml").read_text()
    lam = float(meta.split("lambda_gc:")[1].split()[0])
    assert 0.95 <= lam <= 1.10, lam
    assert "engine: fast" in meta and "- PC10" in meta


def test_report_and_plots_exist(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, done = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    folder = root / "results"
    html = (folder / "report.html").read_text()
    assert "lambda" in html.lower() and "E4_DM2" in html and "LDL_C" in html
    for image in ("manhattan.png", "qq.png", "pca.png"):
        data = (folder / image).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, image


def test_every_endpoint_of_the_demo_with_enough_cases_has_a_profile(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The threshold is the default floor (5); cases are counted here in DuckDB on the marts."""
    import duckdb

    root, done = demo_run
    assert done.returncode == 0, done.stderr[-3000:]
    con = duckdb.connect(str(root / "warehouse" / "promise.duckdb"), read_only=True)
    try:
        rows = con.sql(
            "select c.endpoint from marts.endpoint_case as c join marts.person as p using (person_id) "
            "join marts.endpoint_definition as d on d.name = c.endpoint "
            "where d.evaluation in ('evaluated', 'partial') and p.sex in ('male', 'female') "
            "and p.birth_date is not null and c.first_event_date is not null "
            "group by 1 having count(*) >= 5"
        ).fetchall()
    finally:
        con.close()
    pages = {p.stem for p in (root / "profiles").glob("*.html")} - {"index"}
    assert pages == {r[0] for r in rows} and "E4_DM2" in pages
    assert "endpoint profiles" in done.stdout
