"""Small hand-made landing files for ingest tests, written as inline text tables.

Identities are Skatteverket test numbers from the reference folder; every expected count
below is read off the rows as written here (one planted defect per bad row, marked).
"""

from __future__ import annotations

import json
from pathlib import Path


def pick_numbers(reference_dir: Path, n: int, *, start: int = 20000) -> list[str]:
    """``n`` distinct 12-digit test personnummer born after 1930 (no century ambiguity)."""
    pins = json.loads((reference_dir / "personnummer" / "allPins.json").read_text())
    chosen = [p for p in dict.fromkeys(pins[start:]) if p[:4] >= "1931"]
    return chosen[:n]


def write_lines(
    path: Path,
    lines: list[str],
    *,
    encoding: str = "latin-1",
    bom: bool = False,
    newline: str = "\n",
    final_newline: bool = True,
) -> Path:
    """Write text lines in ``encoding`` (optionally with a BOM, CRLF, no final newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = newline.join(lines) + (newline if final_newline else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode(encoding)
    path.write_bytes(data)
    return path


def luhn(nine: str) -> int:
    """Check digit, written out independently of promise.pnr (Luhn, weights 2,1,2,...)."""
    total = 0
    for i, ch in enumerate(nine):
        d = int(ch) * (2 - i % 2)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10


def bad_check_digit(pnr: str) -> str:
    """The same number with a wrong Luhn digit."""
    right = luhn(pnr[2:11])
    return pnr[:11] + str((right + 1) % 10)


def short_form(pnr: str) -> str:
    """``YYMMDD-NNNC``."""
    return f"{pnr[2:8]}-{pnr[8:]}"


def migration_lines(p: list[str]) -> tuple[list[str], dict[str, int], int]:
    """A migration file: lines, expected quarantine reasons, expected loaded rows."""
    lines = [
        "PersonNr;PostTyp;Datum;Land",
        f"{p[0]};Inv;20010203;Norge",
        f"{short_form(p[1])};Utv;20100115;Finland",
        f"{p[2]};Inv;20100230;Danmark",  # impossible_date
        f"{p[3]};Xyz;20010203;Norge",  # unknown code
        f"{p[0]};Inv;20010203;Norge",  # duplicate of line 2
        f"{bad_check_digit(p[4])};Inv;20010203;Norge",  # bad check digit
        f"{p[5]};Inv;20010203",  # ragged
        f"{p[6]};Utv;20050101;Åland",
        f"{p[7]};Inv;;Norge",  # missing required date
    ]
    reasons = {
        "invalid_date": 1,
        "not_allowed": 1,
        "duplicate_row": 1,
        "invalid_personnummer": 1,
        "ragged_row": 1,
        "missing_required": 1,
    }
    return lines, reasons, 3


def inpatient_header(*, diagnos: bool = False) -> str:
    """PAR SV header (or the DIAGNOS delivery variant)."""
    dia = ["DIAGNOS"] if diagnos else ["HDIA", *(f"DIA{i}" for i in range(1, 31))]
    cols = [
        "PersonNr",
        "AR",
        "INDATUM",
        "UTDATUM",
        *dia,
        *(f"EKOD{i}" for i in range(1, 6)),
        "OP",
        "SJUKHUS",
        "MVO",
        "PVARD",
        "ALDER",
        "KON",
    ]
    return "\t".join(cols)


def inpatient_row(
    pnr: str,
    *,
    indatum: str,
    utdatum: str,
    hdia: str,
    dia: list[str] | None = None,
    diagnos: str | None = None,
) -> str:
    """One PAR SV line (tab-separated)."""
    if diagnos is not None:
        dia_fields = [diagnos]
    else:
        extra = (dia or []) + [""] * (30 - len(dia or []))
        dia_fields = [hdia, *extra]
    fields = [
        pnr,
        indatum[:4],
        indatum,
        utdatum,
        *dia_fields,
        "",
        "",
        "",
        "",
        "",
        "AB123",
        "11001",
        "101",
        "1",
        "55",
        "1",
    ]
    return "\t".join(fields)


def warehouse_text(warehouse: Path) -> str:
    """Everything written under a warehouse as text: Parquet decoded cell by cell, other files as bytes.

    Parquet is compressed, so a byte search of the file would miss a number in it.
    """
    import polars as pl

    parts = []
    for path in sorted(p for p in warehouse.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            parts.append(frame.select(pl.all().cast(pl.Utf8)).write_csv())
        else:
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)
