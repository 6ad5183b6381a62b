"""The results browser: top_hits.tsv and the static site built from a run's GWAS-SSF files.

The files are written by promise's own writer (:func:`promise.gwas.results.write_ssf`,
``write_meta``) with planted values, so the truth is known without running promise's
statistics: five traits over 4,500 variants on chromosomes 1, 19 and 22 (GRCh38), every
background p-value drawn from U(1e-4, 1) so none reaches 5e-8 by chance, and

- rs429358 (19:44908684, inside APOE: dbSNP, Ensembl) at p = 1e-20 in I9_MI, E4_DM2 and
  LDL_C, at 0.5 and 0.3 in J10_ASTHMA and C3_COLON;
- 19:45000000 at 1e-10 in I9_MI: 91,316 bp from rs429358, within 500 kb, so in its locus;
- 19:46000000 at 1e-9 in I9_MI: 1,091,316 bp away, a locus of its own;
- rs11591147 (1:55039974, inside PCSK9: dbSNP) at 1e-12 in LDL_C;
- 22:20000000 at 1e-9 in C3_COLON, a trait with 3 cases (disclosure).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import polars as pl
import pytest
from chromium import ATTEMPTS, chromium, screenshot
from PIL import Image

from promise.gwas import results
from promise.gwas.browser import BrowserTrait, traits_from_meta, write_browser
from promise.gwas.browserhtml import shown_counts
from promise.gwas.browsersite import category_order, endpoint_category, slugs
from promise.gwas.tophits import BrowserError, clump

APOE = ("19", 44_908_684, "T", "C")  # rs429358; effect allele C
NEAR_APOE = ("19", 45_000_000, "A", "G")
FAR_APOE = ("19", 46_000_000, "A", "G")
PCSK9 = ("1", 55_039_974, "G", "T")  # rs11591147
COLON_HIT = ("22", 20_000_000, "A", "G")
PLANTED = {  # variant -> {trait: p}
    APOE: {"I9_MI": 1e-20, "E4_DM2": 1e-20, "LDL_C": 1e-20, "J10_ASTHMA": 0.5, "C3_COLON": 0.3},
    NEAR_APOE: {"I9_MI": 1e-10},
    FAR_APOE: {"I9_MI": 1e-9},
    PCSK9: {"LDL_C": 1e-12},
    COLON_HIT: {"C3_COLON": 1e-9},
}
TRAITS = {  # name: (kind, cases, controls, n, long name)
    "I9_MI": ("binary", 800, 4200, 5000, "Myocardial infarction"),
    "E4_DM2": ("binary", 600, 4400, 5000, "Type 2 diabetes"),
    "C3_COLON": ("binary", 3, 4997, 5000, "Malignant neoplasm of colon"),
    "J10_ASTHMA": ("binary", 500, 4500, 5000, "Asthma"),
    "LDL_C": ("quantitative", None, None, 5000, "LDL cholesterol"),
}


def vid(variant: tuple[str, int, str, str]) -> str:
    chrom, pos, ref, alt = variant
    return f"{chrom}:{pos}:{ref}:{alt}"


def planted_frame(trait: str, seed: int) -> pl.DataFrame:
    """One trait's GWAS-SSF frame: a 20 kb grid on chromosomes 1, 19 and 22 plus the planted
    variants, background p-values from U(1e-4, 1)."""
    rng = np.random.default_rng(seed)
    variants = {
        (c, 1_000_000 + 20_000 * i, "A", "G") for c in ("1", "19", "22") for i in range(1500)
    }
    variants = {v for v in variants if (v[0], v[1]) not in {(p[0], p[1]) for p in PLANTED}}
    rows = sorted(variants | set(PLANTED), key=lambda v: (int(v[0]), v[1]))
    p = rng.uniform(1e-4, 1, len(rows))
    for i, v in enumerate(rows):
        if v in PLANTED and trait in PLANTED[v]:
            p[i] = PLANTED[v][trait]
    kind = TRAITS[trait][0]
    return pl.DataFrame(
        {
            "chromosome": [v[0] for v in rows],
            "base_pair_location": [v[1] for v in rows],
            "effect_allele": [v[3] for v in rows],
            "other_allele": [v[2] for v in rows],
            "beta": rng.normal(0.2, 0.05, len(rows)),
            "standard_error": np.full(len(rows), 0.03),
            "effect_allele_frequency": rng.uniform(0.05, 0.5, len(rows)),
            "p_value": p,
            "variant_id": [vid(v) for v in rows],
            "n": np.full(len(rows), TRAITS[trait][3], dtype=np.int64),
            "test": ["wald" if kind == "binary" else "linear"] * len(rows),
        }
    )


def write_planted(out: Path) -> list[BrowserTrait]:
    """The five traits' files, written by the pipeline's writer, and their descriptions."""
    out.mkdir(parents=True, exist_ok=True)
    described = []
    for seed, (name, (kind, cases, controls, n, long_name)) in enumerate(TRAITS.items()):
        frame = planted_frame(name, seed)
        path = out / f"{name}.tsv.gz"
        md5 = results.write_ssf(frame, path)
        summary = results.TraitSummary(trait=name, kind=kind, frame=frame, n=n, cases=cases,
                                       controls=controls, lambda_gc=1.0)  # fmt: skip
        results.write_meta(summary, path=path.with_name(path.name + "-meta.yaml"), md5=md5,
                           build="GRCh38", software={}, options={}, qc_steps=[], covariates=[])  # fmt: skip
        described.append(
            BrowserTrait(
                name=name,
                ssf=Path(path.name),
                kind=kind,
                long_name=long_name,  # type: ignore[arg-type]
                definition=f"{long_name} by ICD-10 codes",
                cases=cases,
                controls=controls,
                n=n,
                lambda_gc=None,
            )  # fmt: skip
        )
    return described


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder with top_hits.tsv and browser/ built from the planted files."""
    out = tmp_path_factory.mktemp("planted")
    index = write_browser(out, write_planted(out))
    assert index == out / "browser" / "index.html"
    return out


