"""The identity-bearing parts of genotype files, read here in Python before Hail sees a byte.

Hail is given rewritten copies instead, written privately (mode 0600) under the load's
temporary folder: a VCF header whose sample names are keys of ours and whose ``##`` lines
(``##SAMPLE=<ID=...>``, ``##PEDIGREE``, any other) are masked; a PLINK ``.fam`` whose FID,
IID, PAT and MAT are keys of ours; a BGEN ``.sample`` of keys. A plain-gzip ``.vcf.gz`` (not
BGZF, so Hail cannot split it) is recompressed to BGZF there too.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from promise.errors import PromiseError
from promise.ingest.masking import mask_text
from promise.ingest.writer import write_private_text

GZIP_MAGIC = b"\x1f\x8b"


class GenotypeFileError(PromiseError):
    """A genotype file is malformed or its sample ids cannot be found."""


@dataclass(frozen=True)
class VcfHeader:
    """The ``##`` lines and the ``#CHROM`` columns of a VCF."""

    meta: list[str]
    columns: list[str]

    @property
    def samples(self) -> list[str]:
        """The sample names (the columns after FORMAT)."""
        return self.columns[9:]


def is_gzip(path: Path) -> bool:
    """Whether a file starts with the gzip magic bytes."""
    with Path(path).open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def is_bgzf(path: Path) -> bool:
    """Whether a gzip file is BGZF: its first member carries the ``BC`` extra field."""
    with Path(path).open("rb") as handle:
        head = handle.read(18)
    return (
        len(head) == 18
        and head[:3] == b"\x1f\x8b\x08"
        and head[3] & 4 != 0
        and head[12:14] == b"BC"
        and struct.unpack_from("<H", head, 14)[0] == 2
    )


def _open_text(path: Path) -> IO[str]:
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def read_vcf_header(path: Path, label: str) -> VcfHeader:
    """The header of a VCF (plain, gzip or BGZF); a file without ``#CHROM`` is refused."""
    meta: list[str] = []
    try:
        with _open_text(path) as handle:
            for line in handle:
                if line.startswith("##"):
                    meta.append(line if line.endswith("\n") else line + "\n")
                elif line.startswith("#CHROM"):
                    return VcfHeader(meta, line.rstrip("\r\n").split("\t"))
                else:
                    break
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise GenotypeFileError(
            f"{label} cannot be read as a VCF ({type(exc).__name__}); check the file and deliver "
            "it again."
        ) from exc
    raise GenotypeFileError(f"{label} has no #CHROM header line; it is not a VCF.")


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


@dataclass(frozen=True)
class FamRow:
    """One line of a PLINK ``.fam``: the identity fields and the two data fields."""

    fid: str
    iid: str
    pat: str
    mat: str
    sex: str
    pheno: str


def read_fam(path: Path) -> list[FamRow]:
    """The rows of a ``.fam`` (six blank-separated fields each)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:  # never echo the line: it holds identities
            raise GenotypeFileError(
                f"{path.name} line {number} has {len(fields)} fields, not the 6 of a .fam."
            )
        rows.append(FamRow(*fields))
    return rows


def write_fam(path: Path, rows: list[FamRow]) -> Path:
    """A private ``.fam`` for Hail."""
    text = "".join(f"{r.fid} {r.iid} {r.pat} {r.mat} {r.sex} {r.pheno}\n" for r in rows)
    return write_private_text(path, text)


def write_sample_file(path: Path, keys: list[str]) -> Path:
    """A private Oxford ``.sample`` for Hail holding only ``keys``."""
    body = "".join(f"{k} {k} 0\n" for k in keys)
    return write_private_text(path, "ID_1 ID_2 missing\n0 0 0\n" + body)


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
            return _identifier_block(handle, path, header_length, offset, n_samples)
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


def _identifier_block(
    handle: IO[bytes], path: Path, header_length: int, offset: int, n_samples: int
) -> list[str]:
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


def read_sample_file(path: Path) -> list[str]:
    """Ids of an Oxford ``.sample`` file: ``ID_2`` (the individual) when named, else the first column."""
    lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    if len(lines) < 2:
        raise GenotypeFileError(f"{path.name} lacks the two header lines of a .sample file.")
    column = lines[0].index("ID_2") if "ID_2" in lines[0] else 0
    return [fields[column] for fields in lines[2:] if fields]
