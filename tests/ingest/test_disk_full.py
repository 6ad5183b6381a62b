"""A disk that fills up, for real (issue 15): the warehouse lives on a small tmpfs.

Each case runs the real command in a child process and checks that it ends in one sentence,
exits non-zero, and leaves every published file of the warehouse as it was. Mounting a
tmpfs needs root (``mount -t tmpfs -o size=...``); without it these tests are skipped.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from promise.ingest import run_ingest
from promise.synth.bgzf import BgzfWriter

from .failures import published, run_cli
from .handmade import migration_lines, pick_numbers, write_lines

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
DELIVERY = date(2025, 12, 31)
MiB = 1 << 20


@contextlib.contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``mountpoint`` for the block (skip if it cannot be)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mountpoint)],
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


def fill(disk: Path, *, leave: int = 0) -> Path:
    """Write a filler file until at most ``leave`` bytes are free (the disk refuses more)."""
    import shutil

    filler = disk / "filler"
    block = b"\0" * MiB
    with filler.open("wb") as out:
        while shutil.disk_usage(disk).free > leave + MiB:
            out.write(block)
            out.flush()
        with contextlib.suppress(OSError):
            out.write(b"\0" * max(shutil.disk_usage(disk).free - leave, 0))
            out.flush()
    return filler


@pytest.fixture(scope="module")
def numbers(reference_dir: Path) -> list[str]:
    return pick_numbers(reference_dir, 600, start=22000)


def _big_migration(path: Path, numbers: list[str], rows: int) -> Path:
    lines = ["PersonNr;PostTyp;Datum;Land"] + [
        f"{numbers[i % len(numbers)]};{'Inv' if i % 2 else 'Utv'};{1990 + i % 30}"
        f"{1 + i % 12:02d}{1 + i % 28:02d};Land{i}"
        for i in range(rows)
    ]
    return write_lines(path, lines)


def test_disk_full_during_a_register_load(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        land, wh = tmp_path / "land", disk / "wh"
        write_lines(land / "migration" / "rtb_migration_1.csv", migration_lines(numbers)[0])
        run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
        before = published(wh)
        _big_migration(land / "migration" / "rtb_migration_2.csv", numbers, 60_000)
        _big_migration(land / "migration" / "rtb_migration_3.csv", numbers[::-1], 60_000)
        fill(disk, leave=600_000)
        outcome = run_cli(
            [
                "ingest",
                "--landing",
                str(land),
                "--warehouse",
                str(wh),
                "--delivery-date",
                "2025-12-31",
            ],
            key_file=key_file,
            timeout=120,
        )
        assert outcome.code != 0
        assert len(outcome.lines) == 1, outcome.err
        assert outcome.lines[0].startswith(f"error: the disk holding {wh} is full")
        assert "nothing of it was published" in outcome.lines[0]
        assert published(wh) == before
        assert not (wh / ".tmp").exists()


def _vcf_bgz(path: Path, ids: list[str], variants: int, *, seed: int | None = None) -> Path:
    """A BGZF VCF with ``variants`` rows of calls for ``ids`` (written here, not by Hail):
    a repeating pattern, or random calls (which compress far less) when ``seed`` is given."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    head = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=chr1,length=248956422>",
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *ids]),
    ]
    calls = np.array(["0/0", "0/1", "1/1", "0/1", "0/0", "0/0", "./."])
    n = len(ids)
    rng = np.random.default_rng(seed)
    with BgzfWriter(path, level=1) as out:
        out.write(("\n".join(head) + "\n").encode())
        for k in range(variants):
            if seed is None:
                codes = (k * 7 + np.arange(n) * 3 + k // 5) % 7
            else:
                codes = rng.integers(0, 7, n)
            row = "\t".join(calls[codes])
            out.write(f"chr1\t{10_000 + 10 * k}\t.\tA\tG\t.\tPASS\t.\tGT\t{row}\n".encode())
    return path


def test_a_disk_too_full_for_the_genotype_stage_stops_at_once(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    """A warehouse disk with 1 MB free: the genotype stage refuses to start (it hung for over
    ten minutes in hailtop's retry loop: Hail's JVM could not unpack its native libraries)."""
    land = tmp_path / "land"
    _vcf_bgz(land / "genotypes" / "batch1.vcf.bgz", numbers[:300], 3_000, seed=1)
    with tmpfs(tmp_path / "disk", "1m") as disk:
        wh = disk / "wh"
        outcome = run_cli(
            [
                "ingest",
                "--landing",
                str(land),
                "--warehouse",
                str(wh),
                "--delivery-date",
                "2025-12-31",
            ],
            key_file=key_file,
            timeout=180,
        )
        assert outcome.code != 0 and outcome.seconds < 60
        assert len(outcome.lines) == 1, outcome.err
        assert outcome.lines[0].startswith(f"error: the disk holding {wh} is full")
        assert "the genotype load of genotypes/batch1.vcf.bgz" in outcome.lines[0]
        assert published(wh) == {}


def test_a_disk_that_fills_during_the_genotype_stage_stops_within_a_minute(
    tmp_path: Path, key_file: Path, numbers: list[str]
) -> None:
    """The disk fills (another process writes) while Hail writes the MatrixTable."""
    import os
    import sys

    land = tmp_path / "land"
    write_lines(land / "migration" / "rtb_migration_1.csv", migration_lines(numbers)[0])
    _vcf_bgz(land / "genotypes" / "batch1.vcf.bgz", numbers[:500], 40_000)
    with tmpfs(tmp_path / "disk", "160m") as disk:
        wh = disk / "wh"
        first = land.parent / "first"
        write_lines(first / "migration" / "rtb_migration_0.csv", migration_lines(numbers[50:])[0])
        run_ingest(landing=first, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
        before = published(wh)
        env = {**os.environ, "PROMISE_PSEUDONYM_KEY_FILE": str(key_file), "PROMISE_DEBUG": "0"}
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from promise.cli import entrypoint; entrypoint()",
                "ingest",
                "--landing",
                str(land),
                "--warehouse",
                str(wh),
                "--delivery-date",
                "2025-12-31",
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 240
        while not list((wh / ".tmp").glob("*/header.vcf")):  # the genotype stage has begun
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the genotype stage never began"
            time.sleep(0.05)
        fill(disk)
        filled = time.monotonic()
        try:
            _, err = child.communicate(timeout=120)
        finally:
            child.kill()
        stopped = time.monotonic() - filled
        (disk / "filler").unlink()
        lines = [line for line in err.splitlines() if line.strip()]
        assert child.returncode != 0
        assert stopped < 60, f"stopped {stopped:.0f} s after the disk filled"
        assert len(lines) == 1, err
        assert lines[0].startswith(f"error: the disk holding {wh} is full"), err
        assert published(wh) == before
        assert not (wh / ".tmp").exists()
