"""``promise gwas``: genome-wide association on warehouse phenotypes or on a researcher's files."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

import typer
from rich.console import Console
from rich.table import Table

from promise.commands.options import WAREHOUSE_OPTION
from promise.errors import PromiseError
from promise.gwas.options import (
    AssociationSettings,
    Engine,
    FirthMode,
    GwasOptions,
    PcaSettings,
    QcThresholds,
    Related,
    Test,
    TraitKind,
)

if TYPE_CHECKING:
    from promise.gwas.inputs import GenotypeFormat, GenotypeSource
    from promise.gwas.pipeline import GwasResult
    from promise.gwas.preflight import Inspection
    from promise.gwas.traits import Phenotypes

_QC = QcThresholds()
_ASSOC = AssociationSettings()
_PCA = PcaSettings()


class GwasUsageError(PromiseError):
    """The combination of options does not describe one GWAS."""


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def gwas(
    endpoint: list[str] = typer.Option(
        None, "--endpoint", help="Warehouse endpoint(s) (binary), e.g. E4_DM2 or E4_DM2,I9_CHD."
    ),
    all_endpoints: bool = typer.Option(
        False,
        "--all-endpoints",
        help="Warehouse mode: every evaluated endpoint with at least --min-cases cases and "
        "controls among the genotyped samples (plus any --endpoint/--trait); writes "
        "top_hits.tsv and a results browser.",
    ),
    trait: list[str] = typer.Option(
        None, "--trait", help="Warehouse quantitative trait column(s), e.g. LDL_C."
    ),
    vcf: Path = typer.Option(None, "--vcf", help="Own-files mode: VCF (plain, .gz or .bgz)."),
    bfile: str = typer.Option(
        None, "--bfile", help="Own-files mode: PLINK 1 prefix (.bed/.bim/.fam)."
    ),
    bgen: Path = typer.Option(None, "--bgen", help="Own-files mode: BGEN v1.2 file."),
    sample: Path = typer.Option(
        None, "--sample", help="Sample file for --bgen (else ids from the BGEN)."
    ),
    pheno: list[Path] = typer.Option(
        None, "--pheno", help="Phenotype file(s): FID IID ..., a Sample column, or a .fam."
    ),
    pheno_name: list[str] = typer.Option(
        None, "--pheno-name", help="Phenotype column(s) (repeat or comma-separate; default all)."
    ),
    covar: list[Path] = typer.Option(
        None, "--covar", help="Covariate file(s), same layouts as --pheno."
    ),
    covar_names: list[str] = typer.Option(
        None, "--covar-names", help="Covariate column(s) (default all)."
    ),
    remove: Path = typer.Option(
        None, "--remove", help="Samples to leave out (FID IID per line, or one id per line)."
    ),
    missing_code: list[float] = typer.Option(
        None,
        "--missing-code",
        help="Number meaning missing in phenotypes and covariates (default -9, as PLINK's "
        "--input-missing-phenotype; repeat for several). NA always is; 0 is in 1/2 coding.",
    ),
    no_missing_code: bool = typer.Option(
        False,
        "--no-missing-code",
        help="No number means missing, only NA (PLINK's --no-input-missing-phenotype).",
    ),
    binary: bool = typer.Option(
        False, "--binary", help="Treat traits as binary (default: detected)."
    ),
    quantitative: bool = typer.Option(
        False, "--quantitative", help="Treat traits as quantitative."
    ),
    build: str = typer.Option(
        "GRCh38", "--build", help="Genome build of own files: GRCh38 or GRCh37."
    ),
    pcs: int = typer.Option(
        _PCA.pcs, "--pcs", help="Principal components as covariates (0: none)."
    ),
    skip_qc: bool = typer.Option(
        False, "--skip-qc", help="No sample or variant QC (files already cleaned)."
    ),
    test: str = typer.Option(
        _ASSOC.test,
        "--test",
        help="Binary traits (fast engine): score (score test, Firth where p < --firth-p) or "
        "wald (plain logistic per variant, as older runs).",
    ),
    firth: str = typer.Option(
        _ASSOC.firth, "--firth", help="Firth for binary traits: auto, always, never."
    ),
    firth_mac: int = typer.Option(
        _ASSOC.firth_mac,
        "--firth-mac",
        help="Hail engine, auto: Firth below this minor-allele count.",
    ),
    firth_p: float = typer.Option(
        _ASSOC.firth_p,
        "--firth-p",
        help="auto: Firth where the score p (Hail: a rare variant's Wald p) is below this.",
    ),
    min_cases: int = typer.Option(
        _ASSOC.min_cases,
        "--min-cases",
        help="Refuse binary traits with fewer cases or controls (--all-endpoints: skip them).",
    ),
    sample_call_rate: float = typer.Option(
        _QC.min_sample_call_rate, "--sample-call-rate", help="Minimum sample call rate."
    ),
    het_sd: float = typer.Option(
        _QC.het_sd, "--het-sd", help="Heterozygosity outlier threshold in SD."
    ),
    variant_call_rate: float = typer.Option(
        _QC.min_variant_call_rate, "--variant-call-rate", help="Minimum variant call rate."
    ),
    maf: float = typer.Option(_QC.min_maf, "--maf", help="Minimum minor-allele frequency."),
    mac: int = typer.Option(_QC.min_mac, "--mac", help="Minimum minor-allele count."),
    hwe_p: float = typer.Option(
        _QC.min_hwe_p, "--hwe-p", help="Minimum Hardy-Weinberg p (controls for binary traits)."
    ),
    related: str = typer.Option(
        "keep",
        "--related",
        help="Fast engine: keep (default) every sample, or drop relatives until no pair's KING "
        "kinship exceeds --king-cutoff (as PLINK 2's --king-cutoff). kinship.tsv either way.",
    ),
    king_cutoff: float = typer.Option(
        0.0884,
        "--king-cutoff",
        help="--related drop: largest kinship left (0.0884 drops second-degree relatives and "
        "closer, 0.177 first-degree, 0.354 duplicates).",
    ),
    loco: bool | None = typer.Option(
        None,
        "--loco/--no-loco",
        help="Fast engine: whole-genome regression (regenie step 1) on the LD-pruned common "
        "variants, its leave-one-chromosome-out predictions in every test (default: on in "
        "warehouse mode, off for own files).",
        show_default=False,
    ),
    engine: str = typer.Option(
        "auto",
        "--engine",
        help="auto (default: fast where it reads the input and no --spark-master is given, "
        "else hail), fast (in process, no JVM: PLINK, VCF, BGEN and the warehouse; numpy is the "
        "same), hail, or spark (Hail's import and QC, the fast kernels as Spark tasks).",
    ),
    spark_master: str = typer.Option(
        None, "--spark-master", help="Spark master URL (default local[*])."
    ),
    driver_memory: str = typer.Option(
        None, "--driver-memory", help="Driver JVM heap, e.g. 8g (default 40% of RAM)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output folder for summary statistics, plots, report, logs."
    ),
    warehouse: Path = WAREHOUSE_OPTION,
) -> None:
    """GWAS: QC, PCA, linear or logistic (Wald/Firth) regression; GWAS-SSF, plots, report.html."""
    from promise.gwas.plotworker import PlotWorker

    # started first, so that it imports matplotlib while this process imports the rest
    with PlotWorker() as plotter:
        from promise.gwas.engines.interface import check_relatives, choose_engine, fast_applies
        from promise.gwas.phenofiles import PLINK_MISSING
        from promise.gwas.pipeline import run_gwas
        from promise.gwas.preflight import inspect
        from promise.gwas.progress import StepProgress
        from promise.gwas.session import hail_running, stop_hail

        if binary and quantitative:
            raise GwasUsageError("Give at most one of --binary and --quantitative.")
        kind: TraitKind = "binary" if binary else "quantitative" if quantitative else "auto"
        if engine not in ("auto", "hail", "fast", "numpy", "spark"):
            raise GwasUsageError(f"--engine must be auto, fast, hail or spark, not {engine!r}.")
        if test not in ("score", "wald"):
            raise GwasUsageError(f"--test must be score or wald, not {test!r}.")
        if firth not in ("auto", "always", "never"):
            raise GwasUsageError(f"--firth must be auto, always or never, not {firth!r}.")
        if related not in ("keep", "drop"):
            raise GwasUsageError(f"--related must be keep or drop, not {related!r}.")
        if not 0.0 < king_cutoff < 0.5:
            raise GwasUsageError(f"--king-cutoff must lie between 0 and 0.5, not {king_cutoff}.")
        options = GwasOptions(
            qc=QcThresholds(
                min_sample_call_rate=sample_call_rate,
                het_sd=het_sd,
                min_variant_call_rate=variant_call_rate,
                min_maf=maf,
                min_mac=mac,
                min_hwe_p=hwe_p,
            ),
            pca=PcaSettings(pcs=pcs),
            association=AssociationSettings(
                kind=kind,
                test=cast(Test, test),
                firth=cast(FirthMode, firth),
                firth_mac=firth_mac,
                firth_p=firth_p,
                min_cases=min_cases,
            ),
            skip_qc=skip_qc,
            engine=cast(Engine, engine),
            related=cast(Related, related),
            king_cutoff=king_cutoff,
            loco=loco,
        )
        missing = [] if no_missing_code else missing_code or [PLINK_MISSING]
        console = Console(stderr=True, width=_width(sys.stderr))
        if all_endpoints:
            endpoint = _all_endpoints(console, endpoint, trait, min_cases, warehouse,
                                      own_files=bool(vcf or bfile or bgen))  # fmt: skip
        source, phenotypes = _inputs(
            endpoint=endpoint, trait=trait, vcf=vcf, bfile=bfile, bgen=bgen, sample=sample,
            pheno=pheno, pheno_name=_split(pheno_name), covar=covar,
            covar_names=_split(covar_names), missing=missing, kind=kind, remove=remove,
            build=build, warehouse=warehouse,
        )  # fmt: skip
        check_relatives(options, choose_engine(options, source, spark_master=spark_master))
        inspection = inspect(source, phenotypes, min_cases=min_cases)
        print_inspection(console, inspection)
        source, phenotypes = inspection.source, inspection.phenotypes
        # A caller's session (tests, notebooks) is left running; the numpy engine starts none.
        resolved = choose_engine(options, source, spark_master=spark_master)
        why = fast_applies(source)
        if resolved == "hail" and engine == "auto" and spark_master is None and why:
            console.print(
                f"engine: hail, as the fast engine cannot run this: {why}", highlight=False
            )
        started_here = resolved in ("hail", "spark") and not hail_running()
        try:
            with StepProgress(console, "promise gwas") as progress:
                result = run_gwas(
                    out=out,
                    genotypes=source,
                    phenotypes=phenotypes,
                    options=options,
                    spark_master=spark_master,
                    driver_memory=driver_memory,
                    progress=progress,
                    plotter=plotter,
                    inspected=True,
                    browser=all_endpoints,
                )
        finally:
            if started_here:
                stop_hail()
                shutil.rmtree(Path(out) / "tmp", ignore_errors=True)
        _print_summary(result)


def _all_endpoints(
    console: Console,
    endpoint: list[str] | None,
    trait: list[str] | None,
    min_cases: int,
    warehouse: Path,
    *,
    own_files: bool,
) -> list[str]:
    """The endpoints of an ``--all-endpoints`` run; says which were skipped and why."""
    from promise.gwas.allendpoints import all_endpoints

    if own_files:
        raise GwasUsageError(
            "--all-endpoints tests the warehouse's endpoints: drop --vcf/--bfile/--bgen."
        )
    choice = all_endpoints(Path(warehouse), min_cases=min_cases, named=_split(endpoint) or [])
    for line in choice.lines(min_cases):
        console.print(line, highlight=False, soft_wrap=True)
    if not choice.chosen and not trait:
        raise GwasUsageError(
            f"No evaluated endpoint has {min_cases} cases and {min_cases} controls among the "
            "genotyped samples: lower --min-cases."
        )
    console.print(f"testing {len(choice.chosen):,} endpoints", highlight=False)
    return choice.chosen


def _inputs(
    *,
    endpoint: list[str] | None,
    trait: list[str] | None,
    vcf: Path | None,
    bfile: str | None,
    bgen: Path | None,
    sample: Path | None,
    pheno: list[Path] | None,
    pheno_name: list[str] | None,
    covar: list[Path] | None,
    covar_names: list[str] | None,
    missing: list[float],
    kind: TraitKind,
    remove: Path | None,
    build: str,
    warehouse: Path,
) -> tuple[GenotypeSource, Phenotypes]:
    from promise.gwas import cohort, traits
    from promise.gwas.inputs import GenotypeSource

    files = [(k, p) for k, p in (("vcf", vcf), ("bfile", bfile), ("bgen", bgen)) if p]
    if (endpoint or trait) and files:
        raise GwasUsageError(
            "Use either warehouse mode (--endpoint/--trait) or own files, not both."
        )
    if endpoint or trait:
        if remove is not None:
            raise GwasUsageError(
                "--remove applies to own-files mode; filter the warehouse with SQL."
            )
        phen = cohort.load(
            warehouse, endpoints=_split(endpoint) or [], traits=_split(trait) or [], kind=kind
        )
        return GenotypeSource(kind="warehouse", path=Path(warehouse), build="GRCh38"), phen
    if len(files) != 1:
        raise GwasUsageError(
            "Give --endpoint or --trait, or exactly one of --vcf, --bfile, --bgen."
        )
    if not pheno:
        raise GwasUsageError(
            "Own-files mode needs --pheno FILE (FID IID columns or a Sample column)."
        )
    fmt, path = files[0]
    source = GenotypeSource(
        kind=cast("GenotypeFormat", fmt), path=Path(path), build=build, sample_file=sample
    )
    phen = traits.from_files(
        pheno=pheno, covar=covar or [], pheno_names=pheno_name, covar_names=covar_names,
        missing_codes=missing, kind=kind, remove=remove,
    )  # fmt: skip
    return source, phen


def _width(stream: TextIO | None = None) -> int | None:
    """None (the terminal's width) when ``stream`` (stdout) is a terminal; else wide enough
    that no path or count is cut off or wrapped in a log file or a pipe."""
    return None if (stream or sys.stdout).isatty() else 200


def print_inspection(console: Console, inspection: Inspection) -> None:
    """Each trait's kind, coding and counts, and the samples on one side only."""
    where = (
        f"the {inspection.genotyped:,} genotyped samples"
        if inspection.genotyped is not None
        else "the genotyped samples"
    )
    console.print(f"traits among {where} with every covariate:", highlight=False)
    for count in inspection.counts:
        console.print(f"  {count.line()}", highlight=False, soft_wrap=True)
    for warning in inspection.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _print_summary(result: GwasResult) -> None:
    from promise.gwas.outputs import safe_name

    table = Table(title=f"GWAS: {result.n_samples:,} samples, {result.n_variants:,} variants")
    for col in ("trait", "kind", "n", "cases", "lambda GC", "min p", "file"):
        table.add_column(col)
    for s in result.summaries:
        table.add_row(
            s.trait, s.kind, f"{s.n:,}", "-" if s.cases is None else f"{s.cases:,}",
            f"{s.lambda_gc:.3f}", _smallest_p(s.frame["p_value"].min()),
            str(result.out / f"{safe_name(s.trait)}.tsv.gz"),
        )  # fmt: skip
    console = Console(width=_width())
    console.print(table)
    kinship = result.out / "kinship.tsv"
    if kinship.is_file():
        console.print(f"kinship: {kinship}", highlight=False, soft_wrap=True)
    console.print(f"report: {result.out / 'report.html'}", highlight=False, soft_wrap=True)


def _smallest_p(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else "NA"


def register(app: typer.Typer) -> None:
    app.command("gwas")(gwas)
