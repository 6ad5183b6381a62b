"""``promise demo``: synth -> ingest -> build -> profiles -> gwas on a synthetic cohort, then a summary.

Everything goes under one folder: ``keys/`` (a pseudonym key of the demo's own, outside the
warehouse), ``landing/``, ``warehouse/``, ``profiles/`` (endpoint profiles), ``results/`` (one
GWAS of both traits) and ``logs/``.
Running it again reuses the key and the landing files: ingestion then skips every file it has
already loaded, which is the idempotence a real warehouse relies on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from promise.errors import PromiseError
from promise.pseudonym import write_new_key

Step = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class DemoSettings:
    """Sizes of the demo cohort and the traits of the GWAS it runs (one endpoint, one trait)."""

    persons: int = 20_000
    genotyped: int = 5_000
    variants: int = 20_000
    seed: int = 2026
    endpoint: str = "E4_DM2"
    trait: str = "LDL_C"
    driver_memory: str | None = None


@dataclass(frozen=True)
class PlantedHit:
    """Where one planted causal variant ended up in the GWAS."""

    trait: str
    variant_id: str
    effect: float
    p_value: float | None
    rank: int | None


@dataclass
class DemoSummary:
    """What the demo made and where."""

    root: Path
    key_file: Path
    key_created: bool
    warehouse: Path
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    marts: list[str] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)
    planted: list[PlantedHit] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    gwas_seconds: dict[str, float] = field(default_factory=dict)


def demo_key(root: Path) -> tuple[Path, bool]:
    """The demo's own key under ``root/keys`` (created on first use)."""
    path = root / "keys" / "pseudonym.key"
    if path.exists():
        return path, False
    return write_new_key(path), True


