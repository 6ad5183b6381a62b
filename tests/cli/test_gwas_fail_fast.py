"""``promise gwas`` refuses bad inputs in one sentence before Hail starts.

Each case runs the real command in a fresh process and is timed: under 5 s of CPU (the
process and its children: what it costs, whatever else the machine runs; a Hail start
alone takes more) and under 5 s from start to exit where the machine is not overloaded,
a non-zero exit, and stderr that is one ``error:`` sentence without a traceback.
Before these checks each of them started Hail first (16 s for a missing --bfile; 130 s for
an endpoint without cases, which failed only after QC and PCA; a 200-line Java traceback
for a .bim Hail rejects).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest
from gwas.synthetic import write_bfile

from promise.errors import PromiseError
from promise.gwas import genofiles

pytestmark = pytest.mark.reliability

LIMIT_SECONDS = 5.0


def _refused(*args: str | Path) -> str:
    """Run ``promise gwas ARGS``; check it fails fast in one sentence; return the sentence."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "promise", "gwas", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    err = proc.stderr.strip()
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr, err
    assert err.startswith("error: ") and "\n" not in err and err.endswith((".", "?")), err
    assert cpu < LIMIT_SECONDS, f"{cpu:.1f} s of CPU: {err}"
    # wall time stretches on a machine shared by several busy processes (load per core)
    busy = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    assert seconds < LIMIT_SECONDS * busy, f"{seconds:.1f} s (load {busy:.1f} per core): {err}"
    return err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PLINK set of 40 samples S0000..S0039 and 6 variants, and a matching phenotype file."""
    folder = tmp_path_factory.mktemp("failfast")
    write_bfile(folder / "g", np.random.default_rng(2).integers(0, 3, size=(40, 6)))
    (folder / "pheno.txt").write_text(
        "FID IID Y\n" + "".join(f"S{i:04d} S{i:04d} {i % 7}.5\n" for i in range(40))
    )
    return folder


def test_missing_bfile(files: Path, tmp_path: Path) -> None:
    err = _refused("--bfile", tmp_path / "nothere", "--pheno", files / "pheno.txt",
                   "--out", tmp_path / "out")  # fmt: skip
    assert f"{tmp_path / 'nothere'}.bed" in err and "do not exist" in err


def test_bfile_given_as_the_bed_file_means_its_prefix(files: Path, tmp_path: Path) -> None:
    """``--bfile g.bed`` reads g.bed/g.bim/g.fam: the run gets past the files to the next
    check (here: phenotype ids that match none of the .fam's)."""
    other = tmp_path / "other.txt"
    other.write_text("FID IID Y\nA1 A1 1.5\nA2 A2 2.5\n")
    err = _refused("--bfile", files / "g.bed", "--pheno", other, "--out", tmp_path / "out")
    assert "No sample id of the phenotype file(s) is among the 40 genotyped samples" in err
    assert f"of {files / 'g'} " in err and "'A1' vs 'S0000'" in err


def _with_bim(files: Path, folder: Path, lines: dict[int, str]) -> Path:
    """A copy of the PLINK set whose .bim has ``lines`` (1-based) replaced."""
    prefix = folder / "bad"
    for suffix in (".bed", ".fam"):
        prefix.with_suffix(suffix).write_bytes((files / f"g{suffix}").read_bytes())
    bim = (files / "g.bim").read_text().splitlines()
    for number, text in lines.items():
        bim[number - 1] = text
    prefix.with_suffix(".bim").write_text("\n".join(bim) + "\n")
    return prefix


@pytest.mark.parametrize(
    ("line", "build", "expected"),
    [
        ("1\tv2\t0\t0\tA\tG", "GRCh38", "Line 3 of {bim} (1 v2 0) has position 0, PLINK's mark of an unplaced variant"),
        ("HLA\tv2\t0\t500\tA\tG", "GRCh38", "Line 3 of {bim} (HLA v2 500) names the contig 'HLA', which GRCh38 does not have"),
        ("chr1\tv2\t0\t249000000\tA\tG", "GRCh38", "past the end of chr1 (248,956,422 bp) in GRCh38"),
    ],
)  # fmt: skip
def test_bim_that_hail_would_reject(
    files: Path, tmp_path: Path, line: str, build: str, expected: str
) -> None:
    prefix = _with_bim(files, tmp_path, {3: line})
    err = _refused("--bfile", prefix, "--pheno", files / "pheno.txt", "--build", build,
                   "--out", tmp_path / "out")  # fmt: skip
    assert expected.format(bim=f"{prefix}.bim") in err


def test_plink_numeric_sex_contigs_are_accepted(files: Path, tmp_path: Path) -> None:
    """PLINK 1.9 writes X as 23, Y 24, XY 25, MT 26: the import recodes them, the check
    accepts them (lengths from Hail's reference: chrX 156,040,895 bp in GRCh38)."""
    lines = {1: "23\tx\t0\t156040895\tA\tG", 2: "24\ty\t0\t100\tA\tG", 3: "26\tm\t0\t16569\tA\tG"}
    prefix = _with_bim(files, tmp_path, lines)
    genofiles.check_bim(prefix, "GRCh38")
    prefix = _with_bim(files, tmp_path, {1: "23\tx\t0\t156040896\tA\tG"})
    with pytest.raises(PromiseError, match="past the end of chrX"):
        genofiles.check_bim(prefix, "GRCh38")


def _warehouse(folder: Path) -> Path:
    """A warehouse holding only what ``promise gwas --endpoint`` reads first: the phenotype
    mart (200 genotyped samples; E_NONE has no case, E_FEW 10, E_COMMON 80) and a
    genotype folder."""
    warehouse = folder / "warehouse"
    (warehouse / "genotypes" / "batch1.mt").mkdir(parents=True)
    con = duckdb.connect(str(warehouse / "promise.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.gwas_phenotype AS
        SELECT 'p' || i AS person_id, 's' || i AS sample_id, 'batch1' AS batch,
               CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END AS sex,
               CAST(i % 2 = 0 AS INTEGER) AS is_female, 40.0 + i % 30 AS age,
               CAST(1980 - i % 30 AS BIGINT) AS birth_year,
               CAST(0 AS INTEGER) AS E_NONE,
               CAST(i < 10 AS INTEGER) AS E_FEW,
               CAST(CASE WHEN i < 80 THEN 1 WHEN i < 190 THEN 0 END AS INTEGER) AS E_COMMON,
               CAST(i / 10.0 AS DOUBLE) AS LDL_C
        FROM range(200) AS t(i)"""
    )
    con.close()
    return warehouse


def test_endpoint_without_cases(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    err = _refused("--endpoint", "E_NONE", "--warehouse", warehouse, "--out", tmp_path / "out")
    assert "Endpoint 'E_NONE' has no case among the 200 genotyped samples" in err
    # only endpoints with cases are offered, most cases first
    assert "endpoints with cases among the genotyped (cases): E_COMMON (80), E_FEW (10)." in err


def test_unknown_endpoint_suggests_close_names(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    err = _refused("--endpoint", "E_COMON", "--warehouse", warehouse, "--out", tmp_path / "out")
    assert "Unknown endpoint 'E_COMON'" in err and "did you mean E_COMMON?" in err
    assert "E_NONE" not in err


def test_endpoint_with_fewer_cases_than_the_minimum(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    err = _refused("--endpoint", "E_FEW", "--warehouse", warehouse, "--out", tmp_path / "out")
    assert "Trait 'E_FEW' has 10 cases and 190 controls among the genotyped samples" in err
    assert "`promise endpoints` lists those with cases" in err


@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_shipped_contigs_are_the_installed_hails(build: str) -> None:
    """The .bim check's contigs and lengths are Hail's own (read here from its jar)."""
    from_hail = genofiles.hail_contigs(build)
    if from_hail is None:
        pytest.skip("Hail is not installed")
    assert genofiles.reference_contigs(build) == from_hail
