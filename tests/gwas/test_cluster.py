"""The same ``promise gwas`` on a Spark standalone cluster gives the same summary statistics.

One master and one worker on 127.0.0.1 (started from the classes inside pyspark) serve the
whole module; each test runs the CLI in a subprocess with ``--spark-master
spark://127.0.0.1:PORT`` (its own JVM, so the test session's local Hail is untouched) and
compares with a local run of the same command, then the fixture stops the cluster.

- Hail's own regressions (``--engine hail``) on the cluster equal Hail's local run.
- The fast kernels as Spark tasks (``--engine spark``) equal the local fast engine (the
  same kernel code on the same samples and variants, so to 1e-10), for the quantitative
  (Yq, linear) and the binary trait (Yb: score test, Firth where p < 0.05); the variants'
  ``test`` column says which. No sample id reaches the cluster's logs or the worker's files.
- A worker without promise ends in one sentence naming PYSPARK_PYTHON.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gwas.helpers import read_ssf, run_cli
from gwas.spark_cluster import standalone_cluster
from gwas.synthetic import SyntheticSet, write_synthetic
from promise.gwas.engines.interface import choose_engine
from promise.gwas.engines.sparkkernel import variant_ranges
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLUSTER = "spark://127.0.0.1:7077"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``(master URL, the cluster's folder)``, one cluster for the module."""
    work = tmp_path_factory.mktemp("cluster")
    with standalone_cluster(work) as master:
        yield master, work


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticSet:
    return write_synthetic(tmp_path_factory.mktemp("data"), samples=300, variants=80, seed=11)


def _args(data: SyntheticSet, *more: str) -> list[str]:
    return ["--vcf", str(data.vcf), "--pheno", str(data.pheno), "--covar", str(data.covar),
            "--skip-qc", "--pcs", "0", "--min-cases", "10", *more]  # fmt: skip


def _on_cluster(
    args: list[str], out: Path, master: str, work: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "promise"), "gwas", *args, "--out", str(out),
         "--spark-master", master, "--driver-memory", "1g"],
        capture_output=True, text=True, timeout=600, cwd=out.parent,
        env={**os.environ, "TMPDIR": str(work / "tmp"), **env},
    )  # fmt: skip


def test_cluster_run_equals_local_run(
    hail_session: object, cluster: tuple[str, Path], synthetic: SyntheticSet, tmp_path: Path
) -> None:
    """Hail's own regressions: the cluster run equals the local Hail run."""
    master, work = cluster
    args = _args(synthetic, "--firth", "never", "--engine", "hail")
    run_cli([*args, "--out", tmp_path / "local"])
    done = _on_cluster(args, tmp_path / "remote", master, work)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Setting default log level" not in done.stderr  # Spark's console noise goes to logs/
    app_logs = list((work / "worker").glob("app-*"))
    assert app_logs, "the worker ran no application: the run did not use the cluster"
    for trait in ("Yq", "Yb"):
        local = read_ssf(tmp_path / "local" / f"{trait}.tsv.gz")
        remote = read_ssf(tmp_path / "remote" / f"{trait}.tsv.gz")
        pd.testing.assert_frame_equal(local, remote, check_exact=False, rtol=1e-12)
        assert len(local) > 0


