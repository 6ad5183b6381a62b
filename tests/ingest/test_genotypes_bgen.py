"""BGEN genotype batches: header ids (personnummer) and .sample ids (biobank sample ids).

The BGEN files are made from the small synthetic landing's VCF batch: Hail reads it with a
header of pseudonyms (computed here with Pseudonymizer) and writes BGEN with
``hl.export_bgen``; the sample identifier block is then rewritten here in Python with the
VCF's personnummer (or removed, the ids going to a .sample file), so Hail in these tests
never sees a number either.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from promise.gwas.inputs import GenotypeSource
from promise.gwas.inputs import load_genotypes as load_gwas_genotypes
from promise.ingest import run_ingest
from promise.ingest.genotypes import bgen_sample_ids
from promise.ingest.masking import MASK
from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer, load_key
from promise.warehouse import connect

from .handmade import bad_check_digit, warehouse_text
from .scanner import find_forms, written_forms

pytestmark = pytest.mark.integration
DELIVERY = date(2025, 12, 31)
SAMPLES = 200  # columns of the BGEN batches
VARIANTS = 300
CHECKED = 40  # variants whose calls are compared with the VCF's
OTHERS = 20  # persons of a VCF batch ingested beside a BGEN batch
# genotype probabilities written for 0, 1, 2 alternate alleles: the most likely genotype is
# the VCF's call, the expected count (the dosage) differs from it at homozygotes
GP = [[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.2, 0.8]]
DOSAGE = [0.1, 1.0, 1.8]


@dataclass(frozen=True)
class Source:
    """The BGEN written by Hail (pseudonym ids) and what it was made from."""

    bgen: Path  # ids = pseudonyms, to be rewritten before it lands
    mt: Any  # the VCF's first SAMPLES columns and VARIANTS rows, keyed by pseudonym
    numbers: list[str]  # the VCF's ids as written, column order
    normalized: list[str]  # the same as 12 digits
    pids: list[str]  # their pseudonyms, computed here
    rest: Any  # the next OTHERS columns (other persons), keyed by pseudonym
    rest_numbers: list[str]  # their ids as written


def _pseudonyms(key_file: Path, normalized: list[str]) -> list[str]:
    pseudo = Pseudonymizer(load_key(key_file))
    return [pseudo.person_id(n) for n in normalized]


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory,
    small_landing: tuple[Path, dict[str, Any]],
    key_file: Path,
    hail_session: Any,
) -> Source:
    hl = hail_session
    out = tmp_path_factory.mktemp("bgen_source")
    vcf = next((small_landing[0] / "genotypes").glob("*.vcf.bgz"))
    meta, columns = [], []
    with gzip.open(vcf, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("##"):
                meta.append(line)
            else:
                columns = line.rstrip("\n").split("\t")
                break
    numbers = columns[9:]
    parsed = parse_column(pl.Series(numbers), reference_date=DELIVERY)
    assert parsed["valid"].all()
    normalized = parsed["normalized"].to_list()
    pids = _pseudonyms(key_file, normalized)
    header = out / "header.vcf"
    header.write_text("".join(meta) + "\t".join(columns[:9] + pids) + "\n")
    mt = hl.import_vcf(str(vcf), header_file=str(header), reference_genome="GRCh38")
    mt = mt.head(VARIANTS).add_col_index()
    mt = mt.select_entries("GT").select_rows().checkpoint(str(out / "source.mt"))
    first = mt.filter_cols(mt.col_idx < SAMPLES).drop("col_idx")
    rest = mt.filter_cols((mt.col_idx >= SAMPLES) & (mt.col_idx < SAMPLES + OTHERS))
    rest = rest.drop("col_idx")
    gp = hl.or_missing(hl.is_defined(first.GT), hl.literal(GP)[first.GT.n_alt_alleles()])
    hl.export_bgen(first, str(out / "pseudo"), gp=gp)
    n = SAMPLES
    return Source(
        bgen=out / "pseudo.bgen",
        mt=first,
        numbers=numbers[:n],
        normalized=normalized[:n],
        pids=pids[:n],
        rest=rest,
        rest_numbers=numbers[n : n + OTHERS],
    )


def _rewrite_ids(src: Path, dst: Path, ids: list[str] | None) -> None:
    """Copy a BGEN file with its sample identifier block replaced by ``ids`` (None: no block)."""
    data = src.read_bytes()
    offset, header_length = struct.unpack_from("<II", data, 0)
    header = bytearray(data[4 : 4 + header_length])
    (flags,) = struct.unpack_from("<I", header, header_length - 4)
    if ids is None:
        block, flags = b"", flags & ~(1 << 31)
    else:
        body = b"".join(struct.pack("<H", len(i.encode())) + i.encode() for i in ids)
        block, flags = struct.pack("<II", 8 + len(body), len(ids)) + body, flags | (1 << 31)
    struct.pack_into("<I", header, header_length - 4, flags)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(
        struct.pack("<I", header_length + len(block)) + bytes(header) + block + data[4 + offset :]
    )


def _calls(hl: Any, mt: Any, loci: list[Any]) -> dict[tuple[str, int, str, str], Any]:
    """The non-missing calls at ``loci`` (a missing BGEN genotype is a missing entry)."""
    wanted = {f"{locus.contig}:{locus.position}" for locus in loci}
    mt = mt.filter_rows(hl.literal(wanted).contains(hl.str(mt.locus)))
    return {
        (e.locus.contig, e.locus.position, "/".join(e.alleles), e.s): e.GT
        for e in mt.entries().collect()
        if e.GT is not None
    }


def _manifest_row(warehouse: Path, file: str) -> dict[str, Any]:
    con = connect(warehouse)
    try:
        rows = con.sql("SELECT * FROM manifest WHERE file = ?", params=[file]).pl().to_dicts()
    finally:
        con.close()
    assert len(rows) == 1
    return rows[0]


def _assert_no_number(warehouse: Path, session_dir: Path, values: set[str]) -> None:
    forms = written_forms(values)
    text = "\n".join(warehouse_text(p) for p in (warehouse, session_dir / "hail") if p.is_dir())
    assert find_forms(text, forms) == set()


def _landing_files(landing: Path) -> dict[str, bytes | None]:
    """Every path under the landing folder, with the bytes of each file."""
    return {
        p.relative_to(landing).as_posix(): p.read_bytes() if p.is_file() else None
        for p in landing.rglob("*")
    }


def test_bgen_header_ids_are_personnummer(
    tmp_path: Path, source: Source, key_file: Path, hail_session: Any, session_dir: Path
) -> None:
    hl = hail_session
    land, wh = tmp_path / "land", tmp_path / "wh"
    ids = list(source.numbers)
    ids[0] = bad_check_digit(source.normalized[0])  # invalid_personnummer, masked
    n1 = source.normalized[1]
    ids[-1] = f"{n1[2:8]}-{n1[8:]}"  # the person of column 2 again: duplicate_sample
    bgen = land / "genotypes" / "imputed1.bgen"
    _rewrite_ids(source.bgen, bgen, ids)
    assert bgen_sample_ids(bgen) == ids
    # a VCF batch of other persons: ids = their personnummer (put in after Hail wrote it)
    hl.export_vcf(source.rest, str(tmp_path / "other.vcf"))
    lines = (tmp_path / "other.vcf").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    lines[at] = "\t".join(lines[at].split("\t")[:9] + source.rest_numbers) + "\n"
    (land / "genotypes" / "other.vcf").write_text("".join(lines))
    before = _landing_files(land)

    results = {
        r.file: r
        for r in run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    }
    r = results["genotypes/imputed1.bgen"]
    assert r.status == "loaded"
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (SAMPLES, SAMPLES - 2, 2)
    assert r.quarantined_by_reason == {"duplicate_sample": 1, "invalid_personnummer": 1}
    row = _manifest_row(wh, "genotypes/imputed1.bgen")
    assert (row["rows_in"], row["rows_loaded"], row["rows_quarantined"]) == (SAMPLES, 198, 2)
    assert row["rows_loaded"] + row["rows_quarantined"] == row["rows_in"]
    assert row["sha256"] == hashlib.sha256(bgen.read_bytes()).hexdigest()  # no .sample beside it
    assert _landing_files(land) == before  # nothing written next to the landing files

    mt = hl.read_matrix_table(str(wh / "genotypes" / "imputed1.mt"))
    expected = _pseudonyms(key_file, source.normalized)[1:-1]
    assert mt.s.collect() == expected
    assert mt.entry.dtype == hl.tstruct(GT=hl.tcall, dosage=hl.tfloat64)
    assert mt.count_rows() == VARIANTS
    loci = mt.locus.collect()[:: VARIANTS // CHECKED]
    got = _calls(hl, mt, loci)
    want = {k: v for k, v in _calls(hl, source.mt, loci).items() if k[3] in set(expected)}
    assert len(want) > 0.95 * len(loci) * len(expected)
    assert got == want
    off = hl.abs(mt.dosage - hl.literal(DOSAGE)[mt.GT.n_alt_alleles()])
    # the dosage is stored (8-bit probabilities: within 0.01 of what was written)
    called, close = mt.aggregate_entries(
        (hl.agg.count_where(hl.is_defined(mt.GT)), hl.agg.count_where(off < 0.01))
    )
    assert called == close > 0.95 * VARIANTS * len(expected)

    con = connect(wh)
    samples = con.sql(
        "SELECT person_id, sample_id FROM raw.genotyped_samples WHERE batch = 'imputed1' ORDER BY _source_line"
    ).fetchall()
    records = con.sql(
        "SELECT reason, line, record FROM quarantine WHERE file = 'genotypes/imputed1.bgen' ORDER BY line"
    ).fetchall()
    con.close()
    assert samples == [(p, None) for p in expected]
    assert [(reason, line) for reason, line, _ in records] == [
        ("invalid_personnummer", 1),
        ("duplicate_sample", SAMPLES),
    ]
    assert all(MASK in record for _, _, record in records)

    # warehouse-mode GWAS input: the BGEN batch keeps its dosages, the VCF batch gets allele counts
    union = load_gwas_genotypes(
        hl, GenotypeSource(kind="warehouse", path=wh), work_dir=tmp_path / "gwas"
    )
    assert union.entry.dtype == hl.tstruct(GT=hl.tcall, dosage=hl.tfloat64)
    assert list(union.row) == ["locus", "alleles"] and list(union.col) == ["s"]
    assert union.count() == (VARIANTS, SAMPLES - 2 + OTHERS)
    vcf_pids = set(source.rest.s.collect())
    stored = mt.select_entries(stored=mt.dosage)
    union = union.annotate_entries(stored=stored[union.row_key, union.col_key].stored)
    in_vcf = hl.literal(vcf_pids).contains(union.s)
    counted = hl.float64(union.GT.n_alt_alleles())
    expected_dosage = hl.if_else(in_vcf, counted, union.stored)
    called, right, soft = union.aggregate_entries(
        (
            hl.agg.count_where(hl.is_defined(union.GT)),
            hl.agg.count_where(union.dosage == expected_dosage),
            hl.agg.count_where(union.dosage != counted),
        )
    )
    assert called == right and soft > 0  # some BGEN dosages are not whole allele counts

    again = run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert {a.file: a.status for a in again} == {
        "genotypes/imputed1.bgen": "skipped",
        "genotypes/other.vcf": "skipped",
    }
    _assert_no_number(wh, session_dir, {*source.numbers, *ids, *source.rest_numbers})


def test_bgen_sample_file_ids_are_biobank_sample_ids(
    tmp_path: Path,
    source: Source,
    small_landing: tuple[Path, dict[str, Any]],
    key_file: Path,
    hail_session: Any,
    session_dir: Path,
) -> None:
    hl = hail_session
    land, wh = tmp_path / "land", tmp_path / "wh"
    shutil.copytree(small_landing[0] / "biobank", land / "biobank")
    first = run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert [r.status for r in first] == ["loaded"]
    con = connect(wh)
    link = con.sql(
        "SELECT person_id, min(sample_id) FROM raw.biobank GROUP BY person_id"
    ).fetchall()
    con.close()
    sample_of = dict(link)
    ids = [sample_of.get(p) for p in source.pids]
    assert all(ids)
    ids[0] = "BB99999999"  # in no biobank delivery: unknown_sample
    ids[1] = source.numbers[1]  # a personnummer among sample ids: unknown_sample, masked
    kept = [p for i, p in enumerate(source.pids) if i > 1]

    bgen = land / "genotypes" / "imputed2.bgen"
    _rewrite_ids(source.bgen, bgen, None)  # no sample identifier block: the ids are beside it
    sample = bgen.with_suffix(".sample")
    sample.write_text(
        "ID_1 ID_2 missing sex\n0 0 0 D\n" + "".join(f"F{i} {s} 0 NA\n" for i, s in enumerate(ids))
    )
    assert bgen_sample_ids(bgen) == ids
    before = _landing_files(land)

    results = {
        r.file: r
        for r in run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    }
    r = results["genotypes/imputed2.bgen"]
    assert r.status == "loaded"
    assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (SAMPLES, SAMPLES - 2, 2)
    assert r.quarantined_by_reason == {"unknown_sample": 2}
    row = _manifest_row(wh, "genotypes/imputed2.bgen")
    assert (row["rows_in"], row["rows_loaded"] + row["rows_quarantined"]) == (SAMPLES, SAMPLES)
    parts = [hashlib.sha256(p.read_bytes()).hexdigest().encode() for p in (bgen, sample)]
    assert row["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()  # .bgen and .sample
    assert _landing_files(land) == before

    mt = hl.read_matrix_table(str(wh / "genotypes" / "imputed2.mt"))
    assert mt.s.collect() == kept
    loci = mt.locus.collect()[:: VARIANTS // CHECKED]
    want = {k: v for k, v in _calls(hl, source.mt, loci).items() if k[3] in set(kept)}
    assert _calls(hl, mt, loci) == want

    con = connect(wh)
    samples = con.sql(
        "SELECT person_id, sample_id FROM raw.genotyped_samples WHERE batch = 'imputed2' ORDER BY _source_line"
    ).fetchall()
    records = con.sql(
        "SELECT line, record FROM quarantine WHERE file = 'genotypes/imputed2.bgen' ORDER BY line"
    ).fetchall()
    con.close()
    assert samples == [(p, sample_of[p]) for p in kept]
    assert records == [(1, '{"sample_id": "BB99999999"}'), (2, '{"sample": "' + MASK + '"}')]

    again = run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert {a.status for a in again} == {"skipped"}
    _assert_no_number(wh, session_dir, set(source.numbers))


# --- dosage copies: what the in-process engine reads a dosage batch from -------------------


def _land_dosage_batches(tmp_path: Path, source: Source, hl: Any) -> tuple[Path, Path]:
    """A landing folder with the BGEN batch (ids: personnummer in its sample block) and a
    VCF batch of other persons (hard calls, ids: personnummer); returns (landing, BGEN)."""
    land = tmp_path / "land"
    bgen = land / "genotypes" / "imputed1.bgen"
    _rewrite_ids(source.bgen, bgen, list(source.numbers))
    hl.export_vcf(source.rest, str(tmp_path / "other.vcf"))
    lines = (tmp_path / "other.vcf").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    lines[at] = "\t".join(lines[at].split("\t")[:9] + source.rest_numbers) + "\n"
    (land / "genotypes" / "other.vcf").write_text("".join(lines))
    return land, bgen


def _visible(folder: Path) -> list[str]:
    """The files of ``folder`` but Hadoop's hidden ``.crc`` checksums."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _entries(hl: Any, mt: Any, value: Any) -> Any:
    """``value`` of every entry of ``mt`` as variants x samples float64 (NaN missing),
    Hail's own reading of the batch."""
    rows = mt.select_entries(v=hl.float64(value)).localize_entries("e").e.collect()
    return np.array([[np.nan if x is None or x.v is None else x.v for x in row] for row in rows])


