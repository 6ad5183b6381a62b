"""Genotypes into one Hail MatrixTable shape, whatever the source.

Every loader returns a MatrixTable keyed by ``locus``/``alleles`` (biallelic; multi-allelic
sites split) and by the sample id ``s`` (a string), with entry fields ``GT`` (a call, may
be missing) and ``dosage`` (expected alternate-allele count, a float, may be missing). The
alternate allele ``alleles[1]`` is the effect allele throughout.

A VCF (or a warehouse batch ingested from one) whose genotypes carry a FORMAT ``DS`` is
read on its dosages, by the rules of :mod:`promise.genotypes.vcf` (the fast engine's
reader): a sample's ``dosage`` is its DS of that ALT (Number=A: one per ALT, each split row
takes its own; Number=1: one value, the first ALT's), else where DS is missing the copies
of that ALT in its GT; a haploid call's DS or copies are doubled (PLINK 2 stores haploid
calls as homozygous diploid). A VCF with DS and no GT gets PLINK 2's hard calls of the
dosage (``--hard-call-threshold 0.1``, biallelic sites; else missing) as ``GT`` for QC.
Without DS the dosage is Hail's ALT count of GT, a haploid call 0 or 1 (not doubled).
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
#: a dosage within this of 0, 1 or 2 is that hard call (PLINK 2's ``--hard-call-threshold``)
HARD_CALL_THRESHOLD = 0.1
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
    return biallelic(hl, mt)


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
    if "DS" not in mt.entry:
        return mt.select_entries(GT=mt.GT, dosage=hl.float64(mt.GT.n_alt_alleles()))
    if "GT" not in mt.entry:
        mt = mt.annotate_entries(GT=_hard_call_expr(hl, _alt_dosages_expr(hl, mt)))
    return ds_entries(hl, mt)


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
        if "DS" in mt.entry:  # a batch ingested from a VCF of dosages
            mt = ds_entries(hl, mt)
        else:  # BGEN batches store the expected ALT count; hard calls give it exactly
            dosage = mt.dosage if "dosage" in mt.entry else mt.GT.n_alt_alleles()
            no_ds = hl.missing(hl.tarray(hl.tfloat64))  # the schema of DS batches
            mt = mt.select_entries(GT=mt.GT, dosage=hl.float64(dosage), alt_dosages=no_ds)
        tables.append(mt.select_rows().select_cols())
    mt = tables[0]
    for other in tables[1:]:
        mt = mt.union_cols(other)
    return mt


def ds_entries(hl: Any, mt: Any) -> Any:
    """``GT``, ``dosage`` (of the first ALT) and ``alt_dosages`` (one per ALT, which
    :func:`biallelic` picks from after a split) of a MatrixTable with a DS entry."""
    alt = _alt_dosages_expr(hl, mt)
    first = hl.or_missing(hl.len(alt) > 0, alt[0])
    return mt.select_entries(GT=mt.GT, dosage=first, alt_dosages=alt)


def _alt_dosages_expr(hl: Any, mt: Any) -> Any:
    """Per ALT allele i: DS[i - 1] where given, else the copies of allele i in GT; both
    doubled for a haploid call (the rules of :mod:`promise.genotypes.vcf`)."""
    ds = mt.DS if isinstance(mt.DS.dtype, hl.tarray) else hl.array([mt.DS])
    ds = ds.map(hl.float64)
    gt = mt.GT if "GT" in mt.entry else hl.missing(hl.tcall)
    haploid = hl.is_defined(gt) & (gt.ploidy == 1)
    factor = hl.if_else(haploid, 2.0, 1.0)

    def of_allele(i: Any) -> Any:
        given = hl.or_missing(i <= hl.len(ds), ds[i - 1])
        copies = hl.float64(hl.range(gt.ploidy).filter(lambda k: gt[k] == i).length())
        return factor * hl.coalesce(given, copies)

    return hl.range(1, hl.len(mt.alleles)).map(of_allele)


def _hard_call_expr(hl: Any, alt_dosages: Any) -> Any:
    """PLINK 2's hard call (``--hard-call-threshold 0.1``) of a biallelic site's dosage: the
    nearest of 0, 1, 2 within 0.1, else missing (always missing at a multi-allelic site)."""
    dosage = hl.or_missing(hl.len(alt_dosages) == 1, alt_dosages[0])
    nearest = hl.int32(hl.floor(dosage + 0.5))
    close = hl.abs(dosage - nearest) <= HARD_CALL_THRESHOLD + 1e-9  # 1.1 - 1 > 0.1 in floats
    valid = close & (nearest >= 0) & (nearest <= 2)
    return hl.or_missing(valid, hl.unphased_diploid_gt_index_call(nearest))


def biallelic(hl: Any, mt: Any) -> Any:
    """Split multi-allelic sites so that every row has one alternate allele; a split row's
    dosage is that ALT's entry of ``alt_dosages`` (DS input), else its GT's ALT count; a
    row that was biallelic keeps its dosage (a BGEN's expected count)."""
    mt = mt.select_rows()
    has_ds = "alt_dosages" in mt.entry
    multi = mt.aggregate_rows(hl.agg.count_where(hl.len(mt.alleles) > 2))
    if multi == 0:
        return mt.drop("alt_dosages") if has_ds else mt
    split = hl.split_multi_hts(mt)
    count = hl.float64(split.GT.n_alt_alleles())
    if not has_ds:
        dosage = hl.if_else(split.was_split, count, split.dosage)
        return split.annotate_entries(dosage=dosage).select_rows()
    dosage = hl.coalesce(split.alt_dosages[split.a_index - 1], count)
    return split.annotate_entries(dosage=dosage).drop("alt_dosages").select_rows()
