"""A hand-made delivery whose registers are keyed in every way a person can be met.

Six people, Skatteverket test numbers (``pick_numbers``); every expected value in the tests
that use this folder is read off the rows written here:

- A and B: inpatient care delivered by LopNr of order 4711 (the linkage file, outside the
  landing folder and the warehouse, gives their personnummer), dispensings by personnummer;
  A is also in the population register.
- C changed number (SCB's change table: old -> new on 2004-06-01): the order's linkage gives
  C's old number, dispensings and the population register the new one.
- D changed twice (D1 -> D2 -> D3): inpatient care under D1 (by LopNr), dispensings under D2,
  the population register under D3.
- R's number was re-used: holder 1 had it 1960-01-01..2001-12-31, holder 2 from 2005-01-01.
  Inpatient stays by R's LopNr on 1998-03-01 (holder 1), 2003-06-01 (in no period: kept out,
  reason reused_personnummer) and 2008-02-01 (holder 2); a dispensing on 2010-05-01 (holder 2);
  R's population row has no date, so it is kept out too.
- One inpatient line has a LopNr the linkage lacks (quarantined ``unknown_lopnr``) and one
  line is ragged (quarantined ``ragged_row``; its LopNr must not be written either).

LopNr are nine-digit numbers that occur nowhere else, so a scan can look for them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from promise.pseudonym import load_key

from .handmade import pick_numbers, write_lines

ORDER = "4711"
NPR_FILE = f"npr_inpatient/par_sv_{ORDER}_2024.txt"
NPR_HEADER = ["LopNr", "AR", "INDATUM", "UTDATUM", "HDIA", "DIA01", "OP1", "OP2", "SJUKHUS",
              "MVO", "PVARD", "ALDER", "KON"]  # fmt: skip


@dataclass(frozen=True)
class IdentityLanding:
    """The folder, the linkage file and the numbers behind each person."""

    landing: Path
    linkage: Path
    numbers: dict[str, str]  # A, B, C_old, C_new, D1, D2, D3, R
    lopnr: dict[str, str]  # A, B, C, D, R, unknown, ragged

    def planted(self) -> set[str]:
        """Every personnummer written in the landing folder or the linkage file."""
        return set(self.numbers.values())


def person_id(key_file: Path, pnr: str) -> str:
    """person_id worked out here, independently of promise: HMAC-SHA256, 24 hex characters."""
    return hmac.new(load_key(key_file), pnr.encode(), "sha256").hexdigest()[:24]


def holder_id(number_id: str, holder: int) -> str:
    """A later holder's person_id as docs/interfaces.md defines it (sha256, 24 hex)."""
    return hashlib.sha256(f"{number_id}:holder:{holder}".encode()).hexdigest()[:24]


def _npr(lopnr: str, admitted: str, discharged: str, main: str, extra: str = "") -> str:
    fields = [lopnr, admitted[:4], admitted, discharged, main, extra, "FNG05", "", "11001", "101",
              "1", "60", "1"]  # fmt: skip
    return "\t".join(fields)


def write_identity_landing(root: Path, reference_dir: Path) -> IdentityLanding:
    """Write the delivery under ``root/landing`` and the linkage file under ``root/keys``."""
    p = pick_numbers(reference_dir, 8, start=23000)
    numbers = dict(zip(["A", "B", "C_old", "C_new", "D1", "D2", "D3", "R"], p, strict=True))
    lopnr = {"A": "731094826", "B": "731094839", "C": "731094842", "D": "731094855",
             "R": "731094868", "unknown": "731094871", "ragged": "731094884"}  # fmt: skip
    landing = root / "landing"
    write_lines(landing / "delivery.yml", ["delivery_date: 2025-12-31"])
    linkage = write_lines(
        root / "keys" / f"linkage_{ORDER}.csv",
        [
            "LopNr;PersonNr",
            f"{lopnr['A']};{numbers['A']}",
            f"{lopnr['B']};{numbers['B']}",
            f"{lopnr['C']};{numbers['C_old']}",
            f"{lopnr['D']};{numbers['D1']}",
            f"{lopnr['R']};{numbers['R']}",
            f"{lopnr['ragged']};{numbers['A']}",
        ],
    )
    write_lines(
        landing / NPR_FILE,
        [
            "\t".join(NPR_HEADER),
            _npr(lopnr["A"], "20050301", "20050305", "I219", "E119"),  # A: I21.9 + E11.9
            _npr(lopnr["A"], "20100110", "20100112", "J45"),  # A: J45
            _npr(lopnr["B"], "20070707", "20070709", "K359"),  # B: K35.9
            _npr(lopnr["C"], "20030303", "20030305", "I10"),  # C, under the old number
            _npr(lopnr["D"], "20020202", "20020204", "E105"),  # D, under D1
            _npr(lopnr["R"], "19980301", "19980303", "S720"),  # R: holder 1
            _npr(lopnr["R"], "20030601", "20030603", "J189"),  # R: no holder's period
            _npr(lopnr["R"], "20080201", "20080203", "C509"),  # R: holder 2
            _npr(lopnr["unknown"], "20090909", "20090910", "I48"),  # quarantined: unknown_lopnr
            f"{lopnr['ragged']}\tX\t20110101",  # quarantined: ragged_row (LopNr masked)
        ],
    )
    write_lines(
        landing / "lmed" / "lmed_2024.csv",
        [
            "PersonNr;ATC;EDATUM;FDATUM;ANTAL;FDDD;VNR;AR",
            f"{numbers['A']};C07AB02;20060101;20051220;1;30;111111;2006",
            f"{numbers['A']};C07AB02;20060401;20051220;1;30;111111;2006",
            f"{numbers['B']};A10BA02;20080101;;2;50;222222;2008",
            f"{numbers['C_new']};C09AA05;20070101;20061215;1;28;333333;2007",
            f"{numbers['D2']};A10AB05;20060606;20060601;1;10;444444;2006",
            f"{numbers['R']};L02BA01;20100501;20100420;1;30;555555;2010",
        ],
        encoding="utf-8",
    )
    write_lines(
        landing / "population" / "rtb_population_2024.csv",
        [
            "PersonNr;Kon;FodelseLand;FodelseLan;AterPnr",
            f"{numbers['A']};{_sex(numbers['A'])};Sverige;01;0",
            f"{numbers['C_new']};{_sex(numbers['C_new'])};Sverige;01;0",
            f"{numbers['D3']};{_sex(numbers['D3'])};Sverige;01;0",
            f"{numbers['R']};{_sex(numbers['R'])};Sverige;01;1",
        ],
    )
    write_lines(
        landing / "pnr_changes" / "pnr_changes_2024.csv",
        [
            "TidigarePersonNr;PersonNr;Datum",
            f"{numbers['C_old']};{numbers['C_new']};20040601",
            f"{numbers['D1']};{numbers['D2']};20030101",
            f"{numbers['D2']};{numbers['D3']};20070101",
        ],
    )
    write_lines(
        landing / "pnr_reuse" / "pnr_reuse_2024.csv",
        [
            "PersonNr;Innehavare;FromDatum;TomDatum",
            f"{numbers['R']};1;19600101;20011231",
            f"{numbers['R']};2;20050101;",
        ],
    )
    return IdentityLanding(landing=landing, linkage=linkage, numbers=numbers, lopnr=lopnr)


def _sex(pnr: str) -> str:
    """1 man, 2 woman: the ninth digit of the number (odd for men)."""
    return "1" if int(pnr[-2]) % 2 else "2"
