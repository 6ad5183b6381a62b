"""Headless Chromium for the tests that look at rendered pages (report, browser, profiles).

``make test`` installs Debian's ``chromium`` (scripts/ensure-chromium.sh). In CI a missing
Chromium fails the test; elsewhere it is skipped. Chromium on a loaded machine now and then
aborts at start-up (SIGABRT, seen with several agents sharing two cores), so a run killed by
a signal is tried again, up to three times; any other failure is reported with its stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

ATTEMPTS = 3


#: Debian's browser binary; its launcher script /usr/bin/chromium breaks where /dev/shm is
#: mounted twice (its ``findmnt`` then prints two numbers and ``[`` fails, seen here)
DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")


def chromium() -> str:
    if DEBIAN_BINARY.is_file():
        return str(DEBIAN_BINARY)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is missing (scripts/ensure-chromium.sh installs it)")
        pytest.skip("chromium is not installed")
    return found


def screenshot(page: Path, png: Path, *, width: int = 1280, height: int = 2400) -> Path:
    """Render ``page`` headless, ``width`` x ``height`` px, without network or profile."""
    for _ in range(ATTEMPTS):
        # a short TMPDIR of its own: Chromium puts its singleton socket there, and a Unix
        # socket path over ~100 bytes aborts it (a Hail test leaves a long TMPDIR behind)
        with tempfile.TemporaryDirectory(dir="/tmp") as profile:
            env = {**os.environ, "TMPDIR": profile}
            done = subprocess.run(
                [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={profile}", f"--screenshot={png}",
                 f"--window-size={width},{height}", page.resolve().as_uri()],
                capture_output=True, text=True, timeout=120, check=False, env=env,
            )  # fmt: skip
        if done.returncode == 0 and png.is_file():
            return png
        if done.returncode >= 0:  # a real failure, not a signal
            break
    raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-1500:]}")


def ink(png: Path, background: tuple[int, int, int]) -> tuple[int, float]:
    """Distinct colours in the screenshot, and the share of pixels away from ``background``."""
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    inked = float(np.mean(np.abs(pixels.astype(int) - np.array(background)).sum(axis=1) > 30))
    return colours, inked
