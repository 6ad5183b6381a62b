"""Genotypes into one Hail MatrixTable shape, whatever the source.

Every loader returns a MatrixTable keyed by ``locus``/``alleles`` (biallelic; multi-allelic
sites split) and by the sample id ``s`` (a string), with entry fields ``GT`` (a call, may
be missing) and ``dosage`` (expected alternate-allele count, a float, may be missing). The
alternate allele ``alleles[1]`` is the effect allele throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from promise.genotypes.contigs import BUILDS as BUILDS
from promise.genotypes.contigs import contig_recoding as contig_recoding
from promise.genotypes.contigs import plink_recoding as plink_recoding
from promise.genotypes.contigs import recoding
from promise.genotypes.errors import GenotypeFileError

GenotypeFormat = Literal["vcf", "bfile", "bgen", "warehouse"]
#: genotype files are missing or unreadable: the one error of :mod:`promise.genotypes`
GenotypeInputError = GenotypeFileError


@dataclass(frozen=True, kw_only=True)
class GenotypeSource:
    """Where the genotypes are and how to read them.

    Attributes
    ----------
    kind:
        ``vcf``, ``bfile`` (PLINK 1 prefix), ``bgen`` or ``warehouse`` (``genotypes/*.mt``).
    path:
        The VCF/BGEN file, the PLINK prefix, or the warehouse folder.
    build:
        Reference genome, ``GRCh38`` (default) or ``GRCh37``.
    sample_file:
        Optional ``.sample`` file for BGEN (else ids come from the BGEN header).
    """

    kind: GenotypeFormat
    path: Path
    build: str = "GRCh38"
    sample_file: Path | None = None


def load_genotypes(hl: Any, source: GenotypeSource, *, work_dir: Path) -> Any:
    """Read the genotypes of ``source`` as a biallelic MatrixTable with ``GT`` and ``dosage``."""
    if source.build not in BUILDS:
        raise GenotypeInputError(f"Unknown genome build {source.build!r}: use GRCh37 or GRCh38.")
    loader = {"vcf": _vcf, "bfile": _plink, "bgen": _bgen, "warehouse": _warehouse}[source.kind]
    mt = loader(hl, source, work_dir)
    mt = mt.key_cols_by(s=hl.str(mt.s))
    if source.kind == "bfile":  # PLINK 1 is biallelic by construction
        return mt.select_rows()
    return _biallelic(hl, mt)


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise GenotypeInputError(f"The {what} {path} does not exist: check the path.")


def _vcf(hl: Any, source: GenotypeSource, work_dir: Path) -> Any:
    _require(source.path, "VCF file")
    name = source.path.name
    mt = hl.import_vcf(
        str(source.path),
        reference_genome=source.build,
        contig_recoding=recoding(source.build),
        force_bgz=name.endswith(".gz") and not name.endswith(".bgz"),
        array_elements_required=False,
    )
    return mt.select_entries(GT=mt.GT, dosage=hl.float64(mt.GT.n_alt_alleles()))


def _plink(hl: Any, source: GenotypeSource, work_dir: Path) -> Any:
    prefix = str(source.path)
    for ext in ("bed", "bim", "fam"):
        _require(Path(f"{prefix}.{ext}"), f"PLINK .{ext} file")
    mt = hl.import_plink(
        bed=f"{prefix}.bed",
        bim=f"{prefix}.bim",
        fam=f"{prefix}.fam",
        reference_genome=source.build,
        contig_recoding=recoding(source.build),
        quant_pheno=True,
        missing="-9",
        a2_reference=True,
    )
    return mt.select_entries(GT=mt.GT, dosage=hl.float64(mt.GT.n_alt_alleles()))


def _bgen(hl: Any, source: GenotypeSource, work_dir: Path) -> Any:
    _require(source.path, "BGEN file")
    index = work_dir / "tmp" / "bgen-index" / (source.path.name + ".idx2")
    index.parent.mkdir(parents=True, exist_ok=True)
    hl.index_bgen(
        str(source.path),
        index_file_map={str(source.path): str(index)},
        reference_genome=source.build,
        contig_recoding=recoding(source.build),
    )
    mt = hl.import_bgen(
        str(source.path),
        entry_fields=["GT", "dosage"],
        sample_file=str(source.sample_file) if source.sample_file else None,
        index_file_map={str(source.path): str(index)},
    )
    if source.sample_file:  # key by ID_2 as PLINK 2 and the fast engine do (Hail reads ID_1)
        from promise.genotypes.samplefiles import bgen_sample_ids

        mt = mt.add_col_index()
        ids = hl.literal(bgen_sample_ids(source.path, source.sample_file))
        mt = mt.key_cols_by(s=ids[hl.int32(mt.col_idx)])
    return mt.select_entries(GT=mt.GT, dosage=mt.dosage).select_rows().select_cols()


def _warehouse(hl: Any, source: GenotypeSource, work_dir: Path) -> Any:
    batches = sorted((source.path / "genotypes").glob("*.mt"))
    if not batches:
        raise GenotypeInputError(
            f"No genotype MatrixTables in {source.path / 'genotypes'}: run `promise ingest` first."
        )
    tables = []
    for path in batches:
        mt = hl.read_matrix_table(str(path))
        # BGEN batches store the expected alternate-allele count; hard calls give it exactly
        dosage = mt.dosage if "dosage" in mt.entry else mt.GT.n_alt_alleles()
        mt = mt.select_entries(GT=mt.GT, dosage=hl.float64(dosage))
        tables.append(mt.select_rows().select_cols())
    mt = tables[0]
    for other in tables[1:]:
        mt = mt.union_cols(other)
    return mt


def _biallelic(hl: Any, mt: Any) -> Any:
    """Split multi-allelic sites so that every row has one alternate allele."""
    mt = mt.select_rows()
    multi = mt.aggregate_rows(hl.agg.count_where(hl.len(mt.alleles) > 2))
    if multi == 0:
        return mt
    split = hl.split_multi_hts(mt.annotate_entries(dosage=hl.missing(hl.tfloat64)))
    return split.annotate_entries(dosage=hl.float64(split.GT.n_alt_alleles())).select_rows()
