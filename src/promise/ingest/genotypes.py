"""Genotype batches (VCF, PLINK, BGEN) -> Hail MatrixTables keyed by ``person_id``.

Hail never reads an identity as delivered. The identity-bearing parts of each format are read
here in Python (:mod:`promise.ingest.genotype_files`), judged (:mod:`promise.ingest.samples`)
and written again, privately under the load's temporary folder, with keys of ours: a VCF
header (sample names and every masked ``##`` line, ``##SAMPLE`` included), a PLINK ``.fam``
(FID, IID, PAT, MAT), a BGEN ``.sample``; Hail reads the data with those. VCF ids are
personnummer; PLINK IIDs are biobank sample ids, linked through ``raw.biobank`` (loaded
before, or staged earlier in the same run); BGEN ids (its identifier block, else the sibling
``.sample``) are taken as personnummer when most of them are valid numbers and as biobank
sample ids otherwise.

Each batch becomes ``genotypes/<batch>.mt``, the same genotypes as a PLINK 1 file set
``genotypes/<batch>.plink/<batch>.bed/.bim/.fam`` (hard calls, the alternate allele as A1,
FID and IID the same pseudonymous person keys as the MatrixTable's columns, nothing else in
the .fam: what ``promise gwas``'s in-process engine reads without a JVM), for a batch
delivered as dosages (BGEN, VCF with DS) a dosage copy ``genotypes/<batch>.dosage/`` keyed the
same way (what that engine reads the dosages from, :func:`_write_dosages`), plus one load folder
``raw/genotyped_samples/<load_id>/`` (samples, rejected samples, manifest row), both staged
and published with the rest of the delivery, the manifest last. A batch whose name (file
stem) an earlier load already holds is loaded as ``<stem>-<load_id[:8]>``: a batch is never
replaced in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from promise.errors import PromiseError
from promise.genotypes.contigs import recoding
from promise.gwas.bedset import DOSAGE_FOLDER, PLINK_FOLDER
from promise.gwas.inputs import biallelic, ds_entries
from promise.ingest.diskwatch import DiskFilled, DiskWatch
from promise.ingest.genotype_files import (
    GenotypeFileError,
    bgen_sample_ids,
    is_bgzf,
    is_gzip,
    read_fam,
    read_sample_file,
    read_vcf_header,
    recompress_bgzf,
    write_fam,
    write_sample_file,
    write_vcf_header,
)
from promise.ingest.jobs import Job
from promise.ingest.lines import sha256_of
from promise.ingest.masking import mask_text
from promise.ingest.results import LOADED, SKIPPED, FileResult, manifest_frame
from promise.ingest.samples import (
    biobank_links,
    family_keys,
    linked_samples,
    parent_keys,
    personnummer_samples,
    phenotype_value,
    quarantine_rows,
    sample_rows,
)
from promise.ingest.writer import PendingLoads, private_dir, remove_tree, write_frame
from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer
from promise.warehouse import raw_dir, tmp_dir

__all__ = ["GenotypeFileError", "bgen_sample_ids", "load_genotypes", "read_sample_file"]

CONTRACT_VERSION = "genotypes-1"
SAMPLES_TARGET = "raw/genotyped_samples"


@dataclass(frozen=True)
class Batch:
    """One genotyping batch: its files, its name and the identity of its content."""

    kind: str  # "vcf" | "plink" | "bgen"
    path: Path
    label: str
    name: str
    sha256: str


@dataclass(frozen=True)
class Context:
    """What every batch of one run needs."""

    job: Job
    warehouse: Path
    pseudonymizer: Pseudonymizer
    reference_date: date
    pending: PendingLoads

    @property
    def samples_target(self) -> Path:
        """Where the batches' sample loads are published."""
        options = self.job.options or {}
        return self.warehouse / str(options.get("samples_target", SAMPLES_TARGET))


def load_genotypes(
    files: list[tuple[Job, Path]],
    *,
    landing: Path,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    known: set[str],
    pending: PendingLoads,
) -> list[FileResult]:
    """Write every genotype batch not yet in the manifest, staged in ``pending``."""
    results = []
    for job, path in files:
        batch = _batch(path, landing)
        if batch.sha256 in known:
            results.append(
                FileResult(
                    source=job.source,
                    file=batch.label,
                    sha256=batch.sha256,
                    status=SKIPPED,
                    note="already in the manifest (same sha256)",
                )
            )
            continue
        context = Context(job, Path(warehouse), pseudonymizer, reference_date, pending)
        with DiskWatch(Path(warehouse), what=f"the genotype load of {batch.label}"):
            results.append(_load_batch(batch, context))
        known.add(batch.sha256)
    return results