def _fast_run(wh: Path, pheno: Path, scratch: Path) -> Any:
    """The fast engine in warehouse mode on the warehouse's genotypes, ``pheno`` as trait."""
    from promise.gwas import traits as traitfiles
    from promise.gwas.engines.fastengine import FastEngine
    from promise.gwas.options import GwasOptions, PcaSettings
    from promise.gwas.pipeline import StepClock

    phenotypes = traitfiles.from_files(pheno=[pheno])
    scratch.mkdir(parents=True)
    options = GwasOptions(engine="fast", skip_qc=True, pca=PcaSettings(pcs=0), loco=False)
    return FastEngine().run(genotypes=GenotypeSource(kind="warehouse", path=wh),
                            phenotypes=phenotypes, options=options, scratch=scratch,
                            say=StepClock(lambda _m: None))  # fmt: skip


def _plink2_alt_counted(path: str) -> pd.DataFrame:
    """PLINK 2's ``--glm`` table with BETA of the ALT allele (PLINK 2 tests the minor allele
    as A1, REF where ALT is the commoner; promise counts ALT)."""
    theirs = pd.read_csv(path, sep="\t")
    theirs["BETA"] = np.where(theirs.A1 == theirs.ALT, theirs.BETA, -theirs.BETA)
    return theirs