@contextmanager
def _timed(summary: DemoSummary, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    summary.seconds[name] = time.perf_counter() - start


def run_demo(
    *,
    root: Path,
    settings: DemoSettings,
    step: Step,
    ingest_progress: Callable[[str, int, int], None] | None = None,
) -> DemoSummary:
    """Run the whole chain; ``step`` is told what starts, ``ingest_progress`` per file."""
    root = Path(root).resolve()
    key_file, created = demo_key(root)
    summary = DemoSummary(
        root=root, key_file=key_file, key_created=created, warehouse=root / "warehouse"
    )
    landing = root / "landing"
    with _timed(summary, "synth"):
        step(
            f"promise synth: {settings.persons:,} persons, {settings.genotyped:,} genotyped, {settings.variants:,} variants"
        )
        truth = _synth(landing, settings)
    with _timed(summary, "ingest"):
        step("promise ingest: contracts, pseudonyms, quarantine, genotypes to Hail")
        _ingest(landing, summary, key_file, ingest_progress)
    with _timed(summary, "build"):
        step("promise build: dbt build of staging, intermediate and marts")
        _build(summary)
    with _timed(summary, "profiles"):
        step("promise profiles: a page per endpoint with enough cases, disclosure-controlled")
        _profiles(root, summary)
    with _timed(summary, "gwas"):
        _gwas(root, settings, truth, summary, step)
    return summary


def _synth(landing: Path, settings: DemoSettings) -> dict[str, Any]:
    from promise.synth import write_cohort

    truth_file = landing / "truth.json"
    wanted = (settings.persons, settings.variants, settings.seed)
    if truth_file.is_file():
        truth: dict[str, Any] = json.loads(truth_file.read_text())
        if (truth.get("persons"), truth.get("variants"), truth.get("seed")) == wanted:
            return truth
    return write_cohort(
        landing,
        persons=settings.persons,
        variants=settings.variants,
        seed=settings.seed,
        genotyped=settings.genotyped,
    )


def _ingest(
    landing: Path,
    summary: DemoSummary,
    key_file: Path,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    from promise.ingest import run_ingest
    from promise.warehouse import connect

    results = run_ingest(
        landing=landing, warehouse=summary.warehouse, key_file=key_file, progress=progress
    )
    summary.files_skipped = sum(1 for r in results if r.status == "skipped")
    summary.files_loaded = len(results) - summary.files_skipped
    con = connect(summary.warehouse)
    try:
        row = con.execute(
            "SELECT sum(rows_in), sum(rows_loaded), sum(rows_quarantined) FROM manifest"
        ).fetchone()
    finally:
        con.close()
    if row is not None:
        summary.rows_in, summary.rows_loaded, summary.rows_quarantined = (int(v or 0) for v in row)


def _build(summary: DemoSummary) -> None:
    from promise.build import build
    from promise.warehouse import connect

    result = build(warehouse=summary.warehouse, quiet=True)
    if not result.published:
        names = ", ".join(n.name for n in result.failures[:5])
        raise BuildFailedError(
            f"dbt build failed ({names}); see {summary.warehouse / '.dbt'} for logs."
        )
    con = connect(summary.warehouse)
    try:
        rows = con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    summary.marts = [r[0] for r in rows]


def _profiles(root: Path, summary: DemoSummary) -> None:
    """The endpoint profiles under ``root/profiles`` (the previous run's site is replaced)."""
    import shutil

    from promise.profiles import write_profiles

    out = root / "profiles"
    shutil.rmtree(out, ignore_errors=True)
    write_profiles(warehouse=summary.warehouse, out=out)
    summary.reports["endpoint profiles"] = out / "index.html"


def _gwas(
    root: Path, settings: DemoSettings, truth: dict[str, Any], summary: DemoSummary, step: Step
) -> None:
    """One ``promise gwas --endpoint E --trait T``: both traits share the QC, the PCA and the
    genotype passes, on the fast engine (the warehouse's PLINK copies, no JVM)."""
    from promise.gwas import cohort
    from promise.gwas.inputs import GenotypeSource
    from promise.gwas.pipeline import run_gwas
    from promise.gwas.session import hail_running, stop_hail

    names = f"--endpoint {settings.endpoint} --trait {settings.trait}"
    step(f"promise gwas {names}")
    try:
        phenotypes = cohort.load(
            summary.warehouse, endpoints=[settings.endpoint], traits=[settings.trait]
        )
        out = root / "results"
        result = run_gwas(
            out=out,
            genotypes=GenotypeSource(kind="warehouse", path=summary.warehouse, build="GRCh38"),
            phenotypes=phenotypes,
            title=f"Demo GWAS: {settings.endpoint} (binary endpoint) and {settings.trait}",
            progress=_gwas_progress(step, names),
            driver_memory=settings.driver_memory,  # used only should the Hail engine run
        )
        summary.reports["GWAS"] = out / "report.html"
        summary.gwas_seconds = dict(result.timings)
        for trait_summary in result.summaries:
            summary.planted.extend(planted_hits(trait_summary.frame, truth, trait_summary.trait))
    finally:
        if hail_running():  # the Hail engine ran: a warehouse ingested without PLINK copies
            stop_hail()


def _gwas_progress(step: Step, name: str) -> Step:
    def report(message: str) -> None:
        step(f"promise gwas {name}: {message}")

    return report


def causal_variants(truth: dict[str, Any], name: str) -> list[tuple[str, float]]:
    """Planted causal variants of an endpoint or trait: (variant_id, beta or log OR)."""
    found: list[tuple[str, float]] = []
    for group in truth.get("gwas", {}).values():
        for entry in group:
            if name in (entry.get("trait"), entry.get("endpoint")):
                found.extend(
                    (c["variant_id"], float(c.get("beta", c.get("log_or", 0.0))))
                    for c in entry["causal"]
                )
    return found


def planted_hits(frame: pl.DataFrame, truth: dict[str, Any], name: str) -> list[PlantedHit]:
    """p-value and rank (1 = smallest p) of each planted variant in one result frame."""
    ranked = frame.filter(pl.col("p_value").is_not_null()).sort("p_value", maintain_order=True)
    ids = ranked["variant_id"].to_list()
    position = {vid: i + 1 for i, vid in enumerate(ids)}
    p_by_id = dict(zip(ids, ranked["p_value"].to_list(), strict=True))
    return [
        PlantedHit(name, vid, effect, p_by_id.get(vid), position.get(vid))
        for vid, effect in causal_variants(truth, name)
    ]


class BuildFailedError(PromiseError):
    """The demo's dbt build failed, so nothing was published."""
