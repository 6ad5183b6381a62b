"""Stop a genotype load within seconds when the warehouse's disk fills, in one sentence.

When the disk fills while Hail writes, Hail's JVM may lose the thread that answers Python
(a native library it cannot unpack), and Hail's Python side then retries the dead connection
for ever (``hailtop``'s retry loop: over ten minutes, measured). :class:`DiskWatch` guards a
stage: it refuses to start when the disk is already nearly full, and a watcher thread checks
the free space and the new lines of Hail's and Spark's logs every half second; on a full
disk it interrupts the main thread with a signal (which breaks a blocking socket read or a
sleep), and the stage ends in :class:`promise.warehouse.DiskFullError`.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType

from promise.warehouse import disk_full, disk_full_error, free_bytes

#: free space below which the disk counts as full
FLOOR_BYTES = 1 << 20
#: free space a stage needs to start at all: Hail's JVM unpacks native libraries (zstd, lz4,
#: snappy: a few MB) into its temporary folder, under the warehouse, before it writes a byte;
#: a disk fuller than this is refused at once rather than left to fill (an estimate of the
#: MatrixTable's size would refuse loads that fit: calls compress very differently)
START_BYTES = 4 << 20
INTERVAL_SECONDS = 0.5
SIGNAL = signal.SIGUSR1
_FULL_TEXT = (b"No space left on device", b"Disk quota exceeded")


class DiskFilled(BaseException):
    """Raised in the main thread by the watcher; a BaseException so no retry loop takes it."""


class DiskWatch:
    """Guard one stage that writes into ``warehouse`` (see the module docstring)."""

    def __init__(self, warehouse: Path, *, what: str) -> None:
        self.warehouse = Path(warehouse)
        self.what = what
        self.tripped = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: object = None
        self._logs: dict[Path, int] = {}

    def __enter__(self) -> DiskWatch:
        if free_bytes(self.warehouse) < START_BYTES:
            raise disk_full_error(self.warehouse, self.what)
        self._logs = {path: _size(path) for path in hail_logs()}
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(SIGNAL, _raise_filled)
            self._thread = threading.Thread(
                target=self._watch, name="promise-diskwatch", daemon=True
            )
            self._thread.start()
        return self

    def _watch(self) -> None:
        main = threading.main_thread().ident
        while not self._stop.wait(INTERVAL_SECONDS):
            if self.full():
                self.tripped = True
                if main is not None and not self._stop.is_set():
                    signal.pthread_kill(main, SIGNAL)
                return

    def full(self) -> bool:
        """Whether the disk is full now, or a log written since the start says it was."""
        try:
            if free_bytes(self.warehouse) < FLOOR_BYTES:
                return True
        except OSError:
            return False
        for path in hail_logs():  # a session started inside the stage: its logs are new
            self._logs.setdefault(path, 0)
        return any(_new_text_says_full(path, start) for path, start in list(self._logs.items()))

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            signal.signal(SIGNAL, self._previous)  # type: ignore[arg-type]
        if exc is None:
            return
        if isinstance(exc, DiskFilled) or disk_full(exc) or self.tripped or self.full():
            raise disk_full_error(self.warehouse, self.what) from None


def _raise_filled(signum: int, frame: FrameType | None) -> None:
    raise DiskFilled


def hail_logs() -> list[Path]:
    """Hail's log file and Spark's beside it, when a Hail session is running."""
    try:
        from hail.utils.java import Env
    except ImportError:  # pragma: no cover - Hail is a dependency
        return []
    context = Env._hc
    log = getattr(context, "_log", None) if context is not None else None
    if not log:
        return []
    folder = Path(str(log)).parent
    return [Path(str(log)), folder / "spark.log"]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _new_text_says_full(path: Path, start: int) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read(8 << 20)
    except OSError:
        return False
    return any(marker in text for marker in _FULL_TEXT)
