"""Turn one chunk of split lines into typed raw rows and quarantine rows.

Order of judgement for a line: undecodable, ragged or badly quoted (structure), exact
duplicate of an earlier line of the file, then the contract's column checks in contract
order (the first failing column names the reason; every failing column is in the detail).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from promise.contracts import Column, Contract
from promise.ingest.checks import Failure, check_column, raw_output_types
from promise.ingest.duplicates import SeenLines, mark_duplicates
from promise.ingest.fields import BAD_QUOTING, RAGGED, UNDECODABLE, field_names
from promise.ingest.layout import Layout
from promise.ingest.masking import MASK, holds_personnummer, mask_expr, pseudonymise_text
from promise.ingest.persons import PERSON_TYPES, PersonIds, person_failures, person_lookup
from promise.ingest.relatives import add_relatives, relative_columns, row_check_failure
from promise.ingest.reshape import apply_hooks, raw_schema
from promise.pseudonym import Pseudonymizer

DUPLICATE = "duplicate_row"
OUT = "__out_"
PNR_IN_FIELD = "personnummer_in_field"
STRUCTURE_DETAIL = {
    UNDECODABLE: "line cannot be decoded as {encoding}",
    RAGGED: "line does not have the header's {n} fields",
    BAD_QUOTING: "line has unbalanced or misplaced quotes",
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "load_id": pl.Utf8(),
    "source": pl.Utf8(),
    "file": pl.Utf8(),
    "line": pl.Int64(),
    "column": pl.Utf8(),
    "reason": pl.Utf8(),
    "detail": pl.Utf8(),
    "record": pl.Utf8(),
}


@dataclass
class RowJudge:
    """Everything needed to judge the rows of one file."""

    contract: Contract
    layout: Layout
    pseudonymizer: Pseudonymizer
    reference_date: date
    decimal: str
    encoding: str
    load_id: str
    source: str
    file: str
    hooks: dict[str, object] = field(default_factory=dict)
    _seen: SeenLines = field(default_factory=SeenLines)

    def __post_init__(self) -> None:
        self.failures: list[Failure] = []
        self.outputs: list[pl.Expr] = []
        pnr = self.contract.personnummer
        for col in self.contract.columns:
            if col.is_personnummer:
                self.failures += person_failures(col.name, required=col.required)
                continue
            if col.is_relative:
                self.failures += person_failures(col.name, required=col.required, id_column=col.raw)
                continue
            checked = check_column(col, decimal=self.decimal, reference_date=self.reference_date)
            if may_hide_personnummer(col):
                self.failures.append(
                    hidden_personnummer(col.name, reference_date=self.reference_date)
                )
            self.failures += checked.failures
            self.outputs += checked.outputs
        self.failures += [row_check_failure(c) for c in self.contract.row_checks]
        self.pnr_column = pnr.name if pnr else None
        self.persons = person_lookup(
            PersonIds(self.pseudonymizer), reference_date=self.reference_date, key=self.layout.key
        )
        self.schema = raw_schema(self.contract)
        self._build_expressions()

    def _build_expressions(self) -> None:
        """The expressions every chunk runs, built once (building them anew took longer than
        running them on a small chunk)."""
        self._flag_names = [f"_x{k}" for k in range(len(self.failures))]
        flags = zip(self._flag_names, self.failures, strict=True)
        self._typed_and_flags = [
            *(out.alias(f"{OUT}{out.meta.output_name()}") for out in self.outputs),
            *(f.condition.fill_null(False).alias(n) for n, f in flags),
        ]
        reason = pl.lit(None, dtype=pl.Utf8)
        column = pl.lit(None, dtype=pl.Utf8)
        for name, f in reversed(list(zip(self._flag_names, self.failures, strict=True))):
            reason = pl.when(pl.col(name)).then(pl.lit(f.reason)).otherwise(reason)
            column = pl.when(pl.col(name)).then(pl.lit(f.column)).otherwise(column)
        details = [
            pl.when(pl.col(n)).then(pl.lit(f.detail))
            for n, f in zip(self._flag_names, self.failures, strict=True)
        ]
        if self.pnr_column:
            details.insert(
                0,
                pl.when(pl.col("_pnr_reason").is_not_null()).then(
                    pl.lit("personnummer check: ") + pl.col("_pnr_reason")
                ),
            )
        detail = pl.concat_str(details, separator="; ", ignore_nulls=True)
        self._why = [reason.alias("_reason"), column.alias("_column"), detail.alias("_detail")]
        person = [pl.col(name) for name in PERSON_TYPES] if self.pnr_column else []
        outputs = [
            pl.col(f"{OUT}{out.meta.output_name()}").alias(out.meta.output_name())
            for out in self.outputs
        ]
        relatives = [pl.col(name) for name in relative_columns(self.contract)]
        self._raw_select = [*self._lineage(), *person, *relatives, *outputs]
        self._raw_cast = [pl.col(name).cast(dtype) for name, dtype in self.schema.items()]

    def judge(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
        """Typed raw rows, quarantine rows and the number of input records loaded."""
        frame = self._mark_duplicates(frame)
        structural = frame.filter(pl.col("_status").is_not_null())
        rows = self._named(frame.filter(pl.col("_status").is_null()))
        if self.pnr_column:
            rows = self.persons.add_columns(rows, self.pnr_column)
        rows = add_relatives(rows, self.contract, self.persons)
        good, bad = self._apply_failures(rows)
        loaded = self._raw_rows(good)
        parts = []
        if structural.height:
            parts.append(self._structural_quarantine(structural))
        if bad.height:
            parts.append(self._field_quarantine(bad))
        if not parts:  # most chunks: nothing to quarantine
            return loaded, empty_quarantine(), good.height
        return loaded, pl.concat(parts, how="vertical").sort("line"), good.height

    def _mark_duplicates(self, frame: pl.DataFrame) -> pl.DataFrame:
        decodable = pl.col("_status").is_null() | (pl.col("_status") != UNDECODABLE)
        duplicate = mark_duplicates(frame, self._seen, eligible=decodable)
        return frame.with_columns(
            _status=pl.when(pl.col("_status").is_null() & duplicate)
            .then(pl.lit(DUPLICATE))
            .otherwise(pl.col("_status"))
        )

    def _named(self, frame: pl.DataFrame) -> pl.DataFrame:
        names = field_names(self.layout.n_fields)
        return frame.select(pl.col("_line"), *self.layout.named_columns(names))

    def _apply_failures(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows passing every check, and failing rows with ``_reason``, ``_column``, ``_detail``.

        The reason is worked out only for the (few) failing rows.
        """
        if not self.failures:
            rows = rows.with_columns(
                [out.alias(f"{OUT}{out.meta.output_name()}") for out in self.outputs]
            )
            return rows, rows.clear().with_columns(
                _reason=pl.lit(None, pl.Utf8),
                _column=pl.lit(None, pl.Utf8),
                _detail=pl.lit(None, pl.Utf8),
            )
        names = self._flag_names
        # typed outputs and failure flags in one lazy query: its common-subexpression
        # elimination parses each value once (a date is read by the output and by three
        # checks), which the eager ``with_columns`` does not do (a third of the CPU time)
        flags = (
            rows.lazy()
            .with_columns(self._typed_and_flags)
            .with_columns(_failed=pl.any_horizontal(names))
            .collect()
        )
        failed = flags["_failed"]
        flags = flags.drop("_failed")
        if not failed.any():  # the usual chunk: no copy of every column through a filter
            good = flags.drop(names)
            bad = flags.clear()
        else:
            good = flags.filter(~failed).drop(names)
            bad = flags.filter(failed)
        bad = bad.with_columns(self._why).drop(names)
        return good, bad

    def _lineage(self) -> list[pl.Expr]:
        return [
            pl.lit(self.load_id).alias("_load_id"),
            pl.lit(self.file).alias("_source_file"),
            pl.col("_line").alias("_source_line"),
        ]

    def _raw_rows(self, good: pl.DataFrame) -> pl.DataFrame:
        typed = good.select(self._raw_select)
        typed = apply_hooks(typed, contract=self.contract, good=good)
        return typed.select(self._raw_cast)

    def _record_expr(self) -> pl.Expr:
        fields = []
        for col in self.contract.columns:
            if col.is_personnummer:
                masked = (
                    pl.when(pl.col(col.name).is_null())
                    .then(None)
                    .otherwise(pl.col("person_id").fill_null(pl.lit(MASK)))
                )
                fields.append(masked.alias("person_id"))
            elif col.is_relative:
                masked = (
                    pl.when(pl.col(col.name).is_null())
                    .then(None)
                    .otherwise(pl.col(col.raw).fill_null(pl.lit(MASK)))
                )
                fields.append(masked.alias(col.raw))
            else:
                fields.append(mask_expr(pl.col(col.name)))
        return pl.struct(fields).struct.json_encode()

    def _field_quarantine(self, bad: pl.DataFrame) -> pl.DataFrame:
        return bad.select(
            pl.lit(self.load_id).alias("load_id"),
            pl.lit(self.source).alias("source"),
            pl.lit(self.file).alias("file"),
            pl.col("_line").alias("line"),
            pl.col("_column").alias("column"),
            pl.col("_reason").alias("reason"),
            pl.col("_detail").alias("detail"),
            self._record_expr().alias("record"),
        ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]

    def _structural_quarantine(self, rows: pl.DataFrame) -> pl.DataFrame:
        records = [
            json.dumps(
                {
                    "text": self.persons.scrub(
                        pseudonymise_text(
                            t, pseudonymizer=self.pseudonymizer, reference_date=self.reference_date
                        )
                    )
                },
                ensure_ascii=False,
            )
            for t in rows["_text"].to_list()
        ]
        details = {
            UNDECODABLE: STRUCTURE_DETAIL[UNDECODABLE].format(encoding=self.encoding),
            RAGGED: STRUCTURE_DETAIL[RAGGED].format(n=self.layout.n_fields),
            BAD_QUOTING: STRUCTURE_DETAIL[BAD_QUOTING],
            DUPLICATE: "exact copy of an earlier line of the file",
        }
        return pl.DataFrame(
            {
                "load_id": [self.load_id] * rows.height,
                "source": [self.source] * rows.height,
                "file": [self.file] * rows.height,
                "line": rows["_line"],
                "column": [None] * rows.height,
                "reason": rows["_status"],
                "detail": [details.get(s, s) for s in rows["_status"].to_list()],
                "record": records,
            },
            schema=QUARANTINE_SCHEMA,
        )


def may_hide_personnummer(col: Column) -> bool:
    """Free strings and numbers could hold a number; dates, integers (range-checked) and
    columns with a pattern or a list of values cannot pass their own checks with one."""
    if col.logical_type not in {"string", "number"}:
        return False
    return col.pattern is None and col.valid_values is None


def hidden_personnummer(column: str, *, reference_date: date) -> Failure:
    """A value outside the personnummer column that could hide one is never loaded: the row
    goes to the quarantine with the value masked in its record (the quarantine note)."""
    return Failure(
        column,
        PNR_IN_FIELD,
        f"{column} holds a value that could be a personnummer",
        holds_personnummer(pl.col(column), reference_date=reference_date),
    )


def empty_quarantine() -> pl.DataFrame:
    """A quarantine frame with no rows and the fixed schema."""
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


__all__ = ["QUARANTINE_SCHEMA", "RowJudge", "empty_quarantine", "raw_output_types"]