def _batch(path: Path, landing: Path) -> Batch:
    label = path.relative_to(landing).as_posix()
    name = path.name
    for suffix in (".vcf.bgz", ".vcf.gz", ".vcf", ".bed", ".bgen"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if path.suffix == ".bed":
        digest = hashlib.sha256()
        for ext in (".bed", ".bim", ".fam"):
            digest.update(sha256_of(path.with_suffix(ext)).encode())
        return Batch("plink", path, label, name, digest.hexdigest())
    if path.suffix == ".bgen":
        sample = path.with_suffix(".sample")
        if not sample.is_file():
            return Batch("bgen", path, label, name, sha256_of(path))
        digest = hashlib.sha256()
        for part in (path, sample):
            digest.update(sha256_of(part).encode())
        return Batch("bgen", path, label, name, digest.hexdigest())
    return Batch("vcf", path, label, name, sha256_of(path))


def taken_batch_names(context: Context) -> set[str]:
    """Batch names that published loads, or loads staged earlier in this run, hold."""
    folders = [*context.samples_target.glob("*"), *context.pending.staged(context.samples_target)]
    names: set[str] = set()
    for folder in folders:
        data = folder / "data.parquet"
        if data.is_file():
            names.update(pl.read_parquet(data, columns=["batch"])["batch"].unique().to_list())
    names.update(
        final.name.removesuffix(".mt")
        for final in context.pending.finals()
        if final.parent == context.warehouse / context.job.target
    )
    return names


def _load_batch(batch: Batch, context: Context) -> FileResult:
    from promise.gwas.session import init_hail

    started = datetime.now(UTC)
    load_id = batch.sha256[:16]
    result = FileResult(
        source=context.job.source,
        file=batch.label,
        sha256=batch.sha256,
        status=LOADED,
        load_id=load_id,
    )
    name = batch.name
    target = context.warehouse / context.job.target
    if name in taken_batch_names(context):
        name = f"{batch.name}-{load_id[:8]}"
        result.warnings.append(
            f"an earlier load holds batch {batch.name}; this one is loaded as batch {name} "
            "(a batch is never replaced)"
        )
    else:  # a MatrixTable no published load names: left by a run killed while publishing
        remove_tree(target / f"{name}.mt")
        remove_tree(target / f"{name}{PLINK_FOLDER}")
        remove_tree(target / f"{name}{DOSAGE_FOLDER}")
    staging = private_dir(tmp_dir(context.warehouse) / load_id)
    hl = init_hail(work_dir=context.warehouse)
    try:
        samples = _write_matrix_table(hl, batch, staging, context, staging / f"{name}.mt")
    except (PromiseError, OSError, DiskFilled):
        raise
    except Exception as exc:  # Hail's own errors (FatalError, HailUserError, Py4J errors)
        first = mask_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "")[:200]
        raise GenotypeFileError(
            f"Hail could not read {batch.label} ({type(exc).__name__}: {first}); nothing of the "
            "delivery was published: check the file (hail.log has the details) and run again."
        ) from exc
    kept = samples.filter(pl.col("_reason").is_null())
    result.rows_in = samples.height
    result.rows_loaded = kept.height
    rejected = samples.filter(pl.col("_reason").is_not_null())
    result.rows_quarantined = rejected.height
    result.quarantined_by_reason = dict(sorted(rejected.group_by("_reason").len().rows()))
    folder = staging / "samples"
    folder.mkdir()
    write_frame(folder / "data.parquet", sample_rows(kept, batch.label, name, load_id))
    write_frame(
        folder / "quarantine.parquet",
        quarantine_rows(rejected, batch.label, load_id, context.job.source),
    )
    manifest = manifest_frame(
        result,
        contract_version=CONTRACT_VERSION,
        key_fingerprint=context.pseudonymizer.fingerprint,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    write_frame(folder / "manifest.parquet", manifest)
    context.pending.add(staging / f"{name}.mt", target / f"{name}.mt")
    for copy in (f"{name}{PLINK_FOLDER}", f"{name}{DOSAGE_FOLDER}"):
        if (staging / copy).exists():
            context.pending.add(staging / copy, target / copy)
    context.pending.add(folder, context.samples_target / load_id)
    return result


def _write_matrix_table(
    hl: Any, batch: Batch, staging: Path, context: Context, target: Path
) -> pl.DataFrame:
    """Read a batch with keys of ours, keep its accepted samples, write it to ``target``."""
    genome = str((context.job.options or {}).get("reference_genome", "GRCh38"))
    if batch.kind == "vcf":
        samples, mt = _vcf(hl, batch, staging, context, genome)
    elif batch.kind == "bgen":
        samples, mt = _bgen(hl, batch, staging, context, genome)
    else:
        samples, mt = _plink(hl, batch, staging, context, genome)
    kept = samples.filter(pl.col("_reason").is_null())
    if kept.is_empty():
        raise GenotypeFileError(_none_accepted(batch.label, samples))
    mt = mt.filter_cols(hl.literal(set(kept["_key"].to_list())).contains(mt.s))
    mt.write(str(target), overwrite=True)
    written = hl.read_matrix_table(str(target))
    _write_plink(hl, written, staging / f"{target.stem}{PLINK_FOLDER}")
    _write_dosages(hl, written, staging / f"{target.stem}{DOSAGE_FOLDER}")
    return samples


def _none_accepted(label: str, samples: pl.DataFrame) -> str:
    """Why a batch none of whose samples can be accepted is not loaded, in one sentence (a
    batch loaded empty would be in the manifest, so its next delivery would be skipped)."""
    counts = sorted(samples.group_by("_reason").len().rows())
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in counts) or "it has no samples"
    hint = (
        "deliver the biobank file that links its sample ids (biobank/) first or with it"
        if any(reason == "unknown_sample" for reason, _ in counts)
        else "check its sample ids"
    )
    return (
        f"No sample of {label} can be accepted ({reasons}), so nothing of the delivery was "
        f"published: {hint}, and run again."
    )