def test_kernel_tasks_equal_local_fast_engine(
    cluster: tuple[str, Path], synthetic: SyntheticSet, tmp_path: Path
) -> None:
    """The fast kernels as Spark tasks on the cluster give the local fast engine's
    statistics (same code, same samples and variants), without a sample id in any log."""
    master, work = cluster
    before = set((work / "worker").glob("app-*"))
    run_cli([*_args(synthetic, "--engine", "fast"), "--out", tmp_path / "local"])
    done = _on_cluster(_args(synthetic, "--engine", "spark"), tmp_path / "remote", master, work)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Spark task" in done.stderr  # the association ran as Spark tasks
    new_apps = [p for p in (work / "worker").glob("app-*") if p not in before]
    assert new_apps, "the worker ran no application: the run did not use the cluster"
    for trait in ("Yq", "Yb"):
        local = read_ssf(tmp_path / "local" / f"{trait}.tsv.gz")
        remote = read_ssf(tmp_path / "remote" / f"{trait}.tsv.gz")
        assert list(local.columns) == list(remote.columns)
        assert len(local) == len(remote) == 80
        text = ["chromosome", "base_pair_location", "effect_allele", "other_allele",
                "variant_id", "n", "test"]  # fmt: skip
        pd.testing.assert_frame_equal(local[text], remote[text])
        both = local["p_value"].notna() & remote["p_value"].notna()
        assert both.sum() >= 75  # NA only where a statistic is undefined
        assert (local["p_value"].isna() == remote["p_value"].isna()).all()
        numbers = [c for c in local.columns if c not in text]
        np.testing.assert_allclose(
            remote.loc[both, numbers].to_numpy(float), local.loc[both, numbers].to_numpy(float),
            rtol=1e-10,
        )  # fmt: skip
    tests = read_ssf(tmp_path / "remote" / "Yb.tsv.gz")["test"]
    assert {"score", "firth"} <= set(tests)  # both kernels of the binary trait ran
    ids = pd.read_csv(synthetic.pheno, sep="\t")["#IID"].tolist()
    written = [p for p in [*work.rglob("*"), *(tmp_path / "remote").rglob("*")] if p.is_file()]
    assert written
    for path in written:
        if path.suffix in (".gz", ".png", ".jar"):
            continue  # results and the plots carry no sample; jars are Hail's
        content = path.read_bytes().decode("utf-8", errors="replace")
        leaked = [s for s in ids if s in content]
        assert not leaked, f"{path} holds sample ids such as {leaked[:1]}"


def test_worker_without_promise_fails_in_one_sentence(
    cluster: tuple[str, Path], synthetic: SyntheticSet, tmp_path: Path
) -> None:
    """A worker Python that cannot run the tasks: one sentence naming PYSPARK_PYTHON, no
    traceback, exit non-zero."""
    master, work = cluster
    missing = str(tmp_path / "no-such-python")
    done = _on_cluster(_args(synthetic, "--engine", "spark"), tmp_path / "remote", master,
                       work, PYSPARK_PYTHON=missing)  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "PYSPARK_PYTHON" in done.stderr and missing in done.stderr, done.stderr[-2000:]
    assert "failed on the Spark workers" in done.stderr
    assert "reading genotypes" not in done.stderr  # refused before Hail's import


def test_spark_master_chooses_kernel_tasks_on_hard_calls(tmp_path: Path) -> None:
    """The engine a run gets on a cluster: the faster one (see docs/benchmarks.md) unless
    ``--engine hail``; dosages stay on Hail, and ``--engine spark`` on them is refused."""
    vcf = tmp_path / "calls.vcf"
    vcf.write_text(
        '##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description="">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\n"
    )
    calls = GenotypeSource(kind="vcf", path=vcf)
    dosages = GenotypeSource(kind="bgen", path=tmp_path / "x.bgen")
    auto = GwasOptions()
    assert choose_engine(auto, calls, spark_master=CLUSTER) == "spark"
    assert choose_engine(GwasOptions(engine="hail"), calls, spark_master=CLUSTER) == "hail"
    assert choose_engine(auto, dosages, spark_master=CLUSTER) == "hail"
    with pytest.raises(Exception, match="--engine spark cannot run this GWAS"):
        choose_engine(GwasOptions(engine="spark"), dosages, spark_master=CLUSTER)


def test_variant_ranges_cover_whole_blocks() -> None:
    """Ranges cover 0..m in order, each of whole blocks but the last (worked by hand: 10
    blocks of 4 in 3 ranges -> 4, 4, 2 blocks)."""
    assert variant_ranges(38, 4, 3) == [(0, 16), (16, 32), (32, 38)]
    assert variant_ranges(3, 512, 8) == [(0, 3)]
    assert variant_ranges(0, 512, 8) == []
