"""Crash safety: SIGKILL a running ``promise ingest`` at many points; the warehouse is always whole.

After every kill each visible load folder is exactly the one a complete run writes (same
data, quarantine and manifest row, timestamps aside), nothing half-written is visible
through the views, and a new run completes the load to exactly the complete state.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from promise.ingest import run_ingest
from promise.warehouse import connect

from .handmade import pick_numbers, write_lines

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
KILLS = 26
PER_GROUP = 3
DELIVERY = date(2025, 12, 31)
CHILD = """
import sys
from datetime import date
from datetime import date
from pathlib import Path
from promise.ingest import run_ingest
print("ready", flush=True)
run_ingest(landing=Path(sys.argv[1]), warehouse=Path(sys.argv[2]), key_file=Path(sys.argv[3]), reference_date=date(2025, 12, 31))
print("done", flush=True)
"""


def _landing(root: Path, numbers: list[str]) -> Path:
    for k in range(6):
        rows = [
            f"{numbers[(i * 7 + k) % len(numbers)]};{'Inv' if i % 2 else 'Utv'};{2000 + i % 20}{1 + i % 12:02d}{1 + i % 28:02d};Land{i % 97}"
            for i in range(12_000)
        ]
        rows[5] = (
            rows[5].replace(";Inv;", ";Xyz;").replace(";Utv;", ";Xyz;")
        )  # one quarantined row per file
        write_lines(
            root / "migration" / f"rtb_migration_{k}.csv", ["PersonNr;PostTyp;Datum;Land", *rows]
        )
    return root


def snapshot(warehouse: Path) -> dict[str, object]:
    """Each visible load folder: content hashes of data and quarantine, manifest row without times."""
    out: dict[str, object] = {}
    for folder in sorted((warehouse / "raw").glob("*/*")) if (warehouse / "raw").is_dir() else []:
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.glob("*.parquet")
            if p.name != "manifest.parquet"
        }
        manifest = (
            pl.read_parquet(folder / "manifest.parquet")
            .drop("started_at", "finished_at")
            .to_dicts()
        )
        out[folder.relative_to(warehouse).as_posix()] = (files, manifest)
    return out


def _child_load_seconds(landing: Path, warehouse: Path, key_file: Path) -> float:
    """A whole load in a child process, as :func:`_kill_during_load` starts one; the seconds
    from its "ready" to its end."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(landing), str(warehouse), str(key_file)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    start = time.monotonic()
    rest, _ = child.communicate(timeout=300)
    seconds = time.monotonic() - start
    assert child.returncode == 0 and "done" in rest.split()
    return seconds


def _kill_during_load(landing: Path, warehouse: Path, key_file: Path, delay: float) -> bool:
    """Start a load in a child process, SIGKILL it ``delay`` s after it is ready; True if it was still running."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(landing), str(warehouse), str(key_file)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(delay)
    running = child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    return running and child.returncode == -signal.SIGKILL


def test_sigkill_at_many_points_leaves_the_warehouse_before_or_after(
    tmp_path: Path, key_file: Path, reference_dir: Path
) -> None:
    landing = _landing(tmp_path / "land", pick_numbers(reference_dir, 500))
    complete = tmp_path / "complete"
    # timed as the killed loads run (a child process, from "ready" to its end), not in this
    # process: an in-process load timed under other load set delays past a child's end
    duration = _child_load_seconds(landing, complete, key_file)
    after = snapshot(complete)
    assert len(after) == 6

    killed_mid_load = 0
    warehouse = tmp_path / "wh"
    for i in range(KILLS):
        if i % PER_GROUP == 0:
            warehouse = tmp_path / f"wh{i}"
        delay = duration * (i + 0.5) / KILLS
        killed_mid_load += _kill_during_load(landing, warehouse, key_file, delay)
        state = snapshot(warehouse)
        assert set(state) <= set(after), "a load folder that a complete run does not write"
        assert all(
            state[k] == after[k] for k in state
        ), "a visible load differs from the complete one"
        if (warehouse / "raw").is_dir():
            con = connect(warehouse)
            assert con.sql("SELECT count(*) FROM manifest").fetchone() == (len(state),)
            con.close()
        if i % PER_GROUP == PER_GROUP - 1:
            results = run_ingest(
                landing=landing, warehouse=warehouse, key_file=key_file, reference_date=DELIVERY
            )
            assert sum(r.status == "loaded" for r in results) == 6 - len(state)
            assert snapshot(warehouse) == after
            assert (
                not any((warehouse / ".tmp").iterdir()) if (warehouse / ".tmp").exists() else True
            )
    assert killed_mid_load >= 20, f"only {killed_mid_load} kills hit a running load"
