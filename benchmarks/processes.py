"""Timing a command as the benchmarks do: wall time and peak resident memory of its whole
process tree, plus the figures its last stdout line reports as JSON."""

from __future__ import annotations

import json
import subprocess
import time

import psutil


def measure(cmd: list[str]) -> dict[str, float]:
    """Wall time and peak resident memory (sum over the process tree, sampled every 0.05 s)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    figures = {"wall": wall, "peak_gib": peak / 2**30}
    last = stdout.decode().strip().splitlines()[-1:]
    if last and last[0].startswith("{"):
        figures.update(json.loads(last[0]))
    return figures
