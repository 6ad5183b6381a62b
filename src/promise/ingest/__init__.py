"""Ingestion: landing files -> validated, pseudonymised, typed Parquet in the warehouse.

Driven by ``ingest/<source>.yml`` (how to read) and ``data-contracts/<source>.odcs.yaml``
(what rows must contain). Entry point: :func:`run_ingest`.
"""

from promise.ingest.results import FileResult
from promise.ingest.runner import run_ingest

__all__ = ["FileResult", "run_ingest"]
