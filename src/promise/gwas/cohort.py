"""Warehouse mode: a trait and its covariates from ``marts.gwas_phenotype``.

One row per genotyped sample, keyed by ``person_id`` (= the MatrixTable column key ``s``).
Endpoints are 1 case / 0 control / NULL excluded; quantitative traits are named by analyte.
Covariates: ``is_female``, ``age`` and the genotyping ``batch`` (one indicator per batch
after the first), then the principal components computed at GWAS time.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from promise.errors import PromiseError
from promise.gwas import phenofiles
from promise.gwas import traits as traits_module
from promise.gwas.options import TraitKind

MART = "marts.gwas_phenotype"
KEY = "person_id"
BASE_COLUMNS = ("person_id", "sample_id", "batch", "sex", "is_female", "age", "birth_year")
COVARIATES = ("is_female", "age", "batch")


class WarehousePhenotypeError(PromiseError):
    """The warehouse has no phenotype mart, or not the endpoint or trait asked for."""


def read_mart(warehouse: Path) -> pl.DataFrame:
    """``marts.gwas_phenotype`` as a frame (read-only connection; never takes the write lock)."""
    from promise.warehouse import connect

    if not (Path(warehouse) / "promise.duckdb").is_file():
        raise WarehousePhenotypeError(
            f"No built warehouse at {warehouse} (promise.duckdb is missing): run `promise build` first."
        )
    con = connect(Path(warehouse))
    try:
        return con.execute(f"SELECT * FROM {MART}").pl()
    except Exception as exc:  # duckdb raises CatalogException for a missing mart
        raise WarehousePhenotypeError(
            f"The warehouse at {warehouse} has no {MART}: run `promise build` first."
        ) from exc
    finally:
        con.close()


def load(
    warehouse: Path,
    *,
    endpoints: Sequence[str] = (),
    traits: Sequence[str] = (),
    kind: TraitKind = "auto",
) -> traits_module.Phenotypes:
    """:func:`warehouse_phenotypes` of the warehouse's mart, with what the report says of
    each trait (:func:`describe`) and the genotyping batch of each sample."""
    mart = read_mart(warehouse)
    phenotypes = warehouse_phenotypes(mart, endpoints=endpoints, traits=traits, kind=kind)
    info = describe(warehouse, endpoints=endpoints, traits=traits)
    merged = {
        t: replace(info[t], coding=info[t].coding or i.coding) for t, i in phenotypes.info.items()
    }
    groups = mart.select(
        pl.col(KEY).cast(pl.String).alias(phenofiles.KEY),
        pl.col("batch").cast(pl.String).alias("genotyping batch"),
    )
    return replace(phenotypes, info=merged, groups=groups)


ENDPOINT_CODING = "1 case, 0 control, NULL neither (marts.gwas_phenotype)"


def describe(
    warehouse: Path, *, endpoints: Sequence[str] = (), traits: Sequence[str] = ()
) -> dict[str, traits_module.TraitInfo]:
    """Each endpoint's long name and definition (``marts.endpoint_definition`` and the
    code patterns of ``intermediate.int_endpoint_patterns``), each trait's platform, unit
    and transformation (``marts.omics_measurement``)."""
    import duckdb

    from promise.warehouse import connect

    con = connect(Path(warehouse))
    described: dict[str, traits_module.TraitInfo] = {}
    try:
        for name in [*endpoints, *traits]:
            try:
                info = _endpoint_info(con, name) if name in endpoints else _trait_info(con, name)
            except duckdb.Error:  # a warehouse without these marts: nothing to describe
                info = traits_module.TraitInfo(source=MART)
            described[name] = info
    finally:
        con.close()
    return described


def _endpoint_info(con: Any, name: str) -> traits_module.TraitInfo:
    row = con.execute(
        "select longname, sex, includes, control_excludes, conditions, evaluation, "
        "not_applicable_parts from marts.endpoint_definition where name = ? limit 1",
        [name],
    ).fetchone()
    if row is None:
        return traits_module.TraitInfo(coding=ENDPOINT_CODING, source=MART)
    longname, sex, includes, excludes, conditions, evaluation, not_applicable = row
    parts = [f"{column}: {patterns}" for column, patterns in _patterns(con, name)]
    if includes:
        parts.append("includes " + ", ".join(includes))
    if conditions:
        parts.append(f"conditions {conditions}")
    if excludes:
        parts.append("controls exclude " + ", ".join(excludes))
    if sex:
        parts.append(f"{sex} only")
    if evaluation != "evaluated":
        parts.append(f"{evaluation} in Sweden (not evaluated: {', '.join(not_applicable)})")
    return traits_module.TraitInfo(
        coding=ENDPOINT_CODING,
        long_name=longname or "",
        definition="; ".join(parts),
        missing_reason="neither case nor control (the endpoint's sex or control-exclusion rules)",
        source="marts.endpoint_status via " + MART,
    )


def _patterns(con: Any, name: str) -> list[tuple[str, str]]:
    """The endpoint's FinnGen pattern columns and their patterns, in file order."""
    try:
        return [
            (column, pattern)
            for column, pattern in con.execute(
                "select part_column, string_agg(distinct pattern, ' | ') "
                "from intermediate.int_endpoint_patterns where name = ? "
                "group by part_column order by part_column",
                [name],
            ).fetchall()
        ]
    except Exception:  # duckdb.CatalogException: a warehouse built without the model
        return []


