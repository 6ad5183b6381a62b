"""A clone in an empty folder needs nothing beside it (no ``../shared``, no override).

The checkout's files (tracked, and new ones not ignored: what a commit would hold) are copied
into a folder of their own under ``tmp_path``, and the copy is run from its own ``src`` with
``PROMISE_REFERENCE_DIR`` unset: the synthetic cohort draws Skatteverket's test numbers from the
package's own copy, and the reference tests read ``tests/reference`` of the copy. ``.ci/run``
does the same with ``git clone`` and the README's two commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promise.settings import project_root

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

ROOT = project_root()


def _copy_checkout(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def lone_clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    empty = tmp_path_factory.mktemp("empty")
    clone = empty / "promise"
    _copy_checkout(clone)
    env = {k: v for k, v in os.environ.items() if k != "PROMISE_REFERENCE_DIR"}
    env["PYTHONPATH"] = str(clone / "src")
    env["CI"] = "true"  # a missing reference folder fails instead of skipping
    assert sorted(p.name for p in empty.iterdir()) == ["promise"]
    return clone, env


def test_paths_point_inside_the_clone(lone_clone: tuple[Path, dict[str, str]]) -> None:
    clone, env = lone_clone
    code = (
        "import json; from promise import settings; print(json.dumps([str(settings.project_root()),"
        " str(settings.default_reference_dir()), str(settings.test_numbers_dir())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True, check=True
    ).stdout
    root, reference, numbers = (Path(p) for p in json.loads(out))
    assert root == clone
    assert reference == clone / "tests" / "reference"
    assert numbers.is_relative_to(clone / "src")
    assert (numbers / "allPins.json").is_file() and (numbers / "SOURCE.txt").is_file()
    for folder in ("personnummer", "hail_regression", "regenie_example", "finngen_endpoints"):
        files = {p.name for p in (reference / folder).iterdir()}
        assert "SOURCE.txt" in files and files & {"LICENSE", "LICENCE.txt"}, folder


def test_synth_runs_in_the_clone(lone_clone: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    clone, env = lone_clone
    done = subprocess.run(
        [sys.executable, "-m", "promise", "synth", "--out", str(tmp_path / "landing"),
         "--persons", "300", "--variants", "0", "--seed", "3"],
        cwd=clone, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    truth = json.loads((tmp_path / "landing" / "truth.json").read_text())
    assert truth["identities"]["allPins"] > 0


def test_reference_tests_pass_in_the_clone(lone_clone: tuple[Path, dict[str, str]]) -> None:
    clone, env = lone_clone
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "reference",
         "tests/pnr/test_reference_vectors.py", "tests/gwas/test_reference_hail.py"],
        cwd=clone, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    tail = done.stdout[-2000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "skipped" not in tail, tail
