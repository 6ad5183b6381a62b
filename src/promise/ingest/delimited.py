"""Load one tabular landing file: count, decode, split, judge, write, reconcile, stage.

Delimited text is read in chunks of lines here; SAS and Stata files arrive as the same
frames of text fields from :mod:`promise.ingest.statfiles`, with ``rows_in`` from their
header, and go through the same judge, writers and reconciliation.

The load is written under ``.tmp/<load_id>/`` and handed to :class:`PendingLoads`; the
runner publishes it with the rest of the delivery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from promise.errors import PromiseError
from promise.ingest.fields import split_lines
from promise.ingest.jobs import Job
from promise.ingest.layout import Layout
from promise.ingest.lines import Chunk, Decoded, count_records, decode_chunk, iter_chunks
from promise.ingest.results import LOADED, FileResult, Progress, manifest_frame
from promise.ingest.rows import QUARANTINE_SCHEMA, RowJudge
from promise.ingest.statfiles import StatFile, iter_frames
from promise.ingest.writer import PendingLoads, TableWriter, private_dir, write_frame
from promise.pseudonym import Pseudonymizer
from promise.warehouse import tmp_dir


class ReconciliationError(PromiseError):
    """The loader's counts disagree with the independent record count; nothing is published."""


@dataclass(frozen=True)
class FileTask:
    """One file to load, with its job, header layout and identity."""

    job: Job
    path: Path
    label: str
    sha256: str
    layout: Layout
    records: int | None = None  # the independent record count, when taken with the sha256
    stat: StatFile | None = None  # a SAS or Stata file's header (None: delimited text)


def load_delimited(
    task: FileTask,
    *,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    pending: PendingLoads,
    progress: Progress | None = None,
) -> FileResult:
    """Write one file's load and stage it for ``raw/<source>/<load_id>/``."""
    job, contract = task.job, task.job.contract
    assert contract is not None
    started = datetime.now(UTC)
    load_id = task.sha256[:16]
    result = FileResult(
        source=job.source, file=task.label, sha256=task.sha256, status=LOADED, load_id=load_id
    )
    result.warnings += task.layout.warnings
    result.rows_in = task.records if task.records is not None else count_records(task.path)
    staging = private_dir(tmp_dir(warehouse) / load_id)
    judge = RowJudge(
        contract=contract,
        layout=task.layout,
        pseudonymizer=pseudonymizer,
        reference_date=reference_date,
        decimal=job.decimal,
        encoding=job.encoding,
        load_id=load_id,
        source=job.source,
        file=task.label,
    )
    reasons: Counter[str] = Counter()
    seen_lines = 0
    utf8_like = 0
    with (
        TableWriter(staging / "data.parquet", judge.schema) as data,
        TableWriter(staging / "quarantine.parquet", QUARANTINE_SCHEMA) as quarantine,
    ):
        for n_lines, chunk_utf8_like, frame in _prefetched(task, job):
            utf8_like += chunk_utf8_like
            loaded, rejected, n_loaded = judge.judge(frame)
            data.write(loaded)
            quarantine.write(rejected)
            reasons.update(rejected["reason"].to_list())
            result.rows_loaded += n_loaded
            result.rows_quarantined += rejected.height
            seen_lines += n_lines
            if progress:
                progress(task.label, seen_lines, result.rows_in)
        data.close()
        quarantine.close()
    result.quarantined_by_reason = dict(sorted(reasons.items()))
    if utf8_like:
        result.warnings.append(
            f"{utf8_like} line(s) look UTF-8-encoded in a file declared {job.encoding}"
        )
    if reasons.get("undecodable"):
        result.warnings.append(
            f"{reasons['undecodable']} line(s) cannot be decoded as {job.encoding} (quarantined)"
        )
    _reconcile(result, seen_lines)
    result.warnings += quality_warnings(
        staging / "data.parquet", contract.quality, result.rows_loaded
    )
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


def _prefetched(task: FileTask, job: Job) -> Iterator[tuple[int, int, pl.DataFrame]]:
    """Chunks read, decoded and split one step ahead on a thread, while the last is judged:
    (records, lines that look UTF-8 in a file declared otherwise, frame of fields).

    Polars (and pyreadstat) release the GIL, so preparing the next chunk overlaps judging
    this one; at most two chunks are in memory.
    """
    if task.stat is not None:
        yield from _prefetched_stat(task.stat, task.layout)
        return

    def prepare(chunk: Chunk) -> tuple[int, int, pl.DataFrame]:
        decoded: Decoded = decode_chunk(chunk, job.encoding)
        frame = split_lines(
            decoded, first_line=chunk.first_line, delimiter=job.delimiter,
            n_fields=task.layout.n_fields,
        )  # fmt: skip
        return chunk.n_lines, decoded.utf8_like, frame

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[tuple[int, int, pl.DataFrame]] | None = None
        for chunk in iter_chunks(task.path):
            following = pool.submit(prepare, chunk)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()


def _prefetched_stat(stat: StatFile, layout: Layout) -> Iterator[tuple[int, int, pl.DataFrame]]:
    """A SAS or Stata file's frames, the next one read on a thread while this one is judged."""
    frames = iter_frames(stat, layout)
    done = object()
    with ThreadPoolExecutor(max_workers=1) as pool:
        following = pool.submit(next, frames, done)
        while (frame := following.result()) is not done:
            following = pool.submit(next, frames, done)
            assert isinstance(frame, pl.DataFrame)
            yield frame.height, 0, frame


def _reconcile(result: FileResult, parsed_lines: int) -> None:
    if parsed_lines != result.rows_in or not result.reconciles():
        raise ReconciliationError(
            f"{result.file}: {result.rows_in} records counted but {parsed_lines} read, "
            f"{result.rows_loaded} loaded and {result.rows_quarantined} quarantined; nothing was published "
            "(please report this as a bug)."
        )


def quality_warnings(
    data: Path, rules: tuple[dict[str, object], ...], rows_loaded: int
) -> list[str]:
    """Schema-level quality rules of the contract, evaluated on the load (reported, not enforced)."""
    out = []
    for rule in rules:
        name = str(rule.get("name", rule.get("metric", "rule")))
        if rule.get("metric") == "rowCount" and "mustBeGreaterThan" in rule:
            threshold = int(str(rule["mustBeGreaterThan"]))
            if rows_loaded <= threshold:
                out.append(
                    f"quality rule {name}: {rows_loaded} rows loaded, expected more than {threshold}"
                )
        elif rule.get("type") == "sql" and "query" in rule:
            with duckdb.connect(":memory:") as con:
                con.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet('{data}')")
                row = con.execute(str(rule["query"])).fetchone()
            value = row[0] if row else None
            if "mustBe" in rule and value != rule["mustBe"]:
                out.append(f"quality rule {name}: {value}, expected {rule['mustBe']}")
    return out


def quarantine_reasons(frame: pl.DataFrame) -> dict[str, int]:
    """Quarantined rows by reason."""
    return dict(Counter(frame["reason"].to_list()))
