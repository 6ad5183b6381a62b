"""Regressions on the written genotypes and phenotypes recover the planted effects.

Genotypes come from the VCF (sample ids = personnummer) and the PLINK set (IID = SampleID),
phenotypes from the NMR and Olink files through the biobank manifest, case status from the
register files; ancestry is taken from the genotypes' principal components. Each planted
effect must lie within 3 standard errors of its estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from synth_scan import DELIVERY, read_plink, read_vcf, valid_rows

from promise.pnr import parse

pytestmark = pytest.mark.integration

Z = 3.0


def _person(text: str) -> str:
    return parse(text, reference_date=DELIVERY).normalized


def _genotypes(landing: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Persons (normalized numbers), variant ids and counts of both batches together."""
    first_sample = _first_samples(landing)
    owner = {sid: person for person, (sid, _) in first_sample.items()}
    vcf_ids, vcf_variants, vcf = read_vcf(landing / "genotypes" / "batch1.vcf.bgz")
    iids, bed_variants, bed = read_plink(landing / "genotypes" / "batch2")
    assert vcf_variants == bed_variants
    persons = [_person(s) for s in vcf_ids] + [owner[i] for i in iids]
    return persons, vcf_variants, np.hstack([vcf, bed]).T.astype(np.float64)


def _first_samples(landing: Path) -> dict[str, tuple[str, str]]:
    """Person -> (first SampleID, sampling date) from the biobank manifest."""
    out: dict[str, tuple[str, str]] = {}
    for row in valid_rows(landing / "biobank" / "biobank_samples.csv", ",", "utf-8"):
        try:
            person = _person(row["PersonNr"])
        except ValueError:
            continue
        if person not in out or row["SamplingDate"] < out[person][1]:
            out[person] = (row["SampleID"], row["SamplingDate"])
    return out


def _impute(g: np.ndarray) -> np.ndarray:
    g = g.copy()
    missing = g < 0
    g[missing] = 0.0
    means = g.sum(axis=0) / np.maximum((~missing).sum(axis=0), 1)
    g[missing] = np.broadcast_to(means, g.shape)[missing]
    return g


def _pcs(g: np.ndarray, k: int = 4) -> np.ndarray:
    x = _impute(g)
    x = x - x.mean(axis=0)
    sd = x.std(axis=0)
    x = x[:, sd > 0] / sd[sd > 0]
    u, _, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, :k]


