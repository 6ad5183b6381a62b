"""Reading delimited files as bytes: an independent record count, the header, chunks of lines.

A record is a physical line: the bytes up to a newline, or the last bytes of the file when
they do not end with one (a truncated last line is still a record). The counter here never
decodes or parses, so ``rows_in`` is not the loader's own opinion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

BLOCK = 16 * 2**20
UTF8_BOM = b"\xef\xbb\xbf"


def count_records(path: Path) -> int:
    """Data records of a file with a header line: newlines, plus an unterminated last line, minus 1."""
    newlines = 0
    last = b""
    size = 0
    with Path(path).open("rb") as handle:
        while block := handle.read(BLOCK):
            newlines += block.count(b"\n")
            last = block[-1:]
            size += len(block)
    if size == 0:
        return 0
    lines = newlines + (0 if last == b"\n" else 1)
    return max(lines - 1, 0)


def sha256_and_records(path: Path) -> tuple[str, int]:
    """:func:`sha256_of` and :func:`count_records` in one read of the file, at the same time:
    a thread hashes each block (hashlib releases the GIL) while this one counts its newlines."""
    digest = hashlib.sha256()
    newlines = 0
    last = b""
    size = 0
    with ThreadPoolExecutor(max_workers=1) as pool, Path(path).open("rb") as handle:
        hashing: Future[None] | None = None
        while block := handle.read(BLOCK):
            if hashing is not None:
                hashing.result()  # blocks are hashed in file order
            hashing = pool.submit(digest.update, block)
            newlines += block.count(b"\n")
            last = block[-1:]
            size += len(block)
        if hashing is not None:
            hashing.result()
    if size == 0:
        return digest.hexdigest(), 0
    lines = newlines + (0 if last == b"\n" else 1)
    return digest.hexdigest(), max(lines - 1, 0)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Chunk:
    """Complete data lines joined by newlines (no final newline), and the first one's line number."""

    first_line: int
    data: bytes

    @cached_property
    def n_lines(self) -> int:
        """How many lines the chunk holds (counted once)."""
        return self.data.count(b"\n") + 1


def read_header(path: Path) -> tuple[bytes, bool]:
    """The first line of the file (without newline, CR or BOM) and whether it had a UTF-8 BOM."""
    with Path(path).open("rb") as handle:
        head = handle.readline()
    bom = head.startswith(UTF8_BOM)
    if bom:
        head = head[len(UTF8_BOM) :]
    return head.rstrip(b"\n").rstrip(b"\r"), bom


def iter_chunks(path: Path, *, block_size: int = BLOCK) -> Iterator[Chunk]:
    """Data lines in chunks of about ``block_size`` bytes (header skipped): bounded memory."""
    with Path(path).open("rb") as handle:
        handle.readline()
        line_no = 2
        carry = b""
        while block := handle.read(block_size):
            cut = block.rfind(b"\n")
            if cut < 0:
                carry += block
                continue
            # one copy of the block into the chunk (not a concatenation, then a slice of it)
            chunk = Chunk(line_no, b"".join((carry, memoryview(block)[:cut])))
            carry = block[cut + 1 :]
            line_no += chunk.n_lines
            yield chunk
        if carry:
            yield Chunk(line_no, carry)


@dataclass(frozen=True)
class Decoded:
    """The lines of a chunk as text: ``text`` is null where a line cannot be decoded,
    ``shown`` always holds something printable (undecodable bytes replaced)."""

    text: pl.Series
    shown: pl.Series
    utf8_like: int
    body: bytes | None = None  # the chunk as UTF-8 bytes, when it decoded and has no CR


def decode_chunk(chunk: Chunk, encoding: str) -> Decoded:
    """Decode a chunk with ``encoding``, line by line only when the whole chunk does not decode.

    ``utf8_like`` counts non-ASCII lines of a latin-1/cp1252 file that are valid UTF-8 (a
    deviation worth reporting: the file was probably written as UTF-8).
    """
    if chunk.data.isascii():  # the same text in every declared encoding: no decoding
        split = _ascii_lines(chunk.data, chunk.n_lines)
        if split is not None:
            return Decoded(split, split, 0, chunk.data)
    try:
        whole = chunk.data.decode(encoding)
    except UnicodeDecodeError:
        lines = chunk.data.split(b"\n")
        text = pl.Series("text", [_decode_one(line, encoding) for line in lines], dtype=pl.Utf8)
        shown = pl.Series(
            "shown", [line.decode(encoding, errors="replace") for line in lines], dtype=pl.Utf8
        )
        return Decoded(_strip_cr(text), _strip_cr(shown), 0)
    has_cr = "\r" in whole
    # split in Polars (Rust), not into a Python list of str: one string column, no per-line objects
    text = pl.Series("text", [whole], dtype=pl.Utf8).str.split("\n").explode().rename("text")
    if has_cr:
        text = _strip_cr(text)
    utf8_like = 0
    if encoding != "utf-8" and not chunk.data.isascii():
        utf8_like = _count_utf8_like(chunk.data, text)
    if has_cr:
        body = None
    elif encoding in {"utf-8", "ascii"} or chunk.data.isascii():
        body = chunk.data  # already the UTF-8 bytes of ``whole``: no second copy
    else:
        body = whole.encode("utf-8")
    return Decoded(text, text, utf8_like, body)


def _ascii_lines(data: bytes, n_lines: int) -> pl.Series | None:
    """The lines of ASCII bytes without CR, split by Polars' CSV reader as a one-column file
    (its separator a byte the data lacks, no quoting): no Python string of the chunk and no
    copy of it into Polars. None when the reader does not return each line once."""
    separator = next((s for s in ("\x1f", "\x1e", "\x1d", "\x00") if s.encode() not in data), None)
    if not data or separator is None or b"\r" in data:
        return None
    try:
        lines = pl.read_csv(
            data,
            separator=separator,
            has_header=False,
            quote_char=None,
            schema={"text": pl.Utf8},
        ).to_series()
    except pl.exceptions.PolarsError:
        return None
    if lines.len() != n_lines:
        return None
    return lines.fill_null("")  # the reader reads an empty line as null


def _count_utf8_like(data: bytes, text: pl.Series) -> int:
    """Non-ASCII lines that are valid UTF-8 (a line of bytes >= 0x80 decodes to non-ASCII)."""
    non_ascii = text.str.contains(r"[^\x00-\x7F]")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # some lines are not UTF-8: try only the non-ASCII ones
        lines = data.split(b"\n")
        return sum(1 for i in non_ascii.arg_true().to_list() if _is_utf8(lines[i]))
    return int(non_ascii.sum())  # the whole chunk is UTF-8, so is every line of it


def _strip_cr(lines: pl.Series) -> pl.Series:
    return lines.str.strip_suffix("\r")


def _decode_one(line: bytes, encoding: str) -> str | None:
    try:
        return line.decode(encoding)
    except UnicodeDecodeError:
        return None


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
