"""Independent readers of a synthetic landing folder, written for the tests only.

They re-read the files as bytes with the layouts of docs/interfaces.md and classify every
line without using promise.synth, so that the tests compare the files against truth.json
rather than the generator against itself.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from promise.pnr import InvalidPersonnummer, Personnummer, parse

DELIVERY = date(2025, 12, 31)
ICD = re.compile(r"^([A-Z][0-9]{2}[0-9A-Z]{0,4}|[0-9]{3}([,][0-9]{2}|[A-HWX])?)$")
ATC = re.compile(r"^[ABCDGHJLMNPRSV][0-9]{2}[A-Z]{2}[0-9]{2}$")
TOPO = re.compile(r"^C[0-9]{3}$")

# file pattern -> (delimiter, encoding, PersonNr column, date column, date kind, code column, code kind)
LAYOUTS: dict[str, tuple[str, str, str | None, str | None, str, str | None, str]] = {
    "population/rtb_population*.csv": (";", "latin-1", "PersonNr", None, "", None, ""),
    "migration/rtb_migration*.csv": (
        ";",
        "latin-1",
        "PersonNr",
        "Datum",
        "ymd",
        "PostTyp",
        "posttyp",
    ),
    "npr_inpatient/par_sv_diagnos*.txt": (
        "\t",
        "latin-1",
        "PersonNr",
        "INDATUM",
        "ymd",
        "DIAGNOS",
        "diagnos",
    ),
    "npr_inpatient/par_sv_[0-9]*.txt": (
        "\t",
        "latin-1",
        "PersonNr",
        "INDATUM",
        "ymd",
        "HDIA",
        "icd",
    ),
    "npr_outpatient/par_ov*.txt": ("\t", "latin-1", "PersonNr", "INDATUM", "ymd", "HDIA", "icd"),
    "lmed/lmed*.csv": (";", "utf-8", "PersonNr", "EDATUM", "ymd", "ATC", "atc"),
    "dors/dors*.csv": (";", "latin-1", "PersonNr", "DODSDAT", "partial", "ULORSAK", "icd"),
    "cancer/cancer*.csv": (";", "latin-1", "PersonNr", "DIADAT", "diadat", "ICDO3", "topo"),
    "multigen/mgr*.csv": (";", "latin-1", "PersonNr", None, "", None, ""),
    "biobank/biobank_samples*.csv": (",", "utf-8", "PersonNr", "SamplingDate", "iso", None, ""),
    "olink/olink_npx*.csv": (";", "utf-8", None, None, "", None, ""),
    "metabolomics/nmr_metabolomics*.tsv": ("\t", "utf-8", None, None, "", None, ""),
}


@cache
def person_of(text: str) -> Personnummer | None:
    """The parsed number at the delivery date, or None when invalid (cached: rows repeat people)."""
    try:
        return parse(text, reference_date=DELIVERY)
    except InvalidPersonnummer:
        return None


def valid_pnr(text: str) -> bool:
    """Whether ``text`` is a valid personnummer at the delivery date."""
    return person_of(text) is not None


def valid_date(text: str, kind: str) -> bool:
    """Whether a date field holds a date that exists, in the column's format."""
    try:
        if kind == "iso":
            date.fromisoformat(text)
        elif kind == "diadat" and len(text) == 6:
            return 1 <= int(text[4:]) <= 12
        elif kind == "partial" and text.endswith("0000"):
            return True
        elif kind == "partial" and text.endswith("00"):
            return 1 <= int(text[4:6]) <= 12
        else:
            date(int(text[:4]), int(text[4:6]), int(text[6:8]))
            return len(text) == 8
    except ValueError:
        return False
    return True


def valid_code(text: str, kind: str) -> bool:
    """Whether a code field matches the allowed shape of its kind."""
    if kind == "posttyp":
        return text in ("Inv", "Utv")
    if kind == "diagnos":
        return all(ICD.match(t) for t in text.split(" "))
    if kind == "atc":
        return ATC.match(text) is not None
    if kind == "topo":
        return TOPO.match(text) is not None
    return ICD.match(text) is not None


