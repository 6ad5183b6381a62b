"""Genotype batches: VCF ids (personnummer) and PLINK ids (sample ids) become person_id pseudonyms."""

from __future__ import annotations

import hmac
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from promise.ingest import run_ingest
from promise.pseudonym import load_key
from promise.warehouse import connect

from .handmade import bad_check_digit, pick_numbers, short_form, write_lines

pytestmark = pytest.mark.integration


def _pid(key_file: Path, normalized: str) -> str:
    return hmac.new(load_key(key_file), normalized.encode(), "sha256").hexdigest()[:24]


def _vcf(ids: list[str]) -> str:
    head = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=chr1,length=248956422>",
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *ids]),
    ]
    calls = ["0/0", "0/1", "1/1", "0/1", "0/0"][: len(ids)]
    body = [
        f"chr1\t{10000 + 100 * k}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls[k:] + calls[:k])
        for k in range(3)
    ]
    return "\n".join(head + body) + "\n"


def test_vcf_and_plink_batches(
    tmp_path: Path, key_file: Path, reference_dir: Path, hail_session: Any, session_dir: Path
) -> None:
    hl = hail_session
    p = pick_numbers(reference_dir, 8, start=30000)
    land, wh = tmp_path / "land", tmp_path / "wh"
    ids = [p[0], short_form(p[1]), f"{p[2][:8]}-{p[2][8:]}", bad_check_digit(p[3]), p[0][2:]]
    vcf = land / "genotypes" / "batch1.vcf"
    vcf.parent.mkdir(parents=True)
    vcf.write_text(_vcf(ids))
    write_lines(
        land / "biobank" / "biobank_samples_1.csv",
        [
            "SampleID,PersonNr,SamplingDate,SampleType",
            f"S1,{p[4]},2015-03-01,plasma",
            f"S2,{p[5]},2015-03-02,plasma",
        ],
        encoding="utf-8",
    )
    (tmp_path / "plink_src.vcf").write_text(
        _vcf(["S1", "S2", "S9"])
    )  # sample ids, so Hail never sees a number here
    plink_src = hl.import_vcf(str(tmp_path / "plink_src.vcf"), reference_genome="GRCh38")
    hl.export_plink(plink_src, str(tmp_path / "batch2"), ind_id=plink_src.s)
    for ext in ("bed", "bim", "fam"):
        (land / "genotypes" / f"batch2.{ext}").write_bytes(
            (tmp_path / f"batch2.{ext}").read_bytes()
        )
    bim = land / "genotypes" / "batch2.bim"
    bim.write_text(bim.read_text().replace("chr1\t", "1\t"))  # PLINK contigs are written 1..22

    results = {
        r.file: r
        for r in run_ingest(
            landing=land, warehouse=wh, key_file=key_file, reference_date=date(2025, 12, 31)
        )
    }
    v = results["genotypes/batch1.vcf"]
    assert (v.rows_in, v.rows_loaded, v.rows_quarantined) == (5, 3, 2)
    assert v.quarantined_by_reason == {"duplicate_sample": 1, "invalid_personnummer": 1}
    b = results["genotypes/batch2.bed"]
    assert (b.rows_in, b.rows_loaded) == (3, 2) and b.quarantined_by_reason == {"unknown_sample": 1}

    mt = hl.read_matrix_table(str(wh / "genotypes" / "batch1.mt"))
    assert mt.s.collect() == [_pid(key_file, p[0]), _pid(key_file, p[1]), _pid(key_file, p[2])]
    # sample 2 (p[1]) at the first variant was written 0/1
    assert mt.filter_cols(mt.s == _pid(key_file, p[1])).GT.collect()[0].n_alt_alleles() == 1
    mt2 = hl.read_matrix_table(str(wh / "genotypes" / "batch2.mt"))
    assert mt2.s.collect() == [_pid(key_file, p[4]), _pid(key_file, p[5])]
    assert mt2.count_rows() == 3
    # the same batches as PLINK file sets for the fast engine: person keys only in the .fam
    for batch, m in (("batch1", mt), ("batch2", mt2)):
        folder = wh / "genotypes" / f"{batch}.plink"
        fam = (folder / f"{batch}.fam").read_text().split("\n")[:-1]
        keys = m.s.collect()
        assert fam == [f"{k}\t{k}\t0\t0\t0\tNA" for k in keys]
        bim = (folder / f"{batch}.bim").read_text().splitlines()
        assert len(bim) == m.count_rows() and bim[0].startswith("chr1\t")
        assert {oct(f.stat().st_mode & 0o777) for f in folder.iterdir()} == {"0o640"}
    first = (wh / "genotypes" / "batch1.plink" / "batch1.bed").read_bytes()
    assert first[:3] == bytes([0x6C, 0x1B, 0x01])
    assert (first[3] >> 2) & 3 == 0b10  # sample 2 at the first variant: heterozygous

    con = connect(wh)
    rows = con.sql(
        "SELECT batch, sample_id, person_id FROM raw.genotyped_samples ORDER BY batch, _source_line"
    ).fetchall()
    assert rows == [
        ("batch1", None, _pid(key_file, p[0])),
        ("batch1", None, _pid(key_file, p[1])),
        ("batch1", None, _pid(key_file, p[2])),
        ("batch2", "S1", _pid(key_file, p[4])),
        ("batch2", "S2", _pid(key_file, p[5])),
    ]
    again = run_ingest(
        landing=land, warehouse=wh, key_file=key_file, reference_date=date(2025, 12, 31)
    )
    assert {r.status for r in again} == {"skipped"}

    forms = {f for n in p[:6] for f in (n, n[2:], short_form(n), f"{n[:8]}-{n[8:]}")}
    scanned = [*wh.rglob("*"), *(session_dir / "hail").rglob("*")]
    for path in (f for f in scanned if f.is_file()):
        data = path.read_bytes()
        leaked = [f for f in forms if f.encode() in data]
        assert not leaked, f"personnummer in {path}"


