"""The CLI in-process (promise.cli.main): keygen, doctor, errors as one sentence."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from promise.cli import main
from promise.doctor import java_major

pytestmark = pytest.mark.unit


def test_keygen_writes_private_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", str(tmp_path / "k.key")]) == 0
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert "fingerprint" in capsys.readouterr().out


def test_keygen_refuses_to_overwrite_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "k.key").write_text("x")
    assert main(["keygen", str(tmp_path / "k.key")]) != 0
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err


def test_doctor_reports_missing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMISE_PSEUDONYM_KEY_FILE", raising=False)
    code = main(["doctor", "--warehouse", str(tmp_path / "wh")])
    out = capsys.readouterr().out
    assert code == 1
    assert "java" in out and "promise keygen" in out


def test_doctor_all_green_with_a_private_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["keygen", str(tmp_path / "k.key")])
    monkeypatch.setenv("PROMISE_PSEUDONYM_KEY_FILE", str(tmp_path / "k.key"))
    assert main(["doctor", "--warehouse", str(tmp_path / "wh")]) == 0
    (tmp_path / "k.key").chmod(0o644)
    assert main(["doctor", "--warehouse", str(tmp_path / "wh")]) == 1
    assert "chmod 600" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_372"', 8),
        ("nothing", None),
    ],
)
def test_java_major(text: str, major: int | None) -> None:
    assert java_major(text) == major


def test_ingest_of_an_empty_landing_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["keygen", str(tmp_path / "k.key")])
    monkeypatch.setenv("PROMISE_PSEUDONYM_KEY_FILE", str(tmp_path / "k.key"))
    (tmp_path / "landing").mkdir()
    code = main(
        ["ingest", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")]
    )
    assert code != 0
    assert "holds no file" in capsys.readouterr().err
