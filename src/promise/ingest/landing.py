"""What a landing folder holds before anything is read: files the jobs take, files they leave.

:func:`check_files` refuses, in one sentence and before anything is written, a file a job
would read that is not a regular file (a folder, a FIFO), that this user cannot read, or
whose bytes are not what its name says (gzip under a ``.csv`` name, UTF-16 text).
:func:`ignored_files` lists every other file, so the summary never skips one silently.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from promise.errors import PromiseError
from promise.ingest.jobs import TABLE_FORMATS, Job, load_jobs
from promise.ingest.statfiles import format_of

DELIVERY_FILE = "delivery.yml"
#: files beside a genotype file that belong to its batch
SIDECARS = {".bed": (".bim", ".fam"), ".bgen": (".sample",)}
_SNIFF = 4096


class LandingFileError(PromiseError):
    """A landing file cannot be read as its job needs; nothing was loaded."""


@dataclass(frozen=True)
class IgnoredFile:
    """A file under the landing folder that no job reads, and what it seems to be."""

    label: str
    why: str


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _head(path: Path, label: str) -> bytes:
    """The first bytes of a regular file, or one sentence on why it cannot be read."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise LandingFileError(
            f"{label} cannot be read ({exc.strerror}); nothing was loaded: fix the file (a broken "
            "link?) and run again."
        ) from None
    if not stat.S_ISREG(mode):
        raise LandingFileError(
            f"{label} is {_kind(mode)}, not a file; nothing was loaded: deliver it as a regular "
            "file or move it out of the landing folder."
        )
    try:
        with path.open("rb") as handle:
            return handle.read(_SNIFF)
    except OSError as exc:
        raise LandingFileError(
            f"{label} cannot be read ({exc.strerror}); nothing was loaded: give the user running "
            "promise read access to it and run again."
        ) from None


def content_kind(head: bytes) -> str | None:
    """``gzip``, ``UTF-16`` or ``zip`` when the first bytes say so, else None (text)."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    sample = head[:512]
    if len(sample) >= 8 and sample.count(b"\x00") * 3 >= len(sample):  # UTF-16 without BOM
        return "UTF-16"
    return None


def check_files(plan: list[tuple[Job, Path]], landing: Path) -> None:
    """Refuse the delivery if a file a job would read cannot be read as that job reads it."""
    for job, path in plan:
        label = path.relative_to(landing).as_posix()
        head = _head(path, label)
        for ext in SIDECARS.get(path.suffix, ()) if job.format == "genotypes" else ():
            sidecar = path.with_suffix(ext)
            if ext == ".sample" and not os.path.lexists(sidecar):
                continue  # optional: the ids may be inside the BGEN file
            if not os.path.lexists(sidecar):
                raise LandingFileError(
                    f"{label} has no {sidecar.name} beside it; deliver the whole batch "
                    "(.bed, .bim, .fam) and run again; nothing was loaded."
                )
            _head(sidecar, sidecar.relative_to(landing).as_posix())
        if job.format not in TABLE_FORMATS or format_of(path, job.format) != "delimited":
            continue  # a SAS or Stata file is checked by its own header (statfiles.describe)
        kind = content_kind(head)
        if kind in {"gzip", "zip"}:
            raise LandingFileError(
                f"{label} is {kind}-compressed data under a {path.suffix} name; decompress it "
                "and deliver the text file; nothing was loaded."
            )
        if kind == "UTF-16":
            raise LandingFileError(
                f"{label} is UTF-16 text; save it as {job.encoding} (as ingest/{job.source}.yml "
                "declares) or UTF-8 and deliver it again; nothing was loaded."
            )


def ignored_files(
    landing: Path, plan: list[tuple[Job, Path]], jobs: list[Job] | None = None
) -> list[IgnoredFile]:
    """Every file under ``landing`` that no job reads (sidecars and delivery.yml aside); one
    in a source's folder (``lmed/``) is said to be there, unmatched by that job's patterns."""
    folders = {
        pattern.split("/", 1)[0].lower(): job.source
        for job in jobs or [job for job, _ in plan]
        for pattern in job.patterns
        if "/" in pattern
    }
    claimed = {Path(p) for _, p in plan}
    for _, path in plan:
        claimed.update(path.with_suffix(ext) for ext in SIDECARS.get(path.suffix, ()))
    out = []
    for path in sorted(Path(landing).rglob("*")):
        if path in claimed or path.is_dir() or path == Path(landing) / DELIVERY_FILE:
            continue
        label = path.relative_to(landing).as_posix()
        source = folders.get(label.split("/", 1)[0].lower()) if "/" in label else None
        out.append(IgnoredFile(label, _why_ignored(path, source)))
    return out


def unread_files(landing: Path, jobs_dir: Path | None = None) -> list[IgnoredFile]:
    """:func:`ignored_files` of a landing folder under the ingest jobs (for the summary)."""
    landing = Path(landing)
    if not landing.is_dir():
        return []
    jobs = load_jobs(jobs_dir)
    plan = [(job, path) for job in jobs for path in job.files(landing)]
    return ignored_files(landing, plan, jobs)


def _why_ignored(path: Path, source: str | None = None) -> str:
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            return f"{_kind(mode)}; no ingest job reads it"
        with path.open("rb") as handle:
            kind = content_kind(handle.read(_SNIFF))
    except OSError as exc:
        return f"cannot be read ({exc.strerror}); no ingest job reads it"
    if kind in {"gzip", "zip"}:
        return f"{kind}-compressed; no ingest job reads compressed files: decompress it"
    if kind == "UTF-16":
        return "UTF-16 text; no ingest job reads this name"
    if path.suffix.lower() == ".sas7bcat":
        return "a SAS format catalog (value labels); promise reads the datasets, not catalogs"
    if source is not None:
        return (
            f"in {source}'s folder, but no pattern of ingest/{source}.yml matches its name: "
            "rename it or add a pattern"
        )
    return "no ingest job reads this name (patterns in ingest/*.yml)"
