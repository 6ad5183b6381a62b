"""Generated bad input (Hypothesis): every file reconciles, every planted defect gets its reason.

Two kinds of cases:
- planted: files built row by row, each row valid or carrying exactly one named defect;
  the generator is the oracle for the expected quarantine reasons (structure first, then
  exact duplicates, then the column checks);
- mutated: a valid file with random byte damage (quotes, delimiters, newlines, a BOM,
  latin-1 and UTF-8 bytes mixed, truncation): no crash, rows_in equals an independent
  count, rows_loaded + rows_quarantined = rows_in and no personnummer in the output.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promise.ingest import run_ingest
from promise.ingest.layout import FileContractError
from promise.settings import project_root

from .handmade import luhn, warehouse_text

pytestmark = pytest.mark.reliability
DELIVERY = date(2025, 12, 31)
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
HYPOTHESIS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": SUPPRESS,
    "derandomize": True,
}
TEXT = "abcdefghijklmnopqrstuvwxyzÅÄÖåäöé -"
CODES_OK = ["I219", "I21.9", "410A", "410,99", "C50.9", "C509", "E119", "E11.9", "250A", "J45"]
CODES_BAD = ["XX!9", "I2", "1234567", "I21..9", "??", "E11-9"]
_counter = itertools.count()


@dataclass(frozen=True)
class Numbers:
    """Valid test numbers (12 digits) and a few coordination numbers."""

    pins: list[str]
    coords: list[str]


@pytest.fixture(scope="module")
def numbers(reference_dir: Path) -> Numbers:
    folder = reference_dir / "personnummer"
    pins = json.loads((folder / "allPins.json").read_text())
    coords = json.loads((folder / "allCoords.json").read_text())
    return Numbers(
        pins=pins[::37], coords=[c for c in coords[::11] if c[6:8] != "60" and c[4:6] != "00"]
    )


def _jobs_dir(base: Path, source: str, encoding: str) -> Path:
    folder = base / f"jobs-{source}-{encoding}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        contract = project_root() / "data-contracts" / f"{source}.odcs.yaml"
        (folder / f"{source}.yml").write_text(
            f'source: {source}\nfiles: "{source}/*.csv"\nformat: delimited\ndelimiter: ";"\n'
            f"encoding: {encoding}\ncontract: {contract}\n"
        )
    return folder


def _written(number: str, draw: Any) -> str:
    """A correct written form of a valid number (``+`` for those 100 or older at delivery)."""
    old = number[:4] <= "1925"
    forms = (
        [number, f"{number[2:8]}+{number[8:]}"]
        if old
        else [number, number[2:], f"{number[2:8]}-{number[8:]}", f"{number[:8]}-{number[8:]}"]
    )
    return str(draw(st.sampled_from(forms)))


def _invalid_pnr(number: str, draw: Any) -> str:
    """A number that must be rejected, of one of many kinds."""
    kind = draw(
        st.sampled_from(["check", "length", "letters", "month", "day", "serial", "future", "org"])
    )
    if kind == "check":
        return number[:11] + str((int(number[11]) + draw(st.integers(1, 9))) % 10)
    if kind == "length":
        return number[: draw(st.sampled_from([5, 9, 11]))]
    if kind == "letters":
        return number[:8] + "AB" + number[10:]
    if kind == "org":
        nine = "556" + number[5:11]
        return nine + str(luhn(nine))
    yymmdd = {
        "month": number[2:4] + "13" + number[6:8],
        "day": number[2:6] + "32",
        "future": "31" + number[4:8],
    }.get(kind, number[2:8])
    serial = "000" if kind == "serial" else number[8:11]
    century = "20" if kind == "future" else number[:2]
    nine = yymmdd + serial
    return century + nine + str(luhn(nine))


@dataclass
class Planted:
    """A generated file and the quarantine reasons the generator expects."""

    lines: list[bytes]
    expected: Counter[str]


def _row(source: str, kind: str, nums: Numbers, draw: Any) -> str:
    number = draw(st.sampled_from(nums.pins + nums.coords))
    pnr = _written(number, draw) if kind != "bad_pnr" else _invalid_pnr(number, draw)
    if kind == "missing_pnr":
        pnr = ""
    if source == "migration":
        post = (
            draw(st.sampled_from(["Inv", "Utv"]))
            if kind != "unknown_code"
            else draw(st.sampled_from(["INV", "Xyz", "in"]))
        )
        day = _date_text(kind, draw)
        land = draw(st.text(alphabet=TEXT, max_size=8))
        return f"{pnr};{post};{day};{land}"
    code = (
        draw(st.sampled_from(CODES_OK))
        if kind != "unknown_code"
        else draw(st.sampled_from(CODES_BAD))
    )
    day = _date_text(kind, draw, partial=True)
    return f"{pnr};{day};{day[:4]};10;{code}"


def _date_text(kind: str, draw: Any, *, partial: bool = False) -> str:
    y = draw(st.integers(1950, 2024))
    if kind == "impossible_date":
        bad = [f"{y}0230", f"{y}1301", f"{y}0431", f"{y}0132", "20300101", f"{y}01", "2007-02-28"]
        if partial:
            bad += [f"{y}0012"]
        return str(draw(st.sampled_from(bad)))
    m, d = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    if partial:
        return str(draw(st.sampled_from([f"{y}{m:02d}{d:02d}", f"{y}{m:02d}00", f"{y}0000"])))
    return f"{y}{m:02d}{d:02d}"


KIND_REASON = {
    "valid": None,
    "bad_pnr": "invalid_personnummer",
    "missing_pnr": "missing_required",
    "impossible_date": "invalid_date",
    "unknown_code": "not_allowed",
    "ragged_row": "ragged_row",
    "bad_quoting": "bad_quoting",
    "undecodable": "undecodable",
    "blank": "ragged_row",
}
HEADERS = {"migration": "PersonNr;PostTyp;Datum;Land", "dors": "PersonNr;DODSDAT;AR;ICD;ULORSAK"}


@st.composite
def planted_files(draw: Any, nums: Numbers, source: str, encoding: str) -> Planted:
    kinds = st.sampled_from(list(KIND_REASON) + ["duplicate"] + ["valid"] * 4)
    expected: Counter[str] = Counter()
    seen: set[bytes] = set()
    header = HEADERS[source]
    if draw(st.booleans()):
        header = header.upper()
    lines = [header.encode(encoding)]
    for kind in draw(st.lists(kinds, max_size=12)):
        if kind == "undecodable" and encoding != "utf-8":
            kind = "valid"
        if kind == "duplicate":
            if len(lines) == 1:
                continue
            raw = draw(st.sampled_from(lines[1:]))
        elif kind == "blank":
            raw = b""
        else:
            base = _row(
                source,
                "valid" if kind in ("ragged_row", "bad_quoting", "undecodable") else kind,
                nums,
                draw,
            )
            if kind == "ragged_row":
                base = base + ";x" if draw(st.booleans()) else base.rsplit(";", 1)[0]
            if kind == "bad_quoting":
                base = base.replace(";", ';"', 1)
            raw = base.encode(encoding)
            if kind == "undecodable":
                raw = raw + b"\xe5"
        undecodable = encoding == "utf-8" and not _decodes(raw)
        if undecodable:
            reason: str | None = "undecodable"
        elif b'"' in raw:
            reason = "bad_quoting"
        elif raw.count(b";") != header.count(";"):
            reason = "ragged_row"
        elif raw in seen:
            reason = "duplicate_row"
        else:
            reason = KIND_REASON.get(kind)
        if not undecodable:
            seen.add(raw)
        if reason:
            expected[reason] += 1
        lines.append(raw)
    return Planted(lines=lines, expected=expected)


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _write(path: Path, lines: list[bytes], *, crlf: bool, bom: bool, final_newline: bool) -> bytes:
    sep = b"\r\n" if crlf else b"\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + sep.join(lines) + (sep if final_newline else b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _independent_count(data: bytes) -> int:
    """Records after the header: pieces between newlines, the last one only if non-empty."""
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces = pieces[:-1]
    return max(len(pieces) - 1, 0)


def _run(
    tmp: Path, source: str, encoding: str, data_lines: list[bytes], **layout: bool
) -> tuple[Any, bytes, Path]:
    case = tmp / f"case{next(_counter)}"
    data = _write(case / "land" / source / f"{source}_1.csv", data_lines, **layout)
    jobs = _jobs_dir(tmp, source, encoding)
    results = run_ingest(
        landing=case / "land",
        warehouse=case / "wh",
        key_file=tmp / "key",
        jobs_dir=jobs,
        reference_date=DELIVERY,
    )
    return results, data, case / "wh"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> Path:
    folder = tmp_path_factory.mktemp("bad-input")
    (folder / "key").write_bytes(key_file.read_bytes())
    (folder / "key").chmod(0o600)  # ingestion refuses a key others can read
    return folder


@pytest.mark.parametrize(
    ("source", "encoding"), [("migration", "latin-1"), ("migration", "utf-8"), ("dors", "latin-1")]
)
@settings(max_examples=250, **HYPOTHESIS)  # type: ignore[arg-type]
@given(data=st.data())
def test_planted_defects_get_their_reasons(
    data: Any, source: str, encoding: str, numbers: Numbers, workdir: Path
) -> None:
    planted = data.draw(planted_files(numbers, source, encoding))
    crlf, final_newline = data.draw(st.booleans()), data.draw(st.booleans())
    bom = encoding == "utf-8" and data.draw(st.booleans())
    if not final_newline and planted.lines[-1] == b"" and len(planted.lines) > 1:
        planted.expected["ragged_row"] -= 1  # a blank last line without newline is no record
        planted.expected += Counter()
    (result,), raw, _ = _run(
        workdir, source, encoding, planted.lines, crlf=crlf, bom=bom, final_newline=final_newline
    )
    assert result.rows_in == _independent_count(raw)
    assert result.rows_loaded + result.rows_quarantined == result.rows_in
    assert Counter(result.quarantined_by_reason) == planted.expected


@st.composite
def damaged(draw: Any, nums: Numbers) -> tuple[list[bytes], list[str]]:
    numbers = draw(st.lists(st.sampled_from(nums.pins), min_size=1, max_size=6))
    rows = [f"{n};Inv;2001010{i % 9 + 1};Sverige".encode() for i, n in enumerate(numbers)]
    body = bytearray(b"\n".join(rows) + b"\n")
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["insert", "delete", "truncate", "latin1", "bom"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if op == "insert":
            body[at:at] = draw(
                st.sampled_from(
                    [b";", b'"', b"\n", b"\r", b"\xe5", b"\xff", b"\xc3\xa5", b"\x00", b" ", b"1"]
                )
            )
        elif op == "delete" and body:
            del body[at]
        elif op == "truncate":
            del body[at:]
        elif op == "latin1":
            body[at:at] = "Göteborg".encode(draw(st.sampled_from(["latin-1", "utf-8"])))
        else:
            body[at:at] = b"\xef\xbb\xbf"
    return [b"PersonNr;PostTyp;Datum;Land", bytes(body)], numbers


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
@settings(max_examples=150, **HYPOTHESIS)  # type: ignore[arg-type]
@given(data=st.data())
def test_damaged_files_reconcile_and_leak_nothing(
    data: Any, encoding: str, numbers: Numbers, workdir: Path
) -> None:
    lines, used = data.draw(damaged(numbers))
    try:
        (result,), raw, warehouse = _run(
            workdir, "migration", encoding, lines, crlf=False, bom=False, final_newline=False
        )
    except FileContractError:  # damage to the header is refused with a sentence, never a crash
        return
    assert result.rows_in == _independent_count(raw)
    assert result.rows_loaded + result.rows_quarantined == result.rows_in
    text = warehouse_text(warehouse)
    for n in used:
        for form in (n, n[2:], f"{n[2:8]}-{n[8:]}", f"{n[:8]}-{n[8:]}"):
            assert form not in text
