"""Genotype files looked at without Hail: do they exist, which samples do they hold, and
will Hail accept their variants' contigs and positions.

Everything here reads file headers, a .fam or a .bim, so that ``promise gwas`` refuses a
wrong path, a phenotype file that matches no genotyped sample or a .bim Hail would reject
in a second, before the ten seconds and gigabytes a Hail session costs (and a Java
traceback two hundred lines long).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import struct
import zipfile
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from promise.gwas.inputs import GenotypeInputError, GenotypeSource, contig_recoding, plink_recoding
from promise.gwas.phenofiles import FAM_COLUMNS, read_fields

PLINK_SUFFIXES = (".bed", ".bim", ".fam")
BIM_COLUMNS = ("chrom", "id", "cm", "pos", "a1", "a2")


def plink_prefix(given: str | Path) -> Path:
    """The PLINK prefix meant by ``--bfile``: ``x.bed`` (or .bim/.fam) means ``x``, as a
    user who tab-completed the file name meant."""
    path = Path(given)
    return path.with_suffix("") if path.suffix in PLINK_SUFFIXES else path


def checked_source(source: GenotypeSource) -> GenotypeSource:
    """``source`` with its PLINK prefix resolved, once every file it needs exists."""
    if source.kind == "bfile":
        prefix = plink_prefix(source.path)
        missing = [f"{prefix}{s}" for s in PLINK_SUFFIXES if not Path(f"{prefix}{s}").is_file()]
        if missing:
            raise GenotypeInputError(
                f"--bfile {source.path}: {', '.join(missing)} "
                f"{'does' if len(missing) == 1 else 'do'} not exist; give the prefix of a "
                ".bed/.bim/.fam set."
            )
        return replace(source, path=prefix)
    if source.kind == "warehouse" and not any((source.path / "genotypes").glob("*.mt")):
        raise GenotypeInputError(
            f"No genotype MatrixTables in {source.path / 'genotypes'}: run `promise ingest` first."
        )
    if source.kind in ("vcf", "bgen") and not source.path.is_file():
        raise GenotypeInputError(f"The {source.kind.upper()} file {source.path} does not exist.")
    if source.sample_file is not None and not source.sample_file.is_file():
        raise GenotypeInputError(f"The sample file {source.sample_file} does not exist.")
    return source


def sample_ids(source: GenotypeSource) -> list[str] | None:
    """The genotyped sample ids as Hail will key them, or None where they are not known
    without Hail (a BGEN without sample identifiers, the warehouse's MatrixTables)."""
    if source.kind == "bfile":
        fam = read_fields(Path(f"{source.path}.fam"), header=False, names=FAM_COLUMNS)
        return fam["IID"].to_list()
    if source.kind == "vcf":
        return _vcf_samples(source.path)
    if source.kind == "bgen":
        if source.sample_file is not None:
            lines = source.sample_file.read_text(encoding="utf-8").splitlines()[2:]
            return [line.split()[0] for line in lines if line.strip()]
        return _bgen_samples(source.path)
    return None


def _vcf_samples(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith((".gz", ".bgz")) else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#CHROM"):
                return line.rstrip("\n").split("\t")[9:]
            if not line.startswith("##"):
                break
    raise GenotypeInputError(f"{path} has no #CHROM header line: it is not a VCF file.")


def _bgen_samples(path: Path) -> list[str] | None:
    """Sample identifiers from a BGEN header's sample block (flag bit 31), else None."""
    with path.open("rb") as handle:
        offset, header_length, _, n_samples = struct.unpack("<4I", handle.read(16))
        handle.seek(4 + header_length - 4)
        (flags,) = struct.unpack("<I", handle.read(4))
        if not flags >> 31:
            return None
        handle.seek(4 + header_length + 8)  # the block's length and sample count
        ids = []
        for _ in range(n_samples):
            (size,) = struct.unpack("<H", handle.read(2))
            ids.append(handle.read(size).decode("utf-8"))
    return ids


#: the contigs (and lengths) of Hail's reference genomes, as in reference/grch3{7,8}.json
#: inside Hail 0.2.139's jar (tests/cli/test_gwas_fail_fast.py holds them to the installed
#: Hail's); shipped because reading them from the 300 MB jar takes a second
CONTIGS_FILE = "contigs.json.gz"


@cache
def reference_contigs(build: str) -> dict[str, int]:
    """Contig names and lengths of Hail's reference genome ``build``."""
    data = resources.files("promise.gwas").joinpath("data", CONTIGS_FILE).read_bytes()
    contigs: dict[str, int] = json.loads(gzip.decompress(data))[build]
    return contigs


def hail_contigs(build: str) -> dict[str, int] | None:
    """The same, read from the installed Hail's jar (None without Hail)."""
    spec = importlib.util.find_spec("hail")
    if spec is None or not spec.submodule_search_locations:
        return None
    jar = Path(spec.submodule_search_locations[0]) / "backend" / "hail-all-spark.jar"
    if not jar.is_file():
        return None
    with zipfile.ZipFile(jar) as archive:
        data = json.loads(archive.read(f"reference/{build.lower()}.json"))
    return {c["name"]: int(c["length"]) for c in data["contigs"]}


def read_bim(prefix: Path) -> pl.DataFrame:
    """The .bim as columns ``chrom id cm pos a1 a2`` (text; ``pos`` Int64), with the line
    number of each variant (``line``)."""
    bim = read_fields(Path(f"{prefix}.bim"), header=False, names=BIM_COLUMNS)
    try:
        pos = pl.col("pos").cast(pl.Int64)
        return bim.with_row_index("line", offset=1).with_columns(pos)
    except pl.exceptions.InvalidOperationError as exc:
        bad = bim.with_row_index("line", offset=1).filter(
            pl.col("pos").cast(pl.Int64, strict=False).is_null()
        )
        raise GenotypeInputError(
            f"Line {bad['line'][0]} of {prefix}.bim has the position {bad['pos'][0]!r}, "
            "which is not a whole number."
        ) from exc


def check_bim(prefix: Path, build: str) -> None:
    """Refuse a .bim whose first bad line Hail would reject: a position below 1 or past
    the end of its contig, or a contig the build does not have (after the recoding the
    import applies: PLINK's 23-26 and chr prefixes)."""
    lengths = reference_contigs(build)
    bim = read_bim(prefix)
    recoding = {**plink_recoding(build), **contig_recoding(build)}
    contig = pl.col("chrom").replace(recoding)
    known = pl.DataFrame({"_contig": list(lengths), "_length": list(lengths.values())})
    bim = bim.with_columns(_contig=contig).join(known, on="_contig", how="left")
    bad = (pl.col("pos") < 1) | pl.col("_length").is_null() | (pl.col("pos") > pl.col("_length"))
    first = bim.filter(bad).head(1)
    if first.is_empty():
        return
    row = first.row(0, named=True)
    line = f"Line {row['line']:,} of {prefix}.bim ({row['chrom']} {row['id']} {row['pos']})"
    if row["pos"] < 1:
        why = f"has position {row['pos']}, PLINK's mark of an unplaced variant, which Hail cannot import"
        fix = "remove unplaced variants first (plink2 --not-chr 0)"
    elif row.get("_length") is None:
        why = f"names the contig {row['chrom']!r}, which {build} does not have"
        fix = f"check --build, or drop that contig first (plink2 --not-chr {row['chrom']})"
    else:
        why = f"lies past the end of {row['_contig']} ({row['_length']:,} bp) in {build}"
        fix = "check --build"
    raise GenotypeInputError(f"{line} {why}: {fix}.")
