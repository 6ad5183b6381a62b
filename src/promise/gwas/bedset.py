"""PLINK 1 file sets for the in-process engine: open one, align several, write a subset.

The fast engine reads genotypes as the 2-bit codes of a SNP-major ``.bed`` (decoded with
:mod:`promise.gwas.fastlinear`'s tables). A run works on one such file set: a researcher's
``--bfile`` as it is, or, when samples or variants must go (QC) or several warehouse
batches must be put side by side, a **working copy** written under the run's scratch folder
by :func:`write_subset`: chosen variants (rows) of every source, aligned by position and
alleles, and chosen samples (columns) of each source one after another. The codes are moved
without being interpreted (four samples per byte are unpacked to one byte each, selected,
and packed again), so a copy is exact, missing calls included.

Warehouse batches are written by ingestion as ``genotypes/<batch>.plink/<batch>.bed``
(``.bim``/``.fam``) beside each ``<batch>.mt``, keyed by the same pseudonymous person keys
(the .fam's FID and IID). As Hail's ``union_cols`` does for the MatrixTables, batches are
joined on the variants they all have (same contig, position and alleles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.gwas.fastlinear import BED_MAGIC, bed_blocks, read_bim, read_fam_ids
from promise.gwas.inputs import GenotypeInputError

Array = np.ndarray[Any, Any]
PLINK_FOLDER = ".plink"
#: ingestion's pseudonymised dosage copy of a batch delivered as dosages (BGEN, VCF with DS)
DOSAGE_FOLDER = ".dosage"
#: variants per block when copying: a block of 5,000 samples is 1.25 MB of codes
COPY_BLOCK = 4096

# byte -> its four 2-bit codes, and back (codes of four samples -> one byte)
_UNPACK = ((np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3).astype(np.uint8)
_SHIFTS = (2 * np.arange(4)).astype(np.uint8)


@dataclass(frozen=True)
class BedFiles:
    """One PLINK 1 file set: its prefix, the .fam's sample ids (IID) and the .bim."""

    prefix: Path
    samples: list[str]
    bim: pl.DataFrame  # chrom id cm pos a1 a2, as read_bim gives them

    @property
    def n_variants(self) -> int:
        return len(self.bim)


def open_bed(prefix: Path) -> BedFiles:
    """The file set at ``prefix`` (its .bed is checked for size and magic when read)."""
    return BedFiles(prefix=Path(prefix), samples=read_fam_ids(prefix), bim=read_bim(prefix))


def warehouse_plink_sets(warehouse: Path) -> list[Path]:
    """The prefixes of the warehouse's PLINK batches, in batch-name order."""
    folders = sorted((Path(warehouse) / "genotypes").glob(f"*{PLINK_FOLDER}"))
    prefixes = []
    for folder in folders:
        beds = sorted(folder.glob("*.bed"))
        if len(beds) == 1:
            prefixes.append(beds[0].with_suffix(""))
    return prefixes


def batches_without_plink(warehouse: Path) -> list[str]:
    """Batches (MatrixTables) that have no PLINK copy: ingested before ingestion wrote one."""
    folder = Path(warehouse) / "genotypes"
    plink = {p.name.removesuffix(PLINK_FOLDER) for p in folder.glob(f"*{PLINK_FOLDER}")}
    return sorted(p.stem for p in folder.glob("*.mt") if p.stem not in plink)


def variant_keys(bim: pl.DataFrame) -> pl.Series:
    """``chrom:pos:a2:a1`` of each .bim row: the identity batches are joined on."""
    key = pl.concat_str(
        [pl.col("chrom"), pl.col("pos").cast(pl.String), pl.col("a2"), pl.col("a1")],
        separator=":",
    )
    return bim.select(key.alias("key")).to_series()


def shared_variants(sets: Sequence[BedFiles]) -> list[Array]:
    """Row indices, one array per set, of the variants every set has, in the first set's
    order (an inner join on contig, position and alleles)."""
    return shared_rows([s.bim for s in sets], [f"{s.prefix}.bim" for s in sets])