def read_top_hits(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "top_hits.tsv", separator="\t", null_values=["NA"],
                       schema_overrides={"chromosome": pl.String})  # fmt: skip


@pytest.mark.integration
def test_top_hits_hold_exactly_the_planted_pairs_with_genes_and_loci(site: Path) -> None:
    hits = read_top_hits(site)
    got = {(r["trait"], r["variant_id"]): r for r in hits.iter_rows(named=True)}
    expected = {("I9_MI", vid(APOE)), ("E4_DM2", vid(APOE)), ("LDL_C", vid(APOE)),
                ("I9_MI", vid(NEAR_APOE)), ("I9_MI", vid(FAR_APOE)), ("LDL_C", vid(PCSK9)),
                ("C3_COLON", vid(COLON_HIT))}  # fmt: skip
    assert set(got) == expected
    for trait in ("I9_MI", "E4_DM2", "LDL_C"):
        row = got[(trait, vid(APOE))]
        assert row["nearest_gene"] == "APOE"
        assert row["p_value"] == pytest.approx(1e-20, rel=1e-9)
        assert row["locus_id"] == vid(APOE) and row["is_lead"] == 1
    assert got[("LDL_C", vid(PCSK9))]["nearest_gene"] == "PCSK9"
    near, far = got[("I9_MI", vid(NEAR_APOE))], got[("I9_MI", vid(FAR_APOE))]
    assert (near["locus_id"], near["is_lead"]) == (vid(APOE), 0)  # 91 kb from the lead
    assert (far["locus_id"], far["is_lead"]) == (vid(FAR_APOE), 1)  # 1.09 Mb away
    assert got[("I9_MI", vid(APOE))]["category"] == "Diseases of the circulatory system"
    assert hits["p_value"].is_sorted()
    # C3_COLON has 3 cases: its sample size would give them away next to the controls
    assert got[("C3_COLON", vid(COLON_HIT))]["n"] is None
    assert got[("LDL_C", vid(PCSK9))]["n"] == 5000


def row_html(html_text: str, first: str) -> str:
    """The HTML of the table row whose first cell's text is ``first``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html_text, flags=re.S):
        found = re.search(r"<td[^>]*>(.*?)</td>", row, re.S)
        if found and re.sub(r"<[^>]+>", "", found.group(1)) == first:
            return str(row)
    raise AssertionError(f"no row for {first}")


def cells(html_text: str, first: str) -> list[str]:
    """The texts of the cells of the table row whose first cell's text is ``first``."""
    row = row_html(html_text, first)
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