def _against_plink2(
    tmp: Path, wh: Path, g: Any, keys: list[str], numbers: list[str], files: list[object]
) -> pd.DataFrame:
    """The fast engine's warehouse-mode association of :func:`_trait` (persons ``keys``,
    columns of ``g``) beside PLINK 2's on the delivered ``files`` (the same persons by
    personnummer ``numbers``), on the variants without missing dosages: PLINK 2 drops a
    sample whose dosage is missing, promise mean-imputes it (69 of the 300 have none)."""
    from gwas.dosagedata import run_plink2

    ours_pheno, their_pheno = tmp / "ours.txt", tmp / "theirs.txt"
    _trait(g, keys, ours_pheno)
    _trait(g, keys, their_pheno, keys=list(numbers))
    output = _fast_run(wh, ours_pheno, tmp / "scratch")
    assert "dosages" in output.label
    ours = output.summaries[0].frame.to_pandas()
    prefix = tmp / "plink2"
    run_plink2(*files, "--pheno", their_pheno, "--glm", "allow-no-covars",
               "cols=chrom,pos,ref,alt,a1count,nobs,beta,se,tz,p", "--out", prefix)  # fmt: skip
    theirs = _plink2_alt_counted(f"{prefix}.Y.glm.linear")
    merged = theirs.merge(ours, left_on="POS", right_on="base_pair_location")
    assert len(merged) == len(theirs) == VARIANTS and (merged.n == len(keys)).all()
    merged = merged[len(keys) == merged.OBS_CT]
    assert len(merged) >= 50
    return merged


