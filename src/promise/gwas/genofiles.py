"""Genotype files looked at without Hail: do they exist, which samples do they hold, and
will Hail accept their variants' contigs and positions.

Everything here reads file headers, a .fam or a .bim, so that ``promise gwas`` refuses a
wrong path, a phenotype file that matches no genotyped sample or a .bim Hail would reject
in a second, before the ten seconds and gigabytes a Hail session costs (and a Java
traceback two hundred lines long).
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from dataclasses import replace
from pathlib import Path

from promise.genotypes.contigs import CONTIGS_FILE as CONTIGS_FILE
from promise.genotypes.contigs import checked_variants
from promise.genotypes.contigs import reference_contigs as reference_contigs
from promise.genotypes.plink import PLINK_SUFFIXES as PLINK_SUFFIXES
from promise.genotypes.plink import plink_prefix as plink_prefix
from promise.genotypes.plink import read_bim, read_fam_ids
from promise.genotypes.samplefiles import bgen_header_ids, bgen_sample_ids, read_vcf_header
from promise.gwas.inputs import GenotypeInputError, GenotypeSource


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
    """The genotyped sample ids as the engines key them, or None where they are not known
    from the files alone (a BGEN without sample identifiers or ``--sample``, the warehouse's
    MatrixTables). A BGEN's ``.sample`` file is read by its ``ID_2`` column, as PLINK 2,
    regenie, promise's readers and both engines take it (a PLINK 2 ``.sample`` has ID_1 = 0)."""
    if source.kind == "bfile":
        return read_fam_ids(source.path)
    if source.kind == "vcf":
        return read_vcf_header(source.path).samples
    if source.kind == "bgen":
        if source.sample_file is not None:
            return bgen_sample_ids(source.path, source.sample_file)
        return bgen_header_ids(source.path)
    return None


def hail_contigs(build: str) -> dict[str, int] | None:
    """The contigs and lengths of Hail's reference genome ``build`` read from the installed
    Hail's jar (None without Hail): what :func:`reference_contigs` ships, checked by a test."""
    spec = importlib.util.find_spec("hail")
    if spec is None or not spec.submodule_search_locations:
        return None
    jar = Path(spec.submodule_search_locations[0]) / "backend" / "hail-all-spark.jar"
    if not jar.is_file():
        return None
    with zipfile.ZipFile(jar) as archive:
        data = json.loads(archive.read(f"reference/{build.lower()}.json"))
    return {c["name"]: int(c["length"]) for c in data["contigs"]}


def check_bim(prefix: Path, build: str) -> None:
    """Refuse a .bim whose first bad line Hail would reject: a position below 1 or past
    the end of its contig, or a contig the build does not have (after the recoding the
    import applies: PLINK's 23-26 and chr prefixes)."""
    bim = read_bim(prefix).select("chrom", "pos", "id")
    checked_variants(bim, build, lambda i: f"Line {i + 1:,} of {prefix}.bim")