@pytest.mark.integration
def test_phewas_page_of_the_planted_variant_shows_every_trait_by_category(site: Path) -> None:
    page = site / "browser" / "variants" / "19_44908684_T_C.html"
    text = page.read_text()
    for trait in TRAITS:
        assert f'href="../traits/{trait}.html"' in text
    for trait in ("I9_MI", "E4_DM2", "LDL_C"):
        assert cells(text, trait)[-1] == "1e-20"
    assert cells(text, "J10_ASTHMA")[-1] == "0.5000"
    headings = re.findall(r"<h3>(.*?)</h3>", text)
    assert headings == [
        "Neoplasms, from the cancer register",
        "Endocrine, nutritional and metabolic diseases",
        "Diseases of the circulatory system",
        "Diseases of the respiratory system",
        "Quantitative traits",
    ]
    image = Image.open(page.with_name("19_44908684_T_C-phewas.png"))
    assert (
        image.size[0] > 1000
        and len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 20
    )
    pages = sorted(p.name for p in (site / "browser" / "variants").glob("*.html"))
    leads = [APOE, FAR_APOE, PCSK9, COLON_HIT]
    assert pages == sorted(f"{vid(v).replace(':', '_')}.html" for v in leads)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in ("href", "src") and v is not None]


def pages(site: Path) -> Iterator[Path]:
    yield from sorted((site / "browser").rglob("*.html"))


@pytest.mark.integration
def test_every_link_and_image_resolves_to_a_file(site: Path) -> None:
    linked: set[Path] = set()
    for page in pages(site):
        parser = Links()
        parser.feed(page.read_text())
        assert parser.found, page
        for target in parser.found:
            url = urlparse(target)
            assert not url.scheme and not url.netloc, (page, target)  # no server, no data: URI
            path = (page.parent / unquote(url.path)).resolve()
            assert path.is_file(), (page, target)
            linked.add(path)
    # every page, image, style sheet and script is linked from some page (the index from
    # the others' "all traits"), and the index links every trait page
    everything = {p.resolve() for p in (site / "browser").rglob("*") if p.is_file()}
    assert everything - linked == set()
    index = (site / "browser" / "index.html").read_text()
    assert all(f'href="traits/{t}.html"' in index for t in TRAITS)


@pytest.mark.integration
def test_a_trait_with_three_cases_shows_under_five_and_hides_its_other_counts(site: Path) -> None:
    index = (site / "browser" / "index.html").read_text()
    row = cells(index, "C3_COLON")
    assert row[4:7] == ["&lt;5", "hidden", "hidden"]  # cases, controls, n
    assert cells(index, "I9_MI")[4:7] == ["800", "4,200", "5,000"]
    trait_page = (site / "browser" / "traits" / "C3_COLON.html").read_text()
    phewas = (site / "browser" / "variants" / "19_44908684_T_C.html").read_text()
    assert cells(phewas, "C3_COLON")[3:6] == ["&lt;5", "hidden", "hidden"]
    boxes = dict(re.findall(r'<div class="card">(.*?)<b>(.*?)</b></div>', trait_page))
    assert [boxes[k] for k in ("cases", "controls", "n")] == ["&lt;5", "hidden", "hidden"]
    for text in (index, trait_page, phewas):
        assert not re.search(r"4,?997", text)
    for text in (index, phewas):  # nor in the sort keys of the trait's row
        assert not re.search(r'data-v="(3|4997)(\.0)?"', row_html(text, "C3_COLON"))


@pytest.mark.integration
def test_index_and_a_trait_page_render_as_pages_in_chromium(site: Path, tmp_path: Path) -> None:
    for page, name in ((site / "browser" / "index.html", "index"),
                       (site / "browser" / "traits" / "I9_MI.html", "I9_MI")):  # fmt: skip
        png = screenshot(page, tmp_path / f"{name}.png", height=1600)
        image = np.asarray(Image.open(png).convert("RGB"))
        pixels = image.reshape(-1, 3)
        background = np.array([0xF5, 0xF7, 0xFA])  # the page's background, #f5f7fa
        inked = float(np.mean(np.abs(pixels.astype(int) - background).sum(axis=1) > 30))
        white = float(np.mean(np.all(pixels == 255, axis=1)))
        assert len(np.unique(pixels, axis=0)) > 100, name  # text, links, header, plots
        assert inked > 0.05, (name, inked)  # text and header, not a blank page
        assert white > 0.2, (name, white)  # the white panels holding tables and plots
        header = image[10:60, 100:600].reshape(-1, 3)  # the dark-blue title bar
        assert np.mean(np.all(np.abs(header.astype(int) - [0x1F, 0x4E, 0x79]) < 12, axis=1)) > 0.5
    # the trait page shows its Manhattan plot: the plot's dark blue points under the header
    plot = np.asarray(Image.open(tmp_path / "I9_MI.png").convert("RGB"))[300:900]
    dots = np.all(np.abs(plot.astype(int) - [0x1F, 0x4E, 0x79]) < 30, axis=2)
    assert dots.sum() > 500, dots.sum()