def _trait(g: Any, ids: list[str], out: Path, keys: list[str] | None = None) -> Any:
    """A quantitative trait of the persons ``ids`` (columns of ``g``, variants x persons):
    0.8 x the dosage of variant 40 plus N(0, 1) noise; written to ``out`` keyed by ``keys``
    (None: ``ids``) as a PLINK 2 phenotype file."""
    rng = np.random.default_rng(3)
    d = np.nan_to_num(g[40], nan=float(np.nanmean(g[40])))
    y = 0.8 * d + rng.normal(0, 1, len(ids))
    rows = "".join(f"{k}\t{v:.6f}\n" for k, v in zip(keys or ids, y, strict=True))
    out.write_text("#IID\tY\n" + rows)
    return y


def test_a_bgen_batch_gets_a_dosage_copy_that_the_fast_engine_reads(
    tmp_path: Path, source: Source, key_file: Path, hail_session: Any, session_dir: Path
) -> None:
    """Ingestion writes the BGEN batch's dosages again, keyed by person keys
    (``imputed1.dosage/imputed1.bgen`` and ``.sample``), and nothing for the VCF batch of
    hard calls. In warehouse mode the fast engine reads the two batches side by side: the
    BGEN's persons have the dosages Hail read from the delivered file (the same 8-bit
    probabilities written back as 8 bits, to float32 reading) and the ones written into it (0.1, 1.0, 1.8 for
    the VCF's calls 0, 1, 2, within 8-bit rounding), the VCF's persons their allele counts.
    The association on the dosage batch equals ``plink2 --bgen`` on the delivered file
    (PLINK 2 keyed by the personnummer in it, promise by person keys); the old engine,
    reading the hard-call PLINK copy, gave betas about 1.3 times these (1.8 - 0.1 for two
    allele counts)."""
    from gwas.dosagedata import assert_close

    from promise.gwas.engines.dosagesource import holds_dosage_input, open_dosages
    from promise.gwas.engines.interface import choose_engine
    from promise.gwas.options import GwasOptions

    hl = hail_session
    land, bgen = _land_dosage_batches(tmp_path, source, hl)
    wh = tmp_path / "wh"
    run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    folder = wh / "genotypes"
    assert _visible(folder / "imputed1.dosage") == [
        "imputed1.bgen",
        "imputed1.sample",
    ]
    assert not (folder / "other.dosage").exists()
    warehouse = GenotypeSource(kind="warehouse", path=wh)
    assert holds_dosage_input(warehouse)
    # one machine: the fast engine; a Spark cluster: Hail (its kernels read hard calls)
    assert choose_engine(GwasOptions(), warehouse) == "fast"
    assert choose_engine(GwasOptions(), warehouse, spark_master="spark://x:7077") == "hail"

    dosages = open_dosages(warehouse)
    imputed = hl.read_matrix_table(str(folder / "imputed1.mt"))
    other = hl.read_matrix_table(str(folder / "other.mt"))
    assert dosages.samples == imputed.s.collect() + other.s.collect()
    assert dosages.n_variants == VARIANTS
    got = np.concatenate([b for _, b in dosages.blocks(64)], axis=0)
    n = len(imputed.s.collect())
    hail_dosage, calls = (
        _entries(hl, imputed, imputed.dosage),
        _entries(hl, imputed, imputed.GT.n_alt_alleles()),
    )
    # the same k/255 probabilities (the BGEN reader holds them as float32: 6.5e-8 here)
    np.testing.assert_allclose(got[:, :n], hail_dosage, rtol=0, atol=1e-6)
    written = np.where(np.isnan(calls), np.nan, np.array(DOSAGE)[np.nan_to_num(calls).astype(int)])
    assert np.nanmax(np.abs(got[:, :n] - written)) < 0.01  # 8-bit: steps of 1/255
    np.testing.assert_array_equal(got[:, n:], _entries(hl, other, other.GT.n_alt_alleles()))

    merged = _against_plink2(tmp_path, wh, hail_dosage, dosages.samples[:n], source.numbers,
                             ["--bgen", bgen, "ref-first"])  # fmt: skip
    # 8 bits: PLINK 2 holds the k/255 probabilities as dosages in 1/16384 units
    assert_close(merged.beta, merged.standard_error, merged.p_value,
                 merged.BETA, merged.SE, merged.P, rtol=1e-3)  # fmt: skip
    _assert_no_number(wh, session_dir, {*source.numbers, *source.rest_numbers})


