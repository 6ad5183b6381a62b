"""Drawing the plots in a separate process, and the plain data they are drawn from.

Importing matplotlib and drawing take about as long as a whole NumPy-engine GWAS of a
cleaned file set, so a run hands them to a :class:`PlotWorker`: a process started, with its
matplotlib import, when the run starts (on the core the run's own start-up leaves idle),
which then draws while the summary statistics are written. The plots get plain arrays
(:class:`TraitPoints`), which cross the process boundary cheaply. This module itself does
not import matplotlib.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from promise.gwas.plotdata import OTHER_CONTIG, PcaPoints, TraitPoints, trait_points

__all__ = ["OTHER_CONTIG", "PcaPoints", "PlotWorker", "TraitPoints", "trait_points"]


class PlotWorker:
    """One plotting process per run: ``python -m promise.gwas.plots``, started at once.

    A plain subprocess rather than :mod:`multiprocessing`, whose spawned children re-run
    the caller's main script. :meth:`draw` sends the data (pickled, on stdin, from a thread
    so the run goes on); :meth:`result` waits for the paths. Should the process fail, the
    plots are drawn in this process instead, so that any error surfaces with its traceback.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "promise.gwas.plots"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._reply: tuple[bytes, bytes] = (b"", b"")
        self._talk: threading.Thread | None = None
        self._asked: tuple[list[TraitPoints], PcaPoints | None, Path] | None = None

    def draw(self, traits: Sequence[TraitPoints], pca: PcaPoints | None, out: Path) -> None:
        """Start drawing the run's figures into ``out``."""
        self._asked = (list(traits), pca, out)
        payload = pickle.dumps(self._asked, protocol=pickle.HIGHEST_PROTOCOL)
        self._talk = threading.Thread(target=self._exchange, args=(payload,), daemon=True)
        self._talk.start()

    def _exchange(self, payload: bytes) -> None:
        self._reply = self._proc.communicate(payload)

    def result(self) -> dict[str, Path]:
        """The paths of the figures :meth:`draw` asked for, by title, once drawn."""
        if self._talk is None or self._asked is None:
            raise RuntimeError("PlotWorker.result() before draw()")
        self._talk.join()
        if self._proc.returncode == 0:
            return {name: Path(path) for name, path in json.loads(self._reply[0]).items()}
        from promise.gwas import plots

        return plots.draw_all(*self._asked)

    def close(self) -> None:
        """Stop the process if it is still waiting (a run that failed before its plots)."""
        if self._proc.poll() is None:
            self._proc.kill()
        if self._talk is None:
            self._proc.communicate()

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
