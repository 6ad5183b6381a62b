"""The raw schema of a source and the few source-specific steps the contract asks for.

- ``splitInto`` (NPR ``DIAGNOS`` deliveries): the first token fills ``main_diagnosis``,
  the following ones ``diagnosis_1``..; the string itself stays in ``diagnoses``;
- ``derivedColumns``: raw columns computed by a SQL expression (Olink ``below_lod``);
- ``reshape``: wide -> long (NMR metabolomics: one row per sample and measure, with the
  measure's unit from the contract; empty values are missing and produce no row).
"""

from __future__ import annotations

import polars as pl

from promise.contracts import Contract
from promise.ingest.checks import POLARS_TYPES, raw_output_types
from promise.ingest.persons import PERSON_TYPES

LINEAGE_TYPES: dict[str, pl.DataType] = {
    "_load_id": pl.Utf8(),
    "_source_file": pl.Utf8(),
    "_source_line": pl.Int64(),
}


def raw_schema(contract: Contract) -> dict[str, pl.DataType]:
    """Column name -> type of ``raw.<source>``, in order."""
    schema = dict(LINEAGE_TYPES)
    if contract.personnummer is not None:
        schema.update(PERSON_TYPES)
    if contract.reshape is not None:
        shape = contract.reshape
        for name in shape.id_columns:
            schema[name] = pl.Utf8()
        schema[shape.name_column] = pl.Utf8()
        schema[shape.value_column] = pl.Float64()
        schema[shape.unit_column] = pl.Utf8()
        return schema
    for col in contract.columns:
        if col.is_relative:
            schema[col.raw] = pl.Utf8()
            if col.birth_date_column:
                schema[col.birth_date_column] = pl.Date()
        elif not col.is_personnummer:
            schema.update(raw_output_types(col))
    for derived in contract.derived:
        schema[derived.name] = POLARS_TYPES[derived.physical_type]
    return schema


def apply_hooks(typed: pl.DataFrame, *, contract: Contract, good: pl.DataFrame) -> pl.DataFrame:
    """Apply the contract's token splits, derived columns and reshape to typed rows."""
    typed = _split_tokens(typed, contract)
    if contract.derived:
        typed = typed.with_columns([pl.sql_expr(d.sql).alias(d.name) for d in contract.derived])
    if contract.reshape is not None:
        typed = _wide_to_long(typed, contract)
    return typed


def _split_tokens(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    key = (id(contract), tuple(typed.columns))
    cached = _TOKEN_UPDATES.get(key)
    if cached is None or cached[0] is not contract:
        if len(_TOKEN_UPDATES) >= 64:
            _TOKEN_UPDATES.clear()
        cached = _TOKEN_UPDATES[key] = (contract, _token_updates(contract, key[1]))
    for updates in cached[1]:
        typed = typed.with_columns(updates)
    return typed


#: (id of a contract, raw columns) -> (that contract, its token updates): built once per
#: file instead of once per chunk (the contract is kept, so its id is not reused meanwhile)
_TOKEN_UPDATES: dict[tuple[int, tuple[str, ...]], tuple[Contract, list[list[pl.Expr]]]] = {}


def _token_updates(contract: Contract, columns: tuple[str, ...]) -> list[list[pl.Expr]]:
    """The updates of each split column."""
    stages = []
    for col in contract.columns:
        spec = col.split_into
        if not spec or col.raw not in columns:
            continue
        tokens = pl.col(col.raw).str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        has = pl.col(col.raw).is_not_null()
        first = str(spec["first"])
        updates = [
            pl.when(has)
            .then(tokens.list.get(0, null_on_oob=True))
            .otherwise(pl.col(first))
            .alias(first)
        ]
        for k in range(1, int(spec["restMax"]) + 1):
            name = f"{spec['restPrefix']}{k}"
            updates.append(
                pl.when(has)
                .then(tokens.list.get(k, null_on_oob=True))
                .otherwise(pl.col(name))
                .alias(name)
            )
        stages.append(updates)
    return stages


def _wide_to_long(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    shape = contract.reshape
    assert shape is not None
    index = [*LINEAGE_TYPES, *shape.id_columns]
    measures = [c.raw for c in contract.columns if c.raw not in shape.id_columns]
    units = {c.raw: c.unit for c in contract.columns if c.unit}
    long = typed.unpivot(
        index=index, on=measures, variable_name=shape.name_column, value_name=shape.value_column
    )
    long = long.filter(pl.col(shape.value_column).is_not_null())
    return long.with_columns(
        pl.col(shape.name_column)
        .replace_strict(units, default=None, return_dtype=pl.Utf8)
        .alias(shape.unit_column)
    ).sort("_source_line", maintain_order=True)
