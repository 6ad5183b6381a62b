"""A minimal BGZF writer (SAM/BAM specification section 4.1).

BGZF is a series of gzip members, each holding at most 64 KiB of input, with an extra
field ``BC`` giving the member's size, and an empty 28-byte member at the end. Readers
such as Hail, htslib and bcftools can then seek by block.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import TracebackType

BLOCK_INPUT = 0xFF00  # as htslib: leaves room for incompressible data in 64 KiB
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def block(data: bytes, level: int) -> bytes:
    """One BGZF member holding ``data`` (at most ``BLOCK_INPUT`` bytes)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    payload = compressor.compress(data) + compressor.flush()
    size = len(payload) + 25  # header 18 + trailer 8 - 1
    header = struct.pack(
        "<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, size
    )
    return header + payload + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data))


class BgzfWriter:
    """Buffers bytes and writes full BGZF blocks; ``close`` adds the EOF marker."""

    def __init__(self, path: Path, level: int = 5) -> None:
        self.handle = path.open("wb")
        self.level = level
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        """Append uncompressed bytes."""
        self.buffer += data
        while len(self.buffer) >= BLOCK_INPUT:
            self.handle.write(block(bytes(self.buffer[:BLOCK_INPUT]), self.level))
            del self.buffer[:BLOCK_INPUT]

    def close(self) -> None:
        """Flush the last partial block, write the EOF block and close."""
        if self.buffer:
            self.handle.write(block(bytes(self.buffer), self.level))
            self.buffer.clear()
        self.handle.write(EOF_BLOCK)
        self.handle.close()

    def __enter__(self) -> BgzfWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
