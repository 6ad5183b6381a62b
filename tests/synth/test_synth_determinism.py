"""Same seed, same bytes; another seed, other bytes; the CLI writes the same cohort."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from promise.cli import main
from promise.synth import SynthError, write_cohort

pytestmark = pytest.mark.integration


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = write_cohort(tmp_path / "a", persons=700, variants=300, seed=11)
    second = write_cohort(tmp_path / "b", persons=700, variants=300, seed=11)
    assert first == second
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert len(a) == 19 and a == b  # 13 delimited files, 4 genotype files, truth.json, delivery.yml
    write_cohort(tmp_path / "c", persons=700, variants=300, seed=12)
    other = _digests(tmp_path / "c")
    assert all(other[k] != a[k] for k in a if k not in ("delivery.yml",))


def test_cli_writes_the_same_cohort_as_the_library(tmp_path: Path) -> None:
    args = [
        "synth",
        "--out",
        str(tmp_path / "cli"),
        "--persons",
        "300",
        "--variants",
        "100",
        "--seed",
        "5",
    ]
    assert main(args) == 0
    write_cohort(tmp_path / "lib", persons=300, variants=100, seed=5)
    assert _digests(tmp_path / "cli") == _digests(tmp_path / "lib")
    truth = json.loads((tmp_path / "cli" / "truth.json").read_text(encoding="utf-8"))
    assert truth["persons"] == 300 and truth["genotypes"]["samples"] == 100


def test_impossible_requests_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--out", str(tmp_path / "x"), "--persons", "0"]) == 2
    assert "--persons must be at least 1" in capsys.readouterr().err
    with pytest.raises(SynthError, match="at most"):
        write_cohort(tmp_path / "y", persons=50, variants=100, seed=1, genotyped=50)
