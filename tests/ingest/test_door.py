"""No personnummer past the door, on every path a delivery can carry one (issue 15).

One delivery plants Skatteverket test numbers in every identity-bearing place of every
format: a free-text register field written with a blank (``YYMMDD NNNC``, ``YYYYMMDD NNNC``);
a PLINK ``.fam`` whose FID, IID, PAT and MAT hold numbers; a VCF whose ``##SAMPLE`` and
``##PEDIGREE`` header lines and sample names hold numbers (one written with a blank); a BGEN
whose identifier block holds numbers; a BGEN whose ``.sample`` holds numbers in ID_1 and
ID_2. A second delivery fails in Hail after its header was read. The scanner then reads
every file under both warehouses and Hail's logs and temporary folder, every MatrixTable
through Hail, and everything the command printed: no written form of any planted number.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from promise.cli import main
from promise.ingest import run_ingest
from promise.ingest.masking import MASK
from promise.pseudonym import KEY_ENV, load_key
from promise.warehouse import connect

from .handmade import bad_check_digit, pick_numbers, short_form, write_lines
from .scanner import scan, written_forms
from .test_genotypes_bgen import _rewrite_ids

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
DELIVERY = date(2025, 12, 31)
GP = [[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.2, 0.8]]


def _pid(key_file: Path, normalized: str) -> str:
    """person_id computed here, independently of promise: HMAC-SHA256, 24 hex characters."""
    return hmac.new(load_key(key_file), normalized.encode(), "sha256").hexdigest()[:24]


def spaced(pnr: str, *, digits: int = 10) -> str:
    """``YYMMDD NNNC`` or ``YYYYMMDD NNNC``."""
    return f"{pnr[2:8]} {pnr[8:]}" if digits == 10 else f"{pnr[:8]} {pnr[8:]}"


def _vcf_text(
    ids: list[str], meta: tuple[str, ...] | list[str] = (), bad_line: bool = False
) -> str:
    head = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=chr1,length=248956422>",
        *meta,
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *ids]),
    ]
    calls = ["0/0", "0/1", "1/1", "0/1"]
    body = [
        f"chr1\t{10000 + 100 * k}\t.\tA\tG\t.\tPASS\t.\tGT\t"
        + "\t".join((calls[k % 4 :] + calls[: k % 4] + calls)[: len(ids)])
        for k in range(12)
    ]
    if bad_line:
        body[6] = body[6].replace("chr1\t10600", "chr1\tnot_a_position")
    return "\n".join(head + body) + "\n"


@dataclass(frozen=True)
class Door:
    """The planted delivery, its warehouse, and the failed one."""

    p: list[str]
    landing: Path
    warehouse: Path
    broken_warehouse: Path
    printed: str
    planted: set[str]


@pytest.fixture(scope="module")
def door(
    tmp_path_factory: pytest.TempPathFactory,
    reference_dir: Path,
    key_file: Path,
    hail_session: Any,
) -> Door:
    hl = hail_session
    root = tmp_path_factory.mktemp("door")
    p = pick_numbers(reference_dir, 30, start=25000)
    land = root / "land"
    write_lines(
        land / "biobank" / "biobank_samples_1.csv",
        ["SampleID,PersonNr,SamplingDate,SampleType"]
        + [f"S{i + 1},{p[i]},2015-03-0{i + 1},plasma" for i in range(4)],
        encoding="utf-8",
    )
    write_lines(
        land / "migration" / "rtb_migration_1.csv",
        [
            "PersonNr;PostTyp;Datum;Land",
            f"{p[4]};Inv;20010203;Norge",
            f"{p[5]};Inv;20010203;Norge {spaced(p[6])}",  # a number with a blank in free text
            f"{p[7]};Utv;20050101;ref {spaced(p[8], digits=12)}",
        ],
    )
    # genotypes made by Hail from sample ids S1..S4 (Hail never sees a number here)
    (root / "src.vcf").write_text(_vcf_text(["S1", "S2", "S3", "S4"]))
    src = hl.import_vcf(str(root / "src.vcf"), reference_genome="GRCh38")
    hl.export_plink(src, str(root / "fam1"), ind_id=src.s)
    gp = hl.or_missing(hl.is_defined(src.GT), hl.literal(GP)[src.GT.n_alt_alleles()])
    hl.export_bgen(src, str(root / "src"), gp=gp)
    geno = land / "genotypes"
    geno.mkdir(parents=True)
    for ext in ("bed", "bim"):
        (geno / f"fam1.{ext}").write_bytes((root / f"fam1.{ext}").read_bytes())
    bim = geno / "fam1.bim"
    bim.write_text(bim.read_text().replace("chr1\t", "1\t"))
    (geno / "fam1.fam").write_text(
        f"{p[9]} S1 {p[10]} {p[11]} 1 -9\n"  # FID, PAT, MAT are numbers
        "S2 S2 S1 0 2 -9\n"  # FID = IID, father = sample S1
        f"fam7 {p[12]} 0 0 1 -9\n"  # IID is a number
        f"{p[13][2:]} {short_form(p[14])} S1 S2 2 -9\n"  # FID and IID are numbers
    )
    (geno / "vcf1.vcf").write_text(
        _vcf_text(
            [p[15], spaced(p[16]), bad_check_digit(p[18])],
            meta=[
                f'##SAMPLE=<ID={p[15]},Description="first">',
                f"##SAMPLE=<ID={spaced(p[16])}>",
                f"##PEDIGREE=<Child={p[15]},Mother={p[17]}>",
            ],
        )
    )
    _rewrite_ids(
        root / "src.bgen",
        geno / "bgen1.bgen",
        [p[19], p[20], f"{p[21][:8]}-{p[21][8:]}", bad_check_digit(p[22])],
    )
    _rewrite_ids(root / "src.bgen", geno / "bgen2.bgen", None)
    (geno / "bgen2.sample").write_text(
        "ID_1 ID_2 missing\n0 0 0\n" f"{p[23]} S3 0\n{p[24]} S4 0\n{p[25]} {p[27]} 0\nF4 BB404 0\n"
    )
    warehouse = root / "warehouse"
    run_ingest(landing=land, warehouse=warehouse, key_file=key_file, reference_date=DELIVERY)

    broken = root / "broken"
    write_lines(
        broken / "migration" / "rtb_migration_2.csv",
        ["PersonNr;PostTyp;Datum;Land", f"{p[29]};Inv;20010203;Norge"],
    )
    (broken / "genotypes").mkdir()
    (broken / "genotypes" / "late.vcf").write_text(
        _vcf_text([p[28]], meta=[f"##SAMPLE=<ID={p[28]}>"], bad_line=True)
    )
    (broken / "delivery.yml").write_text("delivery_date: 2025-12-31\n")
    broken_warehouse = root / "broken_warehouse"
    printed = _cli_failure(broken, broken_warehouse, key_file)
    planted = {
        *p,
        spaced(p[6]),
        spaced(p[8], digits=12),
        spaced(p[16]),
        bad_check_digit(p[18]),
        bad_check_digit(p[22]),
    }
    return Door(p, land, warehouse, broken_warehouse, printed, planted)


def _cli_failure(landing: Path, warehouse: Path, key_file: Path) -> str:
    import contextlib
    import io
    import os

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get(KEY_ENV)
    rc = 0
    os.environ[KEY_ENV] = str(key_file)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["ingest", "--landing", str(landing), "--warehouse", str(warehouse)])
    except Exception as exc:  # an error the command did not turn into one sentence
        err.write(f"uncaught {type(exc).__name__}: {exc}\n")
    finally:
        if saved is None:
            os.environ.pop(KEY_ENV, None)
        else:
            os.environ[KEY_ENV] = saved
    return f"{out.getvalue()}{err.getvalue()}exit code {rc}\n"


def test_no_planted_number_anywhere(door: Door, session_dir: Path, hail_session: Any) -> None:
    forms = written_forms(door.planted)
    places = [door.warehouse, door.broken_warehouse, session_dir / "hail"]
    assert scan(places, forms, hl=hail_session, extra=(door.printed,)) == set()


def test_the_failed_load_says_one_sentence_and_leaves_nothing(door: Door) -> None:
    lines = [line for line in door.printed.splitlines() if line.strip()]
    assert lines[-1] != "exit code 0"
    lines = lines[:-1]
    assert len(lines) == 1 and lines[0].startswith("error:"), door.printed
    assert "late.vcf" in lines[0]
    wh = door.broken_warehouse
    assert not (wh / "raw").exists() and not (wh / "genotypes").exists()
    assert not (wh / ".tmp").exists()


def test_fam_identities_become_keys_of_ours(door: Door, key_file: Path, hail_session: Any) -> None:
    p = door.p
    mt = hail_session.read_matrix_table(str(door.warehouse / "genotypes" / "fam1.mt"))
    cols = {r.s: r for r in mt.cols().collect()}
    s1, s2 = _pid(key_file, p[0]), _pid(key_file, p[1])
    assert sorted(cols) == sorted([s1, s2])
    # S1: a family id that is a number becomes a keyed family pseudonym; its parents are no
    # samples of the batch, so they are unknown (0), never the numbers as written
    # (Hail reads a parent written 0 as missing)
    assert cols[s1].fam_id.startswith("family_")
    assert (cols[s1].pat_id, cols[s1].mat_id) == (None, None)
    # S2: FID = IID stays the sample's own key; its father S1 is the pseudonym of S1
    assert (cols[s2].fam_id, cols[s2].pat_id, cols[s2].mat_id) == (s2, s1, None)
    con = connect(door.warehouse)
    records = con.sql(
        "SELECT line, reason, record FROM quarantine WHERE file = 'genotypes/fam1.bed' ORDER BY line"
    ).fetchall()
    con.close()
    masked = '{"sample": "' + MASK + '"}'
    assert records == [(3, "unknown_sample", masked), (4, "unknown_sample", masked)]


def test_free_text_with_a_blank_separated_number_is_quarantined_masked(door: Door) -> None:
    con = connect(door.warehouse)
    rows = con.sql(
        "SELECT line, reason, record FROM quarantine WHERE source = 'migration' ORDER BY line"
    ).fetchall()
    loaded = con.sql("SELECT count(*) FROM raw.migration").fetchone()
    con.close()
    assert [(line, reason) for line, reason, _ in rows] == [
        (3, "personnummer_in_field"),
        (4, "personnummer_in_field"),
    ]
    assert all(MASK in record for _, _, record in rows)
    assert loaded == (1,)


def test_samples_link_through_a_biobank_staged_in_the_same_run(door: Door, key_file: Path) -> None:
    con = connect(door.warehouse)
    rows = con.sql(
        "SELECT batch, sample_id, person_id FROM raw.genotyped_samples ORDER BY batch, _source_line"
    ).pl()
    con.close()
    p = door.p
    got = {
        b: list(zip(g["sample_id"], g["person_id"], strict=True))
        for (b,), g in rows.group_by("batch")
    }
    assert got["bgen2"] == [("S3", _pid(key_file, p[2])), ("S4", _pid(key_file, p[3]))]
    assert got["vcf1"] == [(None, _pid(key_file, p[15]))]
    assert got["bgen1"] == [
        (None, _pid(key_file, p[19])),
        (None, _pid(key_file, p[20])),
        (None, _pid(key_file, p[21])),
    ]
    assert pl.Series(rows["person_id"]).str.contains("^[0-9a-f]{24}$").all()


def test_warehouse_files_are_group_readable_at_most(door: Door) -> None:
    """MatrixTables included: Hail's JVM writes them with its own umask; publishing fixes it."""
    found = [door.warehouse, *door.warehouse.rglob("*")]
    assert any(p.suffix == ".mt" for p in found)
    published = [door.warehouse / "raw", door.warehouse / "genotypes"]
    for path in found:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o027 == 0, f"{path} is {oct(mode)}"  # never group-writable or world-anything
        if any(path == top or path.is_relative_to(top) for top in published):
            assert mode == (0o750 if path.is_dir() else 0o640), f"{path} is {oct(mode)}"
    # (when this run started Hail, its logs and temporary files are under the warehouse too,
    # created private to the user: 0700/0600)
