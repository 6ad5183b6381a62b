"""Arrow scans of the warehouse's published Parquet, for the confined connection.

The confined DuckDB instance may not open files itself, so the Parquet of ``raw/`` is read
through Arrow datasets registered on it: the file list is fixed when the connection opens
(a load published later is seen by the next connection), and nothing can be written through
a scan.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from promise.errors import PromiseError

_EMPTY = {
    "manifest": (
        "SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, NULL::VARCHAR AS file, "
        "NULL::VARCHAR AS sha256, NULL::BIGINT AS rows_in, NULL::BIGINT AS rows_loaded, "
        "NULL::BIGINT AS rows_quarantined, NULL::VARCHAR AS contract_version, "
        "NULL::VARCHAR AS key_fingerprint, NULL::TIMESTAMPTZ AS started_at, "
        "NULL::TIMESTAMPTZ AS finished_at WHERE false"
    ),
    "quarantine": (
        "SELECT NULL::VARCHAR AS load_id, NULL::VARCHAR AS source, NULL::VARCHAR AS file, "
        "NULL::BIGINT AS line, NULL::VARCHAR AS column, NULL::VARCHAR AS reason, "
        "NULL::VARCHAR AS detail, NULL::VARCHAR AS record WHERE false"
    ),
}


def empty_views() -> dict[str, str]:
    """Typed empty ``manifest`` and ``quarantine`` for a warehouse with no load yet."""
    return dict(_EMPTY)


def source_files(raw: Path) -> dict[str, list[Path]]:
    """The published data files of every source: ``raw/<source>/<load_id>/data*.parquet``."""
    if not raw.is_dir():
        return {}
    found = {}
    for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*/data*.parquet"))
        if files:
            found[folder.name] = files
    return found


def table_scan(files: list[Path], label: str) -> Any:
    """One Arrow dataset over ``files`` (the published files of ``label``), columns united
    by name (as DuckDB's ``union_by_name``): a column missing from a file reads as NULL."""
    try:
        schema = pa.unify_schemas(
            [_plain(pq.read_schema(f)) for f in files], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise PromiseError(
            f"the published files of {label} disagree on a column's type "
            f"({str(exc).splitlines()[0]}); run `promise doctor` and report it."
        ) from exc
    return ds.dataset([str(f) for f in files], schema=schema, format="parquet")


def _plain(schema: Any) -> Any:
    """``schema`` with every string and binary flavour made one (Polars writes string views,
    DuckDB and PyArrow plain strings; Arrow will not unite the two but casts between them)."""
    return pa.schema([field.with_type(_plain_type(field.type)) for field in schema])


def _plain_type(kind: Any) -> Any:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.large_string()
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return pa.large_binary()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        return pa.large_list(_plain_type(kind.value_type))
    return kind


def audit_table(path: Path) -> Any | None:
    """The export audit (one JSON object a line) as an Arrow table, if any export ran."""
    if not path.is_file():
        return None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not rows:
        return None
    return pa.Table.from_pylist([_flat(r) for r in rows])


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """Nested values (variables, suppression counts) as JSON text, one column each."""
    return {
        k: json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v
        for k, v in row.items()
    }
