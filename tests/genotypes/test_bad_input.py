"""Bad genotype files end in one sentence (a GenotypeFileError, which the CLI prints without
a traceback) naming the file and what is wrong, never a sample id."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from promise.errors import PromiseError
from promise.genotypes import GenotypeFileError, open_genotypes

pytestmark = pytest.mark.reliability

#: Skatteverket's test personnummer as sample ids: a refusal must never quote them
IDS = ["190001019801", "190001029800", "190001039809"]
ONE_SENTENCE = r"^[^\n]+[.]$"


def _read_all(path: Path, kind: Any, build: str = "GRCh37", **options: Any) -> None:
    with open_genotypes(path, kind, build, **options) as reader:
        for _ in reader.dosage_blocks(block=64):
            pass


def _refused(path: Path, kind: Any, match: str, **options: Any) -> str:
    with pytest.raises(GenotypeFileError, match=ONE_SENTENCE) as caught:
        _read_all(path, kind, **options)
    message = str(caught.value)
    assert isinstance(caught.value, PromiseError)
    assert match in message, message
    assert not any(i in message for i in IDS)
    return message


# BGEN -------------------------------------------------------------------------------------


@pytest.fixture
def bgen(reference_dir: Path, tmp_path: Path) -> Path:
    path = tmp_path / "example.bgen"
    shutil.copy(reference_dir / "regenie_example" / "example.bgen", path)
    return path


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_bgen(bgen: Path, keep: float) -> None:
    data = bgen.read_bytes()
    bgen.write_bytes(data[: int(len(data) * keep)])
    _refused(bgen, "bgen", "truncated")


def test_bgen_cut_inside_its_header(bgen: Path) -> None:
    bgen.write_bytes(bgen.read_bytes()[:18])
    _refused(bgen, "bgen", "example.bgen is too short to be a BGEN file.")


def test_bgen_with_corrupt_compressed_data(bgen: Path) -> None:
    """Bytes overwritten in the middle of the file: the zlib stream of a variant breaks."""
    data = bytearray(bgen.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    bgen.write_bytes(bytes(data))
    _refused(bgen, "bgen", "example.bgen")


def test_bgen_layout_1_is_refused(bgen: Path) -> None:
    data = bytearray(bgen.read_bytes())
    (header_length,) = struct.unpack_from("<I", data, 4)
    (flags,) = struct.unpack_from("<I", data, header_length)
    struct.pack_into("<I", data, header_length, (flags & ~(0xF << 2)) | (1 << 2))
    bgen.write_bytes(bytes(data))
    _refused(bgen, "bgen", "is BGEN layout 1: only BGEN v1.2 (layout 2) is read.")


def test_bgen_without_sample_ids_asks_for_a_sample_file(bgen: Path) -> None:
    data = bytearray(bgen.read_bytes())
    (header_length,) = struct.unpack_from("<I", data, 4)
    (flags,) = struct.unpack_from("<I", data, header_length)
    struct.pack_into("<I", data, header_length, flags & 0x7FFFFFFF)  # no identifier block
    bgen.write_bytes(bytes(data))
    _refused(bgen, "bgen", "has no sample identifier block: deliver example.sample beside it.")
    sample = bgen.with_suffix(".sample")
    sample.write_text("ID_1 ID_2 missing\n0 0 0\n" + "".join(f"f i{k} 0\n" for k in range(499)))
    _refused(bgen, "bgen", "example.sample lists 499 samples but example.bgen holds 500.")


def test_bgen_on_an_unknown_contig(bgen: Path) -> None:
    """regenie's BGEN is on contig '1', which GRCh38 names chr1: recoded, accepted; its
    first variant moved to contig 'Q' is refused."""
    with open_genotypes(bgen, "bgen", "GRCh38") as reader:
        assert reader.variants["chrom"].unique().to_list() == ["chr1"]
    data = bytearray(bgen.read_bytes())
    (offset,) = struct.unpack_from("<I", data, 0)
    at = offset + 4  # first variant: id, rsid (2-byte lengths), then the chromosome
    at += 2 + struct.unpack_from("<H", data, at)[0]
    at += 2 + struct.unpack_from("<H", data, at)[0]
    assert struct.unpack_from("<H", data, at)[0] == 1 and data[at + 2 : at + 3] == b"1"
    data[at + 2 : at + 3] = b"Q"
    bgen.write_bytes(bytes(data))
    _refused(
        bgen,
        "bgen",
        "Variant 1 of example.bgen (Q 1 1) names the contig 'Q', which GRCh37 does not have",
    )


# VCF --------------------------------------------------------------------------------------

HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dosage">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(IDS) + "\n"
)
GOOD = "1\t100\tv1\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t1/1"


def _vcf(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "bad.vcf"
    path.write_bytes((HEADER + "\n".join([GOOD, *lines]) + "\n").encode("latin-1"))
    return path


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1\t200\tv2\tA\tG\t.\t.\t.\tGT\t0/0\t0/1",
         "Line 6 of bad.vcf has 11 tab-separated fields where the header's #CHROM line has 12: fix or drop that line."),
        ("1\t2x0\tv2\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t0/0",
         "Line 6 of bad.vcf has a POS that is not a whole number: fix or drop that line."),
        ("1\t200\tv2\tA\tG\t.\t.\t.\tGT\t0/0\t0/x\t0/0",
         "Line 6 of bad.vcf cannot be parsed as VCF"),
        ("1\t200\tv2\tA\tG\t.\t.\t.\tGT:DS\t0/0:0.1\t0/1:2.5\t0/0",
         "Line 6 of bad.vcf has a DS outside 0..2 (sample column 11): fix or drop that line."),
        ("1\t200\tv2\tA\tG\t.\t.\t.\tGT\t0/0\t0/1/1\t0/0",
         "Line 6 of bad.vcf has a call of ploidy above 2"),
        ("", "Line 6 of bad.vcf is blank: fix or drop that line."),
        ("1\t200\tv\xe92\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t0/0",
         "Line 6 of bad.vcf is not UTF-8 text in its first five fields"),
        ("HLA\t200\tv2\tA\tG\t.\t.\t.\tGT\t0/0\t0/1\t0/0",
         "Line 6 of bad.vcf (HLA v2 200) names the contig 'HLA', which GRCh37 does not have"),
    ],
)  # fmt: skip
def test_malformed_vcf_line(tmp_path: Path, line: str, expected: str) -> None:
    _refused(_vcf(tmp_path, line), "vcf", expected)


def test_vcf_without_header(tmp_path: Path) -> None:
    path = tmp_path / "bare.vcf"
    path.write_text(GOOD + "\n")
    _refused(path, "vcf", "bare.vcf has no #CHROM header line; it is not a VCF.")


def test_truncated_bgzf_vcf(tmp_path: Path) -> None:
    from promise.synth.bgzf import BgzfWriter

    path = tmp_path / "cut.vcf.gz"
    with BgzfWriter(path, level=1) as out:
        out.write((HEADER + (GOOD + "\n") * 20000).encode())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "vcf", "cut.vcf.gz cannot be read to its end")


# PLINK ------------------------------------------------------------------------------------


@pytest.fixture
def bfile(reference_dir: Path, tmp_path: Path) -> Path:
    for suffix in (".bed", ".bim", ".fam"):
        shutil.copy(reference_dir / "regenie_example" / f"example{suffix}", tmp_path / f"g{suffix}")
    return tmp_path / "g"


def test_bim_with_an_unknown_contig(bfile: Path) -> None:
    lines = Path(f"{bfile}.bim").read_text().splitlines()
    lines[4] = "\t".join(["chr99", *lines[4].split("\t")[1:]])
    Path(f"{bfile}.bim").write_text("\n".join(lines) + "\n")
    _refused(bfile, "bfile", f"Line 5 of {bfile}.bim (chr99 5 5) names the contig 'chr99'")


def test_bed_that_does_not_fit_its_bim_and_fam(bfile: Path) -> None:
    Path(f"{bfile}.bed").write_bytes(Path(f"{bfile}.bed").read_bytes()[:-1])
    _refused(bfile, "bfile", "the three files do not belong together.")


def test_missing_files(tmp_path: Path) -> None:
    _refused(tmp_path / "none", "bfile", "do not exist; give the prefix of a .bed/.bim/.fam set.")
    _refused(tmp_path / "none.bgen", "bgen", "The BGEN file")
    _refused(tmp_path / "none.vcf", "vcf", "The VCF file")


def test_reading_after_close_is_refused(bfile: Path) -> None:
    reader = open_genotypes(bfile, "bfile", "GRCh37")
    reader.close()
    with pytest.raises(GenotypeFileError, match="was read after it was closed"):
        next(iter(reader.dosage_blocks()))


def test_bad_indices_are_programming_errors(bfile: Path) -> None:
    with open_genotypes(bfile, "bfile", "GRCh37") as reader:
        with pytest.raises(ValueError, match="strictly increasing"):
            reader.dosage_blocks(variant_index=np.array([3, 1]))
        with pytest.raises(ValueError, match="outside"):
            reader.dosage_blocks(sample_index=np.array([500]))
