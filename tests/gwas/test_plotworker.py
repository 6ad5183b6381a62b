"""The plotting process: a script without a main guard runs once, a dead process falls back.

``multiprocessing``'s spawned children re-run the caller's main script, which would run a
user's GWAS script twice (or fail); the plots run in a plain ``python -m`` subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gwas.synthetic import write_bfile
from promise.gwas.plotdata import TraitPoints
from promise.gwas.plotworker import PlotWorker

PNG = b"\x89PNG\r\n\x1a\n"

SCRIPT = """
from pathlib import Path
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions, PcaSettings
from promise.gwas import traits
from promise.gwas.pipeline import run_gwas

with open("{runs}", "a") as fh:
    fh.write("ran\\n")
ph = traits.from_files(pheno=[Path("{pheno}")], kind="quantitative")
run_gwas(out=Path("{out}"), genotypes=GenotypeSource(kind="bfile", path=Path("{bfile}")),
         phenotypes=ph, options=GwasOptions(skip_qc=True, pca=PcaSettings(pcs=0)))
"""


@pytest.mark.integration
def test_script_without_main_guard_runs_once_and_gets_plots(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    geno = rng.binomial(2, 0.3, size=(60, 40))
    write_bfile(tmp_path / "g", geno)
    y = geno[:, 3] + rng.normal(size=60)
    (tmp_path / "pheno.txt").write_text(
        "IID Y\n" + "".join(f"S{i:04d} {v:.5f}\n" for i, v in enumerate(y))
    )
    script = tmp_path / "run.py"
    runs, out = tmp_path / "runs.txt", tmp_path / "out"
    script.write_text(
        SCRIPT.format(runs=runs, pheno=tmp_path / "pheno.txt", out=out, bfile=tmp_path / "g")
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert runs.read_text() == "ran\n"  # the script body ran once, not again in a child
    for name in ("manhattan.png", "qq.png", "pca.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert "data:image/png;base64," in (out / "report.html").read_text()


@pytest.mark.integration
def test_dead_plot_process_falls_back_to_drawing_here(tmp_path: Path) -> None:
    points = TraitPoints(
        trait="Y",
        title="Y (quantitative, n = 10)",
        label="Y: λGC = 1.000",
        chromosome=np.array([1, 1, 2, 2]),
        position=np.array([10, 20, 10, 20]),
        p=np.array([0.5, 1e-9, np.nan, 0.2]),
    )
    with PlotWorker() as worker:
        worker._proc.kill()
        worker._proc.wait()
        worker.draw([points], None, tmp_path)
        drawn = worker.result()
    assert set(drawn) == {"Manhattan plot", "QQ plot", "Principal components"}
    assert all(path.read_bytes()[:8] == PNG for path in drawn.values())