def _ds_vcf(hl: Any, mt: Any, numbers: list[str], out: Path, scratch: Path) -> Path:
    """``mt`` (hard calls, keyed by pseudonym) as a delivered VCF of dosages: ids the
    personnummer ``numbers``, FORMAT ``GT:DS`` with DS the allele count plus N(0, 0.3)
    noise clipped to [0, 2] at three decimals, '.' where the call is missing (a reader then
    falls back to the GT, itself missing); the DS header line Number=A, as imputation
    servers write it."""
    plain = scratch / "hard-calls.vcf"
    hl.export_vcf(mt, str(plain))
    rng = np.random.default_rng(9)
    count = {"0/0": 0.0, "0/1": 1.0, "1/1": 2.0}
    lines = []
    for line in plain.read_text().splitlines():
        if line.startswith("##FORMAT=<ID=GT"):
            line += '\n##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">'
        elif line.startswith("#CHROM"):
            line = "\t".join(line.split("\t")[:9] + numbers)
        elif not line.startswith("#"):
            f = line.split("\t")
            cells = []
            for call in f[9:]:
                if call in count:
                    d = float(np.clip(count[call] + rng.normal(0, 0.3), 0, 2))
                    cells.append(f"{call}:{d:.3f}")
                else:
                    cells.append(f"{call}:.")
            line = "\t".join([*f[:8], "GT:DS", *cells])
        lines.append(line)
    out.write_text("\n".join(lines) + "\n")
    return out


