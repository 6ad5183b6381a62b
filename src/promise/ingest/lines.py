"""Reading delimited files as bytes: an independent record count, the header, chunks of lines.

A record is a physical line: the bytes up to a newline, or the last bytes of the file when
they do not end with one (a truncated last line is still a record). The counter here never
decodes or parses, so ``rows_in`` is not the loader's own opinion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BLOCK = 8 * 2**20
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


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Chunk:
    """Complete data lines (without their newline) and the file line number of the first."""

    first_line: int
    lines: list[bytes]


def read_header(path: Path) -> tuple[bytes, bool]:
    """The first line of the file (without newline, CR or BOM) and whether it had a UTF-8 BOM."""
    with Path(path).open("rb") as handle:
        head = handle.readline()
    bom = head.startswith(UTF8_BOM)
    if bom:
        head = head[len(UTF8_BOM) :]
    return head.rstrip(b"\n").rstrip(b"\r"), bom


def iter_chunks(path: Path, *, lines_per_chunk: int = 250_000) -> Iterator[Chunk]:
    """Data lines in chunks (header skipped), bounded in memory whatever the file size."""
    with Path(path).open("rb") as handle:
        handle.readline()
        line_no = 2
        pending: list[bytes] = []
        carry = b""
        while block := handle.read(BLOCK):
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            pending.extend(data[:cut].split(b"\n"))
            while len(pending) >= lines_per_chunk:
                yield Chunk(line_no, _strip_cr(pending[:lines_per_chunk]))
                line_no += lines_per_chunk
                pending = pending[lines_per_chunk:]
        if carry:
            pending.append(carry)
        if pending:
            yield Chunk(line_no, _strip_cr(pending))


def _strip_cr(lines: list[bytes]) -> list[bytes]:
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def decode_lines(lines: list[bytes], encoding: str) -> tuple[list[str | None], int]:
    """Decode each line with ``encoding``; undecodable lines become ``None``.

    Returns the decoded lines and how many non-ASCII lines of a latin-1/cp1252 file are
    valid UTF-8 (a deviation worth reporting: the file was probably written as UTF-8).
    """
    joined = b"\n".join(lines)
    try:
        text = joined.decode(encoding)
    except UnicodeDecodeError:
        return [_decode_one(line, encoding) for line in lines], 0
    decoded: list[str | None] = list(text.split("\n"))
    if len(decoded) != len(lines):  # only possible for an empty list
        decoded = [_decode_one(line, encoding) for line in lines]
    utf8_like = 0
    if encoding != "utf-8" and not joined.isascii():
        utf8_like = sum(1 for line in lines if not line.isascii() and _is_utf8(line))
    return decoded, utf8_like


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