@pytest.mark.parametrize(
    ("genome", "contig"), [("GRCh37", "1"), ("GRCh38", "chr1"), ("GRCh38", "1")]
)
def test_contig_names_of_either_build_load(
    tmp_path: Path,
    key_file: Path,
    reference_dir: Path,
    hail_session: Any,
    genome: str,
    contig: str,
) -> None:
    """A GRCh37 delivery names contigs ``1``..``22``, a GRCh38 one ``chr1``.. (or, from PLINK
    tools, ``1``..): with the genotypes job's ``reference_genome``, a VCF and a PLINK batch of
    each load, their contigs in the build's own names (GRCh37 ``1``, GRCh38 ``chr1``)."""
    hl = hail_session
    p = pick_numbers(reference_dir, 4, start=31000)
    land, wh, jobs = tmp_path / "land", tmp_path / "wh", tmp_path / "config" / "ingest"
    jobs.mkdir(parents=True)
    repo = Path(__file__).resolve().parents[2]
    (jobs.parent / "data-contracts").symlink_to(repo / "data-contracts")  # beside the jobs
    for job in (repo / "ingest").glob("*.yml"):
        text = job.read_text()
        if job.name == "genotypes.yml":
            text = text.replace("reference_genome: GRCh38", f"reference_genome: {genome}")
        (jobs / job.name).write_text(text)
    vcf = land / "genotypes" / "batch1.vcf"
    vcf.parent.mkdir(parents=True)
    vcf.write_text(_vcf(p[:2]).replace("chr1", contig))
    write_lines(
        land / "biobank" / "biobank_samples_1.csv",
        ["SampleID,PersonNr,SamplingDate,SampleType", f"S1,{p[2]},2015-03-01,plasma",
         f"S2,{p[3]},2015-03-02,plasma"],
        encoding="utf-8",
    )  # fmt: skip
    (tmp_path / "src.vcf").write_text(_vcf(["S1", "S2"]))
    src = hl.import_vcf(str(tmp_path / "src.vcf"), reference_genome="GRCh38")
    hl.export_plink(src, str(tmp_path / "batch2"), ind_id=src.s)
    for ext in ("bed", "bim", "fam"):
        (land / "genotypes" / f"batch2.{ext}").write_bytes(
            (tmp_path / f"batch2.{ext}").read_bytes()
        )
    bim = land / "genotypes" / "batch2.bim"
    bim.write_text(bim.read_text().replace("chr1\t", f"{contig}\t"))

    results = run_ingest(
        landing=land, warehouse=wh, key_file=key_file, jobs_dir=jobs,
        reference_date=date(2025, 12, 31),
    )  # fmt: skip
    loaded = {r.file: r.rows_loaded for r in results if r.file.startswith("genotypes/")}
    assert loaded == {"genotypes/batch1.vcf": 2, "genotypes/batch2.bed": 2}
    expected = "1" if genome == "GRCh37" else "chr1"
    for batch in ("batch1", "batch2"):
        mt = hl.read_matrix_table(str(wh / "genotypes" / f"{batch}.mt"))
        assert mt.locus.dtype.reference_genome.name == genome
        assert set(mt.locus.contig.collect()) == {expected}
        first = (wh / "genotypes" / f"{batch}.plink" / f"{batch}.bim").read_text().split("\t")[0]
        assert first == expected


