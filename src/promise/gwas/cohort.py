"""Warehouse mode: a trait and its covariates from ``marts.gwas_phenotype``.

One row per genotyped sample, keyed by ``person_id`` (= the MatrixTable column key ``s``).
Endpoints are 1 case / 0 control / NULL excluded; quantitative traits are named by analyte.
Covariates: ``is_female``, ``age`` and the genotyping ``batch`` (one indicator per batch
after the first), then the principal components computed at GWAS time.
"""

from __future__ import annotations

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
    available = [c for c in mart.columns if c not in BASE_COLUMNS]
    for name in names:
        if name not in mart.columns or name in BASE_COLUMNS:
            what = "endpoint" if name in endpoints else "trait"
            raise WarehousePhenotypeError(
                f"Unknown {what} {name!r} in {MART}; available: {', '.join(available[:20])}"
                + (" ..." if len(available) > 20 else "")
                + "."
            )
    if len(set(names)) != len(names):
        raise WarehousePhenotypeError(f"A name is given twice in {', '.join(names)}.")
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


def _covariates(frame: pl.DataFrame) -> pl.DataFrame:
    table = frame.select(phenofiles.KEY, *(pl.col(c).cast(pl.String) for c in COVARIATES))
    return phenofiles.covariate_columns(table, list(COVARIATES))