def dump_dom(page: Path) -> str:
    """The page's DOM once its scripts ran, from headless Chromium (tried again when killed
    by a signal at start-up, as tests/chromium.py does)."""
    for _ in range(ATTEMPTS):
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(
                [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}",
                 "--dump-dom", page.resolve().as_uri()],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
        if done.returncode == 0:
            return done.stdout
        if done.returncode >= 0:
            break
    raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-1500:]}")


def sorted_traits(site: Path, clicks: list[int]) -> list[str]:
    """The index's trait column after clicking the given column headings, in Chromium: a
    copy of index.html beside it (so assets/sort.js loads) clicks them once loaded."""
    copy = site / "browser" / "_clicked.html"
    script = "".join(f"document.querySelector('table.sortable').querySelectorAll('th')[{c}].click();"
                     for c in clicks)  # fmt: skip
    text = (site / "browser" / "index.html").read_text()
    copy.write_text(text.replace("</body>", f"<script>{script}</script></body>"))
    try:
        dom = dump_dom(copy)
    finally:
        copy.unlink()
    first = dom.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<tr><td><a href="traits/[^"]+">([^<]+)</a>', first)


@pytest.mark.integration
def test_the_index_sorts_by_a_clicked_column_without_a_server(site: Path) -> None:
    # column 10 (from 0) is "best p": 1e-20 (I9_MI, E4_DM2, LDL_C, in page order), 1e-9, then
    # J10_ASTHMA's best background p (>= 1e-4)
    assert sorted_traits(site, [10]) == [
        "I9_MI",
        "E4_DM2",
        "LDL_C",
        "C3_COLON",
        "J10_ASTHMA",
    ]
    assert sorted_traits(site, [0]) == [
        "C3_COLON",
        "E4_DM2",
        "I9_MI",
        "J10_ASTHMA",
        "LDL_C",
    ]
    assert sorted_traits(site, [0, 0]) == [
        "LDL_C",
        "J10_ASTHMA",
        "I9_MI",
        "E4_DM2",
        "C3_COLON",
    ]


@pytest.mark.integration
def test_a_failed_build_keeps_the_previous_site_and_a_new_one_replaces_it(
    tmp_path: Path,
) -> None:
    traits = write_planted(tmp_path)
    write_browser(tmp_path, traits)
    before = (tmp_path / "browser" / "index.html").read_text()
    table = (tmp_path / "top_hits.tsv").read_bytes()
    (tmp_path / "E4_DM2.tsv.gz").unlink()
    with pytest.raises(
        BrowserError, match=r"^trait E4_DM2: its summary statistics file .* does not exist\.$"
    ):
        write_browser(tmp_path, traits)
    assert (tmp_path / "browser" / "index.html").read_text() == before
    assert (tmp_path / "top_hits.tsv").read_bytes() == table
    assert not list(tmp_path.glob(".browser-*"))  # no scratch folder left behind
    kept = [t for t in traits if t.name != "E4_DM2"]
    write_browser(tmp_path, kept)
    assert not (tmp_path / "browser" / "traits" / "E4_DM2.html").exists()
    assert "E4_DM2" not in read_top_hits(tmp_path)["trait"].to_list()


@pytest.mark.integration
def test_the_page_limit_keeps_the_most_significant_leads_and_says_how_many_are_left(
    tmp_path: Path,
) -> None:
    write_browser(tmp_path, write_planted(tmp_path), max_variant_pages=2)
    pages = sorted(p.name for p in (tmp_path / "browser" / "variants").glob("*.html"))
    # leads by p: APOE 1e-20, PCSK9 1e-12, then 19:46000000 and 22:20000000 at 1e-9
    assert pages == ["19_44908684_T_C.html", "1_55039974_G_T.html"]
    index = (tmp_path / "browser" / "index.html").read_text()
    assert "2 further lead variants (the least significant) have no page" in index
    assert len(read_top_hits(tmp_path)) == 7  # the table keeps every pair