def data_lines(path: Path) -> Iterator[bytes]:
    """Data lines of a file as bytes (header and BOM removed)."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    yield from lines[1:]


def header(path: Path, delimiter: str, encoding: str) -> list[str]:
    """Column names of a delimited file."""
    first = path.read_bytes().split(b"\n", 1)[0].decode(encoding).lstrip("\ufeff")
    return first.split(delimiter)


Layout = tuple[str, str, str | None, str | None, str, str | None, str]
KINDS = (
    "bad_check_digit",
    "impossible_date",
    "unknown_code",
    "duplicate_row",
    "wrong_encoding",
    "ragged_row",
)


def classified(path: Path, layout: Layout) -> Iterator[tuple[str | None, dict[str, str]]]:
    """Each data line with its defect kind (None when clean) and its fields by column name."""
    delim, enc, pnr_col, date_col, date_kind, code_col, code_kind = layout
    names = header(path, delim, enc)
    seen: set[bytes] = set()
    for line in data_lines(path):
        if line in seen:
            yield "duplicate_row", {}
            continue
        seen.add(line)
        try:
            text = line.decode(enc)
        except UnicodeDecodeError:
            yield "wrong_encoding", {}
            continue
        fields = text.split(delim)
        if len(fields) != len(names):
            yield "ragged_row", {}
            continue
        row = dict(zip(names, fields, strict=True))
        if pnr_col and not valid_pnr(row[pnr_col]):
            yield "bad_check_digit", row
        elif date_col and not valid_date(row[date_col], date_kind):
            yield "impossible_date", row
        elif code_col and not valid_code(row[code_col], code_kind):
            yield "unknown_code", row
        else:
            yield None, row


def classify(path: Path, layout: Layout) -> dict[str, int]:
    """Rows and malformed rows by kind, found by reading the file independently."""
    counts = dict.fromkeys(("rows", *KINDS), 0)
    for kind, _ in classified(path, layout):
        counts["rows"] += 1
        if kind is not None:
            counts[kind] += 1
    return counts


def clean_rows(path: Path, layout: Layout) -> Iterator[dict[str, str]]:
    """The rows of a file that carry no planted defect."""
    for kind, row in classified(path, layout):
        if kind is None:
            yield row


def valid_rows(path: Path, delimiter: str, encoding: str) -> Iterator[dict[str, str]]:
    """Rows of a delimited file that have the header's field count, decode, and are not repeats."""
    names = header(path, delimiter, encoding)
    seen: set[bytes] = set()
    for line in data_lines(path):
        if line in seen:
            continue
        seen.add(line)
        try:
            fields = line.decode(encoding).split(delimiter)
        except UnicodeDecodeError:
            continue
        if len(fields) == len(names):
            yield dict(zip(names, fields, strict=True))


def read_vcf(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Sample ids, variant ids and alt-allele counts (-1 missing) of a (b)gzipped VCF."""
    samples: list[str] = []
    ids: list[str] = []
    rows: list[np.ndarray] = []
    code = {b"0/0": 0, b"0/1": 1, b"1/1": 2, b"./.": -1}
    with gzip.open(path, "rb") as handle:
        for line in handle:
            if line.startswith(b"##"):
                continue
            parts = line.rstrip(b"\n").split(b"\t")
            if line.startswith(b"#CHROM"):
                samples = [p.decode() for p in parts[9:]]
                continue
            ids.append(parts[2].decode())
            rows.append(np.array([code[p] for p in parts[9:]], dtype=np.int8))
    return samples, ids, np.vstack(rows)


def read_plink(prefix: Path) -> tuple[list[str], list[str], np.ndarray]:
    """IIDs, variant ids and A1 (alt) counts (-1 missing) of a PLINK 1 fileset."""
    iids = [line.split()[1] for line in prefix.with_suffix(".fam").read_text().splitlines()]
    bim = [line.split("\t") for line in prefix.with_suffix(".bim").read_text().splitlines()]
    raw = np.frombuffer(prefix.with_suffix(".bed").read_bytes(), dtype=np.uint8)
    assert raw[:3].tolist() == [0x6C, 0x1B, 0x01]
    per = (len(iids) + 3) // 4
    packed = raw[3:].reshape(len(bim), per)
    bits = np.stack([(packed >> s) & 3 for s in (0, 2, 4, 6)], axis=2).reshape(len(bim), per * 4)[
        :, : len(iids)
    ]
    counts = np.array([2, -1, 1, 0], dtype=np.int8)[
        bits
    ]  # 00 hom A1, 01 missing, 10 het, 11 hom A2
    return iids, [f"chr{b[0]}:{b[3]}:{b[5]}:{b[4]}" for b in bim], counts
