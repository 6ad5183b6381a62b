"""The identity-bearing parts of genotype files, rewritten before Hail sees a byte (they are
read in :mod:`promise.genotypes.samplefiles`, the one home of genotype reading).

Hail is given rewritten copies instead, written privately (mode 0600) under the load's
temporary folder: a VCF header whose sample names are keys of ours and whose ``##`` lines
(``##SAMPLE=<ID=...>``, ``##PEDIGREE``, any other) are masked; a PLINK ``.fam`` whose FID,
IID, PAT and MAT are keys of ours; a BGEN ``.sample`` of keys. A plain-gzip ``.vcf.gz`` (not
BGZF, so Hail cannot split it) is recompressed to BGZF there too.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

# the reading of identities lives in promise.genotypes (one home with the GWAS engines);
# its names stay here for ingestion's callers
from promise.genotypes.errors import GenotypeFileError as GenotypeFileError
from promise.genotypes.samplefiles import FamRow as FamRow
from promise.genotypes.samplefiles import VcfHeader as VcfHeader
from promise.genotypes.samplefiles import bgen_sample_ids as bgen_sample_ids
from promise.genotypes.samplefiles import is_bgzf as is_bgzf
from promise.genotypes.samplefiles import is_gzip as is_gzip
from promise.genotypes.samplefiles import read_fam as read_fam
from promise.genotypes.samplefiles import read_sample_file as read_sample_file
from promise.genotypes.samplefiles import read_vcf_header as read_vcf_header
from promise.ingest.masking import mask_text
from promise.ingest.writer import write_private_text


def write_vcf_header(path: Path, header: VcfHeader, keys: list[str]) -> Path:
    """A private header file for Hail: masked ``##`` lines, sample names replaced by ``keys``."""
    meta = [mask_text(line) for line in header.meta]
    return write_private_text(path, "".join(meta) + "\t".join(header.columns[:9] + keys) + "\n")


def recompress_bgzf(source: Path, target: Path) -> Path:
    """Copy a plain-gzip file as BGZF (private), so Hail reads it in parallel blocks."""
    from promise.synth.bgzf import BgzfWriter

    target.touch(mode=0o600)
    try:
        with gzip.open(source, "rb") as src, BgzfWriter(target, level=1) as out:
            while block := src.read(1 << 20):
                out.write(block)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise GenotypeFileError(
            f"{source.name} is not a readable gzip file ({type(exc).__name__}); deliver it again."
        ) from exc
    return target


def write_fam(path: Path, rows: list[FamRow]) -> Path:
    """A private ``.fam`` for Hail."""
    text = "".join(f"{r.fid} {r.iid} {r.pat} {r.mat} {r.sex} {r.pheno}\n" for r in rows)
    return write_private_text(path, text)


def write_sample_file(path: Path, keys: list[str]) -> Path:
    """A private Oxford ``.sample`` for Hail holding only ``keys``."""
    body = "".join(f"{k} {k} 0\n" for k in keys)
    return write_private_text(path, "ID_1 ID_2 missing\n0 0 0\n" + body)
