"""A VCF of hard calls (GT) as a PLINK 1 file set, so the fast engine reads it unchanged.

The fast engine computes on the 2-bit codes of a ``.bed``; a VCF whose genotypes are hard
calls holds nothing a ``.bed`` cannot, so it is converted once, losslessly, into the run's
scratch folder (files readable by the owner only, removed with the scratch folder when
the run ends, failure included). The conventions are those of
:mod:`promise.genotypes.vcf` (PLINK 2's ``--vcf ... --make-bed``, checked against
``plink2`` in ``tests/genotypes/``):

- A1 (counted, the .bim's fifth column) is ALT, A2 is REF; a multi-allelic site becomes
  one variant per ALT allele (as Hail's ``split_multi_hts``);
- a haploid call (male X) is stored homozygous (0 or 2 copies), a half call (``./1``)
  and ``./.`` as missing;
- contigs are the build's names (:mod:`promise.genotypes.contigs`), ids the VCF's;
- sample ids are the VCF header's (own-files mode: no pseudonymisation).

A VCF whose header declares a FORMAT DS holds dosages, which hard calls would round:
:func:`holds_dosages` says so and the fast engine reads such a file's dosages instead
(:mod:`promise.gwas.engines.dosagesource`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from promise.genotypes.errors import GenotypeFileError
from promise.genotypes.plink import BED_MAGIC
from promise.genotypes.samplefiles import read_vcf_header
from promise.genotypes.vcf import VcfReader
from promise.gwas.bedset import BedFiles, open_bed, pack_codes

Array = np.ndarray[Any, Any]
#: variants per block of dosages read from the VCF (samples x block float64 in memory)
BLOCK = 256


def holds_dosages(vcf: Path) -> bool:
    """Whether the VCF's header declares a FORMAT DS (dosages), as the reader then uses;
    False for a path that is no file (the preflight refuses it, naming the path)."""
    if not vcf.is_file():
        return False
    meta = read_vcf_header(vcf).meta
    return any(line.startswith("##FORMAT=<ID=DS,") for line in meta)


def bed_codes(dosage: Array) -> Array:
    """(samples x variants) hard-call counts of A1 (NaN missing) -> (variants x samples)
    .bed codes: 2 -> 00, missing -> 01, 1 -> 10, 0 -> 11."""
    calls = dosage.T
    codes = np.full(calls.shape, 0b01, dtype=np.uint8)
    codes[calls == 2.0] = 0b00
    codes[calls == 1.0] = 0b10
    codes[calls == 0.0] = 0b11
    return codes


def _private(path: Path) -> Any:
    """``path`` opened for writing, created readable by the owner only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


def vcf_to_bed(vcf: Path, build: str, target: Path) -> BedFiles:
    """Write ``target``.bed/.bim/.fam from the GT calls of ``vcf`` (see the module
    docstring); a sample id with white space, which a .fam cannot hold, is refused."""
    with VcfReader(vcf, build, field="GT") as reader:
        samples = list(reader.samples)
        if any(len(s.split()) != 1 for s in samples):
            raise GenotypeFileError(
                f"A sample id in the header of {vcf.name} is empty or holds white space, "
                "which the fast engine's PLINK file set cannot hold: use --engine hail."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        with _private(Path(f"{target}.bed")) as fh:
            fh.write(BED_MAGIC)
            for _start, block in reader.dosage_blocks(block=BLOCK):
                fh.write(pack_codes(bed_codes(block)).tobytes())
        variants = reader.variants
    bim = variants.select(
        "chrom", "id", pl.lit("0").alias("cm"), pl.col("pos").cast(pl.String), "a1", "a2"
    )
    with _private(Path(f"{target}.bim")) as fh:
        bim.write_csv(fh, separator="\t", include_header=False)
    with _private(Path(f"{target}.fam")) as fh:
        fh.write("".join(f"{s} {s} 0 0 0 -9\n" for s in samples).encode("utf-8"))
    return open_bed(target)