def shared_rows(bims: Sequence[pl.DataFrame], names: Sequence[str]) -> list[Array]:
    """Row indices, one array per variant table (``chrom pos a1 a2``, named ``names`` in a
    message), of the variants every table has, in the first one's order."""
    keyed = []
    for i, bim in enumerate(bims):
        rows = bim.with_row_index(f"_r{i}").with_columns(key=variant_keys(bim))
        dup = rows["key"].is_duplicated()
        if dup.any():
            raise GenotypeInputError(
                f"{names[i]} lists variant {rows['key'].filter(dup)[0]} twice: the "
                "batches cannot be aligned."
            )
        keyed.append(rows.select("key", f"_r{i}"))
    joined = keyed[0]
    for rows in keyed[1:]:
        joined = joined.join(rows, on="key", how="inner", maintain_order="left")
    return [joined[f"_r{i}"].to_numpy().astype(np.int64) for i in range(len(bims))]


def _codes(raw: Array, n_samples: int) -> Array:
    """(variants x bytes) -> (variants x samples) 2-bit codes, one byte each."""
    return _UNPACK[raw].reshape(raw.shape[0], -1)[:, :n_samples]


def pack_codes(codes: Array) -> Array:
    """(variants x samples) 2-bit codes -> (variants x bytes) .bed bytes (padding 00)."""
    k, n = codes.shape
    per = (n + 3) // 4
    padded = np.zeros((k, per * 4), dtype=np.uint8)
    padded[:, :n] = codes
    quads = padded.reshape(k, per, 4) << _SHIFTS
    packed: Array = np.bitwise_or.reduce(quads, axis=2).astype(np.uint8)
    return packed


def bed_matrix(source: BedFiles) -> Array:
    """The .bed's codes as a read-only (variants x bytes) memory map, once its size and
    magic number are checked (rows are read on demand, in any order)."""
    n, m = len(source.samples), source.n_variants
    next(bed_blocks(source.prefix, n, m, block=1), None)  # checks size and magic
    per = (n + 3) // 4
    if m == 0:
        return np.empty((0, per), dtype=np.uint8)
    return np.memmap(f"{source.prefix}.bed", dtype=np.uint8, mode="r", offset=len(BED_MAGIC),
                     shape=(m, per))  # fmt: skip


def write_subset(
    target: Path,
    sources: Sequence[BedFiles],
    *,
    rows: Sequence[Array],
    columns: Sequence[Array | None],
) -> BedFiles:
    """Write ``target``.bed/.bim/.fam: the variants ``rows[i]`` of each source (aligned:
    row j of every source is the same variant), and the samples ``columns[i]`` of each
    source (None: all), sources one after another. The .bim is the first source's rows."""
    if len({len(r) for r in rows}) != 1:
        raise ValueError("every source must give the same number of rows")
    target.parent.mkdir(parents=True, exist_ok=True)
    m = len(rows[0])
    picked = [np.arange(len(s.samples)) if c is None else np.asarray(c) for s, c in
              zip(sources, columns, strict=True)]  # fmt: skip
    samples = [s.samples[i] for s, cols in zip(sources, picked, strict=True) for i in cols]
    matrices = [bed_matrix(s) for s in sources]
    whole = [cols is None or _is_all(c, len(s.samples)) for s, c, cols in
             zip(sources, picked, columns, strict=True)]  # fmt: skip
    with Path(f"{target}.bed").open("wb") as fh:
        fh.write(BED_MAGIC)
        for start in range(0, m, COPY_BLOCK):
            stop = min(m, start + COPY_BLOCK)
            raws = [mat[np.asarray(want)[start:stop]] for mat, want in
                    zip(matrices, rows, strict=True)]  # fmt: skip
            if len(sources) == 1 and whole[0]:
                fh.write(np.ascontiguousarray(raws[0]).tobytes())
                continue
            parts = [_codes(raw, len(s.samples))[:, cols] for raw, s, cols in
                     zip(raws, sources, picked, strict=True)]  # fmt: skip
            codes = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
            fh.write(pack_codes(codes).tobytes())
    bim = sources[0].bim[np.asarray(rows[0])]
    bim.select("chrom", "id", "cm", pl.col("pos").cast(pl.String), "a1", "a2").write_csv(
        f"{target}.bim", separator="\t", include_header=False
    )
    Path(f"{target}.fam").write_text("".join(f"{s} {s} 0 0 0 -9\n" for s in samples))
    return BedFiles(prefix=target, samples=samples, bim=bim)


def _is_all(cols: Array, n: int) -> bool:
    return len(cols) == n and bool(np.all(cols == np.arange(n)))
