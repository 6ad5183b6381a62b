"""``run_ingest``: every job whose files are present, under the warehouse write lock.

Refusals happen before anything is written: no key, a key other than the warehouse's, a
file that cannot be read as its job needs or lacks a required column (every file is checked
first), a malformed ``delivery.yml``, another load or build running. Every load of the run
is written under ``WAREHOUSE/.tmp`` (private to this user) and published only when the whole
delivery is written, so a failure (a full disk included) leaves the warehouse as it was; the
temporary folder is removed on every way out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import FrameType

import yaml

from promise.errors import ConfigurationError, KeyFileError, PromiseError
from promise.ingest.corrections import Settlement, rewrite_manifest, settlement
from promise.ingest.delimited import FileTask, load_delimited
from promise.ingest.jobs import TABLE_FORMATS, Job, load_jobs
from promise.ingest.landing import DELIVERY_FILE, check_files
from promise.ingest.layout import bind_header
from promise.ingest.lines import sha256_and_records, sha256_of
from promise.ingest.linkage import Linkage, read_linkages
from promise.ingest.renumbering import FORMAT as CHANGES_FORMAT
from promise.ingest.renumbering import load_change_files
from promise.ingest.results import DRY_RUN, LOADED, SKIPPED, FileResult, Progress
from promise.ingest.statfiles import bind, describe, format_of
from promise.ingest.writer import PendingLoads, remove_tree
from promise.privacy.keys import check_key_matches, checked_key
from promise.pseudonym import KEY_ENV, Pseudonymizer
from promise.warehouse import (
    PRIVATE_UMASK,
    WarehouseLock,
    disk_full,
    disk_full_error,
    loaded_sha256,
    record_fingerprint,
    tmp_dir,
    umask,
    warehouse_modes,
)


class LoadIOError(PromiseError):
    """Reading a landing file or writing the warehouse failed; nothing was published."""


def run_ingest(
    *,
    landing: Path,
    warehouse: Path,
    key_file: Path | None,
    progress: Progress | None = None,
    jobs_dir: Path | None = None,
    reference_date: date | None = None,
    dry_run: bool = False,
    allow_overlap: bool = False,
    linkage: dict[str, Path] | None = None,
) -> list[FileResult]:
    """Load every landing file not yet in the warehouse; return one result per file.

    A file under the name of an earlier load but with other bytes is a correction that
    supersedes that load; a file repeating rows another file of its source loaded is refused
    unless ``allow_overlap`` (then those rows are quarantined) (:mod:`promise.ingest.corrections`).
    ``dry_run`` does all of it, says what would happen, and publishes nothing (genotype
    batches are not read). ``linkage`` maps an order to its linkage file (LopNr ->
    personnummer) for files keyed by LopNr (:mod:`promise.ingest.linkage`).

    ``reference_date`` (default: ``delivery_date`` in ``LANDING/delivery.yml``, else today)
    is the delivery date: it decides the century of 10-digit personnummer and which dates
    are in the future.
    """
    landing, warehouse = Path(landing), Path(warehouse)
    pseudonymizer = Pseudonymizer(_key(key_file, warehouse))
    if not landing.is_dir():
        raise ConfigurationError(f"landing folder {landing} does not exist.")
    reference = reference_date or delivery_date(landing) or date.today()
    modes = warehouse_modes()
    jobs = load_jobs(jobs_dir)
    plan = [(job, path) for job in jobs for path in job.files(landing)]
    check_files(plan, landing)
    keys = read_linkages(
        linkage or {},
        contracts=[j.contract for j in jobs if j.contract],
        warehouse=warehouse,
        reference_date=reference,
    )
    tasks = [_task(job, path, landing, keys) for job, path in plan if job.format in TABLE_FORMATS]
    genotype_files = [(job, path) for job, path in plan if job.format == "genotypes"]
    change_files = [(job, path) for job, path in plan if job.format == CHANGES_FORMAT]
    check_key_matches(warehouse, pseudonymizer.fingerprint)
    with umask(PRIVATE_UMASK), WarehouseLock(warehouse), _terminate_cleanly():
        check_key_matches(warehouse, pseudonymizer.fingerprint)
        remove_tree(tmp_dir(warehouse))
        pending = PendingLoads(modes)
        try:
            results = load_change_files(
                change_files, landing=landing, warehouse=warehouse, pseudonymizer=pseudonymizer,
                reference_date=reference, pending=pending, known=loaded_sha256(warehouse),
            )  # fmt: skip
            results += _load_all(
                tasks,
                genotype_files,
                landing=landing,
                warehouse=warehouse,
                pseudonymizer=pseudonymizer,
                reference=reference,
                pending=pending,
                progress=progress,
                settled=settlement(warehouse, allow_overlap=allow_overlap),
                dry_run=dry_run,
            )
            if dry_run:
                for result in results:
                    if result.status == LOADED:
                        result.status = DRY_RUN
            else:
                if pending.moves:
                    record_fingerprint(warehouse, pseudonymizer.fingerprint)
                pending.publish_all()
        except OSError as exc:
            if disk_full(exc):
                raise disk_full_error(warehouse, "the ingest") from None
            raise LoadIOError(
                f"reading or writing {exc.filename or 'a file'} failed ({exc.strerror or exc}); "
                "nothing of this delivery was published: check the file and the disk and run "
                "again."
            ) from None
        finally:
            remove_tree(tmp_dir(warehouse))
    return results


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM (``kill``, a scheduler's time limit) ends the run through its ``finally``
    blocks, so the temporary folder is removed and nothing is published (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _load_all(
    tasks: list[FileTask],
    genotype_files: list[tuple[Job, Path]],
    *,
    landing: Path,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference: date,
    pending: PendingLoads,
    progress: Progress | None,
    settled: Settlement,
    dry_run: bool,
) -> list[FileResult]:
    known = loaded_sha256(warehouse)
    results = []
    for task in tasks:
        if task.sha256 in known:
            results.append(_skipped(task.job, task.label, task.sha256))
            continue
        result = load_delimited(
            task,
            warehouse=warehouse,
            pseudonymizer=pseudonymizer,
            reference_date=reference,
            pending=pending,
            progress=progress,
        )
        staging = tmp_dir(warehouse) / str(result.load_id)
        settled.settle(result, staging)
        rewrite_manifest(staging, result)
        results.append(result)
        known.add(task.sha256)
    if genotype_files and dry_run:
        results += [
            FileResult(
                source=job.source,
                file=path.relative_to(landing).as_posix(),
                sha256="",
                status=DRY_RUN,
                note="genotype batches are not read in a dry run",
            )  # fmt: skip
            for job, path in genotype_files
        ]
    elif genotype_files:
        from promise.ingest.genotypes import load_genotypes

        results += load_genotypes(
            genotype_files,
            landing=landing,
            warehouse=warehouse,
            pseudonymizer=pseudonymizer,
            reference_date=reference,
            known=known,
            pending=pending,
        )
    return results


def _key(key_file: Path | None, warehouse: Path) -> bytes:
    if key_file is None:
        raise KeyFileError(
            f"no pseudonym key: set {KEY_ENV} to a key file (create one with `promise keygen PATH`, "
            "outside the warehouse); nothing was loaded."
        )
    return checked_key(Path(key_file), warehouse=warehouse)


def _task(job: Job, path: Path, landing: Path, keys: dict[str, Linkage]) -> FileTask:
    assert job.contract is not None
    label = path.relative_to(landing).as_posix()
    kind = format_of(path, job.format)
    if kind != "delimited":
        stat = describe(path, label=label, kind=kind, declared_encoding=job.encoding)
        return FileTask(
            job=job, path=path, label=label, sha256=sha256_of(path),
            layout=bind(stat, job.contract, linkages=keys), records=stat.rows, stat=stat,
        )  # fmt: skip
    layout = bind_header(
        path, label=label, contract=job.contract, delimiter=job.delimiter, encoding=job.encoding,
        linkages=keys,
    )  # fmt: skip
    sha256, records = sha256_and_records(path)
    return FileTask(job=job, path=path, label=label, sha256=sha256, layout=layout, records=records)


def _skipped(job: Job, label: str, sha256: str) -> FileResult:
    return FileResult(
        source=job.source,
        file=label,
        sha256=sha256,
        status=SKIPPED,
        note="already in the manifest (same sha256)",
    )


def delivery_date(landing: Path) -> date | None:
    """``delivery_date`` from ``LANDING/delivery.yml``, if the delivery says."""
    path = Path(landing) / DELIVERY_FILE
    if not path.is_file():
        return None
    bad_date = ConfigurationError(
        f"delivery_date in {path} is not a date written YYYY-MM-DD; correct it and run again; "
        "nothing was loaded."
    )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except ValueError:  # YAML read an impossible date such as 2025-13-45
        raise bad_date from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"{path} cannot be read as YAML ({type(exc).__name__}); correct it (delivery_date: "
            "YYYY-MM-DD) and run again; nothing was loaded."
        ) from None
    value = doc.get("delivery_date") if isinstance(doc, dict) else None
    if isinstance(value, date):
        return value
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise bad_date from None
