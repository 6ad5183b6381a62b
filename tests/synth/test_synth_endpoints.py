"""truth.json's endpoint case counts against FinnGen's own definitions applied to the files.

The definitions come from the reference copy of FinnGen R4 (``INCLUDE`` followed), with the
semantics of docs/interfaces.md section 4; only rows without a planted defect count.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
from synth_scan import LAYOUTS, clean_rows, person_of

from promise.synth.model import codes

pytestmark = [pytest.mark.integration, pytest.mark.reference]

ENDPOINTS = ("E4_DM2", "I9_MI", "C3_BREAST")


def _definitions(reference_dir: Path) -> dict[str, dict[str, str]]:
    path = reference_dir / "finngen_endpoints" / "finngen_R4_endpoints_utf8.tsv"
    with path.open(encoding="utf-8") as handle:
        return {row["NAME"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _alternatives(text: str, column: str) -> list[str]:
    """'|'-separated alternatives ('|' inside brackets is literal). In ICD-9 columns those that
    need Finland's fifth-position letter (2500A) are dropped: Swedish ICD-9 has no such letter."""
    while re.search(r"\[[^\]|]*\|", text):
        text = re.sub(r"(\[[^\]|]*)\|", r"\1", text)
    out = [a for a in text.split("|") if a and a != "$!$"]
    return [a for a in out if not re.match(r"[0-9]{4}[A-Z]", a)] if "ICD_9" in column else out


def _patterns(defs: dict[str, dict[str, str]], name: str, column: str) -> list[re.Pattern[str]]:
    """The column's alternatives of an endpoint and of every endpoint it INCLUDEs."""
    row = defs[name]
    out = [re.compile(f"(?:{a})") for a in _alternatives(row[column], column)]
    for child in filter(None, row["INCLUDE"].split("|")):
        out += _patterns(defs, child, column)
    return out


def _era(yyyymmdd: str) -> int:
    year = int(yyyymmdd[:4])
    return 10 if year >= 1997 else 9 if year >= 1987 else 8


def _who(code: str) -> str:
    """Swedish ICD-9 (Socialstyrelsen, KS87): fourth-position letters A-H, W, X are WHO's 0-9."""
    letters = "ABCDEFGHWX"
    if re.match(r"[0-9]{3}[A-HWX]", code):
        return code[:3] + str(letters.index(code[3])) + code[4:]
    return code


def _hit(patterns: list[re.Pattern[str]], code: str, version: int = 10) -> bool:
    norm = code.replace(",", "").replace(".", "").upper()
    norm = _who(norm) if version == 9 else norm
    return bool(norm) and any(p.match(norm) for p in patterns)


def _rows(landing: Path, glob: str) -> list[dict[str, str]]:
    layout = next(v for k, v in LAYOUTS.items() if k == glob or fnmatch.fnmatch(glob, k))
    return [r for p in sorted(landing.glob(glob)) for r in clean_rows(p, layout)]


def _cases(landing: Path, defs: dict[str, dict[str, str]], name: str) -> set[str]:
    hd = {v: _patterns(defs, name, f"HD_ICD_{v}") for v in (8, 9, 10)}
    cod = {v: _patterns(defs, name, f"COD_ICD_{v}") for v in (8, 9, 10)}
    atc = _patterns(defs, name, "KELA_ATC")
    topo = _patterns(defs, name, "CANC_TOPO")
    cases: set[str] = set()
    for glob in (
        "npr_inpatient/par_sv_diagnos*.txt",
        "npr_inpatient/par_sv_[0-9]*.txt",
        "npr_outpatient/par_ov*.txt",
    ):
        for row in _rows(landing, glob):
            found = row.get("DIAGNOS", "").split(" ") + [
                v for k, v in row.items() if k == "HDIA" or k.startswith("DIA")
            ]
            era = _era(row["INDATUM"])
            if any(_hit(hd[era], c, era) for c in found):
                cases.add(row["PersonNr"])
    for row in _rows(landing, "dors/dors*.csv"):
        found = [v for k, v in row.items() if k == "ULORSAK" or k.startswith("MORSAK")]
        era = int(row["ICD"]) if row["ICD"] else _era(row["DODSDAT"])
        if any(_hit(cod[era], c, era) for c in found):
            cases.add(row["PersonNr"])
    for row in _rows(landing, "cancer/cancer*.csv"):
        if _hit(topo, row["ICDO3"]):
            cases.add(row["PersonNr"])
    counts: dict[str, int] = {}
    for row in _rows(landing, "lmed/lmed*.csv"):
        if _hit(atc, row["ATC"]):
            key = _normal(row["PersonNr"])
            counts[key] = counts.get(key, 0) + 1
    people = {_normal(p) for p in cases} | {p for p, n in counts.items() if n >= 3}
    if defs[name]["SEX"] == "2":
        people = {p for p in people if person_of(p) is not None and person_of(p).sex == "female"}  # type: ignore[union-attr]
    return people


def _normal(text: str) -> str:
    person = person_of(text)
    assert person is not None
    return person.normalized


def test_endpoint_cases_match_finngen_definitions(
    small_landing: tuple[Path, dict[str, Any]], reference_dir: Path
) -> None:
    landing, truth = small_landing
    defs = _definitions(reference_dir)
    for name in ENDPOINTS:
        assert len(_cases(landing, defs, name)) == truth["endpoint_cases"][name], name
    assert truth["endpoint_cases"]["E4_DM2"] > 100  # hundreds of cases at 3,000 persons


@pytest.mark.unit
def test_background_codes_never_qualify(reference_dir: Path) -> None:
    """Codes used for background care and deaths match none of the planted endpoints."""
    defs = _definitions(reference_dir)
    c = codes()
    background = [
        *c["background_inpatient"][10],
        *c["outpatient_codes"],
        *c["death_causes"][10],
        *c["contributing_causes"][10],
    ]
    for name in ENDPOINTS:
        for version, pool in (
            (10, background),
            (9, [*c["background_inpatient"][9], *c["death_causes"][9]]),
            (8, c["death_causes"][8]),
        ):
            pats = _patterns(defs, name, f"HD_ICD_{version}") + _patterns(
                defs, name, f"COD_ICD_{version}"
            )
            assert not [code for code in pool if _hit(pats, code, version)], (name, version)
        atcs = [
            d["atc"]
            for d in c["drugs"]["background"] + c["drugs"]["HYPERTENSION"] + c["drugs"]["ASTHMA"]
        ]
        assert not [a for a in atcs if _hit(_patterns(defs, name, "KELA_ATC"), a)]
