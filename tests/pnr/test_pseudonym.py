"""Keyed pseudonyms: HMAC-SHA256 by the standard library as the independent reference."""

from __future__ import annotations

import hmac
import random
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from promise import hmac_worker, pseudonym
from promise.errors import KeyFileError
from promise.pseudonym import (
    Pseudonymizer,
    key_fingerprint,
    key_from_env,
    load_key,
    write_new_key,
)

pytestmark = pytest.mark.unit


def test_person_id_is_truncated_hmac_sha256(tmp_path: Path) -> None:
    key = load_key(write_new_key(tmp_path / "k"))
    expected = hmac.new(key, b"190905271474", "sha256").hexdigest()[:24]
    assert Pseudonymizer(key).person_id("190905271474") == expected
    assert len(expected) * 4 == 96


def test_different_keys_give_different_ids(tmp_path: Path) -> None:
    a = Pseudonymizer(load_key(write_new_key(tmp_path / "a")))
    b = Pseudonymizer(load_key(write_new_key(tmp_path / "b")))
    assert a.person_id("190905271474") != b.person_id("190905271474")
    assert a.fingerprint != b.fingerprint


def test_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = write_new_key(tmp_path / "k")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(KeyFileError):
        write_new_key(path)


def test_fingerprint_does_not_contain_the_key(tmp_path: Path) -> None:
    key = load_key(write_new_key(tmp_path / "k"))
    assert key.decode() not in key_fingerprint(key)
    assert key_fingerprint(key) == key_fingerprint(key)


