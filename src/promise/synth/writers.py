"""Landing files written in chunks: header, encoding, accidental-duplicate removal, planted defects.

A sink is opened once per file and fed the clean lines of each chunk of persons. It drops
accidental exact duplicates (ingestion would quarantine them), plants malformed copies of
some lines right after their source and counts everything for ``truth.json``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from promise.synth.malformed import KINDS, RATE_PER_KIND, FileSpec, make


class Sink:
    """One landing file being written."""

    def __init__(self, out: Path, spec: FileSpec) -> None:
        self.spec = spec
        self.path = out / spec.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("wb")
        self.rows = 0
        self.malformed = dict.fromkeys(KINDS, 0)
        header = spec.delimiter.join(spec.columns) + "\n"
        self.handle.write((b"\xef\xbb\xbf" if spec.bom else b"") + header.encode(spec.encoding))

    def write(self, lines: list[str], rng: np.random.Generator) -> np.ndarray:
        """Write one chunk's clean lines plus planted defects; returns the kept-line mask."""
        seen: set[str] = set()
        keep = np.ones(len(lines), dtype=bool)
        for i, line in enumerate(lines):
            if line in seen:
                keep[i] = False
            seen.add(line)
        clean = [line for line, k in zip(lines, keep, strict=True) if k]
        extra = self._plant(clean, seen, rng)
        enc = self.spec.encoding
        parts: list[bytes] = []
        start = 0
        for i in sorted(extra):
            parts.append("\n".join(clean[start : i + 1]).encode(enc))
            parts.extend(bad if isinstance(bad, bytes) else bad.encode(enc) for bad in extra[i])
            start = i + 1
        if start < len(clean):
            parts.append("\n".join(clean[start:]).encode(enc))
        if parts:
            self.handle.write(b"\n".join(parts) + b"\n")
        self.rows += len(clean) + sum(len(v) for v in extra.values())
        return keep

    def _plant(
        self, clean: list[str], seen: set[str], rng: np.random.Generator
    ) -> dict[int, list[str | bytes]]:
        extra: dict[int, list[str | bytes]] = {}
        if not clean:
            return extra
        made: set[str | bytes] = set()
        for kind in self.spec.kinds:
            count = int(rng.binomial(len(clean), RATE_PER_KIND))
            if self.malformed[kind] == 0:
                count = max(count, 1)
            sources = rng.choice(len(clean), size=min(count, len(clean)), replace=False)
            for src in np.sort(sources).tolist():
                bad = make(kind, self.spec, clean[src], rng)
                if kind != "duplicate_row" and (bad in made or bad in seen):
                    continue
                made.add(bad)
                extra.setdefault(src, []).append(bad)
                self.malformed[kind] += 1
        return extra

    def close(self) -> None:
        """Flush and close the file."""
        self.handle.close()

    def truth(self) -> dict[str, Any]:
        """This file's entry in ``truth.json`` ``files``."""
        return {
            "rows": self.rows,
            "encoding": self.spec.encoding,
            "malformed": dict(self.malformed),
        }


class Sinks:
    """All sinks of a run, closed together."""

    def __init__(self, out: Path, specs: list[FileSpec]) -> None:
        self.by_path = {spec.path: Sink(out, spec) for spec in specs}

    def __getitem__(self, path: str) -> Sink:
        return self.by_path[path]

    def __enter__(self) -> Sinks:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sink in self.by_path.values():
            sink.close()

    def truth(self) -> dict[str, Any]:
        """``files`` section of ``truth.json``."""
        return {path: sink.truth() for path, sink in sorted(self.by_path.items())}
