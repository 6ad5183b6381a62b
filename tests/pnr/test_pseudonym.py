"""Keyed pseudonyms: HMAC-SHA256 by the standard library as the independent reference."""

from __future__ import annotations

import hmac
import stat
from pathlib import Path

import polars as pl
import pytest

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