def _trait_info(con: Any, name: str) -> traits_module.TraitInfo:
    row = con.execute(
        "select any_value(platform), any_value(unit), count(distinct person_id) "
        "from marts.omics_measurement where analyte_name = ?",
        [name],
    ).fetchone()
    platform, unit, persons = row if row else (None, None, 0)
    scale = " (Olink's log2-scaled normalised protein expression)" if unit == "NPX" else ""
    return traits_module.TraitInfo(
        definition=f"{name} measured on the {platform} platform" if platform else "",
        unit=f"{unit}{scale}" if unit else "",
        transformation="none: the value as measured in the person's first sample",
        missing_reason="no measurement",
        source=f"marts.omics_measurement ({persons:,} persons measured) via {MART}",
    )


def warehouse_phenotypes(
    mart: pl.DataFrame,
    *,
    endpoints: Sequence[str] = (),
    traits: Sequence[str] = (),
    kind: TraitKind = "auto",
) -> traits_module.Phenotypes:
    """Select endpoints (binary) and quantitative traits, with the standard covariates.

    Several of each may be analysed in one run: they share the genotypes, the QC and the
    PCA; the regression groups them by kind and by the samples that have them.
    """
    names = [*endpoints, *traits]
    if not names:
        raise WarehousePhenotypeError("Give --endpoint NAME or --trait COLUMN (or both).")
    if len(set(names)) != len(names):
        raise WarehousePhenotypeError(f"A name is given twice in {', '.join(names)}.")
    for name in names:
        what = "endpoint" if name in endpoints else "trait"
        if name not in mart.columns or name in BASE_COLUMNS:
            raise WarehousePhenotypeError(
                f"Unknown {what} {name!r} in {MART}{_suggestions(mart, name, what)}"
            )
        if what == "endpoint" and not mart.select((pl.col(name) == 1).any()).item():
            raise WarehousePhenotypeError(
                f"Endpoint {name!r} has no case among the {len(mart):,} genotyped samples"
                f"{_suggestions(mart, name, what)}"
            )
    frame = mart.with_columns(pl.col(KEY).cast(pl.String).alias(phenofiles.KEY))
    values = frame.select(
        phenofiles.KEY, *(pl.col(n).cast(pl.Float64, strict=False).fill_nan(None) for n in names)
    )
    covars = _covariates(frame)
    kinds: dict[str, TraitKind] = dict.fromkeys(endpoints, "binary")
    kinds.update(dict.fromkeys(traits, kind))
    return traits_module.build(
        frame=values.join(covars, on=phenofiles.KEY, how="left", maintain_order="left"),
        traits=names,
        covariates=covars.columns[1:],
        kind=kinds,
        female="is_female",
    )


def case_counts(mart: pl.DataFrame) -> dict[str, int]:
    """Cases per endpoint column (INTEGER 1/0/NULL) among the mart's genotyped samples."""
    columns = [c for c, t in mart.schema.items() if c not in BASE_COLUMNS and t.is_integer()]
    if not columns:
        return {}
    row = mart.select((pl.col(c) == 1).sum() for c in columns).row(0)
    return {c: int(n or 0) for c, n in zip(columns, row, strict=True)}


def quantitative_columns(mart: pl.DataFrame) -> list[str]:
    """The omics columns (DOUBLE) usable with ``--trait``."""
    return [c for c, t in mart.schema.items() if c not in BASE_COLUMNS and t.is_float()]


def _suggestions(mart: pl.DataFrame, name: str, what: str, shown: int = 15) -> str:
    """The rest of the sentence: close names (difflib), then the endpoints that have cases
    (most cases first) or the quantitative traits."""
    if what == "endpoint":
        cases = case_counts(mart)
        usable = sorted((c for c, n in cases.items() if n), key=lambda c: (-cases[c], c))
        listed = [f"{c} ({cases[c]:,})" for c in usable[:shown]]
        label = "endpoints with cases among the genotyped (cases)"
    else:
        usable = quantitative_columns(mart)
        listed, label = usable[:shown], "quantitative traits"
    close = difflib.get_close_matches(name.upper(), [u.upper() for u in usable], n=3, cutoff=0.6)
    by_upper = {u.upper(): u for u in usable}
    text = f"; did you mean {', '.join(by_upper[c] for c in close)}?" if close else ""
    if not usable:
        return text + f"; the warehouse has no {label.split(' with')[0]}."
    more = (
        f" ... ({len(usable):,} in all; `promise endpoints` lists them)"
        if len(usable) > shown
        else ""
    )
    return f"{text}; {label}: {', '.join(listed)}{more}."


def _covariates(frame: pl.DataFrame) -> pl.DataFrame:
    table = frame.select(phenofiles.KEY, *(pl.col(c).cast(pl.String) for c in COVARIATES))
    return phenofiles.covariate_columns(table, list(COVARIATES))
