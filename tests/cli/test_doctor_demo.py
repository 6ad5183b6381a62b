"""`promise doctor` after `make demo` reports the demo's key and warehouse.

Before: run from the checkout after `make demo`, the doctor failed the key ("not set") and
described ./warehouse, which does not exist, as the warehouse "to be created".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from promise.cli import main
from promise.pseudonym import key_fingerprint, load_key, write_new_key

pytestmark = pytest.mark.unit


def demo_layout(root: Path) -> Path:
    """What `promise demo --dir demo` leaves: demo/keys/pseudonym.key and a loaded warehouse."""
    key = write_new_key(root / "demo" / "keys" / "pseudonym.key")
    load = root / "demo" / "warehouse" / "raw" / "population" / "20260101T000000-a"
    load.mkdir(parents=True)
    pl.DataFrame(
        {
            "load_id": [load.name],
            "source": ["population"],
            "key_fingerprint": [key_fingerprint(load_key(key))],
        }
    ).write_parquet(load / "manifest.parquet")
    return key


def test_doctor_finds_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = demo_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("promise.locate.project_root", lambda: tmp_path)
    monkeypatch.delenv("PROMISE_WAREHOUSE", raising=False)
    monkeypatch.delenv("PROMISE_PSEUDONYM_KEY_FILE", raising=False)
    main(["doctor"])
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["key"].startswith("ok") and "the demo's key" in lines["key"], lines["key"]
    assert str(key) in lines["key"] and "the key of" in lines["key"]
    assert lines["warehouse"].startswith("ok"), lines["warehouse"]
    assert "demo/warehouse (the demo's)" in lines["warehouse"] and "1 loads" in lines["warehouse"]


def test_the_demo_key_is_not_used_for_another_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("promise.locate.project_root", lambda: tmp_path)
    monkeypatch.delenv("PROMISE_PSEUDONYM_KEY_FILE", raising=False)
    assert main(["doctor", "--warehouse", str(tmp_path / "real")]) == 1
    assert "PROMISE_PSEUDONYM_KEY_FILE not set" in capsys.readouterr().out