def test_missing_and_empty_key_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="promise keygen"):
        load_key(tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(KeyFileError, match="empty"):
        load_key(tmp_path / "empty")
    with pytest.raises(KeyFileError, match="PROMISE_PSEUDONYM_KEY_FILE"):
        key_from_env({})


def test_column_path_equals_scalar_path_and_keeps_nulls(tmp_path: Path) -> None:
    p = Pseudonymizer(b"k" * 32)
    values = pl.Series(["190905271474", None, "200002292399", "190905271474"])
    ids = p.person_ids(values).to_list()
    assert ids == [p.person_id("190905271474"), None, p.person_id("200002292399"), ids[0]]


def test_no_collisions_among_all_reference_numbers(reference_dir: Path) -> None:
    import json

    pins = set(json.loads((reference_dir / "personnummer" / "allPins.json").read_text()))
    ids = Pseudonymizer(b"k" * 32).person_ids(pl.Series(sorted(pins)))
    assert ids.n_unique() == len(pins)


# --- many numbers at once: the in-process loop, the worker process, the column path ---

MANY = 250_000  # above PARALLEL_MIN_DISTINCT, so person_ids shares the work with a worker


def _stdlib_ids(key: bytes, numbers: list[str]) -> list[str]:
    return [hmac.new(key, n.encode(), "sha256").hexdigest()[:24] for n in numbers]


@pytest.fixture(scope="module")
def many() -> list[str]:
    rng = random.Random(20_240_601)
    return [f"{n:012d}" for n in rng.sample(range(10**12), MANY)]


def test_hmac_lines_is_hmac_sha256_for_short_and_long_keys() -> None:
    messages = [b"190905271474", b"-00000000005", b"x" * 200]
    for key in (b"k" * 32, b"", b"a key longer than one sha-256 block of 64 bytes" * 3):
        digests = hmac_worker.hmac_lines(key, b" \n".join(messages) + b"\n\n")
        expected = b"".join(hmac.new(key, m, "sha256").digest() for m in messages)
        assert digests == expected


def test_worker_process_matches_stdlib_hmac(many: list[str]) -> None:
    key = b"0123456789abcdef" * 4
    some = many[:50_000]
    digests = pseudonym.hmac_in_worker(key, "".join(n + "\n" for n in some).encode())
    ids = [digests[i : i + 12].hex() for i in range(0, len(digests), 32)]
    assert ids == _stdlib_ids(key, some)


@pytest.mark.parametrize("lines", [1, 100_000])  # within a pipe's buffer, and far beyond
def test_worker_failure_is_an_error(lines: int, monkeypatch: pytest.MonkeyPatch) -> None:
    false = shutil.which("false")
    assert false is not None
    monkeypatch.setattr(sys, "executable", false)
    with pytest.raises(RuntimeError, match="hmac worker (failed|could not start)"):
        pseudonym.hmac_in_worker(b"k", b"190905271474\n" * lines)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(RuntimeError, match="hmac worker could not start"):
        pseudonym.hmac_in_worker(b"k", b"190905271474\n" * lines)


def test_parallel_and_in_process_paths_give_stdlib_ids(
    many: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = b"a key longer than one sha-256 block, so that it is hashed first" * 2
    worker_lines: list[int] = []
    real_finish = pseudonym._finish_worker

    def spy(worker: subprocess.Popen[bytes], count: int) -> bytes:
        digests = real_finish(worker, count)  # a failing worker would not be counted
        worker_lines.append(count)
        return digests

    monkeypatch.setattr(pseudonym, "_finish_worker", spy)
    monkeypatch.setattr(pseudonym, "usable_cores", lambda: 3)  # two workers
    values = pl.Series([*many, None, many[0], many[-1]], dtype=pl.Utf8)
    expected = [*_stdlib_ids(key, many), None, *_stdlib_ids(key, [many[0], many[-1]])]

    parallel = Pseudonymizer(key).person_ids(values)
    assert len(worker_lines) == 2 and 0.5 < sum(worker_lines) / MANY < 0.8
    monkeypatch.setattr(pseudonym, "PARALLEL_MIN_DISTINCT", 10 * MANY)
    in_process = Pseudonymizer(key).person_ids(values)
    assert len(worker_lines) == 2  # no worker this time

    assert parallel.dtype == in_process.dtype == pl.Utf8
    assert parallel.name == in_process.name == "person_id"
    assert parallel.to_list() == expected
    assert in_process.to_list() == expected


@pytest.mark.parametrize("executable", ["/nonexistent/python", shutil.which("false")])
def test_a_failing_worker_leaves_the_ids_unchanged(
    executable: str, many: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = b"k" * 32
    some = many[:20_000]  # the worker's share overflows a pipe's buffer
    monkeypatch.setattr(pseudonym, "PARALLEL_MIN_DISTINCT", 10)
    monkeypatch.setattr(pseudonym, "usable_cores", lambda: 2)
    monkeypatch.setattr(sys, "executable", executable)
    assert Pseudonymizer(key).person_ids(pl.Series(some)).to_list() == _stdlib_ids(key, some)


def test_odd_columns_keep_the_old_formatting() -> None:
    """Empty, all-null and numbers that are not 12 digits: as person_id(f"{n:012d}")."""
    p = Pseudonymizer(b"k" * 32)
    assert p.person_ids(pl.Series([], dtype=pl.Utf8)).to_list() == []
    assert p.person_ids(pl.Series([None, None], dtype=pl.Utf8)).to_list() == [None, None]
    odd = ["1234", "0", "-5", "1234567890123", "000000001234"]
    assert p.person_ids(pl.Series(odd)).to_list() == [p.person_id(f"{int(v):012d}") for v in odd]


def test_lines() -> None:
    numbers = np.array([0, 190905271474, 10**12 - 1], dtype=np.int64)
    lines = pseudonym._lines(numbers)
    assert lines.split() == [b"000000000000", b"190905271474", b"999999999999"]
    assert len(lines) == 16 * len(numbers)
    wide = np.array([-5, 10**12], dtype=np.int64)
    assert pseudonym._lines(wide).split() == [b"-00000000005", b"1000000000000"]
    assert pseudonym._lines(np.array([], dtype=np.int64)) == b""
    rng = np.random.default_rng(7)
    numbers = rng.integers(0, 10**12, 10_000)
    assert pseudonym._lines(numbers).split() == [b"%012d" % n for n in numbers.tolist()]
