"""A build sees whole loads only, cleans up after a killed build, survives a full disk, builds
the checkout it is run from, and plain dbt never opens the published database (issues 14, 15).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from promise.build import BuildResult, build
from promise.errors import WarehouseLockedError
from promise.settings import project_root

pytestmark = pytest.mark.reliability
MiB = 1 << 20
#: the parts of a checkout that make up its dbt project
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "analyses")


def _copy_raw(tiny_build: tuple[Path, BuildResult], target: Path) -> Path:
    shutil.copytree(tiny_build[0] / "raw", target / "raw")
    return target


def _promise(args: list[str]) -> list[str]:
    """The command line of ``promise ARGS`` in a child process."""
    return [sys.executable, "-c", "from promise.cli import entrypoint; entrypoint()", *args]


def test_build_refuses_while_an_ingest_holds_the_warehouse(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    """A running ingest (here: a child process holding the ingest's write lock, as run_ingest
    does from its first write to its last) may have published part of a delivery."""
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from promise.warehouse import WarehouseLock\n"
            "with WarehouseLock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(120)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(WarehouseLockedError, match="`promise build` again"):
            build(warehouse=warehouse, quiet=True)
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    assert not (warehouse / "promise.duckdb").exists()


def test_a_killed_build_is_cleaned_at_the_next_start(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    child = subprocess.Popen(
        _promise(["build", "--warehouse", str(warehouse)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list((warehouse / ".build").glob("*/promise.duckdb")):  # dbt is writing
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    left = [p.name for p in (warehouse / ".build").iterdir()]
    assert len(left) == 1  # what the killed build left
    build(warehouse=warehouse, quiet=True)
    assert list((warehouse / ".build").iterdir()) == []
    assert (warehouse / "promise.duckdb").is_file()


@contextlib.contextmanager
def _tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _fill(disk: Path, leave: int) -> None:
    with (disk / "filler").open("wb") as out:
        while shutil.disk_usage(disk).free > leave + MiB:
            out.write(b"\0" * MiB)
            out.flush()
        with contextlib.suppress(OSError):
            out.write(b"\0" * max(shutil.disk_usage(disk).free - leave, 0))


@pytest.mark.slow
def test_a_full_disk_during_a_build_is_one_sentence_and_publishes_nothing(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    with _tmpfs(tmp_path / "disk", "24m") as disk:
        warehouse = _copy_raw(tiny_build, disk / "warehouse")
        shutil.copy(tiny_build[0] / "promise.duckdb", warehouse / "promise.duckdb")
        published = (warehouse / "promise.duckdb").read_bytes()
        _fill(disk, leave=2 * MiB)
        proc = subprocess.run(
            _promise(["build", "--warehouse", str(warehouse)]),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PROMISE_DEBUG": "0"},
        )
        errors = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode != 0
        assert len(errors) == 1, proc.stderr
        assert errors[0].startswith(f"error: the disk holding {warehouse} is full"), proc.stderr
        assert (warehouse / "promise.duckdb").read_bytes() == published
        assert list((warehouse / ".build").iterdir()) == []


def test_plain_dbt_compile_never_opens_the_published_database(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    """An analyst's write connection holds promise.duckdb's lock; plain dbt still compiles."""
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    shutil.copy(tiny_build[0] / "promise.duckdb", warehouse / "promise.duckdb")
    before = (warehouse / "promise.duckdb").read_bytes()
    root = project_root()
    holder = duckdb.connect(str(warehouse / "promise.duckdb"))  # read-write: an exclusive lock
    try:
        proc = subprocess.run(
            [
                str(Path(sys.executable).parent / "dbt"),
                "compile",
                "--project-dir",
                str(root),
                "--profiles-dir",
                str(root),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
                "--select",
                "marts.person",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PROMISE_WAREHOUSE": str(warehouse)},
        )
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (warehouse / "promise.dev.duckdb").is_file()
    assert (warehouse / "promise.duckdb").read_bytes() == before


def test_build_builds_the_checkout_it_is_run_from(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    """A user's copy of the project with a mart of their own (and its column contract)."""
    copy = tmp_path / "my-checkout"
    copy.mkdir()
    for part in PROJECT_PARTS:
        source = project_root() / part
        if source.is_dir():
            shutil.copytree(source, copy / part)
        else:
            shutil.copy(source, copy / part)
    shutil.copytree(project_root() / "tests" / "dbt", copy / "tests" / "dbt")
    (copy / "models" / "marts" / "my_sex_counts.sql").write_text(
        "-- One row per sex: how many persons.\n"
        "select sex, count(*)::bigint as persons from {{ ref('person') }} group by sex\n"
    )
    (copy / "models" / "marts" / "_my_sex_counts.yml").write_text(
        "models:\n"
        "  - name: my_sex_counts\n"
        "    description: One row per sex.\n"
        "    columns:\n"
        "      - name: sex\n"
        "        data_type: varchar\n"
        "        description: sex\n"
        "      - name: persons\n"
        "        data_type: bigint\n"
        "        description: persons of that sex\n"
    )
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    work = copy / "models"  # run from inside the checkout, as an analyst would
    proc = subprocess.run(
        _promise(["build", "--warehouse", str(warehouse)]),
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"dbt project: {copy}" in " ".join(proc.stdout.split())
    con = duckdb.connect(str(warehouse / "promise.duckdb"), read_only=True)
    counts = dict(con.execute("select sex, persons from marts.my_sex_counts").fetchall())
    con.close()
    # tiny_raw.PEOPLE: p1, p3, p5, p7 male; p2, p4, p6, p8 female
    assert counts == {"male": 4, "female": 4}


def test_build_output_is_group_readable_at_most(
    tiny_build: tuple[Path, BuildResult], tmp_path: Path
) -> None:
    warehouse = _copy_raw(tiny_build, tmp_path / "warehouse")
    build(warehouse=warehouse, quiet=True)
    written = [p for p in warehouse.rglob("*") if not p.is_relative_to(warehouse / "raw")]
    assert warehouse / "promise.duckdb" in written and len(written) > 20
    for path in written:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o027 == 0, f"{path} is {oct(mode)}"
