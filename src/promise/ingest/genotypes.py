"""Genotype batches (VCF, PLINK, BGEN) -> Hail MatrixTables keyed by ``person_id``.

VCF sample ids are personnummer: the header is read here in Python, the ids replaced by
pseudonyms, and Hail reads the data with that rewritten header (``header_file``), so Hail
and its logs never see a number. PLINK IIDs are biobank sample ids, linked to people
through ``raw.biobank`` (loaded earlier in the same run or before). BGEN (v1.2) ids come
from the file's sample identifier block, else from a sibling ``<stem>.sample``; they are
read here, taken as personnummer (pseudonymised like VCF ids) when most of them are valid
numbers and as biobank sample ids (linked like PLINK IIDs) otherwise. Hail reads the BGEN
with a ``.sample`` of pseudonyms written under ``.tmp`` (``sample_file``: Hail then never
reads the header's ids) and its index written there too. Each batch becomes
``genotypes/<batch>.mt`` (written under ``.tmp`` and renamed) plus one load folder
``raw/genotyped_samples/<load_id>/`` holding the samples, the rejected samples and the
manifest row, published last: the manifest decides what is loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

from promise.errors import PromiseError
from promise.ingest.jobs import Job
from promise.ingest.lines import sha256_of
from promise.ingest.masking import MASK
from promise.ingest.results import LOADED, SKIPPED, FileResult, manifest_frame
from promise.ingest.rows import QUARANTINE_SCHEMA
from promise.ingest.writer import publish, remove_tree, write_frame
from promise.pnr import parse_column
from promise.pseudonym import Pseudonymizer
from promise.warehouse import connect, tmp_dir

CONTRACT_VERSION = "genotypes-1"
SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "_load_id": pl.Utf8(),
    "_source_file": pl.Utf8(),
    "_source_line": pl.Int64(),
    "person_id": pl.Utf8(),
    "sample_id": pl.Utf8(),
    "batch": pl.Utf8(),
    "birth_date": pl.Date(),
    "sex": pl.Utf8(),
}
RECODING = {str(i): f"chr{i}" for i in range(1, 23)} | {
    "X": "chrX",
    "Y": "chrY",
    "23": "chrX",
    "24": "chrY",
    "MT": "chrM",
    "26": "chrM",
}
# a value that could be a personnummer in some written form: never copied into a quarantine
# record, even when the batch's ids are taken as biobank sample ids
_NUMBER_LIKE = re.compile(r"[0-9]{6,8}[-+]?[0-9]{4}")


class GenotypeFileError(PromiseError):
    """A genotype file is malformed or its sample ids cannot be found."""


@dataclass(frozen=True)
class Batch:
    """One genotyping batch: its files, its name and the identity of its content."""

    kind: str  # "vcf" | "plink" | "bgen"
    path: Path
    label: str
    name: str
    sha256: str


def load_genotypes(
    files: list[tuple[Job, Path]],
    *,
    landing: Path,
    warehouse: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    known: set[str],
) -> list[FileResult]:
    """Load every genotype batch not yet in the manifest."""
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
        results.append(
            _load_batch(
                batch,
                job=job,
                warehouse=warehouse,
                pseudonymizer=pseudonymizer,
                reference_date=reference_date,
            )
        )
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


def _load_batch(
    batch: Batch, *, job: Job, warehouse: Path, pseudonymizer: Pseudonymizer, reference_date: date
) -> FileResult:
    from promise.gwas.session import init_hail

    started = datetime.now(UTC)
    load_id = batch.sha256[:16]
    staging = tmp_dir(warehouse) / load_id
    remove_tree(staging)
    staging.mkdir(parents=True)
    hl = init_hail(work_dir=warehouse)
    options = job.options or {}
    genome = str(options.get("reference_genome", "GRCh38"))
    if batch.kind == "vcf":
        samples, mt = _vcf(hl, batch, staging, pseudonymizer, reference_date, genome)
    elif batch.kind == "bgen":
        samples, mt = _bgen(hl, batch, warehouse, staging, pseudonymizer, reference_date, genome)
    else:
        samples, mt = _plink(hl, batch, warehouse, genome)
    kept = samples.filter(pl.col("_reason").is_null())
    mapping = dict(zip(kept["_raw_key"].to_list(), kept["person_id"].to_list(), strict=True))
    mt = mt.filter_cols(hl.literal(set(mapping)).contains(mt.s))
    mt = mt.key_cols_by(s=hl.literal(mapping)[mt.s])
    mt.write(str(staging / f"{batch.name}.mt"), overwrite=True)
    result = FileResult(
        source=job.source, file=batch.label, sha256=batch.sha256, status=LOADED, load_id=load_id
    )
    result.rows_in = samples.height
    result.rows_loaded = kept.height
    rejected = samples.filter(pl.col("_reason").is_not_null())
    result.rows_quarantined = rejected.height
    result.quarantined_by_reason = dict(sorted(rejected.group_by("_reason").len().rows()))
    folder = staging / "samples"
    folder.mkdir()
    write_frame(folder / "data.parquet", _sample_rows(kept, batch, load_id))
    write_frame(
        folder / "quarantine.parquet", _quarantine_rows(rejected, batch, load_id, job.source)
    )
    manifest = manifest_frame(
        result,
        contract_version=CONTRACT_VERSION,
        key_fingerprint=pseudonymizer.fingerprint,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    write_frame(folder / "manifest.parquet", manifest)
    target = Path(warehouse) / job.target / f"{batch.name}.mt"
    remove_tree(target)  # left by a load interrupted after its MatrixTable was published
    publish(staging / f"{batch.name}.mt", target)
    publish(
        folder,
        Path(warehouse) / str(options.get("samples_target", "raw/genotyped_samples")) / load_id,
    )
    return result


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith((".bgz", ".gz")):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _vcf(
    hl: Any,
    batch: Batch,
    staging: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    genome: str,
) -> tuple[pl.DataFrame, Any]:
    meta: list[str] = []
    columns: list[str] = []
    with _open_text(batch.path) as handle:
        for line in handle:
            if line.startswith("##"):
                meta.append(line)
            elif line.startswith("#CHROM"):
                columns = line.rstrip("\n").split("\t")
                break
    ids = pl.Series("id", columns[9:], dtype=pl.Utf8)
    samples = _personnummer_samples(ids, pseudonymizer, reference_date)
    header = staging / "header.vcf"
    header.write_text(
        "".join(meta) + "\t".join(columns[:9] + samples["_raw_key"].to_list()) + "\n",
        encoding="utf-8",
    )
    mt = hl.import_vcf(
        str(batch.path),
        header_file=str(header),
        reference_genome=genome,
        force_bgz=batch.path.name.endswith(".bgz"),
    )
    return samples, mt


def _plink(hl: Any, batch: Batch, warehouse: Path, genome: str) -> tuple[pl.DataFrame, Any]:
    lines = batch.path.with_suffix(".fam").read_text(encoding="utf-8").splitlines()
    iids = pl.Series("iid", [line.split()[1] for line in lines if line.strip()], dtype=pl.Utf8)
    samples = _linked_samples(iids, warehouse)
    stem = str(batch.path.with_suffix(""))
    mt = hl.import_plink(
        bed=stem + ".bed",
        bim=stem + ".bim",
        fam=stem + ".fam",
        reference_genome=genome,
        contig_recoding=RECODING,
    )
    return samples, mt


def _bgen(
    hl: Any,
    batch: Batch,
    warehouse: Path,
    staging: Path,
    pseudonymizer: Pseudonymizer,
    reference_date: date,
    genome: str,
) -> tuple[pl.DataFrame, Any]:
    """A BGEN v1.2 batch read with our own ``.sample`` file, so Hail never reads its ids."""
    ids = pl.Series("id", bgen_sample_ids(batch.path), dtype=pl.Utf8)
    valid = parse_column(ids, reference_date=reference_date)["valid"]
    if ids.len() and 2 * int(valid.sum()) > ids.len():  # most ids are personnummer
        samples = _personnummer_samples(ids, pseudonymizer, reference_date)
    else:
        rejected = pl.col("_reason").is_not_null()
        samples = _linked_samples(ids, warehouse).with_columns(
            # Hail sees pseudonyms only, one distinct key per column
            pl.when(rejected)
            .then(pl.format("_rejected_{}", pl.col("_index")))
            .otherwise(pl.col("person_id"))
            .alias("_raw_key"),
            # a rejected id that could be a personnummer is masked in the quarantine record
            pl.when(rejected & pl.col("sample_id").str.contains(_NUMBER_LIKE.pattern))
            .then(None)
            .otherwise(pl.col("sample_id"))
            .alias("sample_id"),
        )
    sample_file = staging / f"{batch.name}.sample"
    sample_file.write_text(
        "ID_1 ID_2 missing\n0 0 0\n" + "".join(f"{k} {k} 0\n" for k in samples["_raw_key"]),
        encoding="utf-8",
    )
    index = {str(batch.path): str(staging / f"{batch.name}.bgen.idx2")}
    hl.index_bgen(
        str(batch.path), index_file_map=index, reference_genome=genome, contig_recoding=RECODING
    )
    mt = hl.import_bgen(
        str(batch.path),
        entry_fields=["GT", "GP", "dosage"],
        sample_file=str(sample_file),
        index_file_map=index,
    )
    return samples, mt.select_entries("GT", "dosage")


def bgen_sample_ids(path: Path) -> list[str]:
    """The sample ids of a BGEN v1.2 file: its sample identifier block, else ``<stem>.sample``.

    Layout (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html), all integers
    little-endian unsigned: ``offset`` (4 bytes), then the header block ``L_H`` (4), ``M``
    variants (4), ``N`` samples (4), magic (4), free data (``L_H - 20``), ``flags`` (4; bit 31
    = sample ids present), then, if present, the sample identifier block ``L_SI`` (4), ``N``
    (4) and per sample a 2-byte length and the id.
    """
    with Path(path).open("rb") as handle:
        head = handle.read(24)
        if len(head) < 24:
            raise GenotypeFileError(f"{path.name} is too short to be a BGEN file.")
        offset, header_length, _, n_samples, magic = struct.unpack("<IIII4s", head[:20])
        if magic not in (b"bgen", b"\0\0\0\0") or header_length < 20 or header_length > offset:
            raise GenotypeFileError(f"{path.name} is not a BGEN file (bad header block).")
        handle.seek(header_length)  # flags: the last 4 bytes of the header block
        (flags,) = struct.unpack("<I", handle.read(4))
        if (flags >> 2) & 0xF != 2:
            raise GenotypeFileError(
                f"{path.name} is BGEN layout {(flags >> 2) & 0xF}: only BGEN v1.2 (layout 2) is read."
            )
        if flags >> 31:
            block = handle.read(8)
            length, n = struct.unpack("<II", block) if len(block) == 8 else (0, -1)
            if n != n_samples or length + header_length > offset:
                raise GenotypeFileError(
                    f"{path.name}: the sample identifier block does not match the header."
                )
            data = handle.read(length - 8)
            ids, at = [], 0
            try:
                for _ in range(n):
                    (size,) = struct.unpack_from("<H", data, at)
                    ids.append(data[at + 2 : at + 2 + size].decode("utf-8"))
                    at += 2 + size
            except (struct.error, UnicodeDecodeError):
                at = -1
            if at != len(data):  # never echo an id: it may be a personnummer
                raise GenotypeFileError(
                    f"{path.name}: the sample identifier block is malformed (lengths or encoding)."
                )
            return ids
    sample = Path(path).with_suffix(".sample")
    if not sample.is_file():
        raise GenotypeFileError(
            f"{path.name} has no sample identifier block: deliver {sample.name} beside it."
        )
    ids = read_sample_file(sample)
    if len(ids) != n_samples:
        raise GenotypeFileError(
            f"{sample.name} lists {len(ids)} samples but {path.name} holds {n_samples}."
        )
    return ids


def read_sample_file(path: Path) -> list[str]:
    """Ids of an Oxford ``.sample`` file: ``ID_2`` (the individual) when named, else the first column."""
    lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    if len(lines) < 2:
        raise GenotypeFileError(f"{path.name} lacks the two header lines of a .sample file.")
    column = lines[0].index("ID_2") if "ID_2" in lines[0] else 0
    return [fields[column] for fields in lines[2:] if fields]


def _personnummer_samples(
    ids: pl.Series, pseudonymizer: Pseudonymizer, reference_date: date
) -> pl.DataFrame:
    """Samples whose ids are personnummer: pseudonymised; the raw key is the pseudonym."""
    parsed = parse_column(ids, reference_date=reference_date)
    samples = pl.DataFrame(
        {
            "_index": pl.int_range(1, ids.len() + 1, dtype=pl.Int64, eager=True),
            "person_id": pseudonymizer.person_ids(parsed["normalized"]),
            "sample_id": pl.Series([None] * ids.len(), dtype=pl.Utf8),
            "birth_date": parsed["birth_date"],
            "sex": parsed["sex"],
            "_reason": parsed.select(
                pl.when(pl.col("valid")).then(None).otherwise(pl.lit("invalid_personnummer"))
            ).to_series(),
        }
    )
    return _flag_duplicates(samples).with_columns(
        pl.when(pl.col("_reason").is_null())
        .then(pl.col("person_id"))
        .otherwise(pl.format("_rejected_{}", pl.col("_index")))
        .alias("_raw_key")
    )


def _linked_samples(ids: pl.Series, warehouse: Path) -> pl.DataFrame:
    """Samples whose ids are biobank sample ids, linked through ``raw.biobank``."""
    frame = ids.rename("id").to_frame()
    samples = (
        frame.select(
            pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("_index"),
            pl.col("id").alias("_raw_key"),
        )
        .join(
            _biobank(warehouse),
            left_on="_raw_key",
            right_on="sample_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.col("_raw_key").alias("sample_id"),
            pl.when(pl.col("person_id").is_null()).then(pl.lit("unknown_sample")).alias("_reason"),
        )
    )
    return _flag_duplicates(samples)


def _biobank(warehouse: Path) -> pl.DataFrame:
    """sample_id -> person_id, birth_date, sex from the loaded biobank manifest."""
    con = connect(warehouse)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            ).fetchall()
        }
        if "biobank" not in tables:
            return pl.DataFrame(
                schema={
                    "sample_id": pl.Utf8,
                    "person_id": pl.Utf8,
                    "birth_date": pl.Date,
                    "sex": pl.Utf8,
                }
            )
        return con.sql(
            "SELECT DISTINCT ON (sample_id) sample_id, person_id, birth_date, sex FROM raw.biobank ORDER BY sample_id, _load_id"
        ).pl()
    finally:
        con.close()


def _flag_duplicates(samples: pl.DataFrame) -> pl.DataFrame:
    """A person genotyped twice in one batch keeps the first column."""
    dup = pl.col("person_id").is_not_null() & ~pl.col("person_id").is_first_distinct()
    return samples.with_columns(
        pl.when(pl.col("_reason").is_null() & dup)
        .then(pl.lit("duplicate_sample"))
        .otherwise(pl.col("_reason"))
        .alias("_reason")
    )


def _sample_rows(kept: pl.DataFrame, batch: Batch, load_id: str) -> pl.DataFrame:
    return kept.select(
        pl.lit(load_id).alias("_load_id"),
        pl.lit(batch.label).alias("_source_file"),
        pl.col("_index").alias("_source_line"),
        "person_id",
        "sample_id",
        pl.lit(batch.name).alias("batch"),
        "birth_date",
        "sex",
    ).cast(SAMPLE_SCHEMA)  # type: ignore[arg-type]


def _quarantine_rows(
    rejected: pl.DataFrame, batch: Batch, load_id: str, source: str
) -> pl.DataFrame:
    record = (
        pl.when(pl.col("sample_id").is_not_null())
        .then(pl.lit('{"sample_id": "') + pl.col("sample_id") + pl.lit('"}'))
        .otherwise(pl.lit('{"sample": "' + MASK + '"}'))
    )
    return rejected.select(
        pl.lit(load_id).alias("load_id"),
        pl.lit(source).alias("source"),
        pl.lit(batch.label).alias("file"),
        pl.col("_index").alias("line"),
        pl.lit("sample").alias("column"),
        pl.col("_reason").alias("reason"),
        pl.col("_reason").alias("detail"),
        record.alias("record"),
    ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]