def _write_plink(hl: Any, mt: Any, folder: Path) -> None:
    """The batch as a PLINK 1 file set ``folder/<batch>.bed/.bim/.fam``: hard calls (a
    BGEN batch's dosages are rounded to Hail's most likely genotype), multi-allelic sites
    split, the alternate allele as A1; the .fam holds the person key as FID and IID and
    nothing else (no sex, no parents, no phenotype)."""
    folder.mkdir(mode=0o700)
    if mt.aggregate_rows(hl.agg.count_where(hl.len(mt.alleles) > 2)):
        mt = hl.split_multi_hts(mt.select_entries("GT"))
    mt = mt.select_entries("GT")
    hl.export_plink(mt, str(folder / folder.stem.removesuffix(PLINK_FOLDER)),
                    fam_id=mt.s, ind_id=mt.s)  # fmt: skip


def _write_dosages(hl: Any, mt: Any, folder: Path) -> None:
    """A batch delivered as dosages (a BGEN's, a VCF's FORMAT DS) also as a dosage copy in
    ``folder``, what the in-process engine reads them from without a JVM: one ALT per row,
    the dosages Hail's GWAS path analyses (:func:`promise.gwas.inputs.biallelic`: a split
    site's DS per ALT, GT where DS is missing, a haploid call doubled), keyed by the person
    keys and named ``contig:position:ref:alt`` as the PLINK copy's variants. A BGEN batch
    gives ``<batch>.bgen`` and ``.sample`` (8 bits, as Hail read them: a dosage d written as
    the probabilities (1-d, d, 0) or (0, 2-d, d-1), which hold it exactly), a VCF batch
    ``<batch>.vcf.bgz`` with the dosage as its only FORMAT field, DS. Nothing is written
    for hard calls."""
    if "dosage" not in mt.entry and "DS" not in mt.entry:
        return
    folder.mkdir(mode=0o700)
    stem = str(folder / folder.name.removesuffix(DOSAGE_FOLDER))
    ds = "DS" in mt.entry
    mt = biallelic(hl, ds_entries(hl, mt) if ds else mt.select_entries("GT", "dosage"))
    mt = mt.annotate_rows(rsid=hl.delimit([mt.locus.contig, hl.str(mt.locus.position),
                                           mt.alleles[0], mt.alleles[1]], ":"))  # fmt: skip
    if ds:
        hl.export_vcf(mt.select_entries(DS=mt.dosage), stem + ".vcf.bgz")
        return
    d = mt.dosage
    p2 = hl.max(d - 1, 0)
    gp = hl.or_missing(
        hl.is_defined(d), hl.array([1 - hl.min(d, 2 - d) - p2, hl.min(d, 2 - d), p2])
    )
    hl.export_bgen(mt, stem, gp=gp, varid=mt.rsid, rsid=mt.rsid)


