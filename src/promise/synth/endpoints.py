"""An independent count of endpoint cases from the clean rows the synthesiser wrote.

Semantics of docs/interfaces.md section 4: ``HD_*`` patterns on inpatient and outpatient
codes (any position), ``COD_*`` on underlying and contributing causes, ``KELA_ATC`` with at
least 3 dispensings, ``CANC_TOPO`` on the cancer register; the ICD version follows the
event date; patterns match from the start of the code without dots or commas. A Swedish
ICD-9 code meets FinnGen's patterns in WHO form (its fourth-position letter A-H, W, X as the
digit 0-7, 8, 9: 410X is 4109), and an ICD-9 alternative that needs Finland's fifth-position
letter (2500A) matches no Swedish code.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from promise.synth.events import era
from promise.synth.model import codes

ENDPOINTS = ("E4_DM2", "I9_MI", "C3_BREAST")
MIN_DISPENSINGS = 3


SWEDISH_LETTER = re.compile(r"^([0-9]{3}|E[0-9]{3}|V[0-9]{2})([A-HWX])")
FINNISH_FIFTH = re.compile(r"^[0-9]{4}[A-Z]")


def normalise(code: str) -> str:
    """Upper case, without dots, commas and spaces."""
    return code.upper().replace(".", "").replace(",", "").replace(" ", "")


def who_icd9(code: str) -> str:
    """A Swedish ICD-9 code with its fourth-position letter as the WHO digit (427D -> 4273)."""
    return SWEDISH_LETTER.sub(lambda m: m[1] + str("ABCDEFGHWX".index(m[2])), code)


@cache
def _pattern(text: str, version: int) -> re.Pattern[str] | None:
    alternatives = [a for a in text.split("|") if a and a != "$!$"]
    if version == 9:
        alternatives = [a for a in alternatives if not FINNISH_FIFTH.match(a)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives)) if alternatives else None


@cache
def matches(endpoint: str, source: str, version: int, code: str) -> bool:
    """Whether ``code`` qualifies for ``endpoint`` in ``source`` (hd, cod, atc, canc_topo)."""
    spec = codes()["endpoint_patterns"][endpoint]
    text = spec[source][version] if source in ("hd", "cod") else spec[source]
    pattern = _pattern(str(text), version if source in ("hd", "cod") else 0)
    form = (
        who_icd9(normalise(code)) if version == 9 and source in ("hd", "cod") else normalise(code)
    )
    return pattern is not None and pattern.match(form) is not None


@cache
def _qualifies(source: str, version: int, code: str) -> tuple[str, ...]:
    """Endpoints for which ``code`` qualifies in ``source`` and ICD ``version``."""
    return tuple(name for name in ENDPOINTS if code and matches(name, source, version, code))


class Tally:
    """Case flags for the persons of one chunk, summed into cohort totals."""

    def __init__(self) -> None:
        self.totals = dict.fromkeys(ENDPOINTS, 0)

    def start(self, size: int) -> None:
        """Begin a chunk of ``size`` persons."""
        self.flags = {name: np.zeros(size, dtype=bool) for name in ENDPOINTS}
        self.dispensed = {name: np.zeros(size, dtype=np.int64) for name in ENDPOINTS}

    def coded(
        self, source: str, rows: np.ndarray, days: np.ndarray, code_lists: list[list[str]]
    ) -> None:
        """Records whose codes are ICD codes of the era of ``days`` (hd or cod)."""
        versions = era(days).tolist()
        for row, version, code_list in zip(rows.tolist(), versions, code_lists, strict=True):
            for code in code_list:
                for name in _qualifies(source, version, code):
                    self.flags[name][row] = True

    def cancers(self, rows: np.ndarray, topographies: list[str]) -> None:
        """Cancer register tumours."""
        for row, topo in zip(rows.tolist(), topographies, strict=True):
            for name in _qualifies("canc_topo", 10, topo):
                self.flags[name][row] = True

    def drugs(self, rows: np.ndarray, atcs: list[str]) -> None:
        """Dispensings (each valid row counts once)."""
        for row, atc in zip(rows.tolist(), atcs, strict=True):
            for name in _qualifies("atc", 10, atc):
                self.dispensed[name][row] += 1

    def finish(self, sex: np.ndarray) -> dict[str, np.ndarray]:
        """Close the chunk; returns each endpoint's case flags for its persons."""
        out = {}
        for name in ENDPOINTS:
            case = self.flags[name] | (self.dispensed[name] >= MIN_DISPENSINGS)
            if codes()["endpoint_patterns"][name]["sex"] == "female":
                case &= sex == 1
            self.totals[name] += int(case.sum())
            out[name] = case
        return out
