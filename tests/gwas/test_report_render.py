"""report.html rendered in headless Chromium shows a page, not a blank screen.

A small GWAS on the NumPy engine (no Hail) writes a real report with its embedded plots;
Chromium takes a screenshot of it, which must hold many distinct colours and ink over a
good part of the page. ``make test`` installs Chromium (tests/chromium.py says how it is run).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from chromium import screenshot
from PIL import Image

from gwas.synthetic import write_bfile
from promise.gwas import traits
from promise.gwas.inputs import GenotypeSource
from promise.gwas.options import GwasOptions, PcaSettings
from promise.gwas.pipeline import run_gwas

pytestmark = pytest.mark.integration


def test_report_renders_as_a_page_with_tables_and_plots(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    geno = rng.integers(0, 3, size=(300, 400))
    write_bfile(tmp_path / "g", geno)
    y = 0.5 * geno[:, 7] + rng.normal(size=300)
    (tmp_path / "pheno.txt").write_text(
        "FID IID Y\n" + "".join(f"S{i:04d} S{i:04d} {v:.4f}\n" for i, v in enumerate(y))
    )
    phenotypes = traits.from_files(pheno=[tmp_path / "pheno.txt"])
    result = run_gwas(
        out=tmp_path / "out",
        genotypes=GenotypeSource(kind="bfile", path=tmp_path / "g", build="GRCh37"),
        phenotypes=phenotypes,
        options=GwasOptions(skip_qc=True, pca=PcaSettings(pcs=0)),
    )
    png = screenshot(result.out / "report.html", tmp_path / "report.png")
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 2400)
    pixels = np.asarray(image).reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    background = np.array([0xF5, 0xF7, 0xFA])  # the page's background, #f5f7fa
    inked = float(np.mean(np.abs(pixels.astype(int) - background).sum(axis=1) > 30))
    assert colours > 200, colours  # text, tables, the header and the plots' colours
    assert inked > 0.05, inked  # not a blank page
    header = np.asarray(image)[10:60, 100:600].reshape(-1, 3)  # the dark-blue title bar
    assert np.mean(np.all(np.abs(header.astype(int) - [0x1F, 0x4E, 0x79]) < 12, axis=1)) > 0.5
