"""Keyed pseudonyms: ``person_id`` = HMAC-SHA256(key, normalised 12-digit number), 96 bits kept.

A plain hash would be trivially reversible (about 4e7 valid numbers per century), so the
key is secret and lives outside the warehouse, in the file named by
``PROMISE_PSEUDONYM_KEY_FILE``. Only the key's fingerprint is ever stored.

With 96 bits the chance of any collision among 2e7 people is about n^2 / 2^97 = 3e-15.

A column is pseudonymised one distinct number at a time (about 1 µs each, the cost of two
SHA-256 blocks through :mod:`hashlib`); above :data:`PARALLEL_MIN_DISTINCT` distinct numbers
the work is shared with worker processes (:mod:`promise.hmac_worker`), one per further core.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from promise import hmac_worker
from promise.errors import KeyFileError

KEY_ENV = "PROMISE_PSEUDONYM_KEY_FILE"
KEY_BYTES = 32
PERSON_ID_HEX = 24  # 96 bits
NORMALIZED_DIGITS = 12

#: Below this many distinct numbers a column is hashed in this process alone (starting a
#: worker costs about 20 ms; hashing 200,000 numbers about 0.2 s).
PARALLEL_MIN_DISTINCT = 200_000
#: Worker processes at most (besides this one).
MAX_WORKERS = 7


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
        text = path.read_bytes().strip()  # hex text as keygen writes it, or raw bytes
    except OSError as exc:
        raise KeyFileError(f"pseudonym key file {path} cannot be read ({exc.strerror}).") from exc
    if not text:
        raise KeyFileError(
            f"pseudonym key file {path} is empty; create one with `promise keygen PATH`."
        )
    return text


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


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _lines(numbers: np.ndarray) -> bytes:
    """``numbers`` as zero-padded 12-digit decimals, each followed by whitespace."""
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**NORMALIZED_DIGITS):
        # not a normalised number: formatted one by one, wider or with a sign as f"{n:012d}"
        return b"".join(b"%012d\n" % n for n in numbers.tolist())
    # 16 bytes a number, written as four 4-byte words: three groups of four digits looked
    # up in a table of "0000"-"9999", then four newlines (one word, so no byte-wise copy)
    table = _four_digits()
    words = np.empty((len(numbers), 4), dtype=np.uint32)
    words[:, 0] = table[numbers // 10**8]
    words[:, 1] = table[numbers // 10**4 % 10**4]
    words[:, 2] = table[numbers % 10**4]
    words[:, 3] = np.frombuffer(b"\n\n\n\n", dtype=np.uint32)[0]
    return words.tobytes()


@cache
def _four_digits() -> np.ndarray:
    """Entry i: the four ASCII digits of i (0-9999, zero-padded) as one 4-byte word."""
    i = np.arange(10_000)
    digits = np.stack([i // 1000, i // 100 % 10, i // 10 % 10, i % 10], axis=1) + ord("0")
    return digits.astype(np.uint8).view(np.uint32).ravel()


def _start_worker(key: bytes, lines: bytes) -> subprocess.Popen[bytes] | None:
    """A worker process that has been handed ``lines`` in full, or None if it cannot start.

    All the input is written before this returns, on purpose: a thread feeding the pipe
    while this process hashes would get the GIL once per switch interval (5 ms) per 4 KB
    chunk, and the worker would start only when the hashing here was done.
    """
    try:
        worker = subprocess.Popen(
            [sys.executable, "-I", "-S", hmac_worker.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError:
        return None
    try:
        assert worker.stdin is not None
        worker.stdin.write(key.hex().encode("ascii") + b"\n" + lines)
        worker.stdin.close()
    except OSError:  # the worker died before reading it all
        worker.kill()
        for pipe in (worker.stdin, worker.stdout, worker.stderr):
            with contextlib.suppress(OSError):
                assert pipe is not None
                pipe.close()
        worker.wait()
        return None
    return worker


def _finish_worker(worker: subprocess.Popen[bytes], count: int) -> bytes:
    """The ``count`` digests a worker from :func:`_start_worker` wrote; ``RuntimeError`` if
    it failed."""
    assert worker.stdout is not None and worker.stderr is not None
    # stdout first: the worker writes to stderr only a traceback, far below a pipe's 64 KB
    stdout, stderr = worker.stdout.read(), worker.stderr.read()
    worker.wait()
    if worker.returncode != 0 or len(stdout) != 32 * count:
        detail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"hmac worker failed (exit {worker.returncode}): {detail[0]}")
    return stdout


def hmac_in_worker(key: bytes, lines: bytes) -> bytes:
    """:func:`promise.hmac_worker.hmac_lines` run in a fresh worker process; raises
    ``RuntimeError`` when the worker cannot start or fails."""
    worker = _start_worker(key, lines)
    if worker is None:
        raise RuntimeError("hmac worker could not start")
    return _finish_worker(worker, len(lines.split()))


def hmac_parallel(key: bytes, numbers: np.ndarray, workers: int) -> bytes:
    """HMAC digests of ``numbers`` (as :func:`_lines` writes them), computed by this process
    and ``workers`` others, each on an equal share.

    A worker that cannot start or fails has its share hashed here instead: the result is
    the same, only slower.
    """
    shares = np.array_split(numbers, workers + 1)
    started = [_start_worker(key, _lines(share)) for share in shares[1:]]
    results = [hmac_worker.hmac_lines(key, _lines(shares[0]))]
    for worker, share in zip(started, shares[1:], strict=True):
        try:
            if worker is None:
                raise RuntimeError("hmac worker could not start")
            results.append(_finish_worker(worker, len(share)))
        except RuntimeError:
            results.append(hmac_worker.hmac_lines(key, _lines(share)))
    return b"".join(results)


class Pseudonymizer:
    """Turns normalised 12-digit numbers into ``person_id`` values with one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._inner, self._outer = hmac_worker.pads(key)
        self.fingerprint = key_fingerprint(key)

    def __repr__(self) -> str:  # never show the key
        return f"Pseudonymizer(fingerprint={self.fingerprint})"

    def person_id(self, normalized: str) -> str:
        """The pseudonym of one normalised number (24 hex characters)."""
        inner = self._inner.copy()
        inner.update(normalized.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:PERSON_ID_HEX]

    def person_ids(self, normalized: pl.Series) -> pl.Series:
        """Pseudonyms for a column; nulls stay null. Each distinct number is hashed once."""
        # imported here: pyarrow.compute adds 50 ms to every command that imports this module
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        # 12-digit numbers fit in an Int64: integer hashing is several times faster. Arrow's
        # dictionary encoding gives the distinct numbers and each row's index among them in
        # one pass (a Polars unique + join back costs several times more).
        numbers = normalized.cast(pl.Int64).to_arrow()
        encoded = pc.dictionary_encode(numbers)
        dictionary = encoded.dictionary  # no nulls: read its buffer in place
        # (Array.to_numpy would import pandas, a third of a second)
        distinct = np.frombuffer(
            dictionary.buffers()[1],
            dtype=np.int64,
            count=len(dictionary),
            offset=8 * dictionary.offset,
        )
        workers = min(usable_cores() - 1, MAX_WORKERS)
        if len(distinct) >= PARALLEL_MIN_DISTINCT and workers > 0:
            digests = hmac_parallel(self._key, distinct, workers)
        else:
            digests = hmac_worker.hmac_lines(self._key, _lines(distinct))
        kept = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)[:, : PERSON_ID_HEX // 2]
        text = binascii.hexlify(kept.tobytes())
        offsets = np.arange(0, len(text) + 1, PERSON_ID_HEX, dtype=np.int64)
        ids = pa.Array.from_buffers(
            pa.large_string(), len(distinct), [None, pa.py_buffer(offsets), pa.py_buffer(text)]
        )
        # a streaming query spreads the gather over the cores (an eager gather uses one)
        return (
            pl.DataFrame({"index": pl.Series(encoded.indices)})
            .lazy()
            .select(person_id=pl.lit(pl.Series(ids)).gather(pl.col("index")))
            .collect()
            .to_series()
        )