def test_a_ds_vcf_batch_gets_a_dosage_copy_that_the_fast_engine_reads(
    tmp_path: Path, source: Source, key_file: Path, hail_session: Any, session_dir: Path
) -> None:
    """A VCF batch of imputed dosages (GT:DS, as imputation servers deliver): ingestion
    writes ``imputed3.dosage/imputed3.vcf.bgz`` (GT and DS as delivered, person keys); the
    fast engine in warehouse mode reads the DS values themselves (to float32 rounding,
    checked against the delivered text) and its association equals ``plink2 --vcf F
    dosage=DS`` on the delivered file, where the hard calls would not."""
    from gwas.dosagedata import assert_close

    from promise.gwas.engines.dosagesource import open_dosages

    hl = hail_session
    land = tmp_path / "land"
    (land / "genotypes").mkdir(parents=True)
    vcf = _ds_vcf(hl, source.mt, list(source.numbers), land / "genotypes" / "imputed3.vcf",
                  tmp_path)  # fmt: skip
    wh = tmp_path / "wh"
    run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=DELIVERY)
    assert _visible(wh / "genotypes" / "imputed3.dosage") == ["imputed3.vcf.bgz"]
    dosages = open_dosages(GenotypeSource(kind="warehouse", path=wh))
    assert len(dosages.samples) == SAMPLES and dosages.n_variants == VARIANTS
    got = np.concatenate([b for _, b in dosages.blocks(128)], axis=0)
    delivered = [line.split("\t")[9:] for line in vcf.read_text().splitlines()
                 if not line.startswith("#")]  # fmt: skip
    ds = np.array([[np.nan if c.endswith(":.") else float(c.split(":")[1]) for c in row]
                   for row in delivered])  # fmt: skip
    # as delivered, to float32 (htslib parses a VCF float as one): 6e-8 here
    np.testing.assert_allclose(got, ds, rtol=0, atol=1e-6)
    assert np.mean(np.abs(got - np.rint(got)) > 0.01) > 0.5  # dosages, not hard calls

    merged = _against_plink2(tmp_path, wh, ds, dosages.samples, source.numbers,
                             ["--vcf", vcf, "dosage=DS"])  # fmt: skip
    # PLINK 2 holds a three-decimal dosage in units of 1/16384 (up to 3e-5 off): measured
    # 1.1e-4 relative on p at 200 samples
    assert_close(merged.beta, merged.standard_error, merged.p_value,
                 merged.BETA, merged.SE, merged.P, rtol=3e-4)  # fmt: skip
    _assert_no_number(wh, session_dir, set(source.numbers))
