"""The identity-bearing parts of genotype files: sample ids of a VCF header, a .fam, a BGEN
sample block or an Oxford ``.sample`` file.

Ingestion reads them here before pseudonymising (and Hail never sees them); the GWAS
engines read them here to match phenotypes. A refusal never quotes an id or a line holding
ids: it may be a personnummer.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from promise.genotypes.errors import GenotypeFileError

GZIP_MAGIC = b"\x1f\x8b"


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


def open_bytes(path: Path) -> IO[bytes]:
    """A file's bytes, gunzipped on the fly when it is gzip (BGZF included)."""
    if is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_vcf_header(path: Path, label: str | None = None) -> VcfHeader:
    """The header of a VCF (plain, gzip or BGZF); a file without ``#CHROM`` is refused
    (naming ``label``, the file's name by default)."""
    label = label or path.name
    meta: list[str] = []
    try:
        with open_bytes(path) as handle:
            for raw in handle:  # line by line: a data line need not be UTF-8 for the header
                if not raw.startswith(b"#"):
                    break
                line = raw.decode("utf-8")
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


@dataclass(frozen=True)
class BgenHeader:
    """What the first block of a BGEN file says (all integers little-endian unsigned)."""

    offset: int  # where the first variant starts, less 4
    header_length: int
    n_variants: int
    n_samples: int
    flags: int

    @property
    def layout(self) -> int:
        """1 (BGEN v1.1) or 2 (v1.2, v1.3)."""
        return (self.flags >> 2) & 0xF

    @property
    def compression(self) -> int:
        """0 none, 1 zlib, 2 zstd."""
        return self.flags & 3

    @property
    def has_ids(self) -> bool:
        """Whether a sample identifier block follows the header (flag bit 31)."""
        return bool(self.flags >> 31)


def read_bgen_header(path: Path) -> BgenHeader:
    """The header block of a BGEN v1.2 file: ``offset`` (4 bytes), ``L_H`` (4), ``M``
    variants (4), ``N`` samples (4), magic (4), free data (``L_H - 20``), ``flags`` (4)
    (https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html); another layout is refused."""
    with Path(path).open("rb") as handle:
        head = handle.read(20)
        if len(head) < 20:
            raise GenotypeFileError(f"{path.name} is too short to be a BGEN file.")
        offset, header_length, n_variants, n_samples, magic = struct.unpack("<IIII4s", head)
        if magic not in (b"bgen", b"\0\0\0\0") or header_length < 20 or header_length > offset:
            raise GenotypeFileError(f"{path.name} is not a BGEN file (bad header block).")
        handle.seek(header_length)  # flags: the last 4 bytes of the header block
        flags_bytes = handle.read(4)
    if len(flags_bytes) < 4:
        raise GenotypeFileError(f"{path.name} is too short to be a BGEN file.")
    header = BgenHeader(
        offset, header_length, n_variants, n_samples, *struct.unpack("<I", flags_bytes)
    )
    if header.layout != 2:
        raise GenotypeFileError(
            f"{path.name} is BGEN layout {header.layout}: only BGEN v1.2 (layout 2) is read."
        )
    return header


def bgen_header_ids(path: Path) -> list[str] | None:
    """The ids of a BGEN's sample identifier block, None when it has none: per sample a
    2-byte length and the id, after the block's length ``L_SI`` (4) and ``N`` (4)."""
    header = read_bgen_header(path)
    if not header.has_ids:
        return None
    with Path(path).open("rb") as handle:
        handle.seek(4 + header.header_length)
        block = handle.read(8)
        length, n = struct.unpack("<II", block) if len(block) == 8 else (0, -1)
        if n != header.n_samples or length + header.header_length > header.offset:
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


def bgen_sample_ids(path: Path, sample_file: Path | None = None) -> list[str]:
    """The sample ids of a BGEN v1.2 file: ``sample_file``'s when given (as PLINK 2's
    ``--sample`` overrides the file's own), else its sample identifier block, else those of
    ``<stem>.sample`` beside it."""
    header = read_bgen_header(path)
    ids = None if sample_file is not None else bgen_header_ids(path)
    if ids is not None:
        return ids
    sample = sample_file or Path(path).with_suffix(".sample")
    if not sample.is_file():
        raise GenotypeFileError(
            f"{path.name} has no sample identifier block: deliver {sample.name} beside it."
            if sample_file is None
            else f"The sample file {sample} does not exist."
        )
    ids = read_sample_file(sample)
    if len(ids) != header.n_samples:
        raise GenotypeFileError(
            f"{sample.name} lists {len(ids)} samples but {path.name} holds {header.n_samples}."
        )
    return ids


def read_sample_file(path: Path, column: str | int = "ID_2") -> list[str]:
    """Ids of an Oxford ``.sample`` file (two header lines, then one line per sample):
    ``column`` by name (``ID_2``, the individual, as PLINK 2 and regenie read it), else the
    first column; or ``column`` by position (Hail's import keys samples by column 0)."""
    lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    if len(lines) < 2:
        raise GenotypeFileError(f"{path.name} lacks the two header lines of a .sample file.")
    named = column in lines[0]
    at = column if isinstance(column, int) else lines[0].index(column) if named else 0
    rows = [(number, fields) for number, fields in enumerate(lines[2:], start=3) if fields]
    short = next((number for number, fields in rows if len(fields) <= at), None)
    if short is not None:
        raise GenotypeFileError(f"{path.name} line {short} has no column {at + 1}.")
    return [fields[at] for _, fields in rows]
