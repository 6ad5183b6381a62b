"""Keys are checked, not trusted (issue 15).

Before: a world-readable key file, a key file holding `1` and a key stored inside the warehouse
were all accepted, and deleting the warehouse's `key_fingerprint` file let a second key write a
second pseudonym space into the same warehouse. Each test below failed then.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from privacy_site import Site, snapshot

from promise.build import build
from promise.cli import main
from promise.errors import KeyFileError
from promise.ingest import run_ingest
from promise.privacy.keys import (
    DamagedWarehouseError,
    key_material,
    key_problem,
    manifest_fingerprints,
)
from promise.pseudonym import KEY_ENV, key_fingerprint, load_key, write_new_key

pytestmark = pytest.mark.reliability


def private_file(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.unit
def test_key_material_reads_hex_and_raw_bytes() -> None:
    # keygen writes 64 hex digits: 32 bytes of material; anything else counts as it is
    assert key_material(b"00ff" * 16 + b"\n") == bytes([0, 255]) * 16
    assert key_material(b"1") == b"1"
    assert key_material(b"not hex at all") == b"not hex at all"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("content", "mode", "fix"),
    [
        (b"1\n", 0o600, "32 random bytes"),  # the audit's key file holding `1`
        (b"ab" * 32, 0o600, "32 random bytes"),  # 32 bytes, all 0xab: one distinct value
        (b"0123456789abcdef" * 3, 0o600, "32 random bytes"),  # 24 bytes only
        (None, 0o644, "chmod 600"),  # world-readable
        (None, 0o640, "chmod 600"),  # group-readable
        (None, 0o602, "chmod 600"),  # writable by others
    ],
)
def test_bad_key_files_are_refused_with_a_fix(
    tmp_path: Path, content: bytes | None, mode: int, fix: str
) -> None:
    path = tmp_path / "keys" / "k.key"
    if content is None:
        write_new_key(path)
        path.chmod(mode)
    else:
        private_file(path, content, mode)
    problem = key_problem(path)
    assert problem is not None and fix in problem and problem.count(". ") == 0


@pytest.mark.unit
def test_good_keys_pass(tmp_path: Path) -> None:
    assert key_problem(write_new_key(tmp_path / "a.key")) is None
    raw = private_file(tmp_path / "raw.key", os.urandom(48))  # raw random bytes are fine too
    assert key_problem(raw) is None
    assert load_key(raw) == raw.read_bytes().strip()


@pytest.mark.unit
def test_a_key_inside_the_warehouse_is_refused(tmp_path: Path) -> None:
    key = write_new_key(tmp_path / "wh" / "secrets" / "k.key")
    problem = key_problem(key, warehouse=tmp_path / "wh")
    assert problem is not None and "inside the warehouse" in problem
    link = tmp_path / "outside.key"
    link.symlink_to(key)  # a link from outside still points in
    problem = key_problem(link, warehouse=tmp_path / "wh")
    assert problem is not None and "inside the warehouse" in problem


@pytest.mark.parametrize("case", ["readable", "short", "inside"])
def test_ingest_refuses_a_bad_key_in_one_sentence(
    tmp_path: Path,
    site: Site,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = tmp_path / "wh"
    if case == "readable":
        key = write_new_key(tmp_path / "k.key")
        key.chmod(0o644)
    elif case == "short":
        key = private_file(tmp_path / "k.key", b"1\n")
    else:
        key = write_new_key(warehouse / "k.key")
    monkeypatch.setenv(KEY_ENV, str(key))  # main(environ=...) would outlive the test
    rc = main(["ingest", "--landing", str(site.landing), "--warehouse", str(warehouse)])
    err = capsys.readouterr().err
    assert rc != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {"readable": "chmod 600", "short": "promise keygen", "inside": "move it"}[case] in err
    assert not (warehouse / "raw").exists()


def test_build_refuses_a_bad_or_foreign_key(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(site.warehouse)
    readable = write_new_key(tmp_path / "readable.key")
    readable.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        build(warehouse=site.warehouse, key_file=readable)
    other = write_new_key(tmp_path / "other.key")
    with pytest.raises(KeyFileError, match="not the key of warehouse"):
        build(warehouse=site.warehouse, key_file=other)
    # `promise build` checks the key it is given in the environment
    monkeypatch.setenv(KEY_ENV, str(other))
    assert main(["build", "--warehouse", str(site.warehouse)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not the key of warehouse" in err
    assert snapshot(site.warehouse) == before


def copy_warehouse(site: Site, into: Path) -> Path:
    copy = into / "warehouse"
    shutil.copytree(site.warehouse, copy, symlinks=True)
    return copy


def test_the_manifest_not_the_fingerprint_file_names_the_key(tmp_path: Path, site: Site) -> None:
    warehouse = copy_warehouse(site, tmp_path)
    (warehouse / "key_fingerprint").unlink()  # what let a second key in before
    other = write_new_key(tmp_path / "other.key")
    before = snapshot(warehouse)
    with pytest.raises(KeyFileError, match="in its manifest"):
        run_ingest(landing=site.landing, warehouse=warehouse, key_file=other)
    assert snapshot(warehouse) == before
    # the rightful key still loads (nothing new: every file is already in the manifest)
    results = run_ingest(landing=site.landing, warehouse=warehouse, key_file=site.key)
    assert {r.status for r in results} == {"skipped"}


def forge_second_key(warehouse: Path) -> str:
    """Publish one more manifest row carrying another key's fingerprint."""
    first = sorted((warehouse / "raw" / "population").glob("*/manifest.parquet"))[0]
    stranger = key_fingerprint(b"ff" * 32)
    forged = warehouse / "raw" / "population" / "forged-load" / "manifest.parquet"
    forged.parent.mkdir()
    pl.read_parquet(first).with_columns(
        pl.lit("forged-load").alias("load_id"), pl.lit(stranger).alias("key_fingerprint")
    ).write_parquet(forged)
    return stranger


def test_a_manifest_with_two_fingerprints_is_damaged(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = copy_warehouse(site, tmp_path)
    stranger = forge_second_key(warehouse)
    assert set(manifest_fingerprints(warehouse)) == {key_fingerprint(load_key(site.key)), stranger}
    before = snapshot(warehouse)
    with pytest.raises(DamagedWarehouseError, match="damaged"):
        run_ingest(landing=site.landing, warehouse=warehouse, key_file=site.key)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(DamagedWarehouseError, match="2 different pseudonym keys"):
        build(warehouse=warehouse)
    assert snapshot(warehouse) == before
    monkeypatch.setenv(KEY_ENV, str(site.key))
    assert main(["doctor", "--warehouse", str(warehouse)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "warehouse" in x and "FAIL" in x)
    assert "damaged" in line and stranger in line
