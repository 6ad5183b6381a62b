"""``run_ingest``: every job whose files are present, under the warehouse write lock.

Refusals happen before anything is written: no key, a key other than the warehouse's, a
file lacking a required column (every header is checked first), another load running.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from promise.errors import ConfigurationError, KeyFileError
from promise.ingest.delimited import FileTask, load_delimited
from promise.ingest.jobs import Job, load_jobs
from promise.ingest.layout import bind_header
from promise.ingest.lines import sha256_and_records
from promise.ingest.results import SKIPPED, FileResult, Progress
from promise.ingest.writer import remove_tree
from promise.privacy.keys import check_key_matches, checked_key
from promise.pseudonym import KEY_ENV, Pseudonymizer
from promise.warehouse import WarehouseLock, loaded_sha256, record_fingerprint, tmp_dir

DELIVERY_FILE = "delivery.yml"


def run_ingest(
    *,
    landing: Path,
    warehouse: Path,
    key_file: Path | None,
    progress: Progress | None = None,
    jobs_dir: Path | None = None,
    reference_date: date | None = None,
) -> list[FileResult]:
    """Load every landing file not yet in the warehouse; return one result per file.

    ``reference_date`` (default: ``delivery_date`` in ``LANDING/delivery.yml``, else today)
    is the delivery date: it decides the century of 10-digit personnummer and which dates
    are in the future.
    """
    landing, warehouse = Path(landing), Path(warehouse)
    pseudonymizer = Pseudonymizer(_key(key_file, warehouse))
    if not landing.is_dir():
        raise ConfigurationError(f"landing folder {landing} does not exist.")
    reference = reference_date or delivery_date(landing) or date.today()
    jobs = load_jobs(jobs_dir)
    plan = [(job, path) for job in jobs for path in job.files(landing)]
    tasks = [_task(job, path, landing) for job, path in plan if job.format == "delimited"]
    genotype_files = [(job, path) for job, path in plan if job.format == "genotypes"]
    check_key_matches(warehouse, pseudonymizer.fingerprint)
    with WarehouseLock(warehouse):
        check_key_matches(warehouse, pseudonymizer.fingerprint)
        remove_tree(tmp_dir(warehouse))
        record_fingerprint(warehouse, pseudonymizer.fingerprint)
        known = loaded_sha256(warehouse)
        results = []
        for task in tasks:
            if task.sha256 in known:
                results.append(_skipped(task.job, task.label, task.sha256))
                continue
            results.append(
                load_delimited(
                    task,
                    warehouse=warehouse,
                    pseudonymizer=pseudonymizer,
                    reference_date=reference,
                    progress=progress,
                )
            )
            known.add(task.sha256)
        if genotype_files:
            from promise.ingest.genotypes import load_genotypes

            results += load_genotypes(
                genotype_files,
                landing=landing,
                warehouse=warehouse,
                pseudonymizer=pseudonymizer,
                reference_date=reference,
                known=known,
            )
        remove_tree(tmp_dir(warehouse))
    return results


def _key(key_file: Path | None, warehouse: Path) -> bytes:
    if key_file is None:
        raise KeyFileError(
            f"no pseudonym key: set {KEY_ENV} to a key file (create one with `promise keygen PATH`, "
            "outside the warehouse); nothing was loaded."
        )
    return checked_key(Path(key_file), warehouse=warehouse)


def _task(job: Job, path: Path, landing: Path) -> FileTask:
    assert job.contract is not None
    label = path.relative_to(landing).as_posix()
    layout = bind_header(
        path, label=label, contract=job.contract, delimiter=job.delimiter, encoding=job.encoding
    )
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
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = doc.get("delivery_date")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)) if value else None
