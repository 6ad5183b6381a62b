"""Load SCB's changed personnummer (earlier -> later number) as a pseudonymised change table.

A change table is small (tens of thousands of rows), so it is read whole. Each row is judged
like any register row (structure, duplicates, both numbers, the date); the accepted changes,
together with those already in the warehouse, must then form chains: a number changed into
two different numbers, or changes leading back to a number they started from (a cycle),
refuse the file in one sentence, and nothing of the delivery is published. The marts follow
the chains to each person's latest number (``models/staging/rtb/``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from promise.contracts import Contract
from promise.errors import PromiseError
from promise.ingest.checks import INVALID_PNR, MISSING, NOT_ALLOWED, check_column
from promise.ingest.duplicates import SeenLines, mark_duplicates
from promise.ingest.fields import UNDECODABLE, field_names, split_lines
from promise.ingest.jobs import Job
from promise.ingest.layout import bind_header
from promise.ingest.lines import decode_chunk, iter_chunks, sha256_and_records, sha256_of
from promise.ingest.masking import MASK, mask_expr, pseudonymise_text
from promise.ingest.persons import PersonIds, PersonLookup
from promise.ingest.reshape import LINEAGE_TYPES
from promise.ingest.results import LOADED, SKIPPED, FileResult, manifest_frame
from promise.ingest.rows import QUARANTINE_SCHEMA, STRUCTURE_DETAIL
from promise.ingest.writer import PendingLoads, private_dir, write_frame
from promise.pseudonym import Pseudonymizer
from promise.warehouse import raw_dir, tmp_dir

FORMAT = "personnummer_changes"
OLD, NEW, WHEN = "old_person_id", "new_person_id", "change_date"
CHANGE_SCHEMA: dict[str, pl.DataType] = {
    **LINEAGE_TYPES,
    OLD: pl.Utf8(),
    NEW: pl.Utf8(),
    WHEN: pl.Date(),
}


class ChangeTableError(PromiseError):
    """A change table whose changes do not form chains; nothing was loaded."""


def load_change_files(
    files: list[tuple[Job, Path]],
    *,
    landing: Path,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    pending: PendingLoads,
    known: set[str],
) -> list[FileResult]:
    """Every change table not yet loaded (same sha256 = skipped), in file order."""
    results = []
    for job, path in files:
        label = path.relative_to(landing).as_posix()
        sha256 = sha256_of(path)
        if sha256 in known:
            results.append(
                FileResult(
                    source=job.source,
                    file=label,
                    sha256=sha256,
                    status=SKIPPED,
                    note="already in the manifest (same sha256)",
                )  # fmt: skip
            )
            continue
        results.append(
            load_changes(
                job,
                path,
                label=label,
                warehouse=warehouse,
                pseudonymizer=pseudonymizer,
                reference_date=reference_date,
                pending=pending,
            )  # fmt: skip
        )
        known.add(sha256)
    return results


def load_changes(
    job: Job,
    path: Path,
    *,
    label: str,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    pending: PendingLoads,
) -> FileResult:
    """Judge, check and stage one change table for ``raw/pnr_changes/<load_id>/``."""
    contract = job.contract
    assert contract is not None
    started = datetime.now(UTC)
    sha256, records = sha256_and_records(path)
    load_id = sha256[:16]
    result = FileResult(
        source=job.source, file=label, sha256=sha256, status=LOADED, load_id=load_id
    )
    result.rows_in = records
    layout = bind_header(
        path, label=label, contract=contract, delimiter=job.delimiter, encoding=job.encoding
    )
    result.warnings += layout.warnings
    lines = _lines(path, job, layout.n_fields)
    named = lines.select(
        "_line", "_text", "_status", *layout.named_columns(field_names(layout.n_fields))
    )
    judged = _judge(named, contract, pseudonymizer, reference_date)
    good = judged.filter(pl.col("_reason").is_null())
    check_chains(good, label=label, published=published_changes(warehouse))
    data = good.select(
        pl.lit(load_id).alias("_load_id"),
        pl.lit(label).alias("_source_file"),
        pl.col("_line").alias("_source_line"),
        OLD,
        NEW,
        WHEN,
    ).cast(CHANGE_SCHEMA)  # type: ignore[arg-type]
    quarantine = _quarantine(
        judged.filter(pl.col("_reason").is_not_null()),
        (load_id, job.source, label, layout.n_fields),
        pseudonymizer,
        reference_date,
    )
    result.rows_loaded, result.rows_quarantined = data.height, quarantine.height
    result.quarantined_by_reason = dict(sorted(quarantine["reason"].value_counts().iter_rows()))
    staging = private_dir(tmp_dir(warehouse) / load_id)
    write_frame(staging / "data.parquet", data)
    write_frame(staging / "quarantine.parquet", quarantine)
    manifest = manifest_frame(
        result,
        contract_version=contract.version,
        key_fingerprint=pseudonymizer.fingerprint,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    write_frame(staging / "manifest.parquet", manifest)
    pending.add(staging, Path(warehouse) / job.target / load_id)
    return result


def _lines(path: Path, job: Job, n_fields: int) -> pl.DataFrame:
    """Every data line split into fields, exact repeats of an earlier line marked."""
    frames = []
    seen = SeenLines()
    for chunk in iter_chunks(path):
        decoded = decode_chunk(chunk, job.encoding)
        frame = split_lines(
            decoded, first_line=chunk.first_line, delimiter=job.delimiter, n_fields=n_fields
        )
        eligible = pl.col("_status").is_null() | (pl.col("_status") != UNDECODABLE)
        duplicate = mark_duplicates(frame, seen, eligible=eligible)
        status = pl.when(pl.col("_status").is_null() & duplicate).then(pl.lit("duplicate_row"))
        frames.append(frame.with_columns(status.otherwise(pl.col("_status")).alias("_status")))
    if not frames:
        names = ["_text", "_status", *field_names(n_fields)]
        return pl.DataFrame(schema={"_line": pl.Int64(), **dict.fromkeys(names, pl.Utf8())})
    return pl.concat(frames, how="diagonal_relaxed")


def _judge(
    named: pl.DataFrame, contract: Contract, pseudonymizer: Pseudonymizer, reference_date: date
) -> pl.DataFrame:
    """The rows with ``old_person_id``, ``new_person_id``, ``change_date`` and, for a rejected
    row, ``_reason``, ``_column`` and ``_detail`` (the first failing check names the reason)."""
    old, new = (c for c in contract.columns if c.is_personnummer)
    when = next(c for c in contract.columns if not c.is_personnummer)
    ids = PersonIds(pseudonymizer)
    frame = named
    for column, target in ((old, OLD), (new, NEW)):
        looked = PersonLookup(ids, reference_date=reference_date).add_columns(
            frame.select(column.name), column.name
        )
        frame = frame.with_columns(looked["person_id"].alias(target))
    checked = check_column(when, decimal=".", reference_date=reference_date)
    frame = frame.with_columns(checked.outputs[0].alias(WHEN))
    checks = [
        (pl.col("_status").is_not_null(), pl.col("_status"), None),
        *(
            check
            for column, target in ((old, OLD), (new, NEW))
            for check in (
                (pl.col(column.name).is_null(), pl.lit(MISSING), column.name),
                (pl.col(target).is_null(), pl.lit(INVALID_PNR), column.name),
            )
        ),
        *((f.condition, pl.lit(f.reason), when.name) for f in checked.failures),
        (pl.col(OLD) == pl.col(NEW), pl.lit(NOT_ALLOWED), new.name),
    ]
    reason = pl.lit(None, dtype=pl.Utf8)
    column_name = pl.lit(None, dtype=pl.Utf8)
    for condition, why, where in reversed(checks):
        hit = condition.fill_null(False)
        reason = pl.when(hit).then(why).otherwise(reason)
        column_name = pl.when(hit).then(pl.lit(where, dtype=pl.Utf8)).otherwise(column_name)
    return frame.with_columns(reason.alias("_reason"), column_name.alias("_column"))


def _quarantine(
    bad: pl.DataFrame,
    where: tuple[str, str, str, int],
    pseudonymizer: Pseudonymizer,
    reference_date: date,
) -> pl.DataFrame:
    """One quarantine row per rejected line; numbers appear only as pseudonyms or masked."""
    load_id, source, label, n_fields = where
    structural = bad["_status"].is_not_null()
    texts = [
        json.dumps(
            {
                "text": pseudonymise_text(
                    t, pseudonymizer=pseudonymizer, reference_date=reference_date
                )
            },
            ensure_ascii=False,
        )
        for t in bad.filter(structural)["_text"].to_list()
    ]
    records = bad.select(
        pl.struct(
            pl.col(OLD).fill_null(pl.lit(MASK)),
            pl.col(NEW).fill_null(pl.lit(MASK)),
            mask_expr(pl.col(WHEN).cast(pl.Utf8)),
        ).struct.json_encode()
    ).to_series()
    records = records.scatter(structural.arg_true(), texts) if texts else records
    details = {
        "duplicate_row": "exact copy of an earlier line of the file",
        NOT_ALLOWED: "the number is changed into itself",
        MISSING: "a number is empty but required",
        INVALID_PNR: "not a valid personnummer or samordningsnummer",
        **{
            k: v.format(encoding="the declared encoding", n=n_fields)
            for k, v in STRUCTURE_DETAIL.items()
        },
    }
    return pl.DataFrame(
        {
            "load_id": [load_id] * bad.height,
            "source": [source] * bad.height,
            "file": [label] * bad.height,
            "line": bad["_line"],
            "column": bad["_column"],
            "reason": bad["_reason"],
            "detail": [details.get(r, r) for r in bad["_reason"].to_list()],
            "record": records,
        },
        schema=QUARANTINE_SCHEMA,
    )


def published_changes(warehouse: Path) -> pl.DataFrame:
    """The changes already in the warehouse (pseudonyms only)."""
    files = sorted((raw_dir(warehouse) / "pnr_changes").glob("*/data*.parquet"))
    if not files:
        return pl.DataFrame(schema={OLD: pl.Utf8(), NEW: pl.Utf8()})
    return pl.concat([pl.read_parquet(f, columns=[OLD, NEW]) for f in files])


def check_chains(good: pl.DataFrame, *, label: str, published: pl.DataFrame) -> None:
    """Refuse a table that changes a number into two numbers or whose changes form a cycle.

    The check covers this file's changes together with those already loaded; the sentence
    names lines of this file, never a number.
    """
    mine = good.select(OLD, NEW, "_line")
    edges = pl.concat([mine.select(OLD, NEW), published.select(OLD, NEW)], how="vertical").unique()
    forked = edges.filter(pl.col(OLD).is_duplicated())[OLD].unique()
    if forked.len():
        lines = mine.filter(pl.col(OLD).is_in(forked.implode()))["_line"].sort().to_list()
        raise ChangeTableError(
            f"{label} changes {forked.len()} number(s) into more than one later number (line "
            f"{_shown(lines)}, with the changes already loaded); a number changes into one: ask "
            "SCB for a corrected table; nothing was loaded."
        )
    following = dict(zip(edges[OLD].to_list(), edges[NEW].to_list(), strict=True))
    on_cycle = _cycle_nodes(following)
    if on_cycle:
        lines = mine.filter(pl.col(OLD).is_in(list(on_cycle)))["_line"].sort().to_list()
        raise ChangeTableError(
            f"{label}'s changes form a cycle ({len(on_cycle)} numbers each lead, through later "
            f"changes, back to itself; line {_shown(lines)}, with the changes already loaded); "
            "a number cannot be both earlier and later than another: ask SCB for a corrected "
            "table; nothing was loaded."
        )


def _cycle_nodes(following: dict[str, str]) -> set[str]:
    """The numbers that lie on a cycle of the 'changed into' map (each has one successor)."""
    state: dict[str, int] = {}  # 1 being walked, 2 done
    on_cycle: set[str] = set()
    for start in following:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in following and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = following[node]
        if node is not None and state.get(node) == 1:
            on_cycle.update(path[path.index(node) :])
        for visited in path:
            state[visited] = 2
    return on_cycle


def _shown(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")
