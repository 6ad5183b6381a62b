"""Relatives through ``promise gwas`` in warehouse mode (the shared ``built_warehouse``, whose
synthetic cohort has families, planted pedigree errors and sample swaps in truth.json).

- ``--related drop`` analyses as many samples as ``plink2 --king-cutoff 0.0884`` keeps of the
  same samples and common variants (the genotype batches read from the landing files and
  pseudonymised by the test itself, :mod:`gwas.families`; ``--skip-qc``, so that the samples
  are the genotyped ones with the endpoint, and PLINK 2 gets ``--maf 0.01`` as the kinship
  variants are the common ones);
- ``kinship.tsv`` names samples by pseudonym only, never by personnummer;
- the report's relatedness section lists every pair truth.json says the register check must
  report (the planted pedigree errors and sample swaps), by pseudonym.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from gwas.helpers import plink2, run_cli
from promise.gwas.kinship import KINSHIP_SCHEMA
from promise.gwas.loco import LocoRun, loco_default, with_offsets
from promise.gwas.relatedreport import loco_section, relatedness_section
from promise.gwas.relatives import assess, disclosure_floor
from promise.pseudonym import load_key

from .families import merged_bfile, pseudonym

CUTOFF = 0.0884


@pytest.mark.integration
@pytest.mark.slow
def test_related_drop_and_register_findings_in_warehouse_mode(
    built_warehouse: Path,
    small_landing: tuple[Path, dict[str, Any]],
    key_file: Path,
    tmp_path: Path,
) -> None:
    landing, truth = small_landing
    endpoint = truth["gwas"]["binary"][0]["endpoint"]
    out = tmp_path / "results"
    run_cli(["--endpoint", endpoint, "--warehouse", built_warehouse, "--out", out,
             "--related", "drop", "--no-loco", "--skip-qc"])  # fmt: skip

    key = load_key(key_file)
    ids = merged_bfile(landing, tmp_path / "merged" / "all", key)
    subprocess.run(
        [plink2(), "--bfile", str(tmp_path / "merged" / "all"), "--maf", "0.01",
         "--king-cutoff", str(CUTOFF), "--threads", "1", "--out", str(tmp_path / "king")],
        check=True, capture_output=True,
    )  # fmt: skip
    kept_by_plink = Path(f"{tmp_path / 'king'}.king.cutoff.in.id").read_text().splitlines()[1:]
    meta = yaml.safe_load((out / f"{endpoint}.tsv.gz-meta.yaml").read_text())
    steps = {q["filter"]: q for q in meta["qc"]}
    assert steps["phenotype match"]["remaining"] == len(ids)  # every genotyped sample
    assert steps["relatedness"]["remaining"] == len(kept_by_plink)
    assert steps["relatedness"]["removed"] == len(ids) - len(kept_by_plink) > 0
    assert meta["sample_size"] == len(kept_by_plink)
    print(f"--related drop keeps {meta['sample_size']}, plink2 --king-cutoff {len(kept_by_plink)}")

    kinship = pl.read_csv(out / "kinship.tsv", separator="\t", null_values="NA")
    assert set(kinship["id1"]) | set(kinship["id2"]) <= set(ids)
    assert kinship["kinship"].min() >= 0.0442
    numbers = {p["id1"] for p in truth["relatedness"]["pairs"]}
    numbers |= {p["id2"] for p in truth["relatedness"]["pairs"]}
    report = (out / "report.html").read_text()
    text = (out / "kinship.tsv").read_text()
    for number in numbers:
        assert number not in text and number[2:] not in text
        assert number not in report

    section = report[report.index("<h2>Relatedness</h2>") :]
    section = section[: section.index("</section>")]
    assert "--related drop" in section
    for m in truth["relatedness"]["mismatches"]:
        a, b = sorted((pseudonym(key, m["id1"]), pseudonym(key, m["id2"])))
        assert f"<td>{a}</td><td>{b}</td>" in section, m
    listed = section.count("</td></tr>") - 5  # less the five rows of counts by degree
    assert listed == len(truth["relatedness"]["mismatches"])

    # by default, warehouse mode keeps relatives and uses LOCO for every trait, the binary
    # endpoint included (docs/gwas.md says why), and the report says so
    default = tmp_path / "default"
    run_cli(["--endpoint", endpoint, "--trait", "LDL_C", "--warehouse", built_warehouse,
             "--out", default])  # fmt: skip
    for trait in (endpoint, "LDL_C"):
        meta = yaml.safe_load((default / f"{trait}.tsv.gz-meta.yaml").read_text())
        assert meta["loco"]["used"] is True, trait
        assert meta["loco"]["choice"] == "default in warehouse mode"
        assert meta["loco"]["note"] is None
    assert meta["thresholds"]["related"] == "keep" and "relatedness" not in {
        q["filter"] for q in meta["qc"]
    }
    report = (default / "report.html").read_text()
    assert "Used (default in warehouse mode) for 2 trait(s)" in report
    assert "tested without LOCO" not in report
    # own files: off unless asked for
    assert loco_default("bfile") is False and loco_default("warehouse") is True


def test_small_counts_are_suppressed_in_the_report(tmp_path: Path) -> None:
    """Three samples: a parent-child pair (kinship 0.25 by construction: the child carries
    one allele of the parent at every variant) and an unrelated one; one first-degree pair is
    below a floor of 5, so its cell and the total that would reveal it are suppressed."""
    rng = np.random.default_rng(1)
    m = 4000
    parent = rng.binomial(2, 0.4, m)
    other = rng.binomial(2, 0.4, m)
    from_parent = np.where(parent == 2, 1, np.where(parent == 0, 0, rng.integers(0, 2, m)))
    child = from_parent + rng.binomial(1, 0.4, m)
    codes = np.stack([parent, child, other], axis=1).astype(np.uint8)
    rel = assess(codes, ["a", "b", "c"], mode="keep", cutoff=CUTOFF,
                 relations=pl.DataFrame(schema={"person_id_1": pl.Utf8, "person_id_2": pl.Utf8,
                                                "relation": pl.Utf8}),
                 threshold=5)  # fmt: skip
    assert rel.table.select("id1", "id2").rows() == [("a", "b")]
    assert set(rel.table.columns) == set(KINSHIP_SCHEMA)
    html = relatedness_section(rel)
    assert "suppressed (&lt; 5)" in html
    assert ">1<" not in html.replace(">1,", "")  # the count of one is never shown
    assert "genetically parent_offspring but not linked by the register" in html


def test_disclosure_floor_comes_from_the_warehouse(tmp_path: Path) -> None:
    assert disclosure_floor(tmp_path) == 5  # no promise.yml: the default
    (tmp_path / "promise.yml").write_text("disclosure:\n  threshold: 11\n")
    assert disclosure_floor(tmp_path) == 11


def test_loco_section_names_traits_without_loco() -> None:
    run = LocoRun(used=True, why="--loco", traits=["A"], without=["B"],
                  messages=["Whole-genome regression (step 1) did not converge for trait B; it "
                            "is tested without LOCO predictions."], n_variants=10)  # fmt: skip
    html = loco_section(run)
    assert "for 1 trait(s): A" in html and "did not converge for trait B" in html
    assert "Not used (--no-loco)" in loco_section(LocoRun(used=False, why="--no-loco"))
    assert run.for_trait("B")["used"] is False and "trait B" in run.for_trait("B")["note"]


@pytest.mark.integration
def test_a_trait_whose_step1_fails_is_named_and_tested_without_loco(tmp_path: Path) -> None:
    """Binary trait B is separated perfectly by its covariate (cases exactly where x > 0):
    its null logistic model has no finite maximum, so level 1 cannot be fitted; trait A
    (random cases) is fitted. B must be named and get zero offsets, A non-zero ones."""
    from gwas.synthetic import write_bfile
    from promise.gwas.bedset import open_bed
    from promise.gwas.engines.fastassoc import GroupInput

    rng = np.random.default_rng(3)
    n, m = 400, 600
    geno = rng.binomial(2, 0.3, (n, m))
    write_bfile(tmp_path / "g", geno)
    bim = (tmp_path / "g.bim").read_text().splitlines()
    chrom = np.repeat(["1", "2", "3"], m // 3)
    (tmp_path / "g.bim").write_text(
        "".join(
            f"{c}\t" + line.split("\t", 1)[1] + "\n" for c, line in zip(chrom, bim, strict=True)
        )
    )
    x = rng.normal(size=n)
    a = (rng.random(n) < 0.3 + 0.2 * (geno[:, :50].mean(axis=1) > 0.6)).astype(float)
    b = (x > 0).astype(float)
    bed = open_bed(tmp_path / "g")
    group = GroupInput(kind="binary", traits=["A", "B"], cols=np.arange(n),
                       y=np.column_stack([a, b]), covariates=np.column_stack([np.ones(n), x]))  # fmt: skip
    done, run = with_offsets(bed, [group], np.arange(m), relatives=None, why="--loco")
    assert run.traits == ["A"] and run.without == ["B"]
    assert any("trait B" in message for message in run.messages)
    offsets = done[0].offsets
    assert offsets is not None and set(offsets) == {"1", "2", "3"}
    assert all(np.all(o[:, 1] == 0) for o in offsets.values())
    assert any(np.any(o[:, 0] != 0) for o in offsets.values())


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--related", "maybe"], "--related must be keep or drop"),
        (["--king-cutoff", "0.7"], "--king-cutoff must lie between 0 and 0.5"),
        (["--related", "drop", "--engine", "hail"], "needs the fast engine"),
        (["--loco", "--engine", "hail"], "needs the fast engine"),
    ],
)
def test_bad_relatives_options_are_one_sentence(tmp_path: Path, args: list[str], says: str) -> None:
    """Refused in one sentence, before any Hail session or computation starts."""
    import sys

    from gwas.synthetic import write_bfile

    rng = np.random.default_rng(0)
    write_bfile(tmp_path / "g", rng.binomial(2, 0.3, (60, 20)))
    (tmp_path / "p.txt").write_text(
        "FID IID Y\n" + "".join(f"S{i:04d} S{i:04d} {rng.normal():.3f}\n" for i in range(60))
    )
    proc = subprocess.run(
        [sys.executable, "-m", "promise", "gwas", "--bfile", str(tmp_path / "g"), "--pheno",
         str(tmp_path / "p.txt"), "--out", str(tmp_path / "out"), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    err = proc.stderr.strip()
    assert proc.returncode != 0
    assert "Traceback" not in err and err.startswith("error: ") and "\n" not in err, err
    assert says in err
    assert not list((tmp_path / "out").glob("*.tsv.gz"))