@pytest.mark.integration
def test_a_trait_without_p_values_and_a_variant_missing_from_a_file(tmp_path: Path) -> None:
    full = planted_frame("I9_MI", 1)
    results.write_ssf(full, tmp_path / "I9_MI.tsv.gz")
    results.write_ssf(full.filter(pl.col("variant_id") != vid(APOE)), tmp_path / "E4_DM2.tsv.gz")
    results.write_ssf(
        full.with_columns(p_value=pl.lit(None, pl.Float64)), tmp_path / "G6_MS.tsv.gz"
    )
    traits = [BrowserTrait(name=n, ssf=Path(f"{n}.tsv.gz"), kind="binary", cases=100,
                           controls=900, n=1000) for n in ("I9_MI", "E4_DM2", "G6_MS")]  # fmt: skip
    write_browser(tmp_path, traits, build="GRCh38")
    apoe = (tmp_path / "browser" / "variants" / "19_44908684_T_C.html").read_text()
    assert "Not tested in 1 of the 3 traits (not in their files)." in apoe
    assert cells(apoe, "G6_MS")[-1] == "NA"  # in the file, without a p-value
    index = (tmp_path / "browser" / "index.html").read_text()
    assert cells(index, "G6_MS")[7:11] == ["NA", "0", "0", "NA"]  # lambda, tested, loci, best p
    assert set(read_top_hits(tmp_path)["trait"]) == {"I9_MI", "E4_DM2"}


@pytest.mark.integration
def test_a_run_without_any_hit_still_gets_a_browser_and_an_empty_table(tmp_path: Path) -> None:
    quiet = planted_frame("J10_ASTHMA", 2).with_columns(p_value=pl.col("p_value").clip(1e-4, 1))
    results.write_ssf(quiet, tmp_path / "J10_ASTHMA.tsv.gz")
    trait = BrowserTrait(name="J10_ASTHMA", ssf=Path("J10_ASTHMA.tsv.gz"), kind="binary",
                         cases=50, controls=950, n=1000)  # fmt: skip
    write_browser(tmp_path, [trait], build="GRCh38")
    hits = read_top_hits(tmp_path)
    assert hits.height == 0 and hits.columns[:3] == ["trait", "category", "chromosome"]
    index = (tmp_path / "browser" / "index.html").read_text()
    assert "No variant reached p &lt; 5e-08 in any trait." in index
    page = (tmp_path / "browser" / "traits" / "J10_ASTHMA.html").read_text()
    assert "the best loci are shown instead" in page
    assert len(re.findall(r"<tr>", page.split("Top loci")[1])) == 1 + 10  # head + 10 loci


@pytest.mark.reliability
def test_hostile_names_are_escaped_and_give_safe_file_names(tmp_path: Path) -> None:
    frame = planted_frame("I9_MI", 1)
    names = ["<script>alert(1)</script>", "../../etc/passwd", "a b", "A_B"]
    traits = []
    for i, name in enumerate(names):
        results.write_ssf(frame, tmp_path / f"t{i}.tsv.gz")
        traits.append(BrowserTrait(name=name, ssf=Path(f"t{i}.tsv.gz"), kind="binary",
                                   long_name="<img src=x onerror=alert(1)>", cases=10,
                                   controls=20, n=30))  # fmt: skip
    write_browser(tmp_path, traits, build="GRCh38")
    files = sorted(p.name for p in (tmp_path / "browser" / "traits").glob("*.html"))
    assert files == [
        "A_B-2.html",
        "_.._etc_passwd.html",
        "_script_alert_1_script_.html",
        "a_b.html",
    ]
    for page in pages(tmp_path):
        text = page.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text
    assert not (tmp_path.parent / "etc").exists()


@pytest.mark.reliability
def test_a_file_that_is_not_gwas_ssf_is_refused_in_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "X.tsv.gz").write_bytes(b"not gzip and not a table")
    trait = BrowserTrait(name="X", ssf=Path("X.tsv.gz"), kind="quantitative", n=100)
    with pytest.raises(
        BrowserError, match=r"^trait X: .*X\.tsv\.gz is not a readable GWAS-SSF file"
    ) as error:
        write_browser(tmp_path, [trait])
    assert "\n" not in str(error.value)
    with pytest.raises(BrowserError, match="given twice"):
        write_browser(tmp_path, [trait, trait])
    with pytest.raises(BrowserError, match="no traits"):
        write_browser(tmp_path, [])
    assert not (tmp_path / "browser").exists()


