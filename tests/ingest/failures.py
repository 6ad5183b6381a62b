"""Helpers of the failure tests: run the real command, and what a warehouse looks like."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from promise.pseudonym import KEY_ENV

#: what a reader can see of a warehouse: published loads, MatrixTables, marts, fingerprint
PUBLISHED = ("raw", "genotypes", "promise.duckdb", "key_fingerprint")
_CHILD = "import sys; from promise.cli import entrypoint; sys.argv[0] = 'promise'; entrypoint()"


@dataclass(frozen=True)
class Outcome:
    """A finished command: exit code and what it printed."""

    code: int
    out: str
    err: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        """The non-blank lines of stderr."""
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(
    args: list[str],
    *,
    key_file: Path | None,
    timeout: float = 300,
    without_dac_override: bool = False,
    env: dict[str, str] | None = None,
) -> Outcome:
    """``promise ARGS`` in a child process (``without_dac_override``: as root that cannot
    read a file its permissions forbid, as any other user)."""
    import time

    environ = {**os.environ, "PROMISE_DEBUG": "0", **(env or {})}
    environ.pop(KEY_ENV, None)
    if key_file is not None:
        environ[KEY_ENV] = str(key_file)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        preexec_fn=_drop_dac_override if without_dac_override else None,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def _drop_dac_override() -> None:
    """Drop CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2) from the bounding set before exec
    (prctl PR_CAPBSET_DROP = 24): root then obeys file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def published(warehouse: Path) -> dict[str, bytes | None]:
    """Every published path of a warehouse with its bytes (None for a folder)."""
    out: dict[str, bytes | None] = {}
    for name in PUBLISHED:
        top = Path(warehouse) / name
        paths = [top, *sorted(top.rglob("*"))] if top.is_dir() else [top]
        for path in paths:
            if path.exists():
                rel = path.relative_to(warehouse).as_posix()
                out[rel] = path.read_bytes() if path.is_file() else None
    return out