@pytest.mark.reliability
def test_a_batch_none_of_whose_samples_is_known_is_refused_until_its_biobank_file_comes(
    tmp_path: Path, key_file: Path, reference_dir: Path, hail_session: Any, session_dir: Path
) -> None:
    """An operator delivers a PLINK batch (biobank sample ids) before the biobank file that
    links them: no sample can be accepted. Loading it empty would put its sha256 in the
    manifest, and the next delivery of the same file would be skipped for ever; it used to
    end in Hail's ``cannot impute array elements``. It is refused in one sentence that says
    why and what to do, nothing is published, and once the biobank file comes the same
    files load."""
    from promise.genotypes.errors import GenotypeFileError

    hl = hail_session
    p = pick_numbers(reference_dir, 2, start=31000)
    land, wh = tmp_path / "land", tmp_path / "wh"
    (tmp_path / "src.vcf").write_text(_vcf(["S1", "S2"]))
    src = hl.import_vcf(str(tmp_path / "src.vcf"), reference_genome="GRCh38")
    hl.export_plink(src, str(tmp_path / "batch3"), ind_id=src.s)
    (land / "genotypes").mkdir(parents=True)
    for ext in ("bed", "bim", "fam"):
        (land / "genotypes" / f"batch3.{ext}").write_bytes(
            (tmp_path / f"batch3.{ext}").read_bytes()
        )

    with pytest.raises(GenotypeFileError) as refused:
        run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=date(2025, 12, 31))
    message = str(refused.value)
    assert message.startswith(
        "No sample of genotypes/batch3.bed can be accepted (2 unknown_sample)"
    )
    assert "biobank" in message and message.endswith("run again.") and "\n" not in message
    assert not (wh / "genotypes" / "batch3.mt").exists()
    assert not (wh / "genotypes" / "batch3.plink").exists()

    write_lines(
        land / "biobank" / "biobank_samples_1.csv",
        ["SampleID,PersonNr,SamplingDate,SampleType",
         f"S1,{p[0]},2015-03-01,plasma", f"S2,{p[1]},2015-03-02,plasma"],
        encoding="utf-8",
    )  # fmt: skip
    results = {
        r.file: r
        for r in run_ingest(
            landing=land, warehouse=wh, key_file=key_file, reference_date=date(2025, 12, 31)
        )
    }
    b = results["genotypes/batch3.bed"]
    assert b.status == "loaded" and (b.rows_in, b.rows_loaded) == (2, 2)
    mt = hl.read_matrix_table(str(wh / "genotypes" / "batch3.mt"))
    assert mt.s.collect() == [_pid(key_file, p[0]), _pid(key_file, p[1])]


def test_a_multiallelic_ds_vcf_batch_is_read_per_alt_by_both_engines(
    tmp_path: Path, key_file: Path, reference_dir: Path, hail_session: Any
) -> None:
    """A VCF batch of dosages (GT:DS, DS Number=A) with a multi-allelic site, written by hand
    with the dosages each engine must read (the rules of promise.genotypes.vcf: DS per ALT,
    the GT's copies of that ALT where DS is missing): the fast engine reads ingestion's
    dosage copy, Hail the MatrixTable, and both give, per variant and person,

    - chr1:10000 A>G  0.1, 0.9, 1.7 (DS as delivered)
    - chr1:10100 A>G  0.8, 0.9, 0.2
    - chr1:10100 A>T  0.1, 1.0, 0   (p2's DS for T is missing, "0.2,.": 0/0 holds no T)
    - chr1:10200 C>T  1, 1.95, missing (p0: DS missing, GT 0/1; p2: nothing called)."""
    import numpy as np

    from promise.gwas.engines.dosagesource import open_dosages
    from promise.gwas.inputs import GenotypeSource, load_genotypes

    hl = hail_session
    p = pick_numbers(reference_dir, 3, start=32000)
    land, wh = tmp_path / "land", tmp_path / "wh"
    head = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">',
        "##contig=<ID=chr1,length=248956422>",
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *p]),
    ]
    body = [
        "chr1\t10000\t.\tA\tG\t.\tPASS\t.\tGT:DS\t0/0:0.1\t0/1:0.9\t1/1:1.7",
        "chr1\t10100\t.\tA\tG,T\t.\tPASS\t.\tGT:DS\t0/1:0.8,0.1\t1/2:0.9,1\t0/0:0.2,.",
        "chr1\t10200\t.\tC\tT\t.\tPASS\t.\tGT:DS\t0/1:.\t1/1:1.95\t./.:.",
    ]
    vcf = land / "genotypes" / "imputed4.vcf"
    vcf.parent.mkdir(parents=True)
    vcf.write_text("\n".join(head + body) + "\n")
    run_ingest(landing=land, warehouse=wh, key_file=key_file, reference_date=date(2025, 12, 31))
    expected = np.array([[0.1, 0.9, 1.7], [0.8, 0.9, 0.2], [0.1, 1.0, 0.0], [1.0, 1.95, np.nan]])
    keys = [_pid(key_file, n) for n in p]

    source = GenotypeSource(kind="warehouse", path=wh)
    fast = open_dosages(source)
    assert fast.samples == keys
    assert fast.bim.select("pos", "a2", "a1").rows() == [
        (10000, "A", "G"), (10100, "A", "G"), (10100, "A", "T"), (10200, "C", "T")
    ]  # fmt: skip
    got = np.concatenate([b for _, b in fast.blocks(2)], axis=0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)  # float32 reading

    mt = load_genotypes(hl, source, work_dir=tmp_path / "gwas")
    assert mt.s.collect() == keys
    rows = mt.select_entries("dosage").localize_entries("e").e.collect()
    hail = np.array([[np.nan if x.dosage is None else x.dosage for x in row] for row in rows])
    np.testing.assert_allclose(hail, expected, rtol=0, atol=1e-12)
