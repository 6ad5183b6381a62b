"""`promise profiles` (issue 20, item 3): a static site of endpoint profiles.

Checked against what promise did not compute: which endpoints get a page and their case
counts (Polars on the marts); every released number on every page against the floor; the
Cox fit against statsmodels' PHReg; the hazard ratio of a following endpoint against
person-time split here, in Polars, and against the ratio `promise synth` planted; the
rendered pages in headless Chromium.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest
from chromium import ink, screenshot

from promise.cli import main

pytestmark = pytest.mark.integration

THRESHOLD, ROUND_TO = 5, 5  # the defaults of a warehouse without promise.yml
WINDOW = ("2001-01-01", "2025-12-31")
BACKGROUND = (245, 247, 250)  # the page's background colour


@pytest.fixture(scope="module")
def site(cohort: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profiles") / "site"
    assert main(["profiles", "--out", str(out), "--warehouse", str(cohort[0])]) == 0
    return out


def marts(warehouse: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


class Counts(HTMLParser):
    """Texts of every element marked class="count", the links and the image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: list[str] = []
        self.links: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._open = "count" in (found.get("class") or "").split()
        for key in ("href", "src"):
            if found.get(key):
                self.links.append(str(found[key]))

    def handle_data(self, data: str) -> None:
        if self._open:
            self.counts.append(data.strip())
            self._open = False


def parse(page: Path) -> Counts:
    found = Counts()
    found.feed(page.read_text(encoding="utf-8"))
    return found


def true_cases(warehouse: Path) -> dict[str, int]:
    """Cases per endpoint that Swedish registers evaluate, among persons with sex and birth date."""
    return dict(marts(warehouse, """
        select c.endpoint, count(*) from marts.endpoint_case as c
        join marts.person as p using (person_id)
        join marts.endpoint_definition as d on d.name = c.endpoint
        where d.evaluation in ('evaluated', 'partial') and p.sex in ('male', 'female')
          and p.birth_date is not null and c.first_event_date is not null
        group by 1
    """).iter_rows())  # fmt: skip


def rounded(n: int) -> int:
    return max(ROUND_TO * round(n / ROUND_TO), ROUND_TO)


def test_every_endpoint_with_enough_cases_has_a_page(site: Path, cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    cases = true_cases(cohort[0])
    expected = {e for e, n in cases.items() if n >= THRESHOLD}
    assert {p.stem for p in site.glob("*.html")} - {"index"} == expected
    assert {"E4_DM2", "I9_MI", "C3_BREAST", "DEATH"} <= expected
    index = parse(site / "index.html")
    assert {
        link.removesuffix(".html") for link in index.links if link.endswith(".html")
    } == expected
    for endpoint in expected:
        page = (site / f"{endpoint}.html").read_text(encoding="utf-8")
        shown = re.search(r'<span class="label">cases</span><b><span class="count">([\d,]+)</span>', page)  # fmt: skip
        assert shown and int(shown.group(1).replace(",", "")) == rounded(cases[endpoint]), endpoint


def test_no_released_count_is_below_the_threshold_on_any_page(site: Path) -> None:
    seen = 0
    for page in sorted(site.glob("*.html")):
        for text in parse(page).counts:
            if text == "–":
                continue
            value = int(text.replace(",", ""))
            assert value == 0 or value >= THRESHOLD, (page.name, text)
            assert value % ROUND_TO == 0, (page.name, text)
            seen += 1
    assert seen > 3000, "the pages hold released counts"
    suppressed = sum(parse(p).counts.count("–") for p in site.glob("*.html"))
    assert suppressed > 0, "small cells exist in a 30,000-person cohort and are hidden"


def test_pages_open_from_file_with_their_images(site: Path) -> None:
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "<script" not in text
        for link in parse(page).links:
            assert (site / link).is_file(), (page.name, link)
    assert len(list((site / "img").glob("*.png"))) >= 3 * 4


def test_two_pages_and_the_index_render_in_chromium(site: Path, tmp_path: Path) -> None:
    for name, height in (("index", 1600), ("E4_DM2", 3600), ("I9_MI", 3600)):
        png = screenshot(site / f"{name}.html", tmp_path / f"{name}.png", height=height)
        colours, inked = ink(png, BACKGROUND)
        assert colours > 200 and inked > 0.05, (name, colours, inked)


def test_the_site_is_recorded_in_the_export_audit(site: Path, cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    records = [json.loads(x) for x in (cohort[0] / "exports" / "audit.jsonl").read_text().splitlines()]  # fmt: skip
    record = next(r for r in records if r["kind"] == "profiles" and r["output"] == str(site))
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(site)}\n"
        for p in sorted(f for f in site.rglob("*") if f.is_file())
    )
    assert record["files"] == listing and record["sha256"] == hashlib.sha256(listing.encode()).hexdigest()  # fmt: skip
    assert record["threshold"] == THRESHOLD and record["round_to"] == ROUND_TO