def _ols(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Coefficient and standard error of the first column of ``x`` (intercept added)."""
    design = np.column_stack([x, np.ones(len(y))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = resid @ resid / (len(y) - design.shape[1])
    cov = sigma2 * np.linalg.inv(design.T @ design)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))


def _logistic(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Newton-Raphson logistic regression; estimate and Wald SE of the first column."""
    design = np.column_stack([x, np.ones(len(y))])
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        w = p * (1 - p)
        hess = design.T @ (design * w[:, None])
        step = np.linalg.solve(hess, design.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    cov = np.linalg.inv(hess)
    return float(beta[0]), float(np.sqrt(cov[0, 0]))


def _numbers(
    path: Path, delimiter: str, column: str, key: str, comma: bool, assay: str | None = None
) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in valid_rows(path, delimiter, "utf-8"):
        if assay is not None and row.get("Assay") != assay:
            continue
        value = row[column]
        if value:
            out[row[key]] = float(value.replace(",", ".") if comma else value)
    return out


def _covariates(landing: Path, persons: list[str]) -> np.ndarray:
    """Sex and birth year (from the personnummer) as regression covariates."""
    parsed = [parse(p, reference_date=DELIVERY) for p in persons]
    female = np.array([p.sex == "female" for p in parsed], dtype=np.float64)
    born = np.array([p.birth_date.year for p in parsed], dtype=np.float64)
    born = (born - born.mean()) / 10.0
    return np.column_stack([female, born, born**2])


def _dm2_cases(landing: Path) -> set[str]:
    """Persons with an E11 code in NPR or the death register, or >= 3 A10B dispensings."""
    cases: set[str] = set()
    a10b: dict[str, int] = {}
    files = [
        *(landing / "npr_inpatient").glob("par_sv*.txt"),
        *(landing / "npr_outpatient").glob("par_ov*.txt"),
    ]
    for path in files:
        for row in valid_rows(path, "\t", "latin-1"):
            codes = row.get("DIAGNOS", "").split(" ") + [
                v for k, v in row.items() if k == "HDIA" or k.startswith("DIA")
            ]
            if any(c.startswith("E11") for c in codes):
                cases.add(_safe(row["PersonNr"]))
    for row in valid_rows(landing / "dors" / "dors.csv", ";", "latin-1"):
        if any(
            v.startswith("E11") for k, v in row.items() if k == "ULORSAK" or k.startswith("MORSAK")
        ):
            cases.add(_safe(row["PersonNr"]))
    for path in (landing / "lmed").glob("lmed*.csv"):
        for row in valid_rows(path, ";", "utf-8"):
            if row["ATC"].startswith("A10B"):
                person = _safe(row["PersonNr"])
                a10b[person] = a10b.get(person, 0) + 1
    cases |= {p for p, n in a10b.items() if n >= 3}
    cases.discard("")
    return cases


def _safe(text: str) -> str:
    try:
        return _person(text.lstrip("\ufeff"))
    except ValueError:
        return ""


@pytest.fixture(scope="module")
def gwas_inputs(small_landing: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    landing, truth = small_landing
    persons, variants, g = _genotypes(landing)
    return {
        "landing": landing,
        "truth": truth,
        "persons": persons,
        "variants": variants,
        "g": g,
        "pcs": _pcs(g),
    }


@pytest.mark.parametrize("trait", ["LDL_C", "PCSK9"])
def test_quantitative_effects_are_recovered(gwas_inputs: dict[str, Any], trait: str) -> None:
    landing, truth = gwas_inputs["landing"], gwas_inputs["truth"]
    spec = next(q for q in truth["gwas"]["quantitative"] if q["trait"] == trait)
    samples = _first_samples(landing)
    if trait == "LDL_C":
        values = _numbers(
            landing / "metabolomics" / "nmr_metabolomics.tsv", "\t", "LDL_C", "SampleID", False
        )
    else:
        values = _numbers(
            landing / "olink" / "olink_npx.csv", ";", "NPX", "SampleID", True, assay="PCSK9"
        )
    persons = gwas_inputs["persons"]
    keep = np.array([samples[p][0] in values for p in persons])
    y = np.array([values[samples[p][0]] for p, k in zip(persons, keep, strict=True) if k])
    covars = np.column_stack(
        [
            _covariates(landing, [p for p, k in zip(persons, keep, strict=True) if k]),
            gwas_inputs["pcs"][keep],
        ]
    )
    assert keep.sum() > 0.9 * len(persons)
    for causal in spec["causal"]:
        j = gwas_inputs["variants"].index(causal["variant_id"])
        est, se = _ols(y, np.column_stack([_impute(gwas_inputs["g"][keep, j : j + 1]), covars]))
        assert abs(est - causal["beta"]) < Z * se, (trait, causal, est, se)
        assert abs(est) > 2 * se  # the effect is visible, not only consistent with zero


def test_binary_effects_are_recovered(gwas_inputs: dict[str, Any]) -> None:
    landing, truth = gwas_inputs["landing"], gwas_inputs["truth"]
    spec = truth["gwas"]["binary"][0]
    cases = _dm2_cases(landing)
    persons = gwas_inputs["persons"]
    y = np.array([p in cases for p in persons], dtype=np.float64)
    assert 0.12 < y.mean() < 0.4  # enough cases among the genotyped for a GWAS
    covars = np.column_stack([_covariates(landing, persons), gwas_inputs["pcs"]])
    for causal in spec["causal"]:
        j = gwas_inputs["variants"].index(causal["variant_id"])
        est, se = _logistic(y, np.column_stack([_impute(gwas_inputs["g"][:, j : j + 1]), covars]))
        assert abs(est - causal["log_or"]) < Z * se, (causal, est, se)


def test_ancestry_structure_is_visible(gwas_inputs: dict[str, Any]) -> None:
    """Two-means on the first principal component finds groups of the planted sizes."""
    truth = gwas_inputs["truth"]
    pc1 = gwas_inputs["pcs"][:, 0]
    lo, hi = pc1.min(), pc1.max()
    for _ in range(100):
        upper = np.abs(pc1 - hi) < np.abs(pc1 - lo)
        lo, hi = pc1[~upper].mean(), pc1[upper].mean()
    minority = int(min(upper.sum(), (~upper).sum()))
    expected = truth["genotypes"]["ancestries"]["B"]
    assert abs(minority - expected) <= 0.05 * expected + 3
