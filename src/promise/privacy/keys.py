"""The pseudonym key is checked, not trusted.

A key file is refused, each time with one sentence saying how to fix it, when it can be read
by group or others, when it holds fewer than 32 random bytes, or when it lies inside the
warehouse (a copy of the warehouse would then carry the means to re-identify everyone).

Which key a warehouse was made with is read from its manifest, every published load of it:
the manifest is the source of truth, not the ``key_fingerprint`` file, which one ``rm``
removes. A manifest holding two fingerprints means two pseudonym spaces in one warehouse
(person ids of one never join those of the other): such a warehouse is damaged, and loads
and builds refuse it.
"""

from __future__ import annotations

import binascii
import stat
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq  # type: ignore[import-untyped]

from promise.errors import KeyFileError, PromiseError
from promise.pseudonym import KEY_ENV, key_fingerprint, load_key

MIN_KEY_BYTES = 32
#: A random 32-byte key shows about 30 distinct byte values; fewer than this is no key.
MIN_DISTINCT_BYTES = 16
FINGERPRINT_FILE = "key_fingerprint"


class DamagedWarehouseError(PromiseError):
    """The warehouse holds loads pseudonymised with more than one key."""

    exit_code = 4


def key_material(text: bytes) -> bytes:
    """The secret bytes a key file holds: hex-decoded when it is hex (as ``promise keygen``
    writes it), else the bytes as they are."""
    stripped = text.strip()
    try:
        return binascii.unhexlify(stripped)
    except (binascii.Error, ValueError):
        return stripped


def key_problem(path: Path, *, warehouse: Path | None = None) -> str | None:
    """Why ``path`` is not a usable key file (one sentence saying how to fix it), or None."""
    path = Path(path)
    key = load_key(path)  # missing, unreadable and empty files are KeyFileErrors already
    if warehouse is not None and _inside(path, Path(warehouse)):
        return (
            f"pseudonym key file {path} is inside the warehouse {warehouse}, so every copy of "
            "the warehouse could re-identify people; move it outside (e.g. to ~/.promise/), "
            f"set {KEY_ENV} to the new place and delete the copy in the warehouse."
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"pseudonym key file {path} can be read by group or others (mode {mode:04o}); "
            f"run `chmod 600 {path}`."
        )
    material = key_material(key)
    if len(material) < MIN_KEY_BYTES or len(set(material)) < MIN_DISTINCT_BYTES:
        return (
            f"pseudonym key file {path} holds {len(material)} bytes of key material with "
            f"{len(set(material))} distinct values, not {MIN_KEY_BYTES} random bytes; create a "
            "key with `promise keygen PATH` (a new key needs a new warehouse)."
        )
    return None


def checked_key(path: Path, *, warehouse: Path | None = None) -> bytes:
    """The key in ``path`` (as :func:`promise.pseudonym.load_key` reads it), after the checks."""
    problem = key_problem(path, warehouse=warehouse)
    if problem is not None:
        raise KeyFileError(problem)
    return load_key(Path(path))


def manifest_fingerprints(warehouse: Path) -> Counter[str]:
    """How many published manifest rows carry each key fingerprint."""
    found: Counter[str] = Counter()
    for path in sorted((Path(warehouse) / "raw").glob("*/*/manifest.parquet")):
        schema = pq.read_schema(path)
        if "key_fingerprint" not in schema.names:
            continue
        column = pq.read_table(path, columns=["key_fingerprint"]).column(0).to_pylist()
        found.update(str(v) for v in column if v is not None)
    return found


def check_not_damaged(warehouse: Path) -> Counter[str]:
    """Refuse a warehouse whose manifest holds more than one fingerprint; return them."""
    found = manifest_fingerprints(warehouse)
    if len(found) > 1:
        listed = ", ".join(f"{fp} ({n} loads)" for fp, n in found.most_common())
        raise DamagedWarehouseError(
            f"warehouse {warehouse} is damaged: its manifest holds loads made with "
            f"{len(found)} different pseudonym keys ({listed}), whose person ids never join; "
            "restore it from a backup, or load every delivery again into a new warehouse "
            "with one key."
        )
    return found


def check_key_matches(warehouse: Path, fingerprint: str) -> None:
    """Refuse a key other than the one every published load of ``warehouse`` was made with
    (the ``key_fingerprint`` file is consulted only when the manifest is still empty)."""
    found = check_not_damaged(warehouse)
    stored = next(iter(found), None) or _fingerprint_file(warehouse)
    if stored is not None and stored != fingerprint:
        where = "its manifest" if found else f"its {FINGERPRINT_FILE} file"
        raise KeyFileError(
            f"the pseudonym key (fingerprint {fingerprint}) is not the key of warehouse "
            f"{warehouse} (fingerprint {stored} in {where}); use that warehouse's key file, "
            "or a new warehouse for a new key."
        )


def check_build_key(warehouse: Path, key_file: Path | None) -> None:
    """What ``promise build`` checks: the warehouse is not damaged and, when a key file is
    given (``$PROMISE_PSEUDONYM_KEY_FILE``), it passes the checks and is the warehouse's."""
    check_not_damaged(warehouse)
    if key_file is not None:
        key = checked_key(Path(key_file), warehouse=warehouse)
        check_key_matches(warehouse, key_fingerprint(key))


def _fingerprint_file(warehouse: Path) -> str | None:
    path = Path(warehouse) / FINGERPRINT_FILE
    if not path.is_file():
        return None
    return path.read_text().strip() or None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