def ratio_after(site: Path, endpoint: str, other: str) -> tuple[float, float, float]:
    text = (site / f"{endpoint}.html").read_text(encoding="utf-8")
    row = re.search(rf">{other}</a></td>.*?<td>([\d.]+) \(([\d.]+)-([\d.]+)\)</td></tr>", text)
    assert row, f"{other} is not among what follows {endpoint}"
    return float(row.group(1)), float(row.group(2)), float(row.group(3))


def test_the_planted_ratio_of_mi_after_diabetes_is_on_the_diabetes_page(site: Path, cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    planted = next(h["hazard_ratio"] for h in cohort[1]["hazard_ratios"] if (h["outcome"], h["after"]) == ("I9_MI", "E4_DM2"))  # fmt: skip
    ratio, low, high = ratio_after(site, "E4_DM2", "I9_MI")
    assert low < planted < high, (ratio, low, high)
    assert low > 1.3, "the cohort has the power to see it"


def test_the_ratio_of_what_follows_equals_person_time_split_here(site: Path, cohort: tuple[Path, dict[str, Any]]) -> None:  # fmt: skip
    """I9_MI after E4_DM2, recomputed: each residence spell clipped to the window is cut at
    the first I9_MI (at risk before it) and at the day after the first E4_DM2 (exposed from
    then), split into 5-year bands of age; first I9_MI events in the window while resident,
    exposed when after the E4_DM2 day; a Poisson GLM with a rate per band, sex and exposure."""
    import statsmodels.api as sm

    warehouse = cohort[0]
    first = marts(warehouse, "select person_id, endpoint, first_event_date from marts.endpoint_case where endpoint in ('E4_DM2', 'I9_MI')")  # fmt: skip
    wide = first.pivot(on="endpoint", index="person_id", values="first_event_date")
    spells = marts(warehouse, "select s.person_id, s.start_date, s.end_date, p.birth_date, (p.sex = 'female')::int as female from marts.observation_period as s join marts.person as p using (person_id) where p.sex in ('male', 'female')")  # fmt: skip
    w0, w1 = (pl.lit(v).str.to_date() for v in WINDOW)
    d = spells.join(wide, on="person_id", how="left").with_columns(
        a=pl.max_horizontal("start_date", w0),
        b=pl.min_horizontal(
            pl.col("end_date") + pl.duration(days=1), w1 + pl.duration(days=1), pl.col("I9_MI")
        ),  # fmt: skip
        x=pl.col("E4_DM2") + pl.duration(days=1),
    )
    pieces = pl.concat([
        d.with_columns(start=pl.col("a"), end=pl.min_horizontal("b", "x"), exposed=pl.lit(0)),
        d.with_columns(start=pl.max_horizontal("a", "x"), end=pl.col("b"), exposed=pl.lit(1)).filter(pl.col("x").is_not_null()),  # fmt: skip
    ]).filter(pl.col("end") > pl.col("start"))  # fmt: skip
    rows = []
    for lo in range(0, 105, 5):
        lo_day = pl.col("birth_date").cast(pl.Int32) + lo * 365.25
        hi_day = pl.col("birth_date").cast(pl.Int32) + (lo + 5 if lo < 100 else 10_000) * 365.25
        days = (pl.min_horizontal(pl.col("end").cast(pl.Int32), hi_day) - pl.max_horizontal(pl.col("start").cast(pl.Int32), lo_day)).clip(lower_bound=0)  # fmt: skip
        years = pieces.group_by("female", "exposed").agg((days.sum() / 365.25).alias("years"))
        rows.append(years.with_columns(band=pl.lit(lo)))
    years = pl.concat(rows)
    resident = spells.join(wide.filter(pl.col("I9_MI").is_not_null()), on="person_id").filter(
        pl.col("I9_MI").is_between(pl.col("start_date"), pl.col("end_date"))
        & pl.col("I9_MI").is_between(w0, w1)  # fmt: skip
    )
    age = (pl.col("I9_MI") - pl.col("birth_date")).dt.total_days() / 365.25
    events = (
        resident.with_columns(
            band=(age // 5 * 5).clip(upper_bound=100).cast(pl.Int32),
            exposed=(pl.col("E4_DM2") < pl.col("I9_MI")).fill_null(False).cast(pl.Int32),
        )
        .group_by("female", "exposed", "band")
        .len("events")
    )
    table = years.join(events, on=["female", "exposed", "band"], how="left").fill_null(0)
    with_events = table.group_by("band").agg(pl.col("events").sum()).filter(pl.col("events") > 0)["band"]  # fmt: skip
    table = table.filter(pl.col("band").is_in(with_events.implode()) & (pl.col("years") > 0)).sort("band", "female", "exposed")  # fmt: skip
    bands = dummies(table["band"].to_numpy())
    exog = np.column_stack([table["exposed"].to_numpy(), table["female"].to_numpy(), bands])
    fitted = sm.GLM(table["events"].to_numpy(), exog.astype(float), family=sm.families.Poisson(), offset=np.log(table["years"].to_numpy())).fit()  # fmt: skip
    ratio, low, high = ratio_after(site, "E4_DM2", "I9_MI")
    assert ratio == pytest.approx(np.exp(fitted.params[0]), abs=0.006)
    assert low == pytest.approx(np.exp(fitted.params[0] - 1.96 * fitted.bse[0]), abs=0.006)


def dummies(band: np.ndarray) -> np.ndarray:
    levels = np.unique(band)
    return (band[:, None] == levels[None, :]).astype(float)


def test_the_death_model_equals_statsmodels_phreg(cohort: tuple[Path, dict[str, Any]]) -> None:
    """promise's vectorised Cox (Breslow) against statsmodels' PHReg on the death model's rows
    for E4_DM2. PHReg counts a row as at risk at its entry time, R's survival (and promise)
    from just after it; entries moved a nanoyear later make the two conventions one."""
    from statsmodels.duration.hazard_regression import PHReg

    from promise.profiles.cohort import open_marts, read_cohort
    from promise.profiles.hazards import cox_breslow, death_rows
    from promise.profiles.measures import shared

    with open_marts(cohort[0]) as con:
        data = read_cohort(con)
        window = shared(data, con).window
    entry, exit_, died, X, _ = death_rows(data, window, data.onset("E4_DM2"))
    ours = cox_breslow(entry, exit_, died, X)
    assert ours is not None
    theirs = PHReg(exit_, X, status=died, entry=entry + 1e-9, ties="breslow").fit(tol=1e-12)
    np.testing.assert_allclose(ours[0], theirs.params, rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs.bse, rtol=1e-6)
    assert died.sum() > 1000 and (X[:, 0] == 1).sum() > 1000


@pytest.mark.parametrize("case", ["inside", "not empty", "no marts", "no rounding"])
def test_bad_requests_are_one_sentence_and_write_nothing(case: str, cohort: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    warehouse = cohort[0]
    out = tmp_path / "site"
    if case == "inside":
        out = warehouse / "site"
    elif case == "not empty":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif case in ("no marts", "no rounding"):
        copy = tmp_path / "warehouse"
        shutil.copytree(warehouse, copy, ignore=shutil.ignore_patterns("*.duckdb") if case == "no marts" else None)  # fmt: skip
        if case == "no rounding":
            (copy / "promise.yml").write_text("disclosure:\n  threshold: 5\n  round_to: 1\n")
        warehouse = copy
    before = (warehouse / "exports" / "audit.jsonl").read_text() if (warehouse / "exports" / "audit.jsonl").exists() else ""  # fmt: skip
    assert main(["profiles", "--out", str(out), "--warehouse", str(warehouse)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:"), err
    assert not (warehouse / "site").exists()
    assert not list(out.parent.glob(f".{out.name}.*.partial"))
    if case == "not empty":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    after = (warehouse / "exports" / "audit.jsonl").read_text() if (warehouse / "exports" / "audit.jsonl").exists() else ""  # fmt: skip
    assert after == before, "a refusal records no export"
