"""Warehouse mode: a trait and its covariates from ``marts.gwas_phenotype``.

One row per genotyped sample, keyed by ``person_id`` (= the MatrixTable column key ``s``).
Endpoints are 1 case / 0 control / NULL excluded; quantitative traits are named by analyte.
Covariates: ``is_female``, ``age`` and the genotyping ``batch`` (one indicator per batch
after the first), then the principal components computed at GWAS time.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

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