def _vcf(
    hl: Any, batch: Batch, staging: Path, context: Context, genome: str
) -> tuple[pl.DataFrame, Any]:
    header = read_vcf_header(batch.path, batch.label)
    ids = pl.Series("id", header.samples, dtype=pl.Utf8)
    samples = personnummer_samples(ids, context.pseudonymizer, context.reference_date)
    header_file = write_vcf_header(staging / "header.vcf", header, samples["_key"].to_list())
    data, force_bgz = batch.path, batch.path.name.endswith(".bgz")
    if is_gzip(batch.path) and not is_bgzf(batch.path):  # plain gzip: Hail cannot split it
        data, force_bgz = recompress_bgzf(batch.path, staging / "data.vcf.bgz"), False
    elif is_gzip(batch.path) and not force_bgz:
        force_bgz = True  # BGZF under a .gz name
    mt = hl.import_vcf(
        str(data),
        header_file=str(header_file),
        reference_genome=genome,
        contig_recoding=recoding(genome),
        force_bgz=force_bgz,
        array_elements_required=False,  # "0.2,." of a Number=A field, as bcftools reads it
    )
    return samples, mt


def _plink(
    hl: Any, batch: Batch, staging: Path, context: Context, genome: str
) -> tuple[pl.DataFrame, Any]:
    rows = read_fam(batch.path.with_suffix(".fam"))
    iids = [r.iid for r in rows]
    links = biobank_links(context.warehouse, _staged_biobank(context))
    samples = linked_samples(pl.Series("iid", iids, dtype=pl.Utf8), links, context.reference_date)
    keys = samples["_key"].to_list()
    kept = samples.filter(pl.col("_reason").is_null())
    key_of = dict(zip(kept["sample_id"].to_list(), kept["_key"].to_list(), strict=True))
    fids = family_keys([r.fid for r in rows], iids, keys, context.pseudonymizer)
    pats = parent_keys([r.pat for r in rows], key_of)
    mats = parent_keys([r.mat for r in rows], key_of)
    fam = write_fam(
        staging / f"{batch.name}.fam",
        [
            type(r)(fid, key, pat, mat, r.sex, phenotype_value(r.pheno, context.reference_date))
            for r, fid, key, pat, mat in zip(rows, fids, keys, pats, mats, strict=True)
        ],
    )
    stem = str(batch.path.with_suffix(""))
    mt = hl.import_plink(
        bed=stem + ".bed",
        bim=stem + ".bim",
        fam=str(fam),
        reference_genome=genome,
        contig_recoding=recoding(genome),
    )
    return samples, mt


def _staged_biobank(context: Context) -> list[Path]:
    return context.pending.staged(raw_dir(context.warehouse) / "biobank")


def _bgen(
    hl: Any, batch: Batch, staging: Path, context: Context, genome: str
) -> tuple[pl.DataFrame, Any]:
    """A BGEN v1.2 batch read with our own ``.sample`` file, so Hail never reads its ids."""
    ids = pl.Series("id", bgen_sample_ids(batch.path), dtype=pl.Utf8)
    valid = parse_column(ids, reference_date=context.reference_date)["valid"]
    if ids.len() and 2 * int(valid.sum()) > ids.len():  # most ids are personnummer
        samples = personnummer_samples(ids, context.pseudonymizer, context.reference_date)
    else:
        links = biobank_links(context.warehouse, _staged_biobank(context))
        samples = linked_samples(ids, links, context.reference_date)
    sample_file = write_sample_file(staging / f"{batch.name}.sample", samples["_key"].to_list())
    index = {str(batch.path): str(staging / f"{batch.name}.bgen.idx2")}
    hl.index_bgen(
        str(batch.path),
        index_file_map=index,
        reference_genome=genome,
        contig_recoding=recoding(genome),
    )
    mt = hl.import_bgen(
        str(batch.path),
        entry_fields=["GT", "GP", "dosage"],
        sample_file=str(sample_file),
        index_file_map=index,
    )
    return samples, mt.select_entries("GT", "dosage")
