"""Kept for old imports: disclosure control lives in :mod:`promise.privacy.disclosure`."""

from promise.privacy.disclosure import (
    DEFAULT_THRESHOLD,
    ProtectedTable,
    determined_cells,
    lines,
    protect,
    round_released,
    with_margins,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "ProtectedTable",
    "determined_cells",
    "lines",
    "protect",
    "round_released",
    "with_margins",
]
