"""Who each genotyped sample is: personnummer pseudonymised, biobank sample ids linked.

Every identity field of a genotype file goes through here before it is written anywhere:
sample names (VCF, BGEN header, ``.sample``, ``.fam`` IID) become ``person_id`` or are
rejected; a rejected id that could be a personnummer is masked in its quarantine record;
``.fam`` family and parent ids become keys of ours too (:func:`family_keys`,
:func:`parent_keys`). Hail only ever sees those keys.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from promise.ingest.masking import MASK, holds_personnummer, looks_like_personnummer
from promise.ingest.rows import QUARANTINE_SCHEMA
from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer
from promise.warehouse import connect

SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "_load_id": pl.Utf8(),
    "_source_file": pl.Utf8(),
    "_source_line": pl.Int64(),
    "person_id": pl.Utf8(),
    "sample_id": pl.Utf8(),
    "batch": pl.Utf8(),
    "birth_date": pl.Date(),
    "sex": pl.Utf8(),
}
#: a missing family, father or mother in a ``.fam``
MISSING = "0"


def personnummer_samples(
    ids: pl.Series, pseudonymizer: Pseudonymizer, reference_date: date
) -> pl.DataFrame:
    """Samples whose ids are personnummer: pseudonymised; the key Hail sees is the pseudonym."""
    parsed = parse_column(ids, reference_date=reference_date)
    samples = pl.DataFrame(
        {
            "_index": pl.int_range(1, ids.len() + 1, dtype=pl.Int64, eager=True),
            "person_id": pseudonymizer.person_ids(parsed["normalized"]),
            "sample_id": pl.Series([None] * ids.len(), dtype=pl.Utf8),
            "birth_date": parsed["birth_date"],
            "sex": parsed["sex"],
            "_reason": parsed.select(
                pl.when(pl.col("valid")).then(None).otherwise(pl.lit("invalid_personnummer"))
            ).to_series(),
        }
    )
    return _with_keys(flag_duplicates(samples))


def linked_samples(ids: pl.Series, biobank: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """Samples whose ids are biobank sample ids, linked through ``raw.biobank``.

    An id in no biobank delivery is ``unknown_sample``; if it could be a personnummer it is
    masked (its quarantine record says ``***MASKED***``).
    """
    frame = ids.rename("id").to_frame()
    samples = (
        frame.select(
            pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("_index"),
            pl.col("id").alias("sample_id"),
        )
        .join(biobank, on="sample_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("person_id").is_null()).then(pl.lit("unknown_sample")).alias("_reason")
        )
    )
    rejected = pl.col("_reason").is_not_null()
    hidden = _could_be_number(pl.col("sample_id"), reference_date)
    samples = samples.with_columns(
        pl.when(rejected & hidden).then(None).otherwise(pl.col("sample_id")).alias("sample_id")
    )
    return _with_keys(flag_duplicates(samples))


def _could_be_number(expr: pl.Expr, reference_date: date) -> pl.Expr:
    return (
        looks_like_personnummer(expr) | holds_personnummer(expr, reference_date=reference_date)
    ).fill_null(False)


def _with_keys(samples: pl.DataFrame) -> pl.DataFrame:
    """``_key``: what Hail sees for a sample, the pseudonym or ``_rejected_<position>``."""
    return samples.with_columns(
        pl.when(pl.col("_reason").is_null())
        .then(pl.col("person_id"))
        .otherwise(pl.format("_rejected_{}", pl.col("_index")))
        .alias("_key")
    )


def biobank_links(warehouse: Path, staged: list[Path]) -> pl.DataFrame:
    """sample_id -> person_id, birth_date, sex from the biobank loads, published or staged
    in this run (the first load of a sample id wins)."""
    con = connect(warehouse)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchall()
        }
        columns = "_load_id, sample_id, person_id, birth_date, sex"
        parts = []
        if "biobank" in tables:
            parts.append(con.sql(f"SELECT {columns} FROM raw.biobank").pl())
    finally:
        con.close()
    parts += [
        pl.read_parquet(folder / "data.parquet", columns=columns.split(", ")) for folder in staged
    ]
    schema = {
        "sample_id": pl.Utf8,
        "person_id": pl.Utf8,
        "birth_date": pl.Date,
        "sex": pl.Utf8,
    }
    if not parts:
        return pl.DataFrame(schema=schema)
    links = pl.concat(parts, how="diagonal_relaxed").sort("_load_id", "sample_id")
    return links.unique("sample_id", keep="first", maintain_order=True).select(list(schema))


def flag_duplicates(samples: pl.DataFrame) -> pl.DataFrame:
    """A person genotyped twice in one batch keeps the first column."""
    dup = pl.col("person_id").is_not_null() & ~pl.col("person_id").is_first_distinct()
    return samples.with_columns(
        pl.when(pl.col("_reason").is_null() & dup)
        .then(pl.lit("duplicate_sample"))
        .otherwise(pl.col("_reason"))
        .alias("_reason")
    )


def family_keys(
    fids: list[str], iids: list[str], keys: list[str], pseudonymizer: Pseudonymizer
) -> list[str]:
    """A ``.fam`` FID as a key of ours: the sample's own key when FID = IID (PLINK's habit),
    ``0`` when missing, else a keyed pseudonym of the family id (one per family, unlinkable
    to anything without the key)."""
    out = []
    for fid, iid, key in zip(fids, iids, keys, strict=True):
        if fid == iid:
            out.append(key)
        elif fid == MISSING:
            out.append(MISSING)
        else:
            digest = pseudonymizer.person_id("family:" + fid.encode("utf-8").hex())
            out.append(f"family_{digest}")
    return out


def parent_keys(parents: list[str], key_of: dict[str, str]) -> list[str]:
    """A ``.fam`` PAT or MAT as a key of ours: the parent's ``person_id`` when the parent is a
    sample of the batch that was kept, else ``0`` (unknown), never the id as written."""
    return [key_of.get(p, MISSING) if p != MISSING else MISSING for p in parents]


def phenotype_value(value: str, reference_date: date) -> str:
    """A ``.fam`` phenotype, or ``-9`` (missing) if it could be a personnummer."""
    frame = pl.DataFrame({"v": [value]})
    flagged = frame.select(_could_be_number(pl.col("v"), reference_date)).item()
    return "-9" if flagged else value


def sample_rows(kept: pl.DataFrame, label: str, batch: str, load_id: str) -> pl.DataFrame:
    """Rows of ``raw.genotyped_samples`` for the kept samples."""
    return kept.select(
        pl.lit(load_id).alias("_load_id"),
        pl.lit(label).alias("_source_file"),
        pl.col("_index").alias("_source_line"),
        "person_id",
        "sample_id",
        pl.lit(batch).alias("batch"),
        "birth_date",
        "sex",
    ).cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]


def quarantine_rows(rejected: pl.DataFrame, label: str, load_id: str, source: str) -> pl.DataFrame:
    """Quarantine rows of rejected samples: a sample id only when it cannot be a number."""
    record = (
        pl.when(pl.col("sample_id").is_not_null())
        .then(pl.lit('{"sample_id": "') + pl.col("sample_id") + pl.lit('"}'))
        .otherwise(pl.lit('{"sample": "' + MASK + '"}'))
    )
    return rejected.select(
        pl.lit(load_id).alias("load_id"),
        pl.lit(source).alias("source"),
        pl.lit(label).alias("file"),
        pl.col("_index").alias("line"),
        pl.lit("sample").alias("column"),
        pl.col("_reason").alias("reason"),
        pl.col("_reason").alias("detail"),
        record.alias("record"),
    ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
