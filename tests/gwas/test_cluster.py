"""The same ``promise gwas`` on a Spark standalone cluster gives the same summary statistics.

The test starts a master and a worker on 127.0.0.1 from the classes inside pyspark, runs
the CLI in a subprocess with ``--spark-master spark://127.0.0.1:PORT`` (its own JVM, so the
test session's local Hail is untouched), compares with the local in-process run, and stops
the cluster it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gwas.helpers import read_ssf, run_cli
from gwas.spark_cluster import standalone_cluster
from gwas.synthetic import write_synthetic

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_cluster_run_equals_local_run(hail_session: object, tmp_path: Path) -> None:
    data = write_synthetic(tmp_path / "data", samples=300, variants=80, seed=11)
    args = [
        "--vcf",
        str(data.vcf),
        "--pheno",
        str(data.pheno),
        "--covar",
        str(data.covar),
        "--skip-qc",
        "--pcs",
        "0",
        "--firth",
        "never",
        "--min-cases",
        "10",
        "--engine",
        "hail",
    ]  # fmt: skip  (QC and PCA are exercised locally by the planted-truth test)
    run_cli([*args, "--out", tmp_path / "local"])
    with standalone_cluster(tmp_path / "cluster") as master:
        env = {**os.environ, "TMPDIR": str(tmp_path / "cluster" / "tmp")}
        done = subprocess.run(
            [str(Path(sys.executable).parent / "promise"), "gwas", *args, "--out", str(tmp_path / "remote"),
             "--spark-master", master, "--driver-memory", "1g"],
            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Setting default log level" not in done.stderr  # Spark's console noise goes to logs/
    app_logs = list((tmp_path / "cluster" / "worker").glob("app-*"))
    assert app_logs, "the worker ran no application: the run did not use the cluster"
    for trait in ("Yq", "Yb"):
        local = read_ssf(tmp_path / "local" / f"{trait}.tsv.gz")
        remote = read_ssf(tmp_path / "remote" / f"{trait}.tsv.gz")
        pd.testing.assert_frame_equal(local, remote, check_exact=False, rtol=1e-12)
        assert len(local) > 0