@pytest.mark.integration
def test_the_browser_of_a_real_run_from_its_metadata(tmp_path: Path) -> None:
    """A NumPy-engine run of one quantitative trait with variant v7 (position 1070) planted
    at 0.9 SD per allele in 300 samples: far below 5e-8 (z around 10)."""
    from gwas.synthetic import write_bfile
    from promise.gwas import traits as trait_files
    from promise.gwas.inputs import GenotypeSource
    from promise.gwas.options import GwasOptions, PcaSettings
    from promise.gwas.pipeline import run_gwas

    rng = np.random.default_rng(8)
    geno = rng.integers(0, 3, size=(300, 400))
    write_bfile(tmp_path / "g", geno)
    y = 0.9 * geno[:, 7] + rng.normal(size=300)
    (tmp_path / "pheno.txt").write_text(
        "FID IID LDL_C\n" + "".join(f"S{i:04d} S{i:04d} {v:.4f}\n" for i, v in enumerate(y))
    )
    run = run_gwas(out=tmp_path / "out",
                   genotypes=GenotypeSource(kind="bfile", path=tmp_path / "g", build="GRCh37"),
                   phenotypes=trait_files.from_files(pheno=[tmp_path / "pheno.txt"]),
                   options=GwasOptions(skip_qc=True, pca=PcaSettings(pcs=0)))  # fmt: skip
    described = traits_from_meta(run.out)
    assert [(t.name, t.kind, t.n) for t in described] == [("LDL_C", "quantitative", 300)]
    write_browser(run.out, described)
    hits = read_top_hits(run.out)
    assert hits.filter(pl.col("is_lead") == 1)["variant_id"].to_list() == ["1:1070:G:A"]
    index = (run.out / "browser" / "index.html").read_text()
    lam = run.summaries[0].lambda_gc
    assert cells(index, "LDL_C")[7] == f"{round(lam, 4):.4f}"  # lambda GC as the meta says
    assert (run.out / "browser" / "variants" / "1_1070_G_A.html").is_file()


@pytest.mark.unit
def test_clumping_joins_pairs_within_the_window_of_a_lead_only() -> None:
    # sorted by p: 1.6 Mb leads; 1.4 Mb is 200 kb from it; 1.0 Mb is 600 kb from the lead
    # (only 400 kb from 1.4 Mb, which is no lead) so it leads its own locus; chr 2 apart
    got = clump(["1", "1", "1", "2"], [1_600_000, 1_400_000, 1_000_000, 1_600_000], 500_000)
    assert got == [0, 0, 2, 3]
    assert clump(["1", "1"], [1_000_000, 1_500_000], 500_000) == [0, 0]  # the edge is in


@pytest.mark.unit
def test_categories_follow_finngen_prefixes_in_icd10_chapter_order() -> None:
    assert endpoint_category("I9_MI") == "Diseases of the circulatory system"  # ICD-10 IX
    assert endpoint_category("E4_DM2") == "Endocrine, nutritional and metabolic diseases"
    assert endpoint_category("J10_ASTHMA") == "Diseases of the respiratory system"
    assert endpoint_category("DEATH") == "Other endpoints"
    assert endpoint_category("LDL_C", "quantitative") == "Quantitative traits"
    shuffled = ["Quantitative traits", "Diseases of the circulatory system", "Zeta",
                "Other endpoints", "Endocrine, nutritional and metabolic diseases"]  # fmt: skip
    assert category_order(shuffled) == [
        "Endocrine, nutritional and metabolic diseases", "Diseases of the circulatory system",
        "Zeta", "Other endpoints", "Quantitative traits"]  # fmt: skip


@pytest.mark.unit
def test_disclosure_of_counts_and_file_names() -> None:
    four = shown_counts("binary", 4, 996, 1000, 5)
    assert [c.html for c in (four.cases, four.controls, four.n)] == ["&lt;5", "hidden", "hidden"]
    five = shown_counts("binary", 5, 995, 1000, 5)
    assert [c.html for c in (five.cases, five.controls, five.n)] == ["5", "995", "1,000"]
    few_controls = shown_counts("binary", 998, 2, 1000, 5)
    assert few_controls.controls.html == "&lt;5" and few_controls.cases.html == "hidden"
    assert shown_counts("quantitative", None, None, 3, 5).n.html == "&lt;5"
    assert shown_counts("binary", 9, 990, 999, 10).cases.html == "&lt;10"
    named = slugs(["1:100:A:G", "x" * 200, "Ab", "ab"])
    assert named["1:100:A:G"] == "1_100_A_G" and named["ab"] == "ab-2"
    assert len(named["x" * 200]) == 80
