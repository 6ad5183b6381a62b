"""Keyed pseudonyms: ``person_id`` = HMAC-SHA256(key, normalised 12-digit number), 96 bits kept.

A plain hash would be trivially reversible (about 4e7 valid numbers per century), so the
key is secret and lives outside the warehouse, in the file named by
``PROMISE_PSEUDONYM_KEY_FILE``. Only the key's fingerprint is ever stored.

With 96 bits the chance of any collision among 2e7 people is about n^2 / 2^97 = 3e-15.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from promise.errors import KeyFileError

KEY_ENV = "PROMISE_PSEUDONYM_KEY_FILE"
KEY_BYTES = 32
PERSON_ID_HEX = 24  # 96 bits
_BLOCK = 64  # SHA-256 block size, for the precomputed HMAC pads


def write_new_key(path: Path) -> Path:
    """Write a fresh random key (hex) to ``path`` with mode 0600; refuse to overwrite."""
    path = Path(path)
    if path.exists():
        raise KeyFileError(f"{path} already exists; remove it first or choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path


def load_key(path: Path) -> bytes:
    """Read the key from ``path``; a missing, empty or unreadable file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(
            f"pseudonym key file {path} does not exist; create one with `promise keygen PATH` "
            f"and set {KEY_ENV} to it."
        )
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"pseudonym key file {path} cannot be read ({exc.strerror}).") from exc
    if not text:
        raise KeyFileError(
            f"pseudonym key file {path} is empty; create one with `promise keygen PATH`."
        )
    return text.encode()


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """The key named by ``PROMISE_PSEUDONYM_KEY_FILE``."""
    env = os.environ if environ is None else environ
    name = env.get(KEY_ENV, "")
    if not name:
        raise KeyFileError(
            f"{KEY_ENV} is not set; create a key with `promise keygen PATH` (outside the "
            f"warehouse) and export {KEY_ENV}=PATH."
        )
    return load_key(Path(name))


def key_is_private(path: Path) -> bool:
    """True when neither group nor others may read the key file."""
    return not (Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def key_fingerprint(key: bytes) -> str:
    """A public fingerprint of the key (for the manifest): not the key, not reversible."""
    return hashlib.sha256(b"promise-key-fingerprint\x00" + key).hexdigest()[:16]


class Pseudonymizer:
    """Turns normalised 12-digit numbers into ``person_id`` values with one key."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        block = block.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.fingerprint = key_fingerprint(key)

    def person_id(self, normalized: str) -> str:
        """The pseudonym of one normalised number (24 hex characters)."""
        inner = self._inner.copy()
        inner.update(normalized.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:PERSON_ID_HEX]

    def person_ids(self, normalized: pl.Series) -> pl.Series:
        """Pseudonyms for a column; nulls stay null. Each distinct number is hashed once."""
        # 12-digit numbers fit in an Int64, and integer unique/join is several times faster
        numbers = normalized.cast(pl.Int64)
        distinct = numbers.drop_nulls().unique()
        ids = pl.Series([self.person_id(f"{n:012d}") for n in distinct.to_list()], dtype=pl.Utf8)
        lookup = pl.DataFrame({"n": distinct, "person_id": ids})
        frame = pl.DataFrame({"n": numbers})
        return frame.join(lookup, on="n", how="left", maintain_order="left")["person_id"]
