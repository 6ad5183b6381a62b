"""``promise profiles``: the static site, written whole and recorded in the export audit.

A profile site leaves the warehouse, so it is an export: it is written under a temporary
name beside ``--out``, recorded in ``WAREHOUSE/exports/audit.jsonl`` (kind ``profiles``, with
the SHA-256 of every file) and only then renamed into place. ``--out`` must be outside the
warehouse and must not exist (or be an empty folder).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promise
from promise.privacy import audit
from promise.privacy.policy import load_policy
from promise.profiles.cohort import Cohort, ProfilesError, date_of, open_marts, read_cohort
from promise.profiles.hazards import hr_grid
from promise.profiles.measures import Shared, shared
from promise.profiles.persontime import person_years, residence
from promise.profiles.profile import Profile, make_profile, released_cases
from promise.profiles.release import Rules
from promise.profiles.render import SiteFacts, endpoint_page, index_page


@dataclass(frozen=True)
class SiteResult:
    """What ``promise profiles`` wrote."""

    out: Path
    pages: int
    evaluated: int
    seconds: float
    audit_id: str
    cells: int
    suppressed: int


def write_profiles(*, warehouse: Path, out: Path) -> SiteResult:
    """Write one page per evaluated endpoint with at least the threshold of cases, and an index."""
    started = time.monotonic()
    warehouse, out = Path(warehouse).resolve(), Path(out).resolve()
    _check_out(out, warehouse)
    rules = Rules.of(load_policy(warehouse))
    partial = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        (partial / "img").mkdir(parents=True)
        with open_marts(warehouse) as con:
            cohort = read_cohort(con)
            common = shared(cohort, con)
        profiles, facts = _write_pages(cohort, common, rules, partial)
        (partial / "index.html").write_text(index_page(profiles, facts, len(cohort.endpoints)), encoding="utf-8")  # fmt: skip
        record = _record(warehouse, out, partial, rules, len(profiles))
        audit.append(warehouse, record)
        if out.is_dir():
            out.rmdir()  # empty, checked above
        partial.rename(out)
    except OSError as exc:
        raise ProfilesError(f"the profiles could not be written to {out} ({exc.strerror}); free space or fix permissions and run again.") from None  # fmt: skip
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return SiteResult(
        out=out, pages=len(profiles), evaluated=len(cohort.endpoints),
        seconds=time.monotonic() - started, audit_id=str(record["id"]), cells=rules.tally.cells,
        suppressed=rules.tally.primary + rules.tally.secondary,
    )  # fmt: skip


def _check_out(out: Path, warehouse: Path) -> None:
    if out.is_relative_to(warehouse):
        raise ProfilesError(f"--out {out} is inside the warehouse; write profiles outside it.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ProfilesError(f"{out} exists already and is not an empty folder; remove it or choose another --out.")  # fmt: skip
    if not out.parent.is_dir():
        raise ProfilesError(f"the folder of --out {out} does not exist; create it first.")


def _write_pages(cohort: Cohort, common: Shared, rules: Rules, folder: Path) -> tuple[list[Profile], SiteFacts]:  # fmt: skip
    persons = rules.one(cohort.persons)
    facts = SiteFacts(
        window=(date_of(common.window[0]), date_of(common.window[1] - 1)),
        periods=tuple(date_of(d) for d in common.grid.period_edges),
        threshold=rules.threshold, round_to=rules.round_to,
        persons=int(persons or 0),
    )  # fmt: skip
    pages = set()
    for endpoint in cohort.endpoints:
        released = released_cases(cohort, rules, endpoint.name)
        if released is not None and released >= rules.threshold:
            pages.add(endpoint.name)
    everyone5 = person_years(cohort, residence(cohort, common.window), hr_grid(common.window))
    profiles = []
    for endpoint in cohort.endpoints:
        if endpoint.name not in pages:
            continue
        profile = make_profile(cohort, common, rules, endpoint, pages=pages, everyone5=everyone5)
        page = endpoint_page(profile, facts, folder / "img")
        (folder / f"{endpoint.name}.html").write_text(page, encoding="utf-8")
        profiles.append(profile)
    return profiles, facts


def _record(warehouse: Path, out: Path, folder: Path, rules: Rules, pages: int) -> dict[str, Any]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(folder)}\n" for p in files)  # fmt: skip
    return {
        "id": uuid.uuid4().hex[:12],
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "user": _user(),
        "host": socket.gethostname(),
        "promise": promise.__version__,
        "kind": "profiles",
        "name": "profiles",
        "variables": {},
        "fixed": {"window_start": "2001-01-01"},
        "query": "promise profiles: one page per evaluated endpoint with enough cases",
        "threshold": rules.threshold,
        "round_to": rules.round_to,
        "output": str(out),
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": listing,
        "rows": pages,
        "cells": rules.tally.cells,
        "cells_suppressed": rules.tally.primary + rules.tally.secondary,
        "primary": {"counts": rules.tally.primary},
        "secondary": {"counts": rules.tally.secondary},
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
