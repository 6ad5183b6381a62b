"""The researcher's report: nearest genes, odds ratios with CIs, significance marks, what
each trait is, why counts differ, the PCA plot's variance shares, the demo's planted table.

Expected values come from outside the code: published dbSNP positions of well-known
variants in both builds, odds ratios and intervals worked out by hand, counts by hand.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from promise.commands.demo import sorted_hits
from promise.demo import PlantedHit
from promise.gwas import genes, plots, report
from promise.gwas.results import TraitSummary
from promise.gwas.traits import TraitInfo

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("rsid", "chromosome", "grch37", "grch38", "gene"),
    [
        # dbSNP: rs7412 (APOE e2), rs7903146 (the T2D TCF7L2 intron variant), rs11591147 (PCSK9 R46L)
        ("rs7412", "19", 45412079, 44908822, "APOE"),
        ("rs7903146", "10", 114758349, 112998590, "TCF7L2"),
        ("rs11591147", "1", 55505647, 55039974, "PCSK9"),
    ],
)
def test_published_variants_lie_in_their_genes_in_both_builds(
    rsid: str, chromosome: str, grch37: int, grch38: int, gene: str
) -> None:
    assert genes.nearest_gene(chromosome, grch37, "GRCh37") == gene, rsid
    assert genes.nearest_gene(f"chr{chromosome}", grch38, "GRCh38") == gene, rsid


def test_intergenic_position_names_the_closest_gene_with_its_distance() -> None:
    """chr1:1,000 lies before every gene of chromosome 1; the table's first gene (read
    here straight from the shipped file) starts 64 kb on."""
    path = Path(genes.__file__).parent / "data" / "genes" / "GRCh38.tsv.gz"
    first = gzip.decompress(path.read_bytes()).decode().splitlines()[1].split("\t")
    distance = int(first[1]) - 1_000
    assert genes.nearest_gene("1", 1_000, "GRCh38") == f"{first[3]} ({distance / 1000:.0f} kb)"
    assert genes.nearest_gene("23", 1_000, "GRCh38").endswith("kb)")  # SSF's 23 is X


def _loci() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "chromosome": ["10", "23"],
            "base_pair_location": [112998590, 1_000],
            "variant_id": ["chr10:112998590:C:T", "chrX:1000:A:G"],
            "effect_allele": ["T", "G"],
            "other_allele": ["C", "A"],
            "effect_allele_frequency": [0.3, 0.1],
            "beta": [math.log(1.5), -0.2],
            "standard_error": [0.1, 0.2],
            "p_value": [1e-12, 0.3],
            "n": [5000, 5000],
        }
    )


def test_top_loci_give_odds_ratios_with_cis_genes_and_significance() -> None:
    rows = report.loci_rows(_loci(), kind="binary", build="GRCh38", significance=5e-8)
    # by hand: OR = 1.5; 95% CI = 1.5 * exp(-+0.196) = 1.5 * 0.8220 to 1.5 * 1.2165 = 1.233 to 1.825
    assert rows[0]["odds ratio (95% CI)"] == "1.500 (1.233-1.825)"
    # exp(-0.2) = 0.819, exp(-0.2 -+ 0.392) = 0.553 to 1.212
    assert rows[1]["odds ratio (95% CI)"] == "0.819 (0.553-1.212)"
    assert [r["chromosome"] for r in rows] == ["10", "X"]
    assert [r["position"] for r in rows] == [112998590, 1_000]
    assert rows[0]["nearest gene"] == "TCF7L2"
    assert rows[0]["p < 5e-08"] and not rows[1]["p < 5e-08"]  # genome-wide significance
    quantitative = report.loci_rows(_loci(), kind="quantitative", build="GRCh38", significance=5e-8)
    assert quantitative[0]["beta"] == pytest.approx(math.log(1.5)) and "SE" in quantitative[0]


def _summary(trait: str, kind: str, n: int, cases: int | None = None) -> TraitSummary:
    frame = pl.DataFrame({"p_value": [0.5, 1e-9]})
    return TraitSummary(trait=trait, kind=kind, frame=frame, n=n, cases=cases,
                        controls=None if cases is None else n - cases, lambda_gc=1.0)  # fmt: skip


def test_counts_that_differ_between_traits_say_why() -> None:
    info = {
        "E4_DM2": TraitInfo(missing_reason="neither case nor control"),
        "LDL_C": TraitInfo(missing_reason="no measurement"),
    }
    summaries = [_summary("E4_DM2", "binary", 5000, 1151), _summary("LDL_C", "quantitative", 4944)]
    assert report.count_notes(summaries, info, 5000) == [
        "LDL_C: n = 4,944, as 56 of the 5,000 analysed samples have no measurement."
    ]


def test_report_shows_what_each_trait_is(tmp_path: Path) -> None:
    info = {
        "E4_DM2": TraitInfo(long_name="Type 2 diabetes", definition="HD_ICD_10: E11",
                            coding="1 case, 0 control"),
        "LDL_C": TraitInfo(unit="mmol/l", transformation="none"),
    }  # fmt: skip
    summaries = [_summary("E4_DM2", "binary", 10, 4), _summary("LDL_C", "quantitative", 8)]
    loci = {s.trait: _loci() for s in summaries}
    page = report.write_report(
        path=tmp_path / "report.html", title="t", summaries=summaries, qc_steps=[],
        facts={"engine": "NumPy"}, plots={}, options={}, loci=loci, significance=5e-8,
        info=info, n_samples=10,
    ).read_text()  # fmt: skip
    for text in ("Type 2 diabetes", "definition: HD_ICD_10: E11", "unit: mmol/l",
                 "odds ratio (95% CI)", "1.500 (1.233-1.825)", "TCF7L2",
                 "LDL_C: n = 8, as 2 of the 10 analysed samples"):  # fmt: skip
        assert text in page


def test_a_pc_explains_its_eigenvalue_over_the_number_of_samples() -> None:
    """The HWE-normalised matrix (entries (x - 2p) / sqrt(2p(1-p) m)) has a total variance
    (trace of M M', the sum of all eigenvalues) of about the number of samples; checked
    here on Hardy-Weinberg genotypes with NumPy."""
    rng = np.random.default_rng(4)
    n, m = 300, 2000
    p = rng.uniform(0.05, 0.5, m)
    x = rng.binomial(2, p, size=(n, m)).astype(float)
    freq = x.mean(axis=0) / 2
    z = (x - 2 * freq) / np.sqrt(2 * freq * (1 - freq) * m)
    assert np.trace(z @ z.T) == pytest.approx(n, rel=0.01)
    assert plots._axis_label("PC1", [0.0234]) == "PC1 (2.3% of variance)"
    assert plots._axis_label("PC2", [0.5, 0.00046]) == "PC2 (0.046% of variance)"
    assert plots._axis_label("PC3", [0.1]) == "PC3"


def test_demo_planted_table_is_sorted_by_rank_within_each_trait() -> None:
    hits = [
        PlantedHit("LDL_C", "a", 0.3, 1e-30, 1),
        PlantedHit("LDL_C", "b", 0.2, 1e-20, 3),
        PlantedHit("LDL_C", "c", -0.2, 1e-25, 2),
        PlantedHit("E4_DM2", "d", 0.5, None, None),
        PlantedHit("E4_DM2", "e", 0.6, 1e-27, 1),
    ]
    assert [h.variant_id for h in sorted_hits(hits)] == ["a", "c", "b", "e", "d"]
