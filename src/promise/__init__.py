"""promise: a population-omics cohort analytics warehouse for Swedish registers and omics.

``promise.connect()`` opens the warehouse for SQL from Python, with the same confinement as
``promise sql``: read-only, and DuckDB refuses every file outside the published tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # duckdb is imported only when a connection is asked for
    import duckdb

__version__ = "0.1.0"


def connect(
    warehouse: str | Path | None = None, *, read_only: bool = True
) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to a warehouse's marts, ``raw.<source>``, ``manifest``,
    ``quarantine`` and ``export_audit``, confined by DuckDB's own settings.

    ``warehouse`` defaults to ``$PROMISE_WAREHOUSE``, else ``./warehouse``, else the demo's.
    Only ``read_only=True`` exists: writes go through ``promise ingest`` and ``promise build``.
    """
    import os

    from promise.errors import ConfigurationError
    from promise.locate import find_warehouse
    from promise.privacy.confined import connect as confined

    if read_only is not True:
        raise ConfigurationError(
            "promise.connect opens warehouses read-only; load data with `promise ingest` and "
            "build marts with `promise build`."
        )
    given = warehouse if warehouse is not None else os.environ.get("PROMISE_WAREHOUSE") or None
    found, _ = find_warehouse(Path(given) if given is not None else None)
    return confined(found)
